import { describe, expect, it } from 'vitest';
import { checkOrigin, checkOrigins, frameAncestors, MAX_ALLOWED_ORIGINS, splitOriginList } from '../../../server/embeds/origins';

describe('checkOrigin', () => {
  it.each([
    ['https://wiki.example.com', 'https://wiki.example.com'],
    ['  HTTPS://Wiki.Example.COM/ ', 'https://wiki.example.com'],
    ['https://wiki.example.com:443', 'https://wiki.example.com'],
    ['https://wiki.example.com:8443', 'https://wiki.example.com:8443'],
    ['https://*.atlassian.net', 'https://*.atlassian.net'],
    ['https://10.0.0.5', 'https://10.0.0.5'],
    ['http://localhost:3000', 'http://localhost:3000'],
    ['http://127.0.0.1:8080', 'http://127.0.0.1:8080'],
    ['http://[::1]:5000', 'http://[::1]:5000'],
    ['https://localhost', 'https://localhost'],
    ['https://xn--bcher-kva.example', 'https://xn--bcher-kva.example'],
  ])('accepts %j as %j', (input, origin) => {
    expect(checkOrigin(input)).toEqual({ ok: true, origin });
  });

  it.each([
    ['', 'empty'],
    ['*', 'bare wildcard'],
    ['https://*', 'wildcard host'],
    ['https://*.com', 'wildcard on a top-level domain'],
    ['https://a.*.example.com', 'wildcard in the middle'],
    ['http://wiki.example.com', 'plain http to a real host'],
    ['http://*.localhost', 'http wildcard'],
    ['ftp://wiki.example.com', 'other scheme'],
    ['javascript:alert(1)', 'javascript URL'],
    ['data:text/html,hi', 'data URL'],
    ['wiki.example.com', 'no scheme'],
    ['https://wiki.example.com/path', 'path'],
    ['https://wiki.example.com/?q=1', 'query'],
    ['https://wiki.example.com#x', 'fragment'],
    ['https://user:pw@wiki.example.com', 'credentials'],
    ["https://wiki.example.com; script-src 'unsafe-inline'", 'CSP injection with ;'],
    ['https://a.example.com https://b.example.com', 'two origins in one'],
    ["'self'", 'CSP keyword'],
    ["'none'", 'CSP keyword'],
    ['https://wiki.example.com,https://evil.example', 'comma'],
    ['https://exa mple.com', 'space'],
    ['https://-bad-.example.com', 'bad label'],
    ['https://' + 'a'.repeat(300) + '.com', 'too long'],
    ['https://wiki.example.com\nX-Injected: 1', 'header injection'],
  ])('rejects %j (%s)', (input) => {
    const c = checkOrigin(input);
    expect(c.ok).toBe(false);
  });
});

describe('checkOrigins', () => {
  it('normalises and deduplicates', () => {
    expect(checkOrigins(['https://A.example.com', 'https://a.example.com/', 'http://localhost:3000'])).toEqual({
      ok: true,
      origins: ['https://a.example.com', 'http://localhost:3000'],
    });
  });

  it('reports every bad entry by position', () => {
    const c = checkOrigins(['https://ok.example.com', 'http://bad.example.com', 'nope']);
    expect(c.ok).toBe(false);
    if (!c.ok) {
      expect(c.errors).toHaveLength(2);
      expect(c.errors[0]).toMatch(/^Origin 2 /);
      expect(c.errors[1]).toMatch(/^Origin 3 /);
    }
  });

  it('caps the list', () => {
    const many = Array.from({ length: MAX_ALLOWED_ORIGINS + 1 }, (_, i) => `https://w${i}.example.com`);
    expect(checkOrigins(many).ok).toBe(false);
    expect(checkOrigins(many.slice(0, MAX_ALLOWED_ORIGINS)).ok).toBe(true);
  });

  it('splits the environment variable format', () => {
    expect(splitOriginList(' https://a.example.com,https://b.example.com  http://localhost:1\n')).toEqual([
      'https://a.example.com',
      'https://b.example.com',
      'http://localhost:1',
    ]);
    expect(splitOriginList(undefined)).toEqual([]);
  });
});

describe('frameAncestors', () => {
  it("is 'none' when framing is refused", () => {
    expect(frameAncestors(null)).toBe("frame-ancestors 'none'");
    expect(frameAncestors([], { self: false })).toBe("frame-ancestors 'none'");
  });

  it("lists 'self' and the allowed origins", () => {
    expect(frameAncestors(['https://wiki.example.com', 'http://localhost:3000'])).toBe("frame-ancestors 'self' https://wiki.example.com http://localhost:3000");
    expect(frameAncestors([])).toBe("frame-ancestors 'self'");
  });

  it('drops stored values that are not valid origins, so the policy never widens', () => {
    expect(frameAncestors(['*', "https://a.example.com; script-src *", 'https://ok.example.com'])).toBe("frame-ancestors 'self' https://ok.example.com");
  });
});
