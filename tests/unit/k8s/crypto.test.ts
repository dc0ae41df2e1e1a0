import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { open, parseKey, resolveSecretKey, seal, SecretDecryptionError } from '@/server/clusters/crypto';
import { envSchema } from '@/server/env';

const key = Buffer.alloc(32, 7);

describe('AES-256-GCM sealing of cluster credentials', () => {
  it('round-trips, with a fresh IV every time', () => {
    const a = seal(key, 'token-123', 'cluster_connections:1');
    const b = seal(key, 'token-123', 'cluster_connections:1');
    expect(a).not.toBe(b);
    expect(a).not.toContain('token-123');
    expect(open(key, a, 'cluster_connections:1')).toBe('token-123');
  });

  it('refuses another key, another row, and tampering', () => {
    const sealed = seal(key, 'secret', 'cluster_connections:1');
    expect(() => open(Buffer.alloc(32, 8), sealed, 'cluster_connections:1')).toThrow(SecretDecryptionError);
    expect(() => open(key, sealed, 'cluster_connections:2')).toThrow(SecretDecryptionError);
    const parts = sealed.split('.');
    const ct = Buffer.from(parts[3]!, 'base64url');
    ct[0] = ct[0]! ^ 1;
    parts[3] = ct.toString('base64url');
    expect(() => open(key, parts.join('.'), 'cluster_connections:1')).toThrow(SecretDecryptionError);
    expect(() => open(key, 'plain text', 'x')).toThrow(SecretDecryptionError);
  });

  it('takes keys as base64 or hex, and refuses other lengths', () => {
    expect(parseKey(key.toString('base64'))).toEqual(key);
    expect(parseKey(key.toString('hex'))).toEqual(key);
    expect(() => parseKey('c2hvcnQ=')).toThrow(/32 bytes/);
    expect(envSchema.safeParse({ PIPEWRIGHT_SECRET_KEY: 'short' }).success).toBe(false);
    expect(envSchema.safeParse({ PIPEWRIGHT_SECRET_KEY: key.toString('base64') }).success).toBe(true);
  });

  const dir = mkdtempSync(path.join(tmpdir(), 'pipewright-key-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('generates a key under the data dir once (mode 0600) and reuses it', () => {
    const env = envSchema.parse({ PIPEWRIGHT_DATA_DIR: dir });
    const first = resolveSecretKey({ ...env } as Parameters<typeof resolveSecretKey>[0]);
    const second = resolveSecretKey({ ...env } as Parameters<typeof resolveSecretKey>[0]);
    expect(first).toEqual(second);
    const file = path.join(dir, 'secret-key');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(parseKey(readFileSync(file, 'utf8'))).toEqual(first);
    const fromEnv = resolveSecretKey({ ...env, PIPEWRIGHT_SECRET_KEY: key.toString('hex') } as Parameters<typeof resolveSecretKey>[0]);
    expect(fromEnv).toEqual(key);
  });
});
