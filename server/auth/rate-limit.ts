/**
 * Sign-in throttling, per client — never per account name alone, so nobody
 * can lock a named person (the admin, say) out by guessing wrong on purpose.
 *
 * Who "the client" is depends on what can be trusted (`signInClient`):
 * 1. A browser holding a valid device cookie for the account it signs in as
 *    (server/auth/device-cookie.ts: issued after a successful sign-in, signed
 *    with the auth secret) is its own client, `device:<id>`. This is OWASP's
 *    "device cookie" scheme: strangers' failures never reach a device that has
 *    signed in as that person before, and known devices are not held back by
 *    the global cap either.
 * 2. Behind a reverse proxy (`PIPEWRIGHT_TRUST_PROXY=true`): the address the
 *    proxy saw, i.e. the right-most entry of `X-Forwarded-For` (the one the
 *    proxy appended; anything left of it came from the client and can be
 *    forged), `ip:<address>`. `X-Real-IP` is used when there is no
 *    `X-Forwarded-For`.
 * 3. Without a trusted proxy there is no trustworthy address: Next.js passes
 *    the socket address to route handlers only as `X-Forwarded-For`, and only
 *    when the client did not send that header itself, so the two cannot be
 *    told apart. Then every client without a device cookie for the account
 *    shares one bucket per account, `account:<user id>` — the username and the
 *    e-mail address of one person count together. A stranger can slow down
 *    other *unknown* browsers signing in as that person, never the person's
 *    own (known) browser.
 *
 * Each client gets `perClient` attempts per window (successful ones
 * included) and, after `backoff.free` consecutive failures, must wait
 * `backoff.baseS · 2^(n − free)` seconds (at most `backoff.maxS`) before each
 * further try; a success clears its failures. Everybody together but known
 * devices is capped at `global` attempts per window (the bound on guessing
 * across many names and addresses).
 *
 * Counters live in memory (one web process); a window is fixed from its first
 * request, like better-auth's own limiter.
 */
import { isIP } from 'node:net';
import { getEnv } from '../env';

/** The client address the auth route trusts, as it passes it on to better-auth (a client's own header of that name is dropped). */
export const CLIENT_IP_HEADER = 'x-pipewright-client-ip';

type Rule = { window: number; max: number };
export type Backoff = { free: number; baseS: number; maxS: number };
export type SignInLimits = { perClient: Rule; global: Rule; backoff: Backoff };

/** The limits for `perMinute` attempts per client (`PIPEWRIGHT_SIGN_IN_LIMIT`); the global cap is 60 times that. */
export function signInLimits(perMinute: number): SignInLimits {
  return {
    perClient: { window: 60, max: perMinute },
    global: { window: 60, max: perMinute * 60 },
    backoff: { free: 5, baseS: 2, maxS: 15 * 60 },
  };
}

/** The defaults (`PIPEWRIGHT_SIGN_IN_LIMIT` unset). */
export const SIGN_IN_LIMITS = signInLimits(5);

/** The client's address, or null when none can be trusted (see the module comment). */
export function clientAddress(headers: Headers, trustProxy: boolean): string | null {
  if (!trustProxy) return null;
  const forwarded = headers.get('x-forwarded-for');
  const candidates = forwarded ? forwarded.split(',').map((s) => s.trim()) : [headers.get('x-real-ip')?.trim() ?? ''];
  const last = candidates[candidates.length - 1] ?? '';
  const bare = last.replace(/^\[(.*)\](:\d+)?$/, '$1').replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
  return isIP(bare) ? bare.toLowerCase() : null;
}

/** The account a sign-in body names (`username` or `email`), lower-cased. */
export function accountOf(body: unknown): string | null {
  if (!body || typeof body !== 'object') return null;
  const b = body as { username?: unknown; email?: unknown };
  const v = typeof b.username === 'string' ? b.username : typeof b.email === 'string' ? b.email : null;
  return v ? v.trim().toLowerCase().slice(0, 200) : null;
}

/** Whom a sign-in attempt is counted against. `known`: a device that signed in as this person before. */
export type SignInClient = { key: string; known: boolean };

/**
 * The client of a sign-in attempt (see the module comment): the device when it
 * holds a device cookie for `accountId`, else the trusted address, else the
 * account (its user id when it exists, else the name tried), else — a sign-in
 * naming no account, i.e. single sign-on — nobody in particular (global cap only).
 */
export function signInClient(input: { deviceId: string | null; address: string | null; accountId: string | null }): SignInClient {
  if (input.deviceId) return { key: `device:${input.deviceId}`, known: true };
  if (input.address) return { key: `ip:${input.address}`, known: false };
  if (input.accountId) return { key: `account:${input.accountId}`, known: false };
  return { key: 'anonymous', known: false };
}

export type LimitVerdict = { ok: true } | { ok: false; retryAfter: number; why: 'rate' | 'backoff' | 'global' };

type Bucket = { count: number; since: number };
type Failures = { count: number; last: number };

export function createSignInLimiter(limits: SignInLimits = SIGN_IN_LIMITS) {
  const buckets = new Map<string, Bucket>();
  const failures = new Map<string, Failures>();

  function take(key: string, rule: Rule, now: number): number | null {
    const windowMs = rule.window * 1000;
    let b = buckets.get(key);
    if (!b || now - b.since >= windowMs) {
      b = { count: 0, since: now };
      buckets.set(key, b);
    }
    if (b.count >= rule.max) return Math.max(1, Math.ceil((b.since + windowMs - now) / 1000));
    b.count++;
    return null;
  }

  /** Seconds the client must still wait after its consecutive failures (0: may try now). */
  function backoffLeft(key: string, now: number): number {
    const f = failures.get(key);
    if (!f || f.count < limits.backoff.free) return 0;
    const waitS = Math.min(limits.backoff.maxS, limits.backoff.baseS * 2 ** Math.min(f.count - limits.backoff.free, 30));
    const left = f.last + waitS * 1000 - now;
    return left > 0 ? Math.ceil(left / 1000) : 0;
  }

  function prune(now: number) {
    if (buckets.size + failures.size < 10_000) return;
    const longest = Math.max(limits.perClient.window, limits.global.window) * 1000;
    for (const [k, b] of buckets) if (now - b.since >= longest) buckets.delete(k);
    for (const [k, f] of failures) if (now - f.last >= limits.backoff.maxS * 1000) failures.delete(k);
  }

  return {
    /** Counts one sign-in attempt; refuses it when its client must back off or its bucket (or everybody's) is full. */
    check(client: SignInClient, now = Date.now()): LimitVerdict {
      prune(now);
      const wait = backoffLeft(client.key, now);
      if (wait > 0) return { ok: false, retryAfter: wait, why: 'backoff' };
      if (client.key !== 'anonymous') {
        const rate = take(`rate:${client.key}`, limits.perClient, now);
        if (rate !== null) return { ok: false, retryAfter: rate, why: 'rate' };
      }
      if (client.known) return { ok: true };
      const global = take('global', limits.global, now);
      return global === null ? { ok: true } : { ok: false, retryAfter: global, why: 'global' };
    },
    /** A wrong password from this client: one more consecutive failure. */
    failed(client: SignInClient, now = Date.now()) {
      if (client.key === 'anonymous') return;
      const f = failures.get(client.key);
      failures.set(client.key, { count: (f?.count ?? 0) + 1, last: now });
    },
    /** A successful sign-in: the client's failures are forgiven. */
    succeeded(client: SignInClient) {
      failures.delete(client.key);
    },
    reset() {
      buckets.clear();
      failures.clear();
    },
  };
}

const globalForLimiter = globalThis as unknown as { pipewrightSignInLimiter?: ReturnType<typeof createSignInLimiter> };

/** The process's sign-in limiter. */
export function getSignInLimiter() {
  return (globalForLimiter.pipewrightSignInLimiter ??= createSignInLimiter(signInLimits(getEnv().PIPEWRIGHT_SIGN_IN_LIMIT)));
}
