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
 *    `PayloadError` with the reason (HTTP 400). Branch and tag names are checked
 *    against Git's own rules (`refNameProblem`) by the service, which records
 *    the refusal. A valid name can still hold `$(…)`: commands receive it as an
 *    environment variable, never as shell text (workflows/model/shell-env.ts).
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
  return patterns.some((p) => globMatches(p, branch));
}

type GlobToken = { kind: 'char'; char: string } | { kind: 'star' } | { kind: 'globstar' };

function globTokens(pattern: string): GlobToken[] {
  const tokens: GlobToken[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c !== '*') tokens.push({ kind: 'char', char: c });
    else if (pattern[i + 1] === '*') {
      tokens.push({ kind: 'globstar' });
      i++;
    } else tokens.push({ kind: 'star' });
  }
  return tokens;
}

/**
 * Matches a branch filter by walking every pattern position at once (a set of
 * states advanced one character at a time): time is length × pattern length
 * whatever the input. A regular expression built from the pattern backtracked
 * exponentially on `**a**a**a…` against a long branch name.
 */
export function globMatches(pattern: string, text: string): boolean {
  const tokens = globTokens(pattern);
  const n = tokens.length;
  let states = new Uint8Array(n + 1);
  let next = new Uint8Array(n + 1);
  // A star may match nothing: reaching it also reaches the position after it.
  const close = (set: Uint8Array) => {
    for (let i = 0; i < n; i++) if (set[i] && tokens[i]!.kind !== 'char') set[i + 1] = 1;
  };
  states[0] = 1;
  close(states);
  for (let k = 0; k < text.length; k++) {
    const c = text[k]!;
    next.fill(0);
    let any = false;
    for (let i = 0; i < n; i++) {
      if (!states[i]) continue;
      const t = tokens[i]!;
      if (t.kind === 'char') {
        if (t.char === c) next[i + 1] = 1;
      } else if (t.kind === 'globstar' || c !== '/') {
        next[i] = 1;
      }
      any ||= next[i] === 1 || next[i + 1] === 1;
    }
    if (!any) return false;
    close(next);
    [states, next] = [next, states];
  }
  return states[n] === 1;
}

/** Longest branch or tag name accepted from a push (Git has no limit; file systems stop at a few hundred bytes). */
export const MAX_REF_NAME_LENGTH = 1024;

/**
 * Why `name` (a branch or tag, without `refs/heads/` / `refs/tags/`) is not a
 * name Git would create, following `git check-ref-format --branch`; null when
 * it is one. A push naming something else is forged or broken.
 */
export function refNameProblem(name: string): string | null {
  if (name.length === 0) return 'the name is empty';
  if (name.length > MAX_REF_NAME_LENGTH) return `the name is longer than ${MAX_REF_NAME_LENGTH} characters`;
  if (name === '@') return 'the name cannot be "@"';
  if (name.startsWith('-')) return 'the name cannot start with "-"';
  if (name.startsWith('/') || name.endsWith('/')) return 'the name cannot start or end with "/"';
  if (name.endsWith('.')) return 'the name cannot end with "."';
  if (name.includes('..')) return 'the name cannot contain ".."';
  if (name.includes('@{')) return 'the name cannot contain "@{"';
  for (const ch of name) {
    const code = ch.codePointAt(0)!;
    if (code < 0x20 || code === 0x7f) return 'the name cannot contain control characters';
    if (' ~^:?*[\\'.includes(ch)) return `the name cannot contain ${ch === ' ' ? 'spaces' : `"${ch}"`}`;
  }
  for (const part of name.split('/')) {
    if (part === '') return 'the name cannot contain "//"';
    if (part.startsWith('.')) return 'no part of the name can start with "."';
    if (part.endsWith('.lock')) return 'no part of the name can end with ".lock"';
  }
  return null;
}
