/** CSRF verdicts, trusted client addresses, the sign-in limiter and notification text escaping (pure functions). */
import { describe, expect, it } from 'vitest';
import { accountOf, clientAddress, createSignInLimiter, signInClient, signInLimits } from '@/server/auth/rate-limit';
import { eventsOf, slackEscape } from '@/server/notify/notifier';
import { checkCsrf } from '@/server/security/csrf';
import type { RunState } from '@/workflows/run-state';

const origins = new Set(['https://pw.example.com']);
const req = (method: string, headers: Record<string, string> = {}) => ({ method, headers: new Headers(headers) });

describe('checkCsrf', () => {
  it('lets reads through and accepts the app header, the app origin or same-origin fetch metadata', () => {
    expect(checkCsrf(req('GET', { origin: 'https://evil.example' }), origins).ok).toBe(true);
    expect(checkCsrf(req('POST', { 'x-pipewright-csrf': '1' }), origins).ok).toBe(true);
    expect(checkCsrf(req('POST', { origin: 'https://pw.example.com' }), origins).ok).toBe(true);
    expect(checkCsrf(req('DELETE', { 'sec-fetch-site': 'same-origin' }), origins).ok).toBe(true);
  });
  it('refuses other origins, null, cross-site and same-site metadata, and bare requests', () => {
    const refused: Record<string, string>[] = [
      { origin: 'https://evil.example' },
      { origin: 'https://pw.example.com.evil.example' },
      { origin: 'null' },
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
      { 'x-pipewright-csrf': 'yes' },
      {},
    ];
    for (const h of refused) {
      expect(checkCsrf(req('POST', h), origins).ok, JSON.stringify(h)).toBe(false);
    }
  });
});

describe('clientAddress', () => {
  const h = (v: Record<string, string>) => new Headers(v);
  it('ignores forwarding headers unless the proxy is trusted', () => {
    expect(clientAddress(h({ 'x-forwarded-for': '203.0.113.9' }), false)).toBeNull();
  });
  it('takes the right-most X-Forwarded-For entry (the one the proxy appended)', () => {
    expect(clientAddress(h({ 'x-forwarded-for': '10.0.0.1, 203.0.113.9' }), true)).toBe('203.0.113.9');
    expect(clientAddress(h({ 'x-forwarded-for': '::ffff:198.51.100.4' }), true)).toBe('198.51.100.4');
    expect(clientAddress(h({ 'x-real-ip': '2001:db8::1' }), true)).toBe('2001:db8::1');
    expect(clientAddress(h({ 'x-forwarded-for': 'not-an-ip' }), true)).toBeNull();
  });
});

describe('sign-in limiter', () => {
  const limits = { perClient: { window: 60, max: 3 }, global: { window: 60, max: 7 }, backoff: { free: 2, baseS: 10, maxS: 40 } };
  const ip = (a: string) => signInClient({ deviceId: null, address: a, accountId: 'u1' });
  it('counts per client: the device for its account, else the trusted address, else the account', () => {
    expect(signInClient({ deviceId: 'd1', address: '1.1.1.1', accountId: 'u1' })).toEqual({ key: 'device:d1', known: true });
    expect(signInClient({ deviceId: null, address: '1.1.1.1', accountId: 'u1' })).toEqual({ key: 'ip:1.1.1.1', known: false });
    expect(signInClient({ deviceId: null, address: null, accountId: 'u1' })).toEqual({ key: 'account:u1', known: false });
    expect(signInClient({ deviceId: null, address: null, accountId: null })).toEqual({ key: 'anonymous', known: false });
  });
  it('keeps one rate bucket per client and caps everybody but known devices together', () => {
    const l = createSignInLimiter(limits);
    const t = 1_000_000;
    for (let i = 0; i < 3; i++) expect(l.check(ip('1.1.1.1'), t).ok).toBe(true);
    expect(l.check(ip('1.1.1.1'), t)).toMatchObject({ ok: false, retryAfter: 60, why: 'rate' });
    expect(l.check(ip('1.1.1.1'), t + 60_000).ok).toBe(true);
    // Everybody together (but known devices): 7 per window.
    const g = createSignInLimiter(limits);
    for (let i = 0; i < 7; i++) expect(g.check(ip(`10.0.0.${i}`), t).ok).toBe(true);
    expect(g.check(ip('10.0.0.99'), t)).toMatchObject({ ok: false, why: 'global' });
    expect(g.check({ key: 'device:d1', known: true }, t).ok).toBe(true);
    // Single sign-on starts name no account: only the global cap applies to them.
    const sso = createSignInLimiter(limits);
    const anon = signInClient({ deviceId: null, address: null, accountId: null });
    for (let i = 0; i < 7; i++) expect(sso.check(anon, t).ok).toBe(true);
    expect(sso.check(anon, t).ok).toBe(false);
  });
  it('backs a client off exponentially after repeated failures, and forgives it on success; other clients are not affected', () => {
    const l = createSignInLimiter({ ...limits, perClient: { window: 1, max: 100 }, global: { window: 1, max: 1000 } });
    const a = ip('1.1.1.1');
    const t = 0;
    l.failed(a, t);
    l.failed(a, t);
    // free = 2: the third attempt waits baseS · 2^0 = 10 s after the last failure.
    expect(l.check(a, t + 1000)).toMatchObject({ ok: false, retryAfter: 9, why: 'backoff' });
    expect(l.check(ip('2.2.2.2'), t + 1000).ok).toBe(true);
    expect(l.check(a, t + 10_000).ok).toBe(true);
    l.failed(a, t + 10_000);
    expect(l.check(a, t + 25_000)).toMatchObject({ ok: false, retryAfter: 5 }); // 20 s now
    l.failed(a, t + 30_000);
    l.failed(a, t + 30_000);
    expect(l.check(a, t + 30_000)).toMatchObject({ ok: false, retryAfter: 40 }); // capped at maxS
    l.succeeded(a);
    expect(l.check(a, t + 30_000).ok).toBe(true);
  });
  it('takes its per-minute limit from PIPEWRIGHT_SIGN_IN_LIMIT (global cap 60 times that)', () => {
    const l = createSignInLimiter(signInLimits(3));
    const c = signInClient({ deviceId: null, address: null, accountId: 'ann' });
    for (let i = 0; i < 3; i++) expect(l.check(c, 0).ok).toBe(true);
    expect(l.check(c, 0)).toMatchObject({ ok: false, retryAfter: 60 });
    expect(signInLimits(3).global.max).toBe(180);
  });
  it('reads the account from a sign-in body', () => {
    expect(accountOf({ username: ' Ada ' })).toBe('ada');
    expect(accountOf({ email: 'A@B.C' })).toBe('a@b.c');
    expect(accountOf('nope')).toBeNull();
  });
});

describe('notifications', () => {
  it('escapes text for Slack', () => {
    expect(slackEscape('<!channel> & <@U1> <https://x|y>')).toBe('&lt;!channel&gt; &amp; &lt;@U1&gt; &lt;https://x|y&gt;');
  });
  it('names one event per gate transition and run end', () => {
    const state: RunState = {
      runId: 'r1',
      status: 'succeeded',
      startedAt: 0,
      endedAt: 10,
      stages: {
        a: { status: 'succeeded', attempt: 1, outputs: {} },
        g1: { status: 'waiting', attempt: 1, outputs: {}, gate: { status: 'waiting', votes: [], waitingSince: 1 } },
        g2: { status: 'succeeded', attempt: 1, outputs: {}, gate: { status: 'approved', votes: [], waitingSince: 1, decidedBy: 'alan' } },
        g3: { status: 'cancelled', attempt: 1, outputs: {}, gate: { status: 'cancelled', votes: [], waitingSince: 1 } },
      },
    };
    expect(eventsOf(state, false).map((e) => e.id)).toEqual(['gate.waiting:r1:g1', 'gate.decided:r1:g2']);
    expect(eventsOf(state, true).map((e) => e.id)).toContain('run.ended:r1');
  });
});
