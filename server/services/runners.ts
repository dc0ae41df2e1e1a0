/**
 * Runners (admins): the processes that execute stages, and the credentials
 * they hold.
 *
 * 1. A runner's token is 256 random bits shown once at registration; only its
 *    sha256 is stored (a high-entropy token needs no slow hash). Revoking sets
 *    `revoked_at`: the runner's next call to the control plane is refused.
 * 2. A stage credential is issued per stage attempt when a runner begins it:
 *    random, stored hashed, bound to run/stage/attempt/runner, expiring with the
 *    stage timeout and revoked when the attempt finishes. It is what fetches the
 *    stage's secrets and ships its log, progress and artifacts.
 * 3. Registration and revocation are audited.
 */
import { createHash, randomBytes } from 'node:crypto';
import { and, asc, eq, gt, isNull } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { auditLog, runners, stageCredentials } from '../../db/schema';
import { MAX_RUNNER_LABELS, normaliseLabels, runnerLabelsSchema, type RunnerFacts } from '../../workflows/model/runners';
import { z } from 'zod';

/** A runner counts as online when it called in within this many ms. */
export const ONLINE_WINDOW_MS = 30_000;

export class RunnerError extends Error {
  constructor(
    message: string,
    readonly code: 'BAD_REQUEST' | 'CONFLICT' | 'NOT_FOUND',
  ) {
    super(message);
    this.name = 'RunnerError';
  }
}

type Actor = { id: string; username: string };

export const runnerNameSchema = z
  .string()
  .trim()
  .min(1, 'enter a name')
  .max(64, 'must be at most 64 characters')
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'letters, digits, _ . and - only');

export const registerRunnerSchema = z.object({
  name: runnerNameSchema,
  labels: runnerLabelsSchema.default([]),
});

export const sha256 = (token: string) => createHash('sha256').update(token).digest('hex');
const newToken = (prefix: string) => `${prefix}_${randomBytes(32).toString('base64url')}`;

export type RunnerView = {
  id: string;
  name: string;
  labels: string[];
  createdBy: string | null;
  createdAt: Date;
  revokedAt: Date | null;
  lastSeenAt: Date | null;
  online: boolean;
  version: string | null;
  host: string | null;
  currentStage: string | null;
};

const view = (r: typeof runners.$inferSelect, now = Date.now()): RunnerView => ({
  id: r.id,
  name: r.name,
  labels: r.labels,
  createdBy: r.createdBy,
  createdAt: r.createdAt,
  revokedAt: r.revokedAt,
  lastSeenAt: r.lastSeenAt,
  online: !r.revokedAt && !!r.lastSeenAt && now - r.lastSeenAt.getTime() < ONLINE_WINDOW_MS,
  version: r.version,
  host: r.host,
  currentStage: r.currentStage,
});

export async function listRunners(db: Db): Promise<RunnerView[]> {
  const rows = await db.select().from(runners).orderBy(asc(runners.name));
  const now = Date.now();
  return rows.map((r) => view(r, now));
}

/** Label sets of the runners that can take work (for the editor and the validator). */
export async function runnerFacts(db: Db): Promise<RunnerFacts> {
  const list = await listRunners(db);
  return { runners: list.filter((r) => !r.revokedAt).map((r) => ({ labels: r.labels, online: r.online })) };
}

/** Registers a runner; the token is returned here and never again. */
export async function registerRunner(db: Db, actor: Actor, raw: z.input<typeof registerRunnerSchema>): Promise<{ runner: RunnerView; token: string }> {
  const parsed = registerRunnerSchema.safeParse(raw);
  if (!parsed.success) throw new RunnerError(parsed.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; '), 'BAD_REQUEST');
  const labels = normaliseLabels(parsed.data.labels);
  if (labels.length > MAX_RUNNER_LABELS) throw new RunnerError(`a runner may have at most ${MAX_RUNNER_LABELS} labels`, 'BAD_REQUEST');
  const [existing] = await db.select({ id: runners.id }).from(runners).where(eq(runners.name, parsed.data.name));
  if (existing) throw new RunnerError(`a runner named "${parsed.data.name}" already exists`, 'CONFLICT');
  const token = newToken('pwr');
  const [row] = await db
    .insert(runners)
    .values({ id: crypto.randomUUID(), name: parsed.data.name, labels, tokenHash: sha256(token), createdBy: actor.username })
    .returning();
  await db.insert(auditLog).values({ actorId: actor.id, actorName: actor.username, action: 'runner.register', outcome: 'ok', details: { name: row!.name, labels } });
  return { runner: view(row!), token };
}

/** Revokes a runner's token: its next call is refused, and so are the stage credentials it holds. */
export async function revokeRunner(db: Db, actor: Actor, id: string): Promise<RunnerView> {
  const now = new Date();
  const [row] = await db.update(runners).set({ revokedAt: now }).where(and(eq(runners.id, id), isNull(runners.revokedAt))).returning();
  if (!row) {
    const [any] = await db.select().from(runners).where(eq(runners.id, id));
    if (!any) throw new RunnerError('no such runner', 'NOT_FOUND');
    return view(any);
  }
  await db.update(stageCredentials).set({ revokedAt: now }).where(and(eq(stageCredentials.runnerId, id), isNull(stageCredentials.revokedAt)));
  await db.insert(auditLog).values({ actorId: actor.id, actorName: actor.username, action: 'runner.revoke', outcome: 'ok', details: { name: row.name } });
  return view(row);
}

export type AuthenticatedRunner = typeof runners.$inferSelect;

/** The runner a token belongs to, or undefined when it is unknown or revoked. */
export async function runnerByToken(db: Db, token: string): Promise<AuthenticatedRunner | undefined> {
  if (!token) return undefined;
  const [row] = await db.select().from(runners).where(eq(runners.tokenHash, sha256(token)));
  return row && !row.revokedAt ? row : undefined;
}

/** Records a runner's heartbeat (last seen, version, host, what it runs). */
export async function touchRunner(db: Db, id: string, info: { version?: string; host?: string; currentStage?: string | null }) {
  await touchRunnerStatement(db, id, info);
}

/** `touchRunner`'s statement, not run yet: to write it in one batch with others (`db.batch`). */
export function touchRunnerStatement(db: Db, id: string, info: { version?: string; host?: string; currentStage?: string | null }) {
  return db
    .update(runners)
    .set({
      lastSeenAt: new Date(),
      ...(info.version !== undefined ? { version: info.version.slice(0, 64) } : {}),
      ...(info.host !== undefined ? { host: info.host.slice(0, 255) } : {}),
      ...(info.currentStage !== undefined ? { currentStage: info.currentStage?.slice(0, 300) ?? null } : {}),
    })
    .where(eq(runners.id, id));
}

export type StageKey = { runId: string; nodeId: string; attempt: number };

/**
 * A credential for one stage attempt, as statements not run yet (the stage's earlier credentials revoked, the
 * new one inserted) with the credential they write: the runner API writes them in one batch with the stage's
 * start (`db.batch`).
 */
export function stageCredentialStatements(db: Db, runnerId: string, key: StageKey, ttlMs: number) {
  const now = new Date();
  const token = newToken('pws');
  const expiresAt = new Date(now.getTime() + ttlMs);
  const id = crypto.randomUUID();
  const statements = [
    db
      .update(stageCredentials)
      .set({ revokedAt: now })
      .where(and(eq(stageCredentials.runId, key.runId), eq(stageCredentials.nodeId, key.nodeId), isNull(stageCredentials.revokedAt))),
    db.insert(stageCredentials).values({ id, tokenHash: sha256(token), ...key, runnerId, expiresAt }),
  ] as const;
  return { statements, id, token, expiresAt };
}

export type StageCredential = typeof stageCredentials.$inferSelect;

/** The live credential (not revoked, not expired, its runner not revoked), or undefined. */
export async function stageCredentialByToken(db: Db, token: string): Promise<StageCredential | undefined> {
  if (!token) return undefined;
  const [row] = await db
    .select({ cred: stageCredentials, runnerRevokedAt: runners.revokedAt })
    .from(stageCredentials)
    .innerJoin(runners, eq(runners.id, stageCredentials.runnerId))
    .where(and(eq(stageCredentials.tokenHash, sha256(token)), isNull(stageCredentials.revokedAt), gt(stageCredentials.expiresAt, new Date())));
  return row && !row.runnerRevokedAt ? row.cred : undefined;
}

/** A credential revoked (its attempt finished), as a statement not run yet: written in one batch with the stage's end. */
export function revokeStageCredentialStatement(db: Db, id: string) {
  return db.update(stageCredentials).set({ revokedAt: new Date() }).where(eq(stageCredentials.id, id));
}

/**
 * `npm start`'s own runner: registered on first start (default pool, no labels),
 * its token kept in `tokenFile` (mode 0600) and reused while that runner is not
 * revoked; a revoked one is replaced by a new registration.
 */
export async function ensureLocalRunner(db: Db, tokenFile: string, name = 'local'): Promise<{ token: string; name: string; created: boolean }> {
  const { readFileSync, writeFileSync, chmodSync } = await import('node:fs');
  let token = '';
  try {
    token = readFileSync(tokenFile, 'utf8').trim();
  } catch {
    // first start
  }
  const existing = token ? await runnerByToken(db, token) : undefined;
  if (existing) return { token, name: existing.name, created: false };
  const system = { id: 'system', username: 'npm start' };
  let candidate = name;
  for (let i = 2; ; i++) {
    const [taken] = await db.select({ id: runners.id }).from(runners).where(eq(runners.name, candidate));
    if (!taken) break;
    candidate = `${name}-${i}`;
  }
  const registered = await registerRunner(db, system, { name: candidate, labels: [] });
  writeFileSync(tokenFile, `${registered.token}\n`, { mode: 0o600 });
  chmodSync(tokenFile, 0o600);
  return { token: registered.token, name: candidate, created: true };
}
