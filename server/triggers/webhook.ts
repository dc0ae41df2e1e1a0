/**
 * Incoming Git webhooks, without the database: which provider sent a request,
 * whether its signature or token is right, and what a push says.
 *
 * 1. GitHub signs the raw body: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>`;
 *    GitLab sends the secret itself in `X-Gitlab-Token`. Both are compared in
 *    constant time, and before the body is parsed at all.
 * 2. Every delivery has an id (`X-GitHub-Delivery`, `X-Gitlab-Event-UUID`) that
 *    the service claims once, so a replayed delivery starts nothing.
 * 3. A push yields branch, commit and author; tag pushes and branch deletions
 *    are recognised (and ignored by the service), anything else malformed is a
 *    `PayloadError` with the reason (HTTP 400).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { WebhookProvider } from './config';

/** Largest body accepted (GitHub caps its payloads at 25 MB; pushes are far smaller). */
export const MAX_WEBHOOK_BODY_BYTES = 5 * 1024 * 1024;

export type WebhookRequestInfo = {
  provider: WebhookProvider;
  /** The signature header (GitHub) or token (GitLab), as sent; empty when missing. */
  credential: string;
  deliveryId: string;
  /** `push`, `ping`, `tag_push`, … (normalised, lower case). */
  event: string;
};

const header = (h: Headers, name: string) => h.get(name)?.trim() ?? '';

/** Which provider a request claims to come from, or null when it carries neither GitHub nor GitLab headers. */
export function detectProvider(headers: Headers): WebhookProvider | null {
  if (headers.has('x-hub-signature-256') || headers.has('x-github-event') || headers.has('x-github-delivery')) return 'github';
  if (headers.has('x-gitlab-token') || headers.has('x-gitlab-event') || headers.has('x-gitlab-event-uuid')) return 'gitlab';
  return null;
}

export function requestInfo(headers: Headers, provider: WebhookProvider): WebhookRequestInfo {
  if (provider === 'github') {
    return {
      provider,
      credential: header(headers, 'x-hub-signature-256'),
      deliveryId: header(headers, 'x-github-delivery'),
      event: header(headers, 'x-github-event').toLowerCase(),
    };
  }
  // GitLab: "Push Hook", "Tag Push Hook", "System Hook", …
  const event = header(headers, 'x-gitlab-event')
    .toLowerCase()
    .replace(/ hook$/, '')
    .replace(/\s+/g, '_');
  return { provider, credential: header(headers, 'x-gitlab-token'), deliveryId: header(headers, 'x-gitlab-event-uuid'), event };
}

/** The `X-Hub-Signature-256` value GitHub would send for `body`. */
export function githubSignature(secret: string, body: Uint8Array | string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  // Compare equal-length buffers so the time taken does not reveal the length.
  if (x.length !== y.length) {
    timingSafeEqual(y, y);
    return false;
  }
  return timingSafeEqual(x, y);
}

/** Whether the request's signature (GitHub) or token (GitLab) matches `secret`. */
export function verifyCredential(info: Pick<WebhookRequestInfo, 'provider' | 'credential'>, secret: string, body: Uint8Array): boolean {
  if (!info.credential || !secret) return false;
  if (info.provider === 'github') {
    if (!/^sha256=[0-9a-fA-F]{64}$/.test(info.credential)) return false;
    return safeEqual(info.credential.toLowerCase(), githubSignature(secret, body));
  }
  return safeEqual(info.credential, secret);
}

export class PayloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PayloadError';
  }
}

export type PushEvent =
  | { kind: 'branch'; branch: string; commit: string; author: string; repository: string; deleted: boolean }
  | { kind: 'tag'; tag: string; commit: string; author: string; repository: string };

type Json = Record<string, unknown>;
const obj = (v: unknown): Json | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);
const ZERO_SHA = /^0{40}$/;

/** Parses the body as JSON (a `PayloadError` with the reason when it is not an object). */
export function parseJsonBody(body: Uint8Array): Json {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch (err) {
    throw new PayloadError(`the body is not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  const o = obj(value);
  if (!o) throw new PayloadError('the body must be a JSON object');
  return o;
}

/** Branch, commit and author of a push payload (GitHub `push` or GitLab `Push Hook`/`Tag Push Hook`). */
export function parsePush(provider: WebhookProvider, payload: Json): PushEvent {
  const ref = str(payload.ref);
  if (!ref) throw new PayloadError('"ref" is missing (is this a push event?)');
  const after = str(payload.after) ?? '';
  let commit: string;
  let author: string;
  let repository: string;
  if (provider === 'github') {
    const head = obj(payload.head_commit);
    commit = str(head?.id) ?? after;
    const headAuthor = obj(head?.author);
    author = str(headAuthor?.username) ?? str(obj(payload.pusher)?.name) ?? str(obj(payload.sender)?.login) ?? str(headAuthor?.name) ?? '';
    repository = str(obj(payload.repository)?.full_name) ?? '';
  } else {
    commit = str(payload.checkout_sha) ?? after;
    author = str(payload.user_username) ?? str(payload.user_name) ?? '';
    repository = str(obj(payload.project)?.path_with_namespace) ?? '';
  }
  if (commit && !/^[0-9a-f]{7,64}$/i.test(commit)) throw new PayloadError(`"${commit.slice(0, 80)}" is not a commit id`);
  if (ref.startsWith('refs/tags/')) return { kind: 'tag', tag: ref.slice('refs/tags/'.length), commit, author, repository };
  if (!ref.startsWith('refs/heads/')) throw new PayloadError(`"ref" must name a branch (refs/heads/…) or a tag, not "${ref.slice(0, 200)}"`);
  const branch = ref.slice('refs/heads/'.length);
  const deleted = payload.deleted === true || ZERO_SHA.test(after);
  if (!deleted && !commit) throw new PayloadError('the push names no commit ("after" / "head_commit" / "checkout_sha")');
  return { kind: 'branch', branch, commit, author, repository, deleted };
}

/**
 * Whether `branch` matches one of `patterns` (empty list = every branch).
 * `*` matches any characters but `/`, `**` any characters; everything else is literal.
 */
export function branchMatches(branch: string, patterns: readonly string[]): boolean {
  if (patterns.length === 0) return true;
  return patterns.some((p) => patternRegExp(p).test(branch));
}

function patternRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        re += '.*';
        i++;
      } else {
        re += '[^/]*';
      }
    } else {
      re += c.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${re}$`);
}
