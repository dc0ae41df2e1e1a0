import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateShareToken, hashShareToken, isWellFormedShareToken, SHARE_TOKEN_BYTES } from '../../../server/embeds/token';

describe('share tokens', () => {
  it('are prefixed base64url carrying at least 128 random bits', () => {
    const t = generateShareToken();
    expect(t).toMatch(/^pwe_[A-Za-z0-9_-]+$/);
    expect(SHARE_TOKEN_BYTES * 8).toBeGreaterThanOrEqual(128);
    expect(Buffer.from(t.slice(4), 'base64url')).toHaveLength(SHARE_TOKEN_BYTES);
    expect(isWellFormedShareToken(t)).toBe(true);
  });

  it('do not repeat', () => {
    const seen = new Set(Array.from({ length: 2000 }, generateShareToken));
    expect(seen.size).toBe(2000);
  });

  it('are stored as their hex sha256 only', () => {
    const t = generateShareToken();
    const h = hashShareToken(t);
    expect(h).toBe(createHash('sha256').update(t).digest('hex'));
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(h).not.toContain(t.slice(4));
    expect(hashShareToken(`${t}x`)).not.toBe(h);
  });

  it.each([
    ['', false],
    ['pwe_', false],
    ['pwe_short', false],
    [`pwe_${'A'.repeat(42)}`, false],
    [`pwe_${'A'.repeat(44)}`, false],
    [`pwe_${'A'.repeat(42)}=`, false],
    [`pwe_${'A'.repeat(42)}/`, false],
    [`xyz_${'A'.repeat(43)}`, false],
    [`pwe_${'A'.repeat(43)}`, true],
    [`pwe_${'-_'.repeat(21)}a`, true],
  ])('shape check %j → %s', (value, ok) => {
    expect(isWellFormedShareToken(value)).toBe(ok);
  });

  it('rejects non-strings', () => {
    for (const v of [null, undefined, 42, {}, ['pwe_x']]) expect(isWellFormedShareToken(v)).toBe(false);
  });
});
