/**
 * Turns whatever a tRPC call threw into something to show a person: the
 * server's message (already written for people), the pipeline problems it
 * carried (`data.issues`) and field errors (`data.zodError`).
 */
import type { ValidationIssue } from '@/workflows/model';

export type ShownError = {
  message: string;
  issues: ValidationIssue[];
  fields: string[];
  httpStatus?: number;
};

type ErrorData = {
  httpStatus?: number;
  code?: string;
  issues?: ValidationIssue[] | null;
  zodError?: { formErrors?: string[]; fieldErrors?: Record<string, string[] | undefined> } | null;
};

export function describeError(error: unknown): ShownError {
  const data = (error as { data?: ErrorData } | null)?.data ?? undefined;
  const objMessage = (error as { message?: unknown } | null)?.message;
  const raw = typeof error === 'string' ? error : typeof objMessage === 'string' ? objMessage : '';
  const fields: string[] = [];
  if (data?.zodError) {
    for (const m of data.zodError.formErrors ?? []) fields.push(m);
    for (const [field, messages] of Object.entries(data.zodError.fieldErrors ?? {})) {
      for (const m of messages ?? []) fields.push(`${field}: ${m}`);
    }
  }
  let message = raw;
  if (!data && (/fetch failed|Failed to fetch|NetworkError|Load failed/i.test(raw) || raw === '')) {
    message = 'Could not reach the server. Check your connection and try again.';
  } else if (data?.httpStatus === 401) {
    message = 'Your session has ended. Sign in again.';
  } else if (fields.length > 0 && data?.code === 'BAD_REQUEST' && raw.trim().startsWith('[')) {
    // zod's raw JSON message: the field list below says it better.
    message = 'Some values are not valid.';
  }
  return { message: message || 'Something went wrong.', issues: data?.issues ?? [], fields, httpStatus: data?.httpStatus };
}
