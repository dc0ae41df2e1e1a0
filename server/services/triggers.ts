/**
 * Triggers: what starts a pipeline besides a person pressing Run.
 *
 * 1. Webhooks (`/api/hooks/<pipelineId>`): a GitHub- or GitLab-style push,
 *    verified against the trigger's sealed secret before the body is read as
 *    JSON, claimed once per delivery id (a replay starts nothing), filtered by
 *    branch, and mapped to run parameters (branch, commit, author).
 * 2. Schedules: one Temporal Schedule per trigger. Its action starts the small
 *    `scheduledTrigger` workflow (workflows/scheduled-trigger.ts), whose one
 *    activity calls `fireSchedule` here — the same `startRun` a person uses, so
 *    the run row, plan and audit entry exist in the app database exactly as for
 *    any other run. (Starting `pipelineRun` directly from the schedule would
 *    leave a workflow without its run row.) Pausing pauses the Temporal
 *    Schedule; deleting deletes it.
 * 3. Upstream pipelines: when a run ends successfully, the worker's
 *    `recordRunState` calls `startDownstreamRuns`, which starts every pipeline
 *    with an enabled upstream trigger on it — once per upstream run, and never
 *    around a loop (the chain of pipelines travels in the trigger details).
 * Every event a trigger receives is a `trigger_deliveries` row; inserting it is
 * the claim that makes replays and retries start nothing twice.
 * A push or upstream run that finds the pipeline at its concurrency limit is
 * still accepted: a `queuedTrigger` workflow (workflows/queued-trigger.ts)
 * starts its run when a slot frees. A schedule firing then is skipped (the
 * previous run is still going), as its last result says.
 */
import { ScheduleNotFoundError, ScheduleOverlapPolicy, WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { TRPCError } from '@trpc/server';
import { and, desc, eq, inArray, or } from 'drizzle-orm';
import { randomBytes } from 'node:crypto';
import type { Db } from '../../db/client';
import { auditLog, environments, pipelines, pipelineVersions, runs, triggerDeliveries, triggers, user, type Role } from '../../db/schema';
import type { SessionUser } from '../auth/session';
import { open, resolveSecretKey, seal } from '../clusters/crypto';
import { getEnv } from '../env';
import { notFound, runnerOffline } from '../errors';
import { taskQueue } from '../temporal/client';
import { getRefusalSampler, REFUSED_BODY } from '../triggers/refusals';
import {
  MAX_UPSTREAM_CHAIN,
  parseTriggerDetails,
  scheduleConfigSchema,
  upstreamConfigSchema,
  webhookConfigSchema,
  type ScheduleConfig,
  type TriggerDetails,
  type UpstreamConfig,
  type WebhookConfig,
} from '../triggers/config';
import {
  branchMatches,
  detectProvider,
  parseJsonBody,
  parsePush,
  refNameProblem,
  PayloadError,
  requestInfo,
  verifyCredential,
} from '../triggers/webhook';
import type { QueuedTriggerInput } from '../../workflows/queued-trigger';
import { leftOutNote, startRun, type StartActor } from './runs';

type Actor = Pick<SessionUser, 'id' | 'username'>;
type TriggerRow = typeof triggers.$inferSelect;

const secretAad = (id: string) => `triggers:${id}`;
/** Id of the Temporal Schedule of a schedule trigger. */
export const scheduleIdFor = (triggerId: string) => `pipewright-trigger-${triggerId}`;

// ── Reading ──────────────────────────────────────────────────────────────────

export type TriggerView =
  | (TriggerBase & { type: 'webhook'; config: WebhookConfig; url: string })
  | (TriggerBase & { type: 'schedule'; config: ScheduleConfig })
  | (TriggerBase & { type: 'upstream'; config: UpstreamConfig; upstreamPipelineName: string | null });

type TriggerBase = {
  id: string;
  pipelineId: string;
  name: string;
  enabled: boolean;
  createdBy: string | null;
  createdAt: Date;
  lastFiredAt: Date | null;
  lastResult: string | null;
};

/** The URL a Git server posts to for this pipeline. */
export function webhookUrl(pipelineId: string): string {
  return `${getEnv().publicUrl.replace(/\/+$/, '')}/api/hooks/${encodeURIComponent(pipelineId)}`;
}

function view(row: TriggerRow, names: Map<string, string>): TriggerView {
  const base: TriggerBase = {
    id: row.id,
    pipelineId: row.pipelineId,
    name: row.name,
    enabled: row.enabled,
    createdBy: row.createdBy,
    createdAt: row.createdAt,
    lastFiredAt: row.lastFiredAt,
    lastResult: row.lastResult,
  };
  if (row.type === 'webhook') return { ...base, type: 'webhook', config: webhookConfigSchema.parse(row.config), url: webhookUrl(row.pipelineId) };
  if (row.type === 'schedule') return { ...base, type: 'schedule', config: scheduleConfigSchema.parse(row.config) };
  const config = upstreamConfigSchema.parse(row.config);
  return { ...base, type: 'upstream', config, upstreamPipelineName: names.get(config.upstreamPipelineId) ?? null };
}

/** A pipeline's triggers (never their secrets). */
export async function listTriggers(db: Db, pipelineId: string): Promise<TriggerView[]> {
  const rows = await db.select().from(triggers).where(eq(triggers.pipelineId, pipelineId)).orderBy(triggers.createdAt);
  const upstreamIds = rows.map((r) => r.upstreamPipelineId).filter((x): x is string => Boolean(x));
  const names = new Map(
    upstreamIds.length
      ? (await db.select({ id: pipelines.id, name: pipelines.name }).from(pipelines).where(inArray(pipelines.id, upstreamIds))).map((p) => [p.id, p.name])
      : [],
  );
  return rows.map((r) => view(r, names));
}

/** What Temporal says about the schedule triggers: paused, next and recent firings. Unknown when the runner is offline. */
export async function scheduleStatus(getClient: () => Promise<Client>, triggerIds: string[]) {
  const out: Record<string, { paused: boolean; nextTimes: Date[]; recent: Date[]; missing?: boolean } | { error: string }> = {};
  let client: Client;
  try {
    client = await getClient();
  } catch (err) {
    for (const id of triggerIds) out[id] = { error: `the runner is offline (${err instanceof Error ? err.message : String(err)})` };
    return out;
  }
  await Promise.all(
    triggerIds.map(async (id) => {
      try {
        const d = await client.withDeadline(Date.now() + 5000, () => client.schedule.getHandle(scheduleIdFor(id)).describe());
        out[id] = {
          paused: d.state.paused,
          nextTimes: d.info.nextActionTimes.slice(0, 3),
          recent: d.info.recentActions.slice(-3).map((a) => a.takenAt),
        };
      } catch (err) {
        out[id] = err instanceof ScheduleNotFoundError ? { paused: false, nextTimes: [], recent: [], missing: true } : { error: err instanceof Error ? err.message : String(err) };
      }
    }),
  );
  return out;
}

/** The last deliveries a trigger received, newest first. */
export async function listDeliveries(db: Db, triggerId: string, limit = 20) {
  return db
    .select({
      deliveryId: triggerDeliveries.deliveryId,
      outcome: triggerDeliveries.outcome,
      runId: triggerDeliveries.runId,
      runNumber: runs.number,
      message: triggerDeliveries.message,
      receivedAt: triggerDeliveries.receivedAt,
    })
    .from(triggerDeliveries)
    .leftJoin(runs, eq(runs.id, triggerDeliveries.runId))
    .where(eq(triggerDeliveries.triggerId, triggerId))
    .orderBy(desc(triggerDeliveries.receivedAt))
    .limit(Math.min(limit, 100));
}

// ── Managing ─────────────────────────────────────────────────────────────────

async function requirePipeline(db: Db, id: string) {
  const p = await db.select({ id: pipelines.id, name: pipelines.name, deletedAt: pipelines.deletedAt }).from(pipelines).where(eq(pipelines.id, id)).get();
  if (!p || p.deletedAt) throw notFound('Pipeline');
  return p;
}

async function requireTrigger(db: Db, id: string): Promise<TriggerRow> {
  const row = await db.select().from(triggers).where(eq(triggers.id, id)).get();
  if (!row) throw notFound('Trigger');
  return row;
}

async function audit(db: Db | DbTransaction, actor: Actor, action: string, row: Pick<TriggerRow, 'id' | 'pipelineId' | 'type' | 'name'>, details: Record<string, unknown> = {}) {
  await db.insert(auditLog).values({
    actorId: actor.id,
    actorName: actor.username,
    action,
    outcome: 'ok',
    pipelineId: row.pipelineId,
    details: { triggerId: row.id, type: row.type, name: row.name, ...details },
  });
}

/** A new random webhook secret (what the Git server is configured with). */
export function newWebhookSecret(): string {
  return randomBytes(24).toString('base64url');
}

export async function createWebhookTrigger(
  db: Db,
  actor: Actor,
  input: { pipelineId: string; name: string; config: WebhookConfig; secret?: string },
): Promise<{ trigger: TriggerView; secret: string }> {
  await requirePipeline(db, input.pipelineId);
  const id = crypto.randomUUID();
  const secret = input.secret || newWebhookSecret();
  const config = webhookConfigSchema.parse(input.config);
  const [row] = await db
    .insert(triggers)
    .values({
      id,
      pipelineId: input.pipelineId,
      type: 'webhook',
      name: input.name,
      config,
      secret: seal(resolveSecretKey(), secret, secretAad(id)),
      createdBy: actor.username,
    })
    .returning();
  await audit(db, actor, 'trigger.create', row!, { provider: config.provider, branches: config.branches });
  // The secret is shown once, now; afterwards only "set" is ever said about it.
  return { trigger: view(row!, new Map()), secret };
}

/** Replaces a webhook's secret (a new random one unless given); returns it once. */
export async function rotateWebhookSecret(db: Db, actor: Actor, input: { id: string; secret?: string }): Promise<{ secret: string }> {
  const row = await requireTrigger(db, input.id);
  if (row.type !== 'webhook') throw new TRPCError({ code: 'BAD_REQUEST', message: 'Only webhook triggers have a secret.' });
  const secret = input.secret || newWebhookSecret();
  await db.update(triggers).set({ secret: seal(resolveSecretKey(), secret, secretAad(row.id)) }).where(eq(triggers.id, row.id));
  await audit(db, actor, 'trigger.rotate-secret', row);
  return { secret };
}

export async function updateWebhookConfig(db: Db, actor: Actor, input: { id: string; name?: string; config: WebhookConfig }) {
  const row = await requireTrigger(db, input.id);
  if (row.type !== 'webhook') throw new TRPCError({ code: 'BAD_REQUEST', message: 'Not a webhook trigger.' });
  const config = webhookConfigSchema.parse(input.config);
  await db.update(triggers).set({ config, name: input.name ?? row.name }).where(eq(triggers.id, row.id));
  await audit(db, actor, 'trigger.update', row, { branches: config.branches });
}

function temporalError(err: unknown): never {
  const message = err instanceof Error ? err.message : String(err);
  // gRPC INVALID_ARGUMENT (3), possibly wrapped in a ServiceError: the server refused the spec (a cron it cannot read, an unknown time zone).
  const code = (err as { code?: number }).code ?? (err as { cause?: { code?: number } }).cause?.code;
  // The SDK checks cron fields itself and throws a TypeError ("Minute is not in range [0-59]").
  if (code === 3 || err instanceof TypeError) {
    throw new TRPCError({ code: 'BAD_REQUEST', message: `Temporal refused the schedule: ${message}` });
  }
  throw runnerOffline(message);
}

async function createTemporalSchedule(client: Client, row: Pick<TriggerRow, 'id' | 'pipelineId' | 'name'>, config: ScheduleConfig, paused: boolean) {
  await client.withDeadline(Date.now() + 10_000, () =>
    client.schedule.create({
      scheduleId: scheduleIdFor(row.id),
      spec: { cronExpressions: [config.cron], timezone: config.timezone },
      action: {
        type: 'startWorkflow',
        workflowType: 'scheduledTrigger',
        workflowId: `trigger-${row.id}`,
        taskQueue: taskQueue(),
        args: [{ triggerId: row.id }],
      },
      // The action only starts a run (which queues behind the pipeline's own concurrency limit), so firings never overlap for long.
      policies: { overlap: ScheduleOverlapPolicy.ALLOW_ALL, catchupWindow: '1 minute' },
      state: { paused, note: `Pipewright schedule "${row.name}" of pipeline ${row.pipelineId}` },
    }),
  );
}

export async function createScheduleTrigger(
  db: Db,
  getClient: () => Promise<Client>,
  actor: Actor,
  input: { pipelineId: string; name: string; config: ScheduleConfig; enabled?: boolean },
): Promise<TriggerView> {
  await requirePipeline(db, input.pipelineId);
  const config = scheduleConfigSchema.parse(input.config);
  const enabled = input.enabled ?? true;
  const id = crypto.randomUUID();
  const client = await getClient().catch((err: unknown) => {
    throw runnerOffline(err instanceof Error ? err.message : undefined);
  });
  const [row] = await db
    .insert(triggers)
    .values({ id, pipelineId: input.pipelineId, type: 'schedule', name: input.name, enabled, config, createdBy: actor.username })
    .returning();
  try {
    await createTemporalSchedule(client, row!, config, !enabled);
  } catch (err) {
    await db.delete(triggers).where(eq(triggers.id, id));
    temporalError(err);
  }
  await audit(db, actor, 'trigger.create', row!, { cron: config.cron, timezone: config.timezone });
  return view(row!, new Map());
}

/** A transaction on the app database (what `db.transaction` hands its callback). */
export type DbTransaction = Parameters<Parameters<Db['transaction']>[0]>[0];

/** A trigger created together with its pipeline (an import): webhook or schedule. */
export type NewPipelineTrigger = { kind: 'webhook'; name: string; config: WebhookConfig } | { kind: 'schedule'; name: string; config: ScheduleConfig };

/**
 * Inserts the triggers of a pipeline being created, inside the caller's
 * transaction (so they exist together with the pipeline or not at all). The
 * configs are parsed here; webhook secrets are returned once. The Temporal
 * Schedules of schedule rows are started afterwards by `startScheduleTriggers`
 * (and recreated by `syncSchedules` at worker start should that be cut short).
 */
export async function insertPipelineTriggers(tx: DbTransaction, actor: Actor, pipelineId: string, items: NewPipelineTrigger[]) {
  const rows: TriggerRow[] = [];
  const secrets: { triggerId: string; name: string; secret: string }[] = [];
  for (const item of items) {
    const id = crypto.randomUUID();
    if (item.kind === 'webhook') {
      const config = webhookConfigSchema.parse(item.config);
      const secret = newWebhookSecret();
      const [row] = await tx
        .insert(triggers)
        .values({ id, pipelineId, type: 'webhook', name: item.name, config, secret: seal(resolveSecretKey(), secret, secretAad(id)), createdBy: actor.username })
        .returning();
      await audit(tx, actor, 'trigger.create', row!, { provider: config.provider, branches: config.branches });
      rows.push(row!);
      secrets.push({ triggerId: id, name: item.name, secret });
    } else {
      const config = scheduleConfigSchema.parse(item.config);
      const [row] = await tx.insert(triggers).values({ id, pipelineId, type: 'schedule', name: item.name, enabled: true, config, createdBy: actor.username }).returning();
      await audit(tx, actor, 'trigger.create', row!, { cron: config.cron, timezone: config.timezone });
      rows.push(row!);
    }
  }
  return { rows, secrets };
}

/** Takes back a pipeline just created with its triggers when its schedules could not be started (nothing else refers to it yet). */
export async function deletePipelineTriggersAfterFailedStart(db: Db, pipelineId: string, environmentIds: string[] = []): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.delete(triggers).where(eq(triggers.pipelineId, pipelineId));
    await tx.delete(pipelineVersions).where(eq(pipelineVersions.pipelineId, pipelineId));
    await tx.delete(pipelines).where(eq(pipelines.id, pipelineId));
    // Environments created for this pipeline alone (an import's), taken back with it.
    if (environmentIds.length > 0) await tx.delete(environments).where(inArray(environments.id, environmentIds));
  });
}

/** Starts the Temporal Schedules of new schedule rows; when one is refused, deletes those it started and throws the reason. */
export async function startScheduleTriggers(client: Client, rows: TriggerRow[]): Promise<void> {
  const started: string[] = [];
  try {
    for (const row of rows) {
      if (row.type !== 'schedule') continue;
      await createTemporalSchedule(client, row, scheduleConfigSchema.parse(row.config), !row.enabled);
      started.push(row.id);
    }
  } catch (err) {
    for (const id of started) await deleteTemporalSchedule(client, id).catch(() => false);
    temporalError(err);
  }
}

export async function createUpstreamTrigger(
  db: Db,
  actor: Actor,
  input: { pipelineId: string; name: string; config: UpstreamConfig },
): Promise<TriggerView> {
  await requirePipeline(db, input.pipelineId);
  const config = upstreamConfigSchema.parse(input.config);
  if (config.upstreamPipelineId === input.pipelineId) {
    throw new TRPCError({ code: 'BAD_REQUEST', message: 'A pipeline cannot be its own upstream.' });
  }
  const upstream = await requirePipeline(db, config.upstreamPipelineId);
  const [row] = await db
    .insert(triggers)
    .values({
      id: crypto.randomUUID(),
      pipelineId: input.pipelineId,
      type: 'upstream',
      name: input.name,
      config,
      upstreamPipelineId: config.upstreamPipelineId,
      createdBy: actor.username,
    })
    .returning();
  await audit(db, actor, 'trigger.create', row!, { upstreamPipelineId: upstream.id, upstreamPipelineName: upstream.name });
  return view(row!, new Map([[upstream.id, upstream.name]]));
}

/** Enables or disables a trigger; a schedule is paused or unpaused in Temporal too. */
export async function setTriggerEnabled(db: Db, getClient: () => Promise<Client>, actor: Actor, input: { id: string; enabled: boolean }) {
  const row = await requireTrigger(db, input.id);
  if (row.type === 'schedule') {
    const client = await getClient().catch((err: unknown) => {
      throw runnerOffline(err instanceof Error ? err.message : undefined);
    });
    const handle = client.schedule.getHandle(scheduleIdFor(row.id));
    try {
      await client.withDeadline(Date.now() + 10_000, () =>
        input.enabled ? handle.unpause(`resumed by ${actor.username}`) : handle.pause(`paused by ${actor.username}`),
      );
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) temporalError(err);
      // The schedule is gone from Temporal (e.g. a fresh dev server): create it again in the wanted state.
      try {
        await createTemporalSchedule(client, row, scheduleConfigSchema.parse(row.config), !input.enabled);
      } catch (again) {
        temporalError(again);
      }
    }
  }
  await db.update(triggers).set({ enabled: input.enabled }).where(eq(triggers.id, row.id));
  await audit(db, actor, input.enabled ? 'trigger.enable' : 'trigger.disable', row);
}

export async function deleteTrigger(db: Db, getClient: () => Promise<Client>, actor: Actor, input: { id: string }) {
  const row = await requireTrigger(db, input.id);
  if (row.type === 'schedule') {
    const client = await getClient().catch((err: unknown) => {
      throw runnerOffline(err instanceof Error ? err.message : undefined);
    });
    try {
      await client.withDeadline(Date.now() + 10_000, () => client.schedule.getHandle(scheduleIdFor(row.id)).delete());
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) temporalError(err);
    }
  }
  await db.batch([db.delete(triggerDeliveries).where(eq(triggerDeliveries.triggerId, row.id)), db.delete(triggers).where(eq(triggers.id, row.id))]);
  await audit(db, actor, 'trigger.delete', row);
}

/**
 * A pipeline was deleted: its triggers are disabled (a webhook then answers
 * 404, an upstream run starts nothing) and its Temporal Schedules deleted, so
 * nothing fires for it any more. When the runner is unreachable the schedules
 * stay, and their next firing deletes them (`fireSchedule`) or the worker does
 * at start (`syncSchedules`).
 */
export async function retirePipelineTriggers(db: Db, getClient: () => Promise<Client>, pipelineId: string): Promise<{ disabled: number; schedulesDeleted: number }> {
  const rows = await db.select().from(triggers).where(eq(triggers.pipelineId, pipelineId));
  if (rows.length === 0) return { disabled: 0, schedulesDeleted: 0 };
  await db.update(triggers).set({ enabled: false, lastResult: 'disabled: the pipeline was deleted' }).where(eq(triggers.pipelineId, pipelineId));
  let schedulesDeleted = 0;
  const schedules = rows.filter((r) => r.type === 'schedule');
  if (schedules.length > 0) {
    try {
      const client = await getClient();
      for (const row of schedules) {
        if (await deleteTemporalSchedule(client, row.id)) schedulesDeleted++;
      }
    } catch (err) {
      console.warn(`[triggers] could not delete the schedules of deleted pipeline ${pipelineId} now (${errorText(err)}); they will be removed when they next fire`);
    }
  }
  return { disabled: rows.length, schedulesDeleted };
}

/** Deletes a trigger's Temporal Schedule; false when it was not there. */
async function deleteTemporalSchedule(client: Client, triggerId: string): Promise<boolean> {
  try {
    await client.withDeadline(Date.now() + 10_000, () => client.schedule.getHandle(scheduleIdFor(triggerId)).delete());
    return true;
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return false;
    throw err;
  }
}

/**
 * Makes Temporal's schedules agree with the triggers table (the worker calls
 * it at start): a schedule trigger whose Temporal Schedule is missing (a new
 * Temporal database) gets it back, in its paused or running state; a schedule
 * of a deleted pipeline is deleted. Returns what it changed.
 */
export async function syncSchedules(db: Db, getClient: () => Promise<Client>): Promise<{ created: string[]; deleted: string[] }> {
  const rows = await db
    .select({ trigger: triggers, pipelineDeletedAt: pipelines.deletedAt })
    .from(triggers)
    .innerJoin(pipelines, eq(pipelines.id, triggers.pipelineId))
    .where(eq(triggers.type, 'schedule'));
  const created: string[] = [];
  const deleted: string[] = [];
  if (rows.length === 0) return { created, deleted };
  const client = await getClient();
  for (const { trigger: row, pipelineDeletedAt } of rows) {
    if (pipelineDeletedAt) {
      if (await deleteTemporalSchedule(client, row.id)) deleted.push(row.id);
      continue;
    }
    try {
      await client.withDeadline(Date.now() + 10_000, () => client.schedule.getHandle(scheduleIdFor(row.id)).describe());
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
      const config = scheduleConfigSchema.safeParse(row.config);
      if (!config.success) continue;
      await createTemporalSchedule(client, row, config.data, !row.enabled);
      created.push(row.id);
    }
  }
  return { created, deleted };
}

/**
 * "Run now" on a schedule: starts the run at once, through the same path as
 * a firing (so it is recorded as the schedule's), paused or not.
 */
export async function runScheduleNow(db: Db, getClient: () => Promise<Client>, actor: Actor & { role: Role }, input: { id: string }): Promise<{ runId: string; runNumber: number }> {
  const row = await requireTrigger(db, input.id);
  if (row.type !== 'schedule') throw new TRPCError({ code: 'BAD_REQUEST', message: 'Only schedules can be fired by hand.' });
  await requirePipeline(db, row.pipelineId);
  const fired = await fireSchedule(db, getClient, { triggerId: row.id, firingId: `now:${crypto.randomUUID()}`, evenIfPaused: true, throwErrors: true, asRole: actor.role });
  await audit(db, actor, 'trigger.fire', row, { runId: fired.runId });
  return { runId: fired.runId!, runNumber: fired.runNumber! };
}

// ── Firing ───────────────────────────────────────────────────────────────────

type Claim = { claimed: true } | { claimed: false; previous: typeof triggerDeliveries.$inferSelect | undefined };

/** Claims an event for a trigger: false when it was received before. */
async function claim(db: Db, triggerId: string, deliveryId: string): Promise<Claim> {
  const inserted = await db
    .insert(triggerDeliveries)
    .values({ triggerId, deliveryId, outcome: 'received' })
    .onConflictDoNothing()
    .returning({ triggerId: triggerDeliveries.triggerId });
  if (inserted.length > 0) return { claimed: true };
  const previous = await db
    .select()
    .from(triggerDeliveries)
    .where(and(eq(triggerDeliveries.triggerId, triggerId), eq(triggerDeliveries.deliveryId, deliveryId)))
    .get();
  return { claimed: false, previous };
}

/** Forgets a claim, so the sender's retry of the same delivery is accepted (after the start failed for a passing reason). */
async function release(db: Db, triggerId: string, deliveryId: string) {
  await db.delete(triggerDeliveries).where(and(eq(triggerDeliveries.triggerId, triggerId), eq(triggerDeliveries.deliveryId, deliveryId)));
}

async function settle(db: Db, triggerId: string, deliveryId: string, outcome: 'started' | 'queued' | 'ignored' | 'failed', message: string, runId?: string) {
  await db.batch([
    db
      .update(triggerDeliveries)
      .set({ outcome, message, runId: runId ?? null })
      .where(and(eq(triggerDeliveries.triggerId, triggerId), eq(triggerDeliveries.deliveryId, deliveryId))),
    db.update(triggers).set({ lastFiredAt: new Date(), lastResult: message }).where(eq(triggers.id, triggerId)),
  ]);
}

/**
 * Who a trigger's run is started as: the trigger (its label is the run's
 * `triggeredBy`), with the current role of the person who created it — so a
 * trigger never deploys where its creator could not (environments' allowed
 * roles, checked when the run starts). A creator who is gone counts as a
 * viewer. "Run now" acts with the role of the person who pressed it.
 */
async function triggerActor(db: Db, row: Pick<TriggerRow, 'type' | 'name' | 'id' | 'createdBy'>, asRole?: Role): Promise<StartActor> {
  const label = `${row.type}:${row.name || row.id.slice(0, 8)}`;
  if (asRole) return { id: label, username: label, role: asRole };
  const creator = row.createdBy
    ? await db.select({ role: user.role }).from(user).where(or(eq(user.username, row.createdBy), eq(user.email, row.createdBy))).get()
    : undefined;
  return { id: label, username: label, role: creator?.role ?? 'viewer', roleOf: `the trigger's creator (${row.createdBy ?? 'unknown'})` };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Whether starting failed only because the pipeline has as many runs in flight as it allows. */
const isFull = (err: unknown) => err instanceof TRPCError && err.code === 'CONFLICT';

/** Id of the workflow that starts a waiting delivery's run (one per delivery). */
const queueWorkflowId = (triggerId: string, deliveryId: string) => `trigger-queue-${triggerId}-${deliveryId.replace(/[^\w.:-]/g, '_')}`;

/**
 * The pipeline is full: hand the delivery to a `queuedTrigger` workflow that
 * starts its run as soon as one of those in flight ends. Durable (it is in
 * Temporal), and started once per delivery (its workflow id).
 */
async function queueRun(db: Db, getClient: () => Promise<Client>, input: QueuedTriggerInput, why: string) {
  const client = await getClient().catch((err: unknown) => {
    throw runnerOffline(err instanceof Error ? err.message : undefined);
  });
  try {
    await client.withDeadline(Date.now() + 10_000, () =>
      client.workflow.start('queuedTrigger', {
        taskQueue: taskQueue(),
        workflowId: queueWorkflowId(input.triggerId, input.deliveryId),
        args: [input],
      }),
    );
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw runnerOffline(errorText(err));
  }
  await settle(db, input.triggerId, input.deliveryId, 'queued', `queued: ${why}`);
}

/**
 * The `queuedTrigger` workflow's one step: start the waiting run if the
 * pipeline has room now (`busy` when it is still full). A trigger or pipeline
 * deleted or disabled meanwhile starts nothing.
 */
export async function startQueuedRun(
  db: Db,
  getClient: () => Promise<Client>,
  input: QueuedTriggerInput & { giveUp?: boolean },
): Promise<{ outcome: 'started' | 'busy' | 'ignored' | 'failed'; runId?: string }> {
  const found = await db
    .select({ row: triggers, pipelineDeletedAt: pipelines.deletedAt })
    .from(triggers)
    .innerJoin(pipelines, eq(pipelines.id, triggers.pipelineId))
    .where(eq(triggers.id, input.triggerId))
    .get();
  if (!found) return { outcome: 'ignored' };
  const { row } = found;
  if (found.pipelineDeletedAt || !row.enabled) {
    await settle(db, row.id, input.deliveryId, 'ignored', found.pipelineDeletedAt ? 'ignored: the pipeline was deleted while it waited' : 'ignored: the trigger was disabled while it waited');
    return { outcome: 'ignored' };
  }
  const details = parseTriggerDetails(input.triggerDetails);
  try {
    const run = await startRun(db, getClient, await triggerActor(db, row), {
      pipelineId: row.pipelineId,
      params: input.params,
      lenientParams: true,
      trigger: row.type,
      triggerDetails: details ?? undefined,
      auditDetails: { ...input.auditDetails, queued: true },
    });
    await settle(db, row.id, input.deliveryId, 'started', `started run #${run.number} (after waiting for a free slot)${leftOutNote(run)}`, run.id);
    return { outcome: 'started', runId: run.id };
  } catch (err) {
    if (isFull(err) && !input.giveUp) return { outcome: 'busy' };
    if (err instanceof TRPCError && err.code === 'SERVICE_UNAVAILABLE') throw err;
    await settle(db, row.id, input.deliveryId, 'failed', `not started: ${errorText(err)}`);
    return { outcome: 'failed' };
  }
}

/** The HTTP answer to a webhook delivery (the route only copies it out). */
export type WebhookAnswer = {
  status: number;
  body: { ok: boolean; started: boolean; message: string; duplicate?: boolean; queued?: boolean; runId?: string; runNumber?: number; runUrl?: string };
};

/** A secret no trigger has (see the decoy check in `receiveWebhook`). */
const DECOY_SECRET = randomBytes(32).toString('base64url');

const answer = (status: number, message: string, extra: Partial<WebhookAnswer['body']> = {}): WebhookAnswer => ({
  status,
  body: { ok: status < 300, started: false, message, ...extra },
});

/**
 * Handles one webhook delivery to `/api/hooks/<pipelineId>`: 401 with one and
 * the same body for an unknown pipeline, no webhook, or a missing or wrong
 * signature/token (nothing is read or started; sampled into the audit log), 400 for a malformed
 * delivery with the reason, 200 for a duplicate or an ignored push (saying
 * why), 202 with the run when one started.
 */
export async function receiveWebhook(
  db: Db,
  getClient: () => Promise<Client>,
  req: { pipelineId: string; triggerId?: string | null; headers: Headers; body: Uint8Array },
): Promise<WebhookAnswer> {
  const provider = detectProvider(req.headers);
  const info = provider ? requestInfo(req.headers, provider) : null;
  const pipeline = await db.select({ deletedAt: pipelines.deletedAt }).from(pipelines).where(eq(pipelines.id, req.pipelineId)).get();
  const known = pipeline !== undefined && !pipeline.deletedAt;
  const rows =
    known && provider && info?.credential
      ? await db
          .select()
          .from(triggers)
          .where(and(eq(triggers.pipelineId, req.pipelineId), eq(triggers.type, 'webhook'), req.triggerId ? eq(triggers.id, req.triggerId) : undefined))
      : [];
  const key = rows.length > 0 ? resolveSecretKey() : null;
  const match = rows.find((row) => {
    const config = webhookConfigSchema.safeParse(row.config);
    if (!config.success || config.data.provider !== provider || !row.secret || !key || !info) return false;
    try {
      return verifyCredential(info, open(key, row.secret, secretAad(row.id)), req.body);
    } catch {
      return false;
    }
  });
  // Spend the time a signature check takes even when there is nothing to check it against, so the answer's
  // timing does not tell a stranger whether the pipeline and its webhook exist.
  if (rows.length === 0 && info?.credential) verifyCredential(info, DECOY_SECRET, req.body);
  if (!provider || !info || !match) {
    // One answer for every refusal (no such pipeline, no webhook, no or a wrong signature): a stranger
    // learns nothing about which pipelines exist. The audit log gets a sample (server/triggers/refusals.ts).
    const reason = !provider
      ? 'not a GitHub or GitLab delivery'
      : !info?.credential
        ? 'unsigned delivery'
        : !known
          ? 'no such pipeline'
          : rows.length === 0
            ? 'no webhook trigger'
            : provider === 'github'
              ? 'signature does not match'
              : 'token does not match';
    // Sampled per pipeline and kind of refusal: a burst of wrong signatures does not hide an unsigned delivery.
    const refusals = getRefusalSampler().refused(`${known ? req.pipelineId : '(unknown pipeline)'}\u0000${reason}`);
    if (refusals !== null) {
      await db.insert(auditLog).values({
        actorId: null,
        actorName: `webhook:${provider ?? 'unknown'}`,
        action: 'webhook.deliver',
        outcome: 'refused',
        pipelineId: known ? req.pipelineId : null,
        reason: refusals > 1 ? `${reason} (${refusals} refused deliveries since the previous entry)` : reason,
        details: { refusals, deliveryId: info?.deliveryId.slice(0, 200) || null, ...(known ? {} : { pipelineId: req.pipelineId.slice(0, 100) }) },
      });
    }
    return { status: 401, body: { ...REFUSED_BODY } };
  }
  if (!match.enabled) return answer(403, 'This webhook trigger is disabled; nothing was started.');

  const deliveryHeader = provider === 'github' ? 'X-GitHub-Delivery' : 'X-Gitlab-Event-UUID';
  if (!info.deliveryId) return answer(400, `Missing ${deliveryHeader} header (each delivery needs an id so a replay starts nothing).`);
  if (info.deliveryId.length > 200 || !/^[\w.:-]+$/.test(info.deliveryId)) return answer(400, `${deliveryHeader} is not a valid delivery id.`);
  if (provider === 'github' && info.event === 'ping') return answer(200, 'pong: the webhook is set up.');
  if (info.event && !['push', 'tag_push'].includes(info.event)) return answer(200, `Event "${info.event.slice(0, 60)}" is not handled (only pushes start runs); nothing was started.`);

  let push;
  try {
    push = parsePush(provider, parseJsonBody(req.body));
  } catch (err) {
    if (err instanceof PayloadError) return answer(400, `Malformed push: ${err.message}.`);
    throw err;
  }

  const deliveryKey = `${provider}:${info.deliveryId}`;
  const claimed = await claim(db, match.id, deliveryKey);
  if (!claimed.claimed) {
    const prev = claimed.previous;
    return answer(200, `Delivery ${info.deliveryId} was already received${prev ? ` (${prev.outcome}${prev.message ? `: ${prev.message}` : ''})` : ''}; nothing was started.`, {
      duplicate: true,
      runId: prev?.runId ?? undefined,
    });
  }

  const config = webhookConfigSchema.parse(match.config);
  const refProblem = refNameProblem(push.kind === 'tag' ? push.tag : push.branch);
  if (refProblem) {
    const what = push.kind === 'tag' ? 'tag' : 'branch';
    const shown = JSON.stringify((push.kind === 'tag' ? push.tag : push.branch).slice(0, 200));
    await settle(db, match.id, deliveryKey, 'ignored', `refused: ${what} ${shown} is not a valid Git ${what} name (${refProblem})`);
    return answer(400, `The push names ${what} ${shown}, which is not a valid Git ${what} name (${refProblem}); nothing was started.`);
  }
  if (push.kind === 'tag') {
    await settle(db, match.id, deliveryKey, 'ignored', `ignored: tag ${push.tag} (tag pushes do not start runs)`);
    return answer(200, `Tag pushes do not start runs (tag ${push.tag}); nothing was started.`);
  }
  if (push.deleted) {
    await settle(db, match.id, deliveryKey, 'ignored', `ignored: branch ${push.branch} was deleted`);
    return answer(200, `Branch ${push.branch} was deleted; nothing was started.`);
  }
  if (!branchMatches(push.branch, config.branches)) {
    const message = `ignored: branch ${push.branch} does not match ${config.branches.join(', ')}`;
    await settle(db, match.id, deliveryKey, 'ignored', message);
    return answer(200, `Branch ${push.branch} does not match this trigger's branch filter (${config.branches.join(', ')}); nothing was started.`);
  }

  const params = {
    ...config.params,
    [config.mapping.branch ?? 'branch']: push.branch,
    [config.mapping.commit ?? 'commit']: push.commit,
    [config.mapping.author ?? 'author']: push.author,
  };
  const details: TriggerDetails = {
    type: 'webhook',
    triggerId: match.id,
    provider,
    deliveryId: info.deliveryId,
    event: info.event || 'push',
    branch: push.branch,
    commit: push.commit,
    author: push.author,
    repository: push.repository || undefined,
  };
  try {
    const run = await startRun(db, getClient, await triggerActor(db, match), {
      pipelineId: req.pipelineId,
      params,
      lenientParams: true,
      trigger: 'webhook',
      triggerDetails: details,
      auditDetails: { triggerId: match.id, deliveryId: info.deliveryId, branch: push.branch, commit: push.commit },
    });
    await settle(db, match.id, deliveryKey, 'started', `started run #${run.number} (${push.branch} ${push.commit.slice(0, 12)})${leftOutNote(run)}`, run.id);
    return {
      status: 202,
      body: {
        ok: true,
        started: true,
        message: `Started run #${run.number} for ${push.branch} at ${push.commit.slice(0, 12)}${leftOutNote(run)}.`,
        runId: run.id,
        runNumber: run.number,
        runUrl: `${getEnv().publicUrl.replace(/\/+$/, '')}/pipelines/${encodeURIComponent(req.pipelineId)}/runs/${run.id}`,
      },
    };
  } catch (startErr) {
    let err = startErr;
    if (isFull(err)) {
      // Accepted all the same: the run starts when one of those in flight ends.
      try {
        await queueRun(db, getClient, { triggerId: match.id, deliveryId: deliveryKey, params, triggerDetails: details, auditDetails: { triggerId: match.id, deliveryId: info.deliveryId, branch: push.branch, commit: push.commit } }, errorText(err));
        return answer(202, `Accepted: the pipeline has as many runs in flight as it allows, so the run for ${push.branch} at ${push.commit.slice(0, 12)} starts when one of them ends.`, { queued: true });
      } catch (queueErr) {
        err = queueErr;
      }
    }
    // Not started: forget the delivery so the Git server's redelivery is accepted.
    await release(db, match.id, deliveryKey);
    await db.update(triggers).set({ lastFiredAt: new Date(), lastResult: `failed: ${errorText(err)}` }).where(eq(triggers.id, match.id));
    if (err instanceof TRPCError) {
      const status = err.code === 'CONFLICT' ? 409 : err.code === 'SERVICE_UNAVAILABLE' ? 503 : err.code === 'NOT_FOUND' ? 404 : 422;
      return answer(status, `Could not start the run: ${err.message}`);
    }
    throw err;
  }
}

/**
 * A schedule fired (called by the `fireScheduledTrigger` activity, once per
 * scheduled workflow: `firingId` is that workflow's id). Starts the run, or
 * says why not; throws only for passing failures worth retrying.
 */
export async function fireSchedule(
  db: Db,
  getClient: () => Promise<Client>,
  input: { triggerId: string; firingId: string; evenIfPaused?: boolean; throwErrors?: boolean; /** "Run now": the role of the person who pressed it. */ asRole?: Role },
): Promise<{ runId?: string; runNumber?: number; skipped?: string }> {
  const found = await db
    .select({ row: triggers, pipelineDeletedAt: pipelines.deletedAt })
    .from(triggers)
    .innerJoin(pipelines, eq(pipelines.id, triggers.pipelineId))
    .where(eq(triggers.id, input.triggerId))
    .get();
  const row = found?.row;
  if (!row || row.type !== 'schedule' || found.pipelineDeletedAt) {
    // An orphaned schedule (its trigger or pipeline is gone): remove it so it stops firing.
    const client = await getClient().catch(() => undefined);
    if (client) await deleteTemporalSchedule(client, input.triggerId).catch(() => undefined);
    return { skipped: row ? 'the pipeline was deleted' : 'the trigger no longer exists' };
  }
  if (!row.enabled && !input.evenIfPaused) return { skipped: 'the trigger is disabled' };
  const deliveryId = `schedule:${input.firingId}`;
  const claimed = await claim(db, row.id, deliveryId);
  if (!claimed.claimed) return { runId: claimed.previous?.runId ?? undefined, skipped: 'already fired' };
  const config = scheduleConfigSchema.parse(row.config);
  try {
    const run = await startRun(db, getClient, await triggerActor(db, row, input.asRole), {
      pipelineId: row.pipelineId,
      params: config.params,
      lenientParams: true,
      trigger: 'schedule',
      triggerDetails: { type: 'schedule', triggerId: row.id, cron: config.cron, timezone: config.timezone, firedAt: Date.now() },
      auditDetails: { triggerId: row.id, cron: config.cron },
    });
    await settle(db, row.id, deliveryId, 'started', `started run #${run.number}${leftOutNote(run)}`, run.id);
    return { runId: run.id, runNumber: run.number };
  } catch (err) {
    if (err instanceof TRPCError && err.code === 'SERVICE_UNAVAILABLE') {
      await release(db, row.id, deliveryId);
      throw err;
    }
    await settle(db, row.id, deliveryId, 'failed', `not started: ${errorText(err)}`);
    if (input.throwErrors) throw err;
    return { skipped: errorText(err) };
  }
}

/**
 * A run ended successfully: start the pipelines whose upstream trigger names
 * its pipeline. Idempotent per upstream run (a retried record starts nothing
 * twice); a chain that comes back to a pipeline already in it stops there.
 * Throws only when the runner is unreachable (the caller retries).
 */
export async function startDownstreamRuns(db: Db, getClient: () => Promise<Client>, runId: string): Promise<{ pipelineId: string; runId?: string; skipped?: string }[]> {
  const run = await db
    .select({ id: runs.id, pipelineId: runs.pipelineId, pipelineName: pipelines.name, number: runs.number, status: runs.status, triggerDetails: runs.triggerDetails })
    .from(runs)
    .innerJoin(pipelines, eq(pipelines.id, runs.pipelineId))
    .where(eq(runs.id, runId))
    .get();
  if (!run || run.status !== 'succeeded') return [];
  const rows = await db
    .select()
    .from(triggers)
    .where(and(eq(triggers.type, 'upstream'), eq(triggers.upstreamPipelineId, run.pipelineId), eq(triggers.enabled, true)));
  if (rows.length === 0) return [];
  const before = parseTriggerDetails(run.triggerDetails);
  const chain = [...(before?.type === 'upstream' ? before.chain : []), run.pipelineId];
  const results: { pipelineId: string; runId?: string; skipped?: string }[] = [];
  let retry: unknown;
  for (const row of rows) {
    const deliveryId = `run:${run.id}`;
    const claimed = await claim(db, row.id, deliveryId);
    if (!claimed.claimed) continue;
    if (chain.includes(row.pipelineId) || chain.length >= MAX_UPSTREAM_CHAIN) {
      const why = chain.includes(row.pipelineId) ? 'the chain of upstream triggers loops back to this pipeline' : `the chain of upstream triggers is longer than ${MAX_UPSTREAM_CHAIN}`;
      await settle(db, row.id, deliveryId, 'ignored', `ignored: ${why}`);
      results.push({ pipelineId: row.pipelineId, skipped: why });
      continue;
    }
    const config = upstreamConfigSchema.parse(row.config);
    const details: TriggerDetails = { type: 'upstream', triggerId: row.id, upstreamPipelineId: run.pipelineId, upstreamPipelineName: run.pipelineName, upstreamRunId: run.id, upstreamRunNumber: run.number, chain };
    const auditDetails = { triggerId: row.id, upstreamRunId: run.id };
    try {
      const started = await startRun(db, getClient, await triggerActor(db, row), {
        pipelineId: row.pipelineId,
        params: config.params,
        lenientParams: true,
        trigger: 'upstream',
        triggerDetails: details,
        auditDetails,
      }).catch(async (err: unknown) => {
        if (!isFull(err)) throw err;
        await queueRun(db, getClient, { triggerId: row.id, deliveryId, params: config.params, triggerDetails: details, auditDetails }, errorText(err));
        return null;
      });
      if (!started) {
        results.push({ pipelineId: row.pipelineId, skipped: 'queued' });
        continue;
      }
      await settle(db, row.id, deliveryId, 'started', `started run #${started.number} after upstream run #${run.number}${leftOutNote(started)}`, started.id);
      results.push({ pipelineId: row.pipelineId, runId: started.id });
    } catch (err) {
      if (err instanceof TRPCError && err.code === 'SERVICE_UNAVAILABLE') {
        await release(db, row.id, deliveryId);
        retry ??= err;
        continue;
      }
      await settle(db, row.id, deliveryId, 'failed', `not started after upstream run #${run.number}: ${errorText(err)}`);
      results.push({ pipelineId: row.pipelineId, skipped: errorText(err) });
    }
  }
  if (retry) throw retry;
  return results;
}
