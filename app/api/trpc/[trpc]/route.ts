/**
 * The tRPC endpoint (`/api/trpc/*`, batched GET and POST).
 *
 * The context is the app database and the person behind the session cookie
 * (null when signed out; procedures answer 401/403 themselves). Internal
 * errors are logged here with the procedure's path; the client only ever sees
 * the error formatter's generic message, never a stack trace.
 *
 * POSTs (mutations) with a session must pass the CSRF check (server/security/csrf.ts:
 * the `X-Pipewright-CSRF` header the app's client sends, or the app's own
 * Origin); others get 403 in tRPC's error shape and an audit entry. Without a
 * session there is nothing to forge: the procedures answer 401 as usual.
 *
 * Bodies over `PIPEWRIGHT_MAX_BODY_BYTES` (default 1 MiB) are refused with 413
 * in tRPC's error shape before they are read whole or parsed
 * (server/security/body-limit.ts).
 */
import { auditActionOf } from '@/server/security/audit-actions';
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { getDb } from '@/db/client';
import { appRouter } from '@/server/api/root';
import type { Context } from '@/server/api/trpc';
import { getSessionUser } from '@/server/auth/session';
import { getEnv } from '@/server/env';
import { formatBytes, readLimitedBody } from '@/server/security/body-limit';
import { checkCsrf } from '@/server/security/csrf';
import { auditLog } from '@/db/schema';

export const dynamic = 'force-dynamic';

/** tRPC's JSON-RPC error codes for the refusals answered here. */
const ERRORS = {
  FORBIDDEN: { code: -32003, httpStatus: 403 },
  PAYLOAD_TOO_LARGE: { code: -32013, httpStatus: 413 },
} as const;

/** A tRPC error response (one entry per batched call) for a refused request. */
function refused(req: Request, message: string, kind: keyof typeof ERRORS = 'FORBIDDEN'): Response {
  const { code, httpStatus } = ERRORS[kind];
  const url = new URL(req.url);
  const paths = decodeURIComponent(url.pathname.replace(/^\/api\/trpc\/?/, '')).split(',');
  const one = (path: string) => ({
    error: { json: { message, code, data: { code: kind, httpStatus, path, zodError: null, issues: null } } },
  });
  const body = url.searchParams.get('batch') === '1' ? paths.map(one) : one(paths[0] ?? '');
  return Response.json(body, { status: httpStatus });
}

async function handler(incoming: Request) {
  let req = incoming;
  if (incoming.method === 'POST') {
    const max = getEnv().PIPEWRIGHT_MAX_BODY_BYTES;
    const limited = await readLimitedBody(incoming, max);
    if (!limited.ok) return refused(incoming, `The request is too large (at most ${formatBytes(max)}).`, 'PAYLOAD_TOO_LARGE');
    req = new Request(incoming.url, { method: 'POST', headers: incoming.headers, body: limited.body, signal: incoming.signal });
  }
  const [db, user] = await Promise.all([getDb(), getSessionUser(req.headers)]);
  const csrf = user ? checkCsrf(req) : ({ ok: true } as const);
  if (!csrf.ok) {
    const path = decodeURIComponent(new URL(req.url).pathname.replace(/^\/api\/trpc\/?/, ''));
    // Named as the service names the action when it goes through (gate.approve, run.start, …).
    const body: unknown = req.method === 'POST' ? await req.clone().json().catch(() => undefined) : undefined;
    await db.insert(auditLog).values({
      actorId: user!.id,
      actorName: user!.username,
      action: auditActionOf(path, body),
      outcome: 'refused',
      reason: `CSRF: ${csrf.reason}`,
    });
    return refused(req, 'Refused: this request did not come from the Pipewright app (cross-site request).');
  }
  const context: Context = { db, user };
  return fetchRequestHandler({
    endpoint: '/api/trpc',
    req,
    router: appRouter,
    createContext: () => context,
    onError({ error, path, type }) {
      if (error.code === 'INTERNAL_SERVER_ERROR') {
        console.error(`[api] ${type} ${path ?? '(unknown procedure)'} failed: ${error.message}`);
      }
    },
  });
}

export { handler as GET, handler as POST };
