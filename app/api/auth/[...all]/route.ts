/** better-auth's HTTP endpoints (`/api/auth/*`): sign-in, sign-out, session, SSO callback. */
import { toNextJsHandler } from 'better-auth/next-js';
import { getAuth } from '@/server/auth/auth';

export const dynamic = 'force-dynamic';

const handler = (request: Request) => toNextJsHandler(getAuth()).POST(request);

export { handler as GET, handler as POST };
