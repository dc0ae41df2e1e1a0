/**
 * Errors people can act on. Services throw these TRPCErrors with a plain
 * message (never a stack trace); internal faults are logged and reported as a
 * generic message by the tRPC error formatter.
 */
import { TRPCError } from '@trpc/server';
import type { ValidationIssue } from '../workflows/model';

/** Carries validator issues to the client (shown on nodes and in the issues panel). */
export class InvalidPipelineCause extends Error {
  constructor(readonly issues: ValidationIssue[]) {
    super('invalid pipeline');
  }
}

export function invalidPipeline(message: string, issues: ValidationIssue[]) {
  return new TRPCError({ code: 'BAD_REQUEST', message, cause: new InvalidPipelineCause(issues) });
}

export const notFound = (what: string) => new TRPCError({ code: 'NOT_FOUND', message: `${what} not found` });

/** The runner (Temporal worker or server) did not answer in time. */
export function runnerOffline(detail?: string) {
  return new TRPCError({
    code: 'SERVICE_UNAVAILABLE',
    message: `The pipeline runner is offline${detail ? ` (${detail})` : ''}. Your request was not confirmed; check again and retry when the worker is running.`,
  });
}

/**
 * The Temporal server cannot be reached (down, restarting, network). `notDone`
 * says what did not happen, e.g. "The run was not started".
 */
export function temporalUnreachable(notDone: string) {
  return new TRPCError({
    code: 'SERVICE_UNAVAILABLE',
    message: `${notDone}: Pipewright cannot reach its Temporal server right now. Runs in flight carry on where they were once it is back; try again in a moment.`,
  });
}
