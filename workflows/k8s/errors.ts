/**
 * What a failed Kubernetes API call means for a stage.
 *
 * - Infrastructure trouble — 429 (throttled), 5xx, 409 (a concurrent write),
 *   timeouts and broken connections (ECONNRESET, ECONNREFUSED, …) — is thrown
 *   as a plain Error: the activity is retried by Temporal's retry policy.
 * - Everything else — an invalid manifest (400/422), forbidden (403), not
 *   found (404), unauthorised (401), an unknown kind — is the user's to fix:
 *   a StageFailure carrying the API server's own reason, never retried.
 */
import { StageFailure } from '../stages/executor-types';

const RETRYABLE_CODES = new Set([408, 409, 429, 500, 502, 503, 504]);
const RETRYABLE_NET = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/** An error from the API server (client-node's ApiException and our own raw requests look like this). */
export type ApiErrorLike = { code: number; body?: unknown };

export function isApiError(err: unknown): err is Error & ApiErrorLike {
  // An HTTP status; DOMException (AbortSignal.timeout's TimeoutError) also has a numeric `code`, a legacy one.
  const code = (err as { code?: unknown } | null)?.code;
  return err instanceof Error && !(err instanceof DOMException) && typeof code === 'number' && code >= 100 && code < 600;
}

export function statusOf(err: unknown): number | undefined {
  return isApiError(err) ? err.code : undefined;
}

/** The `message` of a Kubernetes Status body (or the body itself), shortened. */
export function apiReason(err: unknown): string {
  if (!isApiError(err)) return err instanceof Error ? err.message : String(err);
  let body = err.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      // plain text
    }
  }
  if (body && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string') {
    return (body as { message: string }).message.slice(0, 2000);
  }
  if (typeof body === 'string' && body.trim()) return body.trim().slice(0, 2000);
  return `HTTP ${err.code}`;
}

function networkCode(err: unknown): string | undefined {
  // undici: TypeError('fetch failed', { cause: { code } }); node: err.code; ours: err.cause chains.
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    const name = (e as { name?: unknown }).name;
    if (name === 'TimeoutError') return 'ETIMEDOUT';
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** An infrastructure error already described by `toStageError`: left retryable as it is. */
export class RetryableK8sError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RetryableK8sError';
  }
}

/**
 * The API server answers a server-side apply with unknown or mistyped fields with a 500
 * ("failed to create typed patch object … field not declared in schema"): the manifest's fault.
 */
function isInvalidApply(err: unknown): boolean {
  return statusOf(err) === 500 && /failed to create typed patch object|field not declared in schema|expected (map|list|string|numeric|boolean)/i.test(apiReason(err));
}

export function isRetryable(err: unknown): boolean {
  if (err instanceof StageFailure) return false;
  if (err instanceof RetryableK8sError) return true;
  const status = statusOf(err);
  if (status !== undefined) return (RETRYABLE_CODES.has(status) || status >= 500) && !isInvalidApply(err);
  const code = networkCode(err);
  if (code && RETRYABLE_NET.has(code)) return true;
  // "fetch failed" without a recognisable cause is a transport problem too.
  return err instanceof TypeError && /fetch failed|terminated|socket/i.test(err.message);
}

/**
 * Turns any error from a Kubernetes call into what the stage should throw:
 * the same error (retryable) or a StageFailure with a readable reason.
 * `what` says what was being done ("apply Deployment web").
 */
export function toStageError(err: unknown, what: string): Error {
  if (err instanceof StageFailure || err instanceof RetryableK8sError) return err;
  if (err instanceof Error && err.name === 'AbortError') return err;
  if (isRetryable(err)) return new RetryableK8sError(`${what}: ${describe(err)} (infrastructure error, retried)`, { cause: err });
  const status = statusOf(err);
  const reason = apiReason(err);
  if (isInvalidApply(err)) return new StageFailure(`${what}: invalid manifest: ${reason}`, 'InvalidConfig');
  switch (status) {
    case 400:
    case 422:
      return new StageFailure(`${what}: invalid manifest: ${reason}`, 'InvalidConfig');
    case 401:
      return new StageFailure(`${what}: the cluster refused the connection's credentials (401): ${reason}`);
    case 403:
      return new StageFailure(`${what}: forbidden: ${reason}`);
    case 404:
      return new StageFailure(`${what}: not found: ${reason}`);
    default:
      return new StageFailure(`${what}: ${status ? `HTTP ${status}: ` : ''}${reason}`);
  }
}

function describe(err: unknown): string {
  const status = statusOf(err);
  if (status !== undefined) return `HTTP ${status}: ${apiReason(err)}`;
  const code = networkCode(err);
  const msg = err instanceof Error ? err.message : String(err);
  return code && !msg.includes(code) ? `${msg} (${code})` : msg;
}
