/**
 * Encryption at rest for cluster credentials: AES-256-GCM.
 *
 * 1. The key: `PIPEWRIGHT_SECRET_KEY` (32 bytes, base64 or hex), else the one
 *    kept in `$PIPEWRIGHT_DATA_DIR/secret-key`, created with mode 0600 on first
 *    use (like the auth secret). The web server and the workers share it.
 * 2. A sealed value is `v1.<iv>.<tag>.<ciphertext>` (base64url), with a fresh
 *    96-bit IV per value and additional authenticated data naming what the
 *    value belongs to, so a ciphertext copied into another row does not open.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getEnv } from '../env';

const VERSION = 'v1';

export function parseKey(text: string): Buffer {
  const t = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
  if (key.length !== 32) throw new Error('the secret key must be 32 bytes, as base64 or as 64 hex characters');
  return key;
}

/** The key from `PIPEWRIGHT_SECRET_KEY`, else `$PIPEWRIGHT_DATA_DIR/secret-key` (created on first use). */
export function resolveSecretKey(env = getEnv()): Buffer {
  if (env.PIPEWRIGHT_SECRET_KEY) return parseKey(env.PIPEWRIGHT_SECRET_KEY);
  const file = join(env.PIPEWRIGHT_DATA_DIR, 'secret-key');
  const read = () => {
    try {
      return readFileSync(file, 'utf8').trim() || undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  };
  const existing = read();
  if (existing) return parseKey(existing);
  mkdirSync(env.PIPEWRIGHT_DATA_DIR, { recursive: true });
  const key = randomBytes(32);
  try {
    // 'wx': when another process (web server vs. worker) won the race, use its key.
    writeFileSync(file, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    return key;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const other = read();
    if (!other) throw new Error(`${file} exists but is empty; delete it or set PIPEWRIGHT_SECRET_KEY.`);
    return parseKey(other);
  }
}

export function seal(key: Buffer, plaintext: string, aad: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  const tag = cipher.getAuthTag();
  return [VERSION, iv.toString('base64url'), tag.toString('base64url'), ciphertext.toString('base64url')].join('.');
}

export class SecretDecryptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretDecryptionError';
  }
}

export function open(key: Buffer, sealed: string, aad: string): string {
  const parts = sealed.split('.');
  if (parts.length !== 4 || parts[0] !== VERSION) throw new SecretDecryptionError('not a sealed value (unknown format)');
  const [, iv, tag, ciphertext] = parts as [string, string, string, string];
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
  } catch {
    throw new SecretDecryptionError('cannot decrypt: wrong key (PIPEWRIGHT_SECRET_KEY changed?) or the value was tampered with');
  }
}
