/**
 * Sign-in (better-auth).
 *
 * 1. People sign in with a username and password (`/api/auth/sign-in/username`);
 *    passwords are hashed by the library (scrypt). Nobody can sign themselves
 *    up: accounts are made by `createUser` (server/auth/users.ts).
 * 2. Sessions live in the `session` table; the browser holds the cookie
 *    `pipewright.session_token` (`__Secure-pipewright.session_token` when the
 *    public URL is https).
 * 3. `role` is a user field the client can never set; it defaults to `viewer`.
 * 4. Sign-in is rate limited in every environment, per client: by the proxy's
 *    client address with `PIPEWRIGHT_TRUST_PROXY=true`, else per account name
 *    plus a global cap (server/auth/rate-limit.ts, applied by the HTTP route
 *    app/api/auth/[...all]; better-auth's own limiter is off because without a
 *    trustworthy address it puts every client in one bucket). On top, at most
 *    10 failed attempts per account per 15 minutes whatever the address.
 *    Failed and refused sign-ins are written to the audit log.
 * 5. Single sign-on through OpenID Connect (provider id `oidc`) is added only
 *    when `PIPEWRIGHT_OIDC_ISSUER`, `_CLIENT_ID` and `_CLIENT_SECRET` are set.
 *    SSO users are created on first sign-in as viewers, without a username;
 *    they are never merged into an existing local account with the same email.
 * 6. Created lazily on first use and cached on globalThis, so importing this
 *    module opens no database.
 */
import { betterAuth, type BetterAuthPlugin } from 'better-auth';
import { drizzleAdapter } from 'better-auth/adapters/drizzle';
import { APIError, createAuthMiddleware } from 'better-auth/api';
import { nextCookies } from 'better-auth/next-js';
import { genericOAuth, username } from 'better-auth/plugins';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getDb, openDb } from '../../db/client';
import { account, auditLog, session, user, verification } from '../../db/schema';
import { getEnv } from '../env';
import { CLIENT_IP_HEADER } from './rate-limit';

/** Prefix of every auth cookie: the session cookie is `pipewright.session_token`. */
export const COOKIE_PREFIX = 'pipewright';
/** Provider id of the OIDC single sign-on (`authClient.signIn.social({ provider: OIDC_PROVIDER_ID })`). */
export const OIDC_PROVIDER_ID = 'oidc';
/** Per account (username or email): this many failed sign-ins per window (seconds). */
export const ACCOUNT_LOCKOUT = { window: 15 * 60, maxFailures: 10 } as const;

// ── Secret ───────────────────────────────────────────────────────────────────

/**
 * `BETTER_AUTH_SECRET`, else `PIPEWRIGHT_AUTH_SECRET`, else the one kept in
 * `$PIPEWRIGHT_DATA_DIR/auth-secret` (created with mode 0600 on first start).
 */
export function resolveAuthSecret(): string {
  const env = getEnv();
  const fromEnv = env.BETTER_AUTH_SECRET ?? env.PIPEWRIGHT_AUTH_SECRET;
  if (fromEnv) return fromEnv;
  const file = join(env.PIPEWRIGHT_DATA_DIR, 'auth-secret');
  const read = () => {
    try {
      return readFileSync(file, 'utf8').trim() || undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  };
  const existing = read();
  if (existing) return existing;
  mkdirSync(env.PIPEWRIGHT_DATA_DIR, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  try {
    // 'wx': if another process (web server vs. start script) won the race, use its secret.
    writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    return secret;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const other = read();
    if (!other) throw new Error(`${file} exists but is empty; delete it or set BETTER_AUTH_SECRET.`);
    return other;
  }
}

// ── Per-account lockout ──────────────────────────────────────────────────────

type Failures = { count: number; since: number };
const globalForLockout = globalThis as unknown as { pipewrightSignInFailures?: Map<string, Failures> };

function failuresStore() {
  return (globalForLockout.pipewrightSignInFailures ??= new Map());
}

function accountKey(body: unknown): string | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const b = body as { username?: unknown; email?: unknown };
  const id = typeof b.username === 'string' ? `u:${b.username}` : typeof b.email === 'string' ? `e:${b.email}` : undefined;
  return id?.trim().toLowerCase();
}

/** A refused sign-in in the audit log (who was tried, from which trusted address, why). */
async function auditSignIn(headers: Headers | null, key: string, reason: string) {
  try {
    await (await getDb()).insert(auditLog).values({
      actorName: key.replace(/^[ue]:/, '').slice(0, 200),
      action: 'auth.sign_in',
      outcome: 'refused',
      reason,
      details: headers?.get(CLIENT_IP_HEADER) ? { address: headers.get(CLIENT_IP_HEADER) } : null,
    });
  } catch (err) {
    console.error('[audit] could not record a refused sign-in:', err instanceof Error ? err.message : err);
  }
}

/**
 * Counts failed password sign-ins per account in memory and refuses further
 * attempts for that account once `ACCOUNT_LOCKOUT.maxFailures` is reached,
 * until the window has passed. Complements the per-IP limit, which a client can
 * dodge by sending its own `X-Forwarded-For`. Applies to `auth.api` calls too.
 */
function accountLockout(): BetterAuthPlugin {
  const isPasswordSignIn = (ctx: { path?: string }) => ctx.path === '/sign-in/username' || ctx.path === '/sign-in/email';
  const windowMs = ACCOUNT_LOCKOUT.window * 1000;
  return {
    id: 'pipewright-account-lockout',
    hooks: {
      before: [
        {
          matcher: isPasswordSignIn,
          handler: createAuthMiddleware(async (ctx) => {
            const key = accountKey(ctx.body);
            if (!key) return;
            const entry = failuresStore().get(key);
            if (!entry) return;
            const left = entry.since + windowMs - Date.now();
            if (left <= 0) {
              failuresStore().delete(key);
              return;
            }
            if (entry.count >= ACCOUNT_LOCKOUT.maxFailures) {
              const retryAfter = Math.ceil(left / 1000);
              await auditSignIn(ctx.request?.headers ?? null, key, `account locked after ${ACCOUNT_LOCKOUT.maxFailures} failed attempts; retry in ${retryAfter} s`);
              throw new APIError(
                'TOO_MANY_REQUESTS',
                { message: `Too many attempts, try again in ${retryAfter} s`, code: 'TOO_MANY_ATTEMPTS' },
                { 'X-Retry-After': String(retryAfter) },
              );
            }
          }),
        },
      ],
      after: [
        {
          matcher: isPasswordSignIn,
          handler: createAuthMiddleware(async (ctx) => {
            const key = accountKey(ctx.body);
            if (!key) return;
            const returned = ctx.context.returned;
            const store = failuresStore();
            if (returned instanceof APIError) {
              if (returned.statusCode !== 401) return;
              await auditSignIn(ctx.request?.headers ?? null, key, 'wrong username or password');
              const now = Date.now();
              const entry = store.get(key);
              if (entry && now - entry.since < windowMs) entry.count += 1;
              else store.set(key, { count: 1, since: now });
              if (store.size > 10_000) {
                for (const [k, v] of store) if (now - v.since >= windowMs) store.delete(k);
              }
            } else if (returned !== undefined) {
              store.delete(key);
            }
          }),
        },
      ],
    },
  };
}

// ── The instance ─────────────────────────────────────────────────────────────

function trustedOrigins(env: ReturnType<typeof getEnv>): string[] {
  const origins = new Set([new URL(env.publicUrl).origin]);
  if (!env.PIPEWRIGHT_URL) {
    origins.add(`http://localhost:${env.PORT}`);
    origins.add(`http://127.0.0.1:${env.PORT}`);
  }
  return [...origins];
}

function oidcPlugins(env: ReturnType<typeof getEnv>) {
  const { PIPEWRIGHT_OIDC_ISSUER: issuer, PIPEWRIGHT_OIDC_CLIENT_ID: clientId, PIPEWRIGHT_OIDC_CLIENT_SECRET: clientSecret } = env;
  if (!issuer || !clientId || !clientSecret) return [];
  return [
    genericOAuth({
      config: [
        {
          providerId: OIDC_PROVIDER_ID,
          name: 'SSO',
          discoveryUrl: `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`,
          clientId,
          clientSecret,
          scopes: ['openid', 'profile', 'email'],
          pkce: true,
        },
      ],
    }),
  ];
}

function createAuth() {
  const env = getEnv();
  return betterAuth({
    appName: 'Pipewright',
    baseURL: env.publicUrl,
    basePath: '/api/auth',
    secret: resolveAuthSecret(),
    trustedOrigins: trustedOrigins(env),
    database: drizzleAdapter(openDb().db, {
      provider: 'sqlite',
      schema: { user, session, account, verification },
    }),
    emailAndPassword: {
      enabled: true,
      // Accounts are created by admins and the start script, never by visitors.
      disableSignUp: true,
      minPasswordLength: 8,
      maxPasswordLength: 128,
    },
    user: {
      additionalFields: {
        role: { type: 'string', required: false, input: false, defaultValue: 'viewer' },
      },
    },
    account: {
      // An SSO login whose email matches a local account must not take it over.
      accountLinking: { enabled: false },
    },
    // Sign-in is rate limited per client by the HTTP route (see point 4 above).
    rateLimit: { enabled: false },
    advanced: {
      cookiePrefix: COOKIE_PREFIX,
      // Sessions record the address the route trusts (none without a trusted proxy), never a forged header.
      ipAddress: { ipAddressHeaders: [CLIENT_IP_HEADER] },
    },
    telemetry: { enabled: false },
    // "Invalid password" and friends are worth a line in production logs, not in test output.
    logger: { level: env.NODE_ENV === 'test' ? 'error' : 'warn' },
    plugins: [
      // Usernames are lower-cased; they cannot be changed by their owner (gates may name them).
      username({ immutableUsername: true }),
      accountLockout(),
      ...oidcPlugins(env),
      // Must stay last: lets server actions set cookies.
      nextCookies(),
    ],
  });
}

export type Auth = ReturnType<typeof createAuth>;

const globalForAuth = globalThis as unknown as { pipewrightAuth?: Auth };

/** The auth instance (created on first call; opens the database then). */
export function getAuth(): Auth {
  return (globalForAuth.pipewrightAuth ??= createAuth());
}

/** Forget the instance (tests that change the environment). */
export function resetAuth(): void {
  globalForAuth.pipewrightAuth = undefined;
  globalForLockout.pipewrightSignInFailures?.clear();
}
