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
 * 4. Sign-in is throttled in every environment, per client, never per account
 *    name alone (so nobody can lock the admin out): a browser that signed in
 *    as that person before (device cookie), else the proxy's client address
 *    with `PIPEWRIGHT_TRUST_PROXY=true`, else the account for browsers it has
 *    never seen; rate limit, back-off after repeated failures and a global cap
 *    (server/auth/rate-limit.ts, applied by the HTTP route app/api/auth/[...all];
 *    better-auth's own limiter is off because without a trustworthy address it
 *    puts every client in one bucket). Failed and refused sign-ins are written
 *    to the audit log.
 * 5. Single sign-on through OpenID Connect (provider id `oidc`) is added only
 *    when `PIPEWRIGHT_OIDC_ISSUER`, `_CLIENT_ID` and `_CLIENT_SECRET` are set.
 *    SSO users are created on first sign-in as viewers, without a username
 *    (whatever the provider's profile says) and cannot set one themselves
 *    (`/update-user` is off, see `DISABLED_AUTH_PATHS`); they are never merged
 *    into an existing local account with the same email.
 * 6. Created lazily on first use and cached on globalThis, so importing this
 *    module opens no database.
 */
import { betterAuth } from 'better-auth';
import { drizzleAdapter } from 'better-auth/adapters/drizzle';
import { nextCookies } from 'better-auth/next-js';
import { genericOAuth, username } from 'better-auth/plugins';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDb } from '../../db/client';
import { account, session, user, verification } from '../../db/schema';
import { getEnv } from '../env';
import { CLIENT_IP_HEADER, getSignInLimiter } from './rate-limit';

/** Prefix of every auth cookie: the session cookie is `pipewright.session_token`. */
export const COOKIE_PREFIX = 'pipewright';
/** Provider id of the OIDC single sign-on (`authClient.signIn.social({ provider: OIDC_PROVIDER_ID })`). */
export const OIDC_PROVIDER_ID = 'oidc';
/**
 * better-auth endpoints the app never offers over HTTP (404):
 * - `/update-user`: people cannot rename themselves (a display name is what
 *   approvers are known by; admins manage names, Admin → People), and SSO
 *   users without a username cannot claim one.
 * - `/is-username-available`: would tell strangers which usernames exist.
 * - sign-up, e-mail change and account deletion: accounts are managed by admins.
 */
export const DISABLED_AUTH_PATHS = ['/update-user', '/is-username-available', '/sign-up/email', '/change-email', '/delete-user'];

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
    databaseHooks: {
      user: {
        create: {
          // Users created through an HTTP endpoint can only be SSO users (sign-up is off): they never
          // bring a username of their own, so nobody can claim an existing one or one a gate names.
          // Admins' `createUser` runs outside any endpoint and keeps its username.
          before: async (data, ctx) => {
            if (!ctx?.path) return;
            const { username: _u, displayUsername: _d, ...rest } = data as typeof data & { username?: unknown; displayUsername?: unknown };
            return { data: { ...rest, username: null, displayUsername: null } };
          },
        },
      },
    },
    disabledPaths: DISABLED_AUTH_PATHS,
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
  getSignInLimiter().reset();
}
