/**
 * better-auth's HTTP endpoints (`/api/auth/*`): sign-in, sign-out, session, SSO callback.
 *
 * In front of the library:
 * 1. CSRF: POSTs must come from the app (server/security/csrf.ts), else 403 and an audit entry.
 * 2. Sign-in throttling per client (server/auth/rate-limit.ts): a browser with
 *    a device cookie for the account, else the proxy's client address with
 *    `PIPEWRIGHT_TRUST_PROXY=true`, else the account (by user id, so username
 *    and e-mail count together) for browsers it has never seen; a per-minute
 *    rate, a back-off after repeated failures and a global cap. Refusals are
 *    429 with `Retry-After` and audited, as is every wrong password.
 *    (better-auth's own limiter is off: with no trustworthy address it would
 *    put every client in one bucket.)
 * 3. The client address the app trusts is passed on as `X-Pipewright-Client-IP`
 *    (a header of that name from the client is dropped), so sessions and audit
 *    entries carry it.
 * 4. Session tokens never reach the browser in JSON (`/get-session`,
 *    `/list-sessions`, sign-in answers): the HttpOnly cookie is the only copy
 *    a page gets, so a script injected into a page cannot read one.
 * 5. Bodies over `PIPEWRIGHT_MAX_BODY_BYTES` are refused with 413 before they are parsed.
 * 6. Endpoints the app does not offer (`DISABLED_AUTH_PATHS`: renaming
 *    oneself, username availability, …) answer 404.
 */
import { eq, sql } from 'drizzle-orm';
import { toNextJsHandler } from 'better-auth/next-js';
import { getDb } from '@/db/client';
import { user } from '@/db/schema';
import { getAuth, resolveAuthSecret } from '@/server/auth/auth';
import { deviceFor, issueDeviceCookie } from '@/server/auth/device-cookie';
import { accountOf, CLIENT_IP_HEADER, clientAddress, getSignInLimiter, signInClient } from '@/server/auth/rate-limit';
import { stripSessionTokens } from '@/server/auth/tokens';
import { getEnv } from '@/server/env';
import { formatBytes, readLimitedBody } from '@/server/security/body-limit';
import { checkCsrf } from '@/server/security/csrf';
import { auditRefusal } from '@/server/security/refuse';

export const dynamic = 'force-dynamic';

const PASSWORD_SIGN_IN = new Set(['/sign-in/username', '/sign-in/email']);

/** The id of the person a sign-in names by username or e-mail (null when nobody has it). */
async function accountIdOf(body: unknown): Promise<string | null> {
  const name = accountOf(body);
  if (!name) return null;
  const db = await getDb();
  const byEmail = typeof (body as { username?: unknown }).username !== 'string';
  const row = await db
    .select({ id: user.id })
    .from(user)
    .where(byEmail ? sql`lower(${user.email}) = ${name}` : eq(user.username, name))
    .get();
  return row?.id ?? null;
}

async function handler(request: Request): Promise<Response> {
  const env = getEnv();
  const path = new URL(request.url).pathname.replace(/^\/api\/auth/, '');
  const address = clientAddress(request.headers, env.PIPEWRIGHT_TRUST_PROXY);
  const headers = new Headers(request.headers);
  headers.delete(CLIENT_IP_HEADER);
  if (address) headers.set(CLIENT_IP_HEADER, address);
  const secure = env.publicUrl.startsWith('https:');

  let body: string | undefined;
  let signIn: { client: ReturnType<typeof signInClient>; account: string | null; userId: string | null } | undefined;
  if (request.method === 'POST') {
    const csrf = checkCsrf(request);
    if (!csrf.ok) {
      await auditRefusal(await getDb(), request, { action: `auth${path.replace(/\//g, '.')}`, reason: `CSRF: ${csrf.reason}`, details: { path } });
      return Response.json({ message: 'Refused: this request did not come from Pipewright.', code: 'CSRF' }, { status: 403 });
    }
    const max = env.PIPEWRIGHT_MAX_BODY_BYTES;
    const limited = await readLimitedBody(request, max);
    if (!limited.ok) return Response.json({ message: `The request is too large (at most ${formatBytes(max)}).`, code: 'PAYLOAD_TOO_LARGE' }, { status: 413 });
    body = limited.body ? new TextDecoder().decode(limited.body) : undefined;
    if (path.startsWith('/sign-in/')) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body ?? '');
      } catch {
        parsed = null;
      }
      const account = accountOf(parsed);
      const userId = account ? await accountIdOf(parsed) : null;
      const deviceId = deviceFor(request.headers, resolveAuthSecret(), userId, secure);
      // An unknown name still gets a bucket of its own (so guessing names is throttled too).
      const client = signInClient({ deviceId, address, accountId: userId ?? (account ? `name:${account}` : null) });
      signIn = { client, account, userId };
      const verdict = getSignInLimiter().check(client);
      if (!verdict.ok) {
        const who = client.key.startsWith('ip:') ? 'from this address' : client.key.startsWith('device:') ? 'from this browser' : verdict.why === 'global' ? 'from everyone' : 'for this account from browsers it has not signed in from before';
        await auditRefusal(await getDb(), null, {
          action: 'auth.sign_in',
          actorName: account,
          reason: `${verdict.why === 'backoff' ? 'too many failed sign-ins' : 'too many sign-in attempts'} (${who}); retry in ${verdict.retryAfter} s`,
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
  const res = await toNextJsHandler(getAuth()).POST(forwarded);

  const setCookies: string[] = [];
  if (signIn && PASSWORD_SIGN_IN.has(path)) {
    if (res.status === 200) {
      getSignInLimiter().succeeded(signIn.client);
      if (signIn.userId) setCookies.push(issueDeviceCookie(resolveAuthSecret(), signIn.userId, secure));
    } else if (res.status === 401) {
      getSignInLimiter().failed(signIn.client);
      await auditRefusal(await getDb(), null, { action: 'auth.sign_in', actorName: signIn.account, reason: 'wrong username or password', details: address ? { address } : undefined });
    }
  }
  return stripSessionTokens(res, setCookies);
}

export { handler as GET, handler as POST };
