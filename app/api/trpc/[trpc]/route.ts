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
 */
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { getDb } from '@/db/client';
import { appRouter } from '@/server/api/root';
import type { Context } from '@/server/api/trpc';
import { getSessionUser } from '@/server/auth/session';
import { checkCsrf } from '@/server/security/csrf';
import { auditLog } from '@/db/schema';

export const dynamic = 'force-dynamic';


/** A tRPC error response (one entry per batched call) for a refused request. */
function refused(req: Request, message: string): Response {
  const url = new URL(req.url);
  const paths = decodeURIComponent(url.pathname.replace(/^\/api\/trpc\/?/, '')).split(',');
  const one = (path: string) => ({
    error: { json: { message, code: -32003, data: { code: 'FORBIDDEN', httpStatus: 403, path, zodError: null, issues: null } } },
  });
  const body = url.searchParams.get('batch') === '1' ? paths.map(one) : one(paths[0] ?? '');
  return Response.json(body, { status: 403 });
}

async function handler(req: Request) {
  const [db, user] = await Promise.all([getDb(), getSessionUser(req.headers)]);
  const csrf = user ? checkCsrf(req) : ({ ok: true } as const);
  if (!csrf.ok) {
    const path = decodeURIComponent(new URL(req.url).pathname.replace(/^\/api\/trpc\/?/, ''));
    await db.insert(auditLog).values({
      actorId: user!.id,
      actorName: user!.username,
      action: path.slice(0, 200) || 'trpc',
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
