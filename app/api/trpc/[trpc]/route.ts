/**
 * The tRPC endpoint (`/api/trpc/*`, batched GET and POST).
 *
 * The context is the app database and the person behind the session cookie
 * (null when signed out; procedures answer 401/403 themselves). Internal
 * errors are logged here with the procedure's path; the client only ever sees
 * the error formatter's generic message, never a stack trace.
 */
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { getDb } from '@/db/client';
import { appRouter } from '@/server/api/root';
import type { Context } from '@/server/api/trpc';
import { getSessionUser } from '@/server/auth/session';

export const dynamic = 'force-dynamic';

async function createContext(req: Request): Promise<Context> {
  const [db, user] = await Promise.all([getDb(), getSessionUser(req.headers)]);
  return { db, user };
}

function handler(req: Request) {
  return fetchRequestHandler({
    endpoint: '/api/trpc',
    req,
    router: appRouter,
    createContext: () => createContext(req),
    onError({ error, path, type }) {
      if (error.code === 'INTERNAL_SERVER_ERROR') {
        console.error(`[api] ${type} ${path ?? '(unknown procedure)'} failed: ${error.message}`);
      }
    },
  });
}

export { handler as GET, handler as POST };
