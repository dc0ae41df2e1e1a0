/**
 * The control plane's Ed25519 key for signing gate decisions and cancellations
 * (see workflows/decision-signature.ts for what is signed and why).
 *
 * 1. The key: `PIPEWRIGHT_DECISION_KEY` (32-byte seed, base64 or hex), else the
 *    one kept in `$PIPEWRIGHT_DATA_DIR/decision-key`, created with mode 0600 on
 *    first use (like `secret-key` and `auth-secret`). The web server and the
 *    control worker (which starts runs for triggers) share it; stage executors
 *    never see it.
 * 2. New runs carry the public key (`RunInput.decisionKey`, added where every
 *    run is launched); the approvals and runs services sign what they send.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  cancelMessage,
  decisionMessage,
  publicKeyOf,
  signMessage,
  type Unsigned,
} from '../../workflows/decision-signature';
import type { CancelInput, DecideInput } from '../../workflows/run-state';
import { getEnv } from '../env';

type KeyPair = { privateKey: Uint8Array; publicKey: string };

function parseSeed(text: string): Uint8Array {
  const t = text.trim();
  const bytes = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
  if (bytes.length !== 32) throw new Error('the decision key must be 32 bytes, as base64 or as 64 hex characters');
  return new Uint8Array(bytes);
}

const cache = new Map<string, KeyPair>();

/** The key pair from `PIPEWRIGHT_DECISION_KEY`, else `$PIPEWRIGHT_DATA_DIR/decision-key` (created on first use). */
export function resolveDecisionKey(env = getEnv()): KeyPair {
  const file = join(env.PIPEWRIGHT_DATA_DIR, 'decision-key');
  const cacheKey = env.PIPEWRIGHT_DECISION_KEY ? `env:${env.PIPEWRIGHT_DECISION_KEY}` : `file:${file}`;
  const cached = cache.get(cacheKey);
  if (cached) return cached;
  const pair = (seed: Uint8Array): KeyPair => ({ privateKey: seed, publicKey: publicKeyOf(seed) });
  let result: KeyPair;
  if (env.PIPEWRIGHT_DECISION_KEY) {
    result = pair(parseSeed(env.PIPEWRIGHT_DECISION_KEY));
  } else {
    const read = () => {
      try {
        return readFileSync(file, 'utf8').trim() || undefined;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw err;
      }
    };
    const existing = read();
    if (existing) {
      result = pair(parseSeed(existing));
    } else {
      mkdirSync(env.PIPEWRIGHT_DATA_DIR, { recursive: true });
      const seed = randomBytes(32);
      try {
        // 'wx': when another process (web server vs. worker) won the race, use its key.
        writeFileSync(file, `${seed.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
        result = pair(new Uint8Array(seed));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const other = read();
        if (!other) throw new Error(`${file} exists but is empty; delete it or set PIPEWRIGHT_DECISION_KEY.`);
        result = pair(parseSeed(other));
      }
    }
  }
  cache.set(cacheKey, result);
  return result;
}

/** Hex public key that new runs carry in their input. */
export function decisionPublicKey(): string {
  return resolveDecisionKey().publicKey;
}

/** A gate decision for `runId`, signed now. */
export function signDecision(runId: string, d: Unsigned<DecideInput>): DecideInput {
  const issuedAt = Date.now();
  const signed = { ...d, issuedAt };
  return { ...signed, signature: signMessage(resolveDecisionKey().privateKey, decisionMessage(runId, signed)) };
}

/** A cancellation of `runId`, signed now. */
export function signCancel(runId: string, c: Unsigned<CancelInput>): CancelInput {
  const issuedAt = Date.now();
  const signed = { ...c, issuedAt };
  return { ...signed, signature: signMessage(resolveDecisionKey().privateKey, cancelMessage(runId, signed)) };
}
