/**
 * Runs: compile the pipeline, store the plan, start the interpreter workflow;
 * read statuses and logs back from the app database; cancel.
 */
import type { Client } from '@temporalio/client';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { TRPCError } from '@trpc/server';
import { and, asc, desc, eq, gt, inArray, lt, sql } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { auditLog, gates, logChunks, pipelines, pipelineVersions, runs, stageRuns, user, type RunStatus } from '../../db/schema';
import {
  compileValidSpec,
  executionPlanSchema,
  validatePipeline,
  type ExecutionPlan,
  type PipelineSpec,
  type RunParameters,
} from '../../workflows/model';
import { cancelRunUpdate, workflowIdForRun, type RunInput } from '../../workflows/run-state';
import { SA_PIPELINE_ID, SA_STATUS } from '../../workflows/search-attributes';
import type { SessionUser } from '../auth/session';
import { getEnv } from '../env';
import { parseTriggerDetails, type TriggerDetails } from '../triggers/config';
import { invalidPipeline, notFound, runnerOffline } from '../errors';
import { boostRun, liveChanged } from '../live/app-live';
import { taskQueue } from '../temporal/client';

type Actor = Pick<SessionUser, 'id' | 'username'>;

/** Checks and types run parameters against the pipeline's declarations. */
export function resolveParams(spec: PipelineSpec, given: RunParameters): Record<string, string | number | boolean> {
  const problems: string[] = [];
  const out: Record<string, string | number | boolean> = {};
  const declared = new Set(spec.parameters.map((p) => p.name));
  for (const name of Object.keys(given)) if (!declared.has(name)) problems.push(`unknown parameter "${name}"`);
  for (const p of spec.parameters) {
    const raw = given[p.name] ?? p.default;
    if (raw === undefined || raw === '') {
      if (p.required) problems.push(`parameter "${p.name}" is required`);
      else out[p.name] = p.type === 'number' ? 0 : p.type === 'boolean' ? false : '';
      continue;
    }
    if (p.type === 'number') {
      const n = typeof raw === 'number' ? raw : Number(raw);
      if (!Number.isFinite(n)) problems.push(`parameter "${p.name}" must be a number`);
      else out[p.name] = n;
    } else if (p.type === 'boolean') {
      if (typeof raw === 'boolean') out[p.name] = raw;
      else if (raw === 'true' || raw === 'false') out[p.name] = raw === 'true';
      else problems.push(`parameter "${p.name}" must be true or false`);
    } else {
      out[p.name] = String(raw);
    }
  }
  if (problems.length > 0) throw new TRPCError({ code: 'BAD_REQUEST', message: `Cannot start the run: ${problems.join('; ')}.` });
  return out;
}

/** True when a worker polled the task queue recently (a cheap "is the runner up?" check). */
export async function workerIsPolling(client: Client): Promise<boolean> {
  try {
    const res = await client.withDeadline(Date.now() + 3000, () =>
      client.workflowService.describeTaskQueue({
        namespace: client.options.namespace,
        taskQueue: { name: taskQueue() },
        taskQueueType: 1, // WORKFLOW
      }),
    );
    const cutoff = Date.now() - 90_000;
    return (res.pollers ?? []).some((p) => {
      const seconds = Number(p.lastAccessTime?.seconds ?? 0);
      return seconds * 1000 >= cutoff;
    });
  } catch {
    return false;
  }
}

export async function startRun(
  db: Db,
  getClient: () => Promise<Client>,
  actor: Actor,
  input: {
    pipelineId: string;
    version?: number;
    params?: RunParameters;
    trigger?: string;
    auditDetails?: Record<string, unknown>;
    /** What started the run (webhook delivery, schedule, upstream run, …), kept on the run. */
    triggerDetails?: TriggerDetails;
    /** Leave out parameters the pipeline does not declare instead of refusing the run (triggers map fields by name). */
    lenientParams?: boolean;
  },
) {
  const head = await db.select().from(pipelines).where(eq(pipelines.id, input.pipelineId)).get();
  if (!head || head.deletedAt) throw notFound('Pipeline');
  const versionNumber = input.version ?? head.latestVersion;
  const v = await db
    .select()
    .from(pipelineVersions)
    .where(and(eq(pipelineVersions.pipelineId, head.id), eq(pipelineVersions.version, versionNumber)))
    .get();
  if (!v) throw notFound(`Version ${versionNumber}`);
  const { spec, ok, issues } = validatePipeline(v.spec);
  if (!spec || !ok) {
    const errors = issues.filter((i) => i.severity === 'error');
    throw invalidPipeline(`This pipeline has ${errors.length} problem(s) to fix before it can run.`, errors);
  }
  const given = input.params ?? {};
  const declared = new Set(spec.parameters.map((p) => p.name));
  const params = resolveParams(spec, input.lenientParams ? Object.fromEntries(Object.entries(given).filter(([k]) => declared.has(k))) : given);
  const plan: ExecutionPlan = executionPlanSchema.parse(compileValidSpec(spec));

  const active = await db
    .select({ n: sql<number>`count(*)` })
    .from(runs)
    .where(and(eq(runs.pipelineId, head.id), inArray(runs.status, ['queued', 'running'])))
    .get();
  if ((active?.n ?? 0) >= spec.settings.concurrency) {
    throw new TRPCError({
      code: 'CONFLICT',
      message: `${active?.n} run(s) of this pipeline are in flight and it allows ${spec.settings.concurrency} at a time. Wait for one to finish or cancel it.`,
    });
  }

  const client = await getClient().catch((err: unknown) => {
    throw runnerOffline(err instanceof Error ? err.message : undefined);
  });
  const id = crypto.randomUUID();
  // One batch (run synchronously on one connection), not an interactive transaction: a transaction holding
  // the write lock across awaits lets concurrent starts in this process block in SQLite's busy wait.
  await db.batch([
    db.insert(runs).values({
      id,
      pipelineId: head.id,
      pipelineVersion: versionNumber,
      number: sql`(select coalesce(max(${runs.number}), 0) + 1 from ${runs} where ${runs.pipelineId} = ${head.id})`,
      plan,
      planHash: plan.hash,
      params,
      status: 'queued',
      triggeredBy: actor.id,
      trigger: input.trigger ?? 'manual',
      triggerDetails: input.triggerDetails ?? null,
      workflowId: workflowIdForRun(id),
    }),
    db.insert(stageRuns).values(plan.nodes.map((node) => ({ runId: id, nodeId: node.id, status: 'pending' as const }))),
  ]);
  const number = (await db.select({ n: runs.number }).from(runs).where(eq(runs.id, id)).get())!.n;

  const runInput: RunInput = {
    runId: id,
    pipelineId: head.id,
    plan,
    params,
    triggeredBy: actor.id,
    heartbeatTimeoutMs: getEnv().PIPEWRIGHT_HEARTBEAT_TIMEOUT_S * 1000,
  };
  try {
    await client.withDeadline(Date.now() + 10_000, () =>
      client.workflow.start('pipelineRun', {
        taskQueue: taskQueue(),
        workflowId: workflowIdForRun(id),
        args: [runInput],
        typedSearchAttributes: [
          { key: SA_PIPELINE_ID, value: head.id },
          { key: SA_STATUS, value: 'running' },
        ],
      }),
    );
  } catch (err) {
    // Nothing half-written: the run row goes away when its workflow could not start.
    await db.batch([db.delete(stageRuns).where(eq(stageRuns.runId, id)), db.delete(runs).where(eq(runs.id, id))]);
    throw runnerOffline(err instanceof Error ? err.message : undefined);
  }
  await db.insert(auditLog).values({
    actorId: actor.id,
    actorName: actor.username,
    action: 'run.start',
    outcome: 'ok',
    pipelineId: head.id,
    runId: id,
    details: input.auditDetails ?? null,
  });
  liveChanged();
  return { id, number, planHash: plan.hash };
}

/**
 * "Run again": a new run of the same pipeline with the same parameters, on the
 * version the run used (or the newest one with `latest`; parameters the newest
 * version no longer declares are left out, new ones take their defaults).
 */
export async function rerun(db: Db, getClient: () => Promise<Client>, actor: Actor, input: { runId: string; latest?: boolean }) {
  const run = await db
    .select({ id: runs.id, number: runs.number, pipelineId: runs.pipelineId, pipelineVersion: runs.pipelineVersion, params: runs.params })
    .from(runs)
    .where(eq(runs.id, input.runId))
    .get();
  if (!run) throw notFound('Run');
  let params = run.params as Record<string, string | number | boolean>;
  let version: number | undefined = run.pipelineVersion;
  if (input.latest) {
    version = undefined;
    const head = await db.select({ latest: pipelines.latestVersion }).from(pipelines).where(eq(pipelines.id, run.pipelineId)).get();
    const v = head
      ? await db
          .select({ spec: pipelineVersions.spec })
          .from(pipelineVersions)
          .where(and(eq(pipelineVersions.pipelineId, run.pipelineId), eq(pipelineVersions.version, head.latest)))
          .get()
      : undefined;
    const declared = new Set(validatePipeline(v?.spec).spec?.parameters.map((p) => p.name) ?? []);
    params = Object.fromEntries(Object.entries(params).filter(([k]) => declared.has(k)));
  }
  return startRun(db, getClient, actor, {
    pipelineId: run.pipelineId,
    version,
    params,
    auditDetails: { rerunOf: run.id, rerunOfNumber: run.number },
  });
}

export async function listRuns(db: Db, opts: { pipelineId?: string; status?: RunStatus; limit?: number; before?: Date }) {
  const rows = await db
    .select({
      id: runs.id,
      pipelineId: runs.pipelineId,
      pipelineName: pipelines.name,
      number: runs.number,
      status: runs.status,
      trigger: runs.trigger,
      triggeredBy: runs.triggeredBy,
      /** Display name of the person who started it (null for schedules, webhooks and deleted people). */
      triggeredByName: user.name,
      triggerDetails: runs.triggerDetails,
      createdAt: runs.createdAt,
      startedAt: runs.startedAt,
      endedAt: runs.endedAt,
      error: runs.error,
    })
    .from(runs)
    .innerJoin(pipelines, eq(pipelines.id, runs.pipelineId))
    .leftJoin(user, eq(user.id, runs.triggeredBy))
    .where(
      and(
        opts.pipelineId ? eq(runs.pipelineId, opts.pipelineId) : undefined,
        opts.status ? eq(runs.status, opts.status) : undefined,
        opts.before ? lt(runs.createdAt, opts.before) : undefined,
      ),
    )
    .orderBy(desc(runs.createdAt))
    .limit(Math.min(opts.limit ?? 50, 200));
  return rows.map((r) => ({ ...r, triggerDetails: parseTriggerDetails(r.triggerDetails) }));
}

/** Parsed plans by run id (a run's plan never changes; the live run page reads it twice a second). */
const planCache = new Map<string, { hash: string; plan: ExecutionPlan }>();
const PLAN_CACHE_SIZE = 500;

/** A run's execution plan, parsed once per process. */
export function parsedPlan(runId: string, hash: string, raw: unknown): ExecutionPlan {
  const hit = planCache.get(runId);
  if (hit && hit.hash === hash) return hit.plan;
  const plan = executionPlanSchema.parse(raw);
  if (planCache.size >= PLAN_CACHE_SIZE) planCache.delete(planCache.keys().next().value!);
  planCache.set(runId, { hash, plan });
  return plan;
}

export async function getRun(db: Db, runId: string) {
  const run = await db.select().from(runs).where(eq(runs.id, runId)).get();
  if (!run) throw notFound('Run');
  const plan = parsedPlan(run.id, run.planHash, run.plan);
  const [stages, gateRows, pipeline, starter] = await Promise.all([
    db.select().from(stageRuns).where(eq(stageRuns.runId, runId)),
    db.select().from(gates).where(eq(gates.runId, runId)),
    db.select({ name: pipelines.name }).from(pipelines).where(eq(pipelines.id, run.pipelineId)).get(),
    db.select({ name: user.name }).from(user).where(eq(user.id, run.triggeredBy)).get(),
  ]);
  const byNode = new Map(stages.map((s) => [s.nodeId, s]));
  const gateByNode = new Map(gateRows.map((g) => [g.nodeId, g]));
  return {
    id: run.id,
    pipelineId: run.pipelineId,
    pipelineName: pipeline?.name ?? '',
    pipelineVersion: run.pipelineVersion,
    number: run.number,
    status: run.status,
    params: run.params as Record<string, string | number | boolean>,
    planHash: run.planHash,
    trigger: run.trigger,
    triggerDetails: parseTriggerDetails(run.triggerDetails),
    triggeredBy: run.triggeredBy,
    triggeredByName: starter?.name ?? null,
    cancelledBy: run.cancelledBy,
    error: run.error,
    createdAt: run.createdAt,
    startedAt: run.startedAt,
    endedAt: run.endedAt,
    workflowId: run.workflowId,
    stages: plan.nodes.map((node) => {
      const s = byNode.get(node.id);
      const g = gateByNode.get(node.id);
      return {
        id: node.id,
        name: node.name,
        kind: node.kind,
        needs: node.needs,
        status: s?.status ?? 'pending',
        attempt: s?.attempt ?? 0,
        maxAttempts: node.retry.maxAttempts,
        startedAt: s?.startedAt ?? null,
        endedAt: s?.endedAt ?? null,
        summary: s?.summary ?? null,
        error: s?.error ?? null,
        outputs: (s?.outputs ?? {}) as Record<string, string>,
        executions: s?.executions ?? 0,
        gate: node.gate
          ? {
              rules: node.gate,
              status: g?.status ?? null,
              votes: (g?.votes ?? []) as { userId: string; userName: string; decision: 'approve' | 'reject'; comment: string; at: number }[],
              waitingSince: g?.waitingSince ?? null,
              deadlineAt: g?.deadlineAt ?? null,
              decidedBy: g?.decidedBy ?? null,
              decidedAt: g?.decidedAt ?? null,
            }
          : null,
      };
    }),
  };
}

/** A stage's log from `afterOffset` on (at most `limit` characters per call). */
export async function getLogs(db: Db, input: { runId: string; nodeId: string; afterOffset?: number; limit?: number }) {
  const after = input.afterOffset ?? 0;
  const limit = Math.min(input.limit ?? 256_000, 1_000_000);
  const chunks = await db
    .select({ offset: logChunks.offset, text: logChunks.text, stream: logChunks.stream, attempt: logChunks.attempt })
    .from(logChunks)
    .where(
      and(
        eq(logChunks.runId, input.runId),
        eq(logChunks.nodeId, input.nodeId),
        gt(sql`${logChunks.offset} + length(${logChunks.text})`, after),
      ),
    )
    .orderBy(asc(logChunks.offset))
    .limit(500);
  const out: { stream: string; text: string; attempt: number }[] = [];
  let next = after;
  let size = 0;
  for (const c of chunks) {
    const text = c.offset < after ? c.text.slice(after - c.offset) : c.text;
    if (size > 0 && size + text.length > limit) break;
    out.push({ stream: c.stream, text, attempt: c.attempt });
    size += text.length;
    next = c.offset + c.text.length;
  }
  const stage = await db
    .select({ status: stageRuns.status })
    .from(stageRuns)
    .where(and(eq(stageRuns.runId, input.runId), eq(stageRuns.nodeId, input.nodeId)))
    .get();
  const finished = stage ? ['succeeded', 'failed', 'skipped', 'cancelled'].includes(stage.status) : true;
  return { chunks: out, nextOffset: next, text: out.map((c) => c.text).join(''), complete: finished && out.length === chunks.length };
}

export async function cancelRun(db: Db, getClient: () => Promise<Client>, actor: Actor, input: { runId: string; reason?: string }) {
  const run = await db.select().from(runs).where(eq(runs.id, input.runId)).get();
  if (!run) throw notFound('Run');
  if (!['queued', 'running'].includes(run.status)) {
    throw new TRPCError({ code: 'CONFLICT', message: `This run already ended (${run.status}).` });
  }
  const client = await getClient().catch(() => {
    throw runnerOffline();
  });
  const handle = client.workflow.getHandle(run.workflowId);
  try {
    await client.withDeadline(Date.now() + getEnv().PIPEWRIGHT_UPDATE_DEADLINE_MS, () =>
      handle.executeUpdate(cancelRunUpdate, {
        args: [{ userId: actor.id, userName: actor.username, reason: input.reason }],
        updateId: `cancel:${actor.id}`,
      }),
    );
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) {
      throw new TRPCError({ code: 'CONFLICT', message: `Cannot cancel: ${err.cause?.message ?? err.message}` });
    }
    throw runnerOffline('no worker answered in time');
  }
  await db.insert(auditLog).values({
    actorId: actor.id,
    actorName: actor.username,
    action: 'run.cancel',
    outcome: 'ok',
    pipelineId: run.pipelineId,
    runId: run.id,
    reason: input.reason ?? null,
  });
  boostRun(run.id);
}
