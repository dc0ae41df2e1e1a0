/** CSRF verdicts, trusted client addresses, the sign-in limiter and notification text escaping (pure functions). */
import { describe, expect, it } from 'vitest';
import { accountOf, clientAddress, createSignInLimiter, signInLimits } from '@/server/auth/rate-limit';
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
  const limits = { perIp: { window: 60, max: 2 }, perAccount: { window: 60, max: 2 }, global: { window: 60, max: 5 } };
  it('keeps one bucket per address, per account without one, and caps everybody together', () => {
    const l = createSignInLimiter(limits);
    const t = 1_000_000;
    expect(l.check({ address: '1.1.1.1', account: 'a' }, t).ok).toBe(true);
    expect(l.check({ address: '1.1.1.1', account: 'b' }, t).ok).toBe(true);
    expect(l.check({ address: '1.1.1.1', account: 'c' }, t)).toMatchObject({ ok: false, retryAfter: 60 });
    expect(l.check({ address: '2.2.2.2', account: 'a' }, t).ok).toBe(true);
    expect(l.check({ address: '1.1.1.1', account: 'c' }, t + 60_000).ok).toBe(true);

    expect(l.check({ address: null, account: 'ann' }, t).ok).toBe(true);
    expect(l.check({ address: null, account: 'ann' }, t).ok).toBe(true);
    expect(l.check({ address: null, account: 'ann' }, t).ok).toBe(false);
    expect(l.check({ address: null, account: 'bob' }, t).ok).toBe(true);
    expect(l.check({ address: null, account: 'cy' }, t).ok).toBe(true);
    expect(l.check({ address: null, account: 'dee' }, t).ok).toBe(true);
    expect(l.check({ address: null, account: 'eve' }, t)).toMatchObject({ ok: false, key: 'global' });
    // Single sign-on starts name no account: only the global cap applies to them.
    const sso = createSignInLimiter(limits);
    for (let i = 0; i < 5; i++) expect(sso.check({ address: null, account: null }, t).ok).toBe(true);
    expect(sso.check({ address: null, account: null }, t).ok).toBe(false);
  });
  it('takes its per-minute limit from PIPEWRIGHT_SIGN_IN_LIMIT (global cap 60 times that)', () => {
    const l = createSignInLimiter(signInLimits(3));
    for (let i = 0; i < 3; i++) expect(l.check({ address: null, account: 'ann' }, 0).ok).toBe(true);
    expect(l.check({ address: null, account: 'ann' }, 0)).toMatchObject({ ok: false, retryAfter: 60 });
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
