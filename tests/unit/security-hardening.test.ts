/** Pure parts of the security hardening: token buckets, refusal sampling, device cookies, token stripping. */
import { describe, expect, it } from 'vitest';
import { deviceFor, issueDeviceCookie } from '@/server/auth/device-cookie';
import { withoutTokens } from '@/server/auth/tokens';
import { createStreamCounter } from '@/server/live/stream-limits';
import { formatBytes } from '@/server/security/body-limit';
import { createTokenBuckets } from '@/server/security/token-bucket';
import { createRefusalSampler, createWebhookLimiter } from '@/server/triggers/refusals';

describe('token buckets', () => {
  it('allow a burst of `capacity`, then refill at `perSecond`, per key', () => {
    const b = createTokenBuckets({ capacity: 3, perSecond: 2 });
    for (let i = 0; i < 3; i++) expect(b.take('a', 0)).toBeNull();
    expect(b.take('a', 0)).toBe(1);
    expect(b.take('b', 0)).toBeNull();
    expect(b.take('a', 500)).toBeNull(); // one token back after 0.5 s
    expect(b.take('a', 500)).toBe(1);
  });
  it('webhooks: per client address (when trusted) and per pipeline', () => {
    const l = createWebhookLimiter({ perPipeline: { capacity: 2, perSecond: 1 }, perClient: { capacity: 3, perSecond: 1 } });
    expect(l.check('p1', '1.1.1.1', 0)).toBeNull();
    expect(l.check('p1', '1.1.1.1', 0)).toBeNull();
    expect(l.check('p1', '2.2.2.2', 0)).toBe(1); // the pipeline is full
    expect(l.check('p2', '1.1.1.1', 0)).toBeNull();
    expect(l.check('p3', '1.1.1.1', 0)).toBe(1); // the client is full
    expect(l.check('p3', null, 0)).toBeNull();
  });
});

describe('refusal sampler', () => {
  it('lets one row per key and window through, counting the ones held back', () => {
    const s = createRefusalSampler(60_000);
    expect(s.refused('p1', 0)).toBe(1);
    for (let i = 1; i <= 4; i++) expect(s.refused('p1', i * 1000)).toBeNull();
    expect(s.refused('p2', 5000)).toBe(1);
    expect(s.refused('p1', 60_000)).toBe(5); // this one and the four held back
    expect(s.refused('p1', 61_000)).toBeNull();
  });
});

describe('device cookies', () => {
  const secret = 's'.repeat(32);
  const valueOf = (setCookie: string) => setCookie.split(';')[0]!;
  it('prove a browser signed in as that user before, and nothing else', () => {
    const set = issueDeviceCookie(secret, 'user-1', false);
    expect(set).toMatch(/^pipewright\.device=[^;]+; Path=\/api\/auth; Max-Age=\d+; HttpOnly; SameSite=Lax$/);
    const headers = new Headers({ cookie: `other=1; ${valueOf(set)}` });
    expect(deviceFor(headers, secret, 'user-1', false)).toMatch(/^[\w-]{20,}$/);
    expect(deviceFor(headers, secret, 'user-2', false)).toBeNull();
    expect(deviceFor(headers, 'another-secret'.repeat(3), 'user-1', false)).toBeNull();
    expect(deviceFor(new Headers({ cookie: valueOf(set).replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')) }), secret, 'user-1', false)).toBeNull();
    expect(deviceFor(headers, secret, null, false)).toBeNull();
    const secure = issueDeviceCookie(secret, 'user-1', true);
    expect(secure).toMatch(/^__Secure-pipewright\.device=.*; Secure$/);
    expect(deviceFor(new Headers({ cookie: valueOf(secure) }), secret, 'user-1', true)).not.toBeNull();
  });
});

describe('session JSON', () => {
  it('loses the token fields better-auth puts there, and nothing else', () => {
    expect(withoutTokens({ session: { id: 's', token: 't', userId: 'u' }, user: { id: 'u', name: 'token' } })).toEqual({
      session: { id: 's', userId: 'u' },
      user: { id: 'u', name: 'token' },
    });
    expect(withoutTokens([{ id: 'a', token: 't1' }, { id: 'b', token: 't2' }])).toEqual([{ id: 'a' }, { id: 'b' }]);
    expect(withoutTokens({ redirect: false, token: 't', user: { id: 'u' } })).toEqual({ redirect: false, user: { id: 'u' } });
    expect(withoutTokens(null)).toBeNull();
  });
});

describe('stream counter and sizes', () => {
  it('counts streams per key and frees a slot once', () => {
    const c = createStreamCounter(2);
    const a = c.acquire('s1')!;
    c.acquire('s1');
    expect(c.acquire('s1')).toBeNull();
    expect(c.acquire('s2')).not.toBeNull();
    a();
    a();
    expect(c.count('s1')).toBe(1);
  });
  it('formats byte limits for people', () => {
    expect(formatBytes(1024 * 1024)).toBe('1 MiB');
    expect(formatBytes(512 * 1024)).toBe('512 KiB');
    expect(formatBytes(1000)).toBe('1000 bytes');
  });
});

describe('app page CSP (proxy.ts)', async () => {
  const { proxy, config } = await import('@/proxy');
  const { NextRequest } = await import('next/server');
  it('gives every page request its own script nonce, in the response and in the request Next renders from', () => {
    const a = proxy(new NextRequest('http://localhost:3000/approvals'));
    const b = proxy(new NextRequest('http://localhost:3000/approvals'));
    const csp = a.headers.get('content-security-policy')!;
    expect(csp).toMatch(/^script-src 'self' 'nonce-[A-Za-z0-9+/]{22}==' 'strict-dynamic'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'$/);
    expect(b.headers.get('content-security-policy')).not.toBe(csp);
    // Next passes the modified request headers on as x-middleware-request-*.
    expect(a.headers.get('x-middleware-request-content-security-policy')).toBe(csp);
    expect(csp).toContain(`'nonce-${a.headers.get('x-middleware-request-x-nonce')}'`);
    expect(csp).not.toContain('unsafe-inline');
  });
  it('leaves API routes, static files and the embeds (own policy) alone', () => {
    const source = new RegExp(`^${config.matcher[0]!.source}$`);
    for (const path of ['/', '/approvals', '/pipelines/p1/edit', '/sign-in']) expect(source.test(path), path).toBe(true);
    for (const path of ['/api/trpc/x', '/api/events', '/_next/static/chunks/a.js', '/embed/pipelines/p1']) expect(source.test(path), path).toBe(false);
  });
});
