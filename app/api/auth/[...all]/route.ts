/**
 * better-auth's HTTP endpoints (`/api/auth/*`): sign-in, sign-out, session, SSO callback.
 *
 * In front of the library:
 * 1. CSRF: POSTs must come from the app (server/security/csrf.ts), else 403 and an audit entry.
 * 2. Sign-in rate limit per client (server/auth/rate-limit.ts): by the proxy's
 *    client address with `PIPEWRIGHT_TRUST_PROXY=true`, else by account name
 *    plus a global cap; refusals are 429 with `Retry-After` and audited.
 *    (better-auth's own limiter is off: with no trustworthy address it would
 *    put every client in one bucket.)
 * 3. The client address the app trusts is passed on as `X-Pipewright-Client-IP`
 *    (a header of that name from the client is dropped), so audit entries of
 *    failed sign-ins carry it.
 */
import { toNextJsHandler } from 'better-auth/next-js';
import { getDb } from '@/db/client';
import { getAuth } from '@/server/auth/auth';
import { accountOf, CLIENT_IP_HEADER, clientAddress, getSignInLimiter } from '@/server/auth/rate-limit';
import { getEnv } from '@/server/env';
import { checkCsrf } from '@/server/security/csrf';
import { auditRefusal } from '@/server/security/refuse';

export const dynamic = 'force-dynamic';

async function handler(request: Request): Promise<Response> {
  const env = getEnv();
  const path = new URL(request.url).pathname.replace(/^\/api\/auth/, '');
  const address = clientAddress(request.headers, env.PIPEWRIGHT_TRUST_PROXY);
  const headers = new Headers(request.headers);
  headers.delete(CLIENT_IP_HEADER);
  if (address) headers.set(CLIENT_IP_HEADER, address);

  let body: string | undefined;
  if (request.method === 'POST') {
    const csrf = checkCsrf(request);
    if (!csrf.ok) {
      await auditRefusal(await getDb(), request, { action: `auth${path.replace(/\//g, '.')}`, reason: `CSRF: ${csrf.reason}`, details: { path } });
      return Response.json({ message: 'Refused: this request did not come from Pipewright.', code: 'CSRF' }, { status: 403 });
    }
    body = await request.text();
    if (path.startsWith('/sign-in/')) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        parsed = null;
      }
      const account = accountOf(parsed);
      const verdict = getSignInLimiter().check({ address, account });
      if (!verdict.ok) {
        await auditRefusal(await getDb(), null, {
          action: 'auth.sign_in',
          actorName: account,
          reason: `too many sign-in attempts (${verdict.key.startsWith('ip:') ? 'from this address' : verdict.key === 'global' ? 'from everyone' : 'for this account'}); retry in ${verdict.retryAfter} s`,
          details: { path, address },
        });
        return Response.json(
          { message: `Too many sign-in attempts. Try again in ${verdict.retryAfter} s.`, code: 'TOO_MANY_REQUESTS' },
          { status: 429, headers: { 'Retry-After': String(verdict.retryAfter), 'X-Retry-After': String(verdict.retryAfter) } },
        );
      }
    }
  }
  const forwarded = new Request(request.url, { method: request.method, headers, body, signal: request.signal });
  return toNextJsHandler(getAuth()).POST(forwarded);
}

export { handler as GET, handler as POST };
