/**
 * CSRF protection for state-changing requests (tRPC mutations, better-auth's
 * POSTs, any route handler that changes something).
 *
 * The session is a cookie, so a page on another site could make the browser
 * send a request with it. A request that changes state (any method but GET,
 * HEAD and OPTIONS) is accepted only when one of these holds:
 *
 * 1. it carries the header `X-Pipewright-CSRF: 1`, which the app's own tRPC
 *    and auth clients always send. A page on another origin cannot add a
 *    custom header without a CORS preflight, and Pipewright answers no
 *    preflight, so the browser never sends such a request;
 * 2. its `Origin` is the app's own (the public URL's origin, plus
 *    `http://localhost:PORT` and `http://127.0.0.1:PORT` when `PIPEWRIGHT_URL`
 *    is not set) — what every browser sends with a same-origin POST;
 * 3. it has no `Origin` but `Sec-Fetch-Site: same-origin`.
 *
 * Anything else — another origin, `Origin: null` (sandboxed frames, some
 * redirects), `Sec-Fetch-Site: cross-site` or `same-site`, or a request with
 * neither header nor the custom one — is refused with 403 and an audit entry.
 * Scripts and API clients send the custom header (or an `Origin`).
 * SameSite=Lax cookies (better-auth's default) are a second layer, not the
 * one relied on.
 */
import { getEnv } from '../env';

export const CSRF_HEADER = 'x-pipewright-csrf';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Origins the app is served from (the same list better-auth trusts). */
export function appOrigins(env: ReturnType<typeof getEnv> = getEnv()): Set<string> {
  const origins = new Set([new URL(env.publicUrl).origin]);
  if (!env.PIPEWRIGHT_URL) {
    origins.add(`http://localhost:${env.PORT}`);
    origins.add(`http://127.0.0.1:${env.PORT}`);
  }
  return origins;
}

export type CsrfVerdict = { ok: true } | { ok: false; reason: string };

/** Whether a request may change state (see the module comment). */
export function checkCsrf(req: Pick<Request, 'method' | 'headers'>, origins: Set<string> = appOrigins()): CsrfVerdict {
  if (SAFE_METHODS.has(req.method.toUpperCase())) return { ok: true };
  if (req.headers.get(CSRF_HEADER) === '1') return { ok: true };
  const origin = req.headers.get('origin');
  const site = req.headers.get('sec-fetch-site');
  if (origin !== null) {
    if (origins.has(origin)) return { ok: true };
    return { ok: false, reason: `request from another origin (${origin.slice(0, 200)})` };
  }
  if (site === 'same-origin') return { ok: true };
  if (site) return { ok: false, reason: `cross-site request (Sec-Fetch-Site: ${site.slice(0, 40)})` };
  return { ok: false, reason: `no Origin header and no ${CSRF_HEADER} header` };
}
