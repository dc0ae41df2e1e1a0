/**
 * Share tokens: what a link carries, and what the database keeps of it.
 *
 * 1. A token is `pwe_` plus 32 random bytes in base64url (256 bits): long enough
 *    that guessing is hopeless, URL-safe, and recognisable by secret scanners.
 * 2. Only its sha256 is stored, so a copy of the database does not hand out
 *    working links; the token is shown once, when it is created.
 * 3. A malformed token is rejected before it reaches the database.
 */
import { createHash, randomBytes } from 'node:crypto';

export const SHARE_TOKEN_PREFIX = 'pwe_';
/** Random bytes per token (256 bits; the issue asks for at least 128). */
export const SHARE_TOKEN_BYTES = 32;

const SHAPE = /^pwe_[A-Za-z0-9_-]{43}$/;

/** A new random token (shown to its creator once, never stored). */
export function generateShareToken(): string {
  return `${SHARE_TOKEN_PREFIX}${randomBytes(SHARE_TOKEN_BYTES).toString('base64url')}`;
}

/** The hex sha256 kept in `share_tokens.token_hash`. */
export function hashShareToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** True when `value` has the shape of a token this server issues. */
export function isWellFormedShareToken(value: unknown): value is string {
  return typeof value === 'string' && SHAPE.test(value);
}
