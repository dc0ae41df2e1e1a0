/**
 * Signed decisions: what the control plane signs when a person decides a gate
 * or cancels a run, and how the run checks it. Pure (pure-JS Ed25519 from
 * @noble/curves): imported by the interpreter workflow, whose sandbox has no
 * Node crypto, and by the services that sign.
 *
 * 1. Why: anybody who can send a Workflow Update (a stage reaching Temporal's
 *    HTTP API, a leaked Temporal credential) could otherwise claim any identity.
 *    The private key stays in the control plane; each run carries the public key
 *    in its input (`RunInput.decisionKey`) and its update validators refuse
 *    unsigned or mis-signed messages, so nothing is written to history.
 * 2. What is signed: a canonical JSON array with a purpose tag, the run id (a
 *    signature for one run does not open another), every field the workflow
 *    trusts (who, groups, decision, comment) and the time it was issued (stale
 *    messages are refused).
 * 3. Encoding: hex, so nothing here depends on Buffer or atob.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import type { CancelInput, DecideInput } from './run-state';

/** How old (or how far in the future, for clock skew) a signed message may be when the run receives it. */
export const SIGNATURE_MAX_AGE_MS = 10 * 60_000;

export type Unsigned<T> = Omit<T, 'signature' | 'issuedAt'>;

/** The bytes signed for a gate decision. */
export function decisionMessage(runId: string, d: Unsigned<DecideInput> & { issuedAt: number }): Uint8Array {
  return utf8ToBytes(
    JSON.stringify(['pipewright/decide/v1', runId, d.gateId, d.userId, d.userName, d.groups, d.decision, d.comment, d.issuedAt]),
  );
}

/** The bytes signed for a cancellation. */
export function cancelMessage(runId: string, c: Unsigned<CancelInput> & { issuedAt: number }): Uint8Array {
  return utf8ToBytes(JSON.stringify(['pipewright/cancel/v1', runId, c.userId, c.userName, c.reason ?? '', c.issuedAt]));
}

/** Hex public key of a 32-byte private key (seed). */
export function publicKeyOf(privateKey: Uint8Array): string {
  return bytesToHex(ed25519.getPublicKey(privateKey));
}

export function signMessage(privateKey: Uint8Array, message: Uint8Array): string {
  return bytesToHex(ed25519.sign(message, privateKey));
}

function verify(publicKeyHex: string, message: Uint8Array, signatureHex: unknown): boolean {
  if (typeof signatureHex !== 'string' || !/^[0-9a-f]{128}$/.test(signatureHex)) return false;
  try {
    return ed25519.verify(hexToBytes(signatureHex), message, hexToBytes(publicKeyHex), { zip215: false });
  } catch {
    return false;
  }
}

function freshness(issuedAt: unknown, now: number): string | undefined {
  if (typeof issuedAt !== 'number' || !Number.isFinite(issuedAt)) return 'it carries no issue time';
  if (Math.abs(now - issuedAt) > SIGNATURE_MAX_AGE_MS) return 'it was issued too long ago (or in the future)';
  return undefined;
}

/** Why a decision must be refused (undefined = correctly signed for this run, and fresh). */
export function decisionSignatureProblem(publicKeyHex: string, runId: string, d: DecideInput, now: number): string | undefined {
  if (d.signature === undefined) return 'the decision is not signed by the control plane';
  const stale = freshness(d.issuedAt, now);
  if (stale) return `the decision's signature is not accepted: ${stale}`;
  if (!Array.isArray(d.groups) || !verify(publicKeyHex, decisionMessage(runId, { ...d, issuedAt: d.issuedAt! }), d.signature)) {
    return 'the decision is not signed by the control plane for this run';
  }
  return undefined;
}

/** Why a cancellation must be refused (undefined = correctly signed for this run, and fresh). */
export function cancelSignatureProblem(publicKeyHex: string, runId: string, c: CancelInput, now: number): string | undefined {
  if (c.signature === undefined) return 'the cancellation is not signed by the control plane';
  const stale = freshness(c.issuedAt, now);
  if (stale) return `the cancellation's signature is not accepted: ${stale}`;
  if (!verify(publicKeyHex, cancelMessage(runId, { ...c, issuedAt: c.issuedAt! }), c.signature)) {
    return 'the cancellation is not signed by the control plane for this run';
  }
  return undefined;
}
