/**
 * Sign-in rate limiting, per client — never one bucket for everybody.
 *
 * Who "the client" is depends on what can be trusted:
 * 1. Behind a reverse proxy (`PIPEWRIGHT_TRUST_PROXY=true`): the address the
 *    proxy saw, i.e. the right-most entry of `X-Forwarded-For` (the one the
 *    proxy appended; anything left of it came from the client and can be
 *    forged). `X-Real-IP` is used when there is no `X-Forwarded-For`.
 *    Limit: `SIGN_IN_LIMITS.perIp` per address.
 * 2. Without a trusted proxy there is no trustworthy address: Next.js passes
 *    the socket address to route handlers only as `X-Forwarded-For`, and only
 *    when the client did not send that header itself, so the two cannot be
 *    told apart. Then each account name gets its own bucket
 *    (`SIGN_IN_LIMITS.perAccount`), and a generous global cap
 *    (`SIGN_IN_LIMITS.global`) bounds password guessing across many names.
 *    One person's typos never lock out anybody else.
 * The per-account lockout after repeated failures (server/auth/auth.ts)
 * applies on top, whatever the address.
 *
 * Counters live in memory (one web process); a window is fixed from its first
 * request, like better-auth's own limiter.
 */
import { isIP } from 'node:net';
import { getEnv } from '../env';

/** The client address the auth route trusts, as it passes it on to better-auth (a client's own header of that name is dropped). */
export const CLIENT_IP_HEADER = 'x-pipewright-client-ip';

export const SIGN_IN_LIMITS = {
  /** Per client address (trusted proxy). */
  perIp: { window: 60, max: 5 },
  /** Per username or email when no address can be trusted. */
  perAccount: { window: 60, max: 5 },
  /** Everybody together when no address can be trusted. */
  global: { window: 60, max: 300 },
} as const;

type Rule = { window: number; max: number };
type Bucket = { count: number; since: number };

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

export type LimitVerdict = { ok: true; key: string } | { ok: false; key: string; retryAfter: number };

export function createSignInLimiter(limits: { perIp: Rule; perAccount: Rule; global: Rule } = SIGN_IN_LIMITS) {
  const buckets = new Map<string, Bucket>();

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

  function prune(now: number) {
    if (buckets.size < 10_000) return;
    const longest = Math.max(limits.perIp.window, limits.perAccount.window, limits.global.window) * 1000;
    for (const [k, b] of buckets) if (now - b.since >= longest) buckets.delete(k);
  }

  return {
    /** Counts one sign-in attempt; refuses it when its client's bucket is full. */
    check(input: { address: string | null; account: string | null }, now = Date.now()): LimitVerdict {
      prune(now);
      if (input.address) {
        const key = `ip:${input.address}`;
        const wait = take(key, limits.perIp, now);
        return wait === null ? { ok: true, key } : { ok: false, key, retryAfter: wait };
      }
      // A sign-in that names no account (single sign-on) only counts towards the global cap.
      const key = input.account ? `account:${input.account}` : 'global';
      if (input.account) {
        const perAccount = take(key, limits.perAccount, now);
        if (perAccount !== null) return { ok: false, key, retryAfter: perAccount };
      }
      const global = take('global', limits.global, now);
      return global === null ? { ok: true, key } : { ok: false, key: 'global', retryAfter: global };
    },
    reset() {
      buckets.clear();
    },
  };
}

const globalForLimiter = globalThis as unknown as { pipewrightSignInLimiter?: ReturnType<typeof createSignInLimiter> };

/** The limits for `perMinute` attempts per client or account (`PIPEWRIGHT_SIGN_IN_LIMIT`); the global cap is 60 times that. */
export function signInLimits(perMinute: number) {
  return { perIp: { window: 60, max: perMinute }, perAccount: { window: 60, max: perMinute }, global: { window: 60, max: perMinute * 60 } };
}

/** The process's sign-in limiter. */
export function getSignInLimiter() {
  return (globalForLimiter.pipewrightSignInLimiter ??= createSignInLimiter(signInLimits(getEnv().PIPEWRIGHT_SIGN_IN_LIMIT)));
}
