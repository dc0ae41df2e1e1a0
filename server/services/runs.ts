/**
 * Runs: compile the pipeline, store the plan, start the interpreter workflow;
 * read statuses and logs back from the app database; cancel.
 */
import type { Client } from '@temporalio/client';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { TRPCError } from '@trpc/server';
import { and, asc, desc, eq, gt, inArray, lt, sql } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { artifacts, auditLog, environments, gates, logChunks, pipelines, pipelineVersions, runners, runs, stageRuns, user, type Role, type RunStatus } from '../../db/schema';
import {
  compileValidSpec,
  executionPlanSchema,
  isKubernetesKind,
  leaveOutForRole,
  protectionIssues,
  validatePipeline,
  describeRunStatus,
  runWaits,
  settleDecidedGates,
  type RunStatusDescription,
  type EnvironmentProtection,
  type ExecutionPlan,
  type ProtectionIssueCode,
  type PipelineSpec,
  type RunParameters,
} from '../../workflows/model';
import { describeLabels } from '../../workflows/model/runners';
import { planRerunFromFailed } from '../../workflows/model/rerun';
import { cancelRunUpdate, workflowIdForRun, type RunInput } from '../../workflows/run-state';
import { SA_PIPELINE_ID, SA_STATUS } from '../../workflows/search-attributes';
import { listRunArtifacts } from '../artifacts/service';
import type { SessionUser } from '../auth/session';
import { approverFacts } from './approver-facts';
import { refreshRunFactsSoon } from './insights/facts';
import { parsedPlan } from './run-plans';
import { describeRollback } from './k8s-rollback-target';
import { getEnv } from '../env';
import { parseTriggerDetails, type TriggerDetails } from '../triggers/config';
import { invalidPipeline, notFound, temporalUnreachable } from '../errors';
import { noteTemporalDown, unavailableError } from '../temporal/health';
import { boostRun, liveChanged } from '../live/app-live';
import { taskQueue } from '../temporal/client';
import { decisionPublicKey, signCancel } from '../security/decision-keys';

type Actor = Pick<SessionUser, 'id' | 'username'>;
/**
 * Who starts a run: a person, or a trigger acting with its creator's role
 * (server/services/triggers.ts). The role is checked against the roles each
 * environment the run would deploy to allows.
 */
export type StartActor = Actor & {
  role: Role;
  /** Whose role `role` is, when not the caller's own (a trigger's creator): named in refusals. */
  roleOf?: string;
};

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
  actor: StartActor,
  input: {
    pipelineId: string;
    version?: number;
    params?: RunParameters;
    trigger?: string;
    auditDetails?: Record<string, unknown>;
    /** Stages not executed but taken over, with their outputs and artifacts, from a succeeded stage of an earlier run of this pipeline. */
    reuse?: { fromRunId: string; nodes: string[] };
    /** Stages left out of this run (skipped at once, with `omitReason`). */
    omit?: string[];
    /** Shown on omitted stages. Default "not part of this run". */
    omitReason?: string;
    /** What started the run (webhook delivery, schedule, upstream run, …), kept on the run. */
    triggerDetails?: TriggerDetails;
    /** Leave out parameters the pipeline does not declare instead of refusing the run (triggers map fields by name). */
    lenientParams?: boolean;
    /** Stages in environments the starter's role does not allow: left out (default), or the start refused (a promotion aims at one environment). */
    beyondRole?: BeyondRole;
    /** A rehearsal: commands print what they would run, deploys are only checked, webhooks are not sent; gates as usual. */
    rehearsal?: boolean;
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
  // Stages bound to an environment that does not exist (any more), or breaking its protection, are refused here, with the others' problems.
  const [envRows, approvers] = await Promise.all([loadProtection(db), approverFacts(db)]);
  const { spec, ok, issues } = validatePipeline(v.spec, { environments: envRows.map((e) => e.name), protection: envRows, approvers });
  if (!spec || !ok) {
    const errors = issues.filter((i) => i.severity === 'error');
    const broken = errors.filter((i) => PROTECTION_CODES.has(i.code));
    if (broken.length > 0) {
      // A start that would break an environment's protection is a refused security-relevant action: audited.
      await db.insert(auditLog).values({
        actorId: actor.id,
        actorName: actor.username,
        action: 'run.start',
        outcome: 'refused',
        pipelineId: head.id,
        reason: broken.map((i) => i.message).join('; ').slice(0, 2000),
        details: { issues: broken.map((i) => ({ code: i.code, nodeId: i.nodeId })) },
      });
    }
    throw invalidPipeline(`This pipeline has ${errors.length} problem(s) to fix before it can run.`, errors);
  }
  const given = input.params ?? {};
  const declared = new Set(spec.parameters.map((p) => p.name));
  const params = resolveParams(spec, input.lenientParams ? Object.fromEntries(Object.entries(given).filter(([k]) => declared.has(k))) : given);
  const plan: ExecutionPlan = executionPlanSchema.parse(compileValidSpec(spec, { gatedEnvironments: envRows.filter((e) => e.requireGate).map((e) => e.name) }));
  const reuse = await loadReuse(db, head.id, plan, input.reuse, input.omit ?? []);
  return launchRun(db, getClient, actor, {
    pipelineId: head.id,
    version: versionNumber,
    concurrency: spec.settings.concurrency,
    plan,
    params,
    trigger: input.trigger,
    triggerDetails: input.triggerDetails,
    auditDetails: input.auditDetails,
    reuse,
    omit: input.omit,
    omitReason: input.omitReason,
    beyondRole: input.beyondRole ?? 'omit',
    rehearsal: input.rehearsal,
    auditAction: input.rehearsal ? 'run.rehearse' : undefined,
  });
}

/**
 * What a start does with stages bound to environments the starter's role does
 * not allow: `omit` leaves them (and what follows them) out of the run, so an
 * author builds and tests and someone allowed promotes that build; `refuse`
 * refuses the whole start (403) — for starts aimed at one environment
 * (promotion, Kubernetes roll back). A start that would leave nothing to run
 * is refused either way.
 */
export type BeyondRole = 'omit' | 'refuse';

/** " — not run: deploying to production needs …" after a trigger's "started run #N", when the start left environments out. */
export const leftOutNote = (run: { leftOut: LeftOutEnvironments | null }) => (run.leftOut ? ` — ${run.leftOut.reason}` : '');

/** Environments a start left out (runs.start answers with it; null when none). */
export type LeftOutEnvironments = {
  environments: { name: string; displayName: string; allowedRoles: string[] }[];
  stages: string[];
  reason: string;
};

/**
 * Stores a run of an already compiled plan (run row and stage rows in one
 * transaction) and starts its workflow; removes the rows again when the
 * workflow cannot start. Used by `startRun` and by runs with a synthetic plan
 * (e.g. a Kubernetes rollback, server/services/k8s-rollback.ts).
 */
export async function launchRun(
  db: Db,
  getClient: () => Promise<Client>,
  actor: StartActor,
  input: {
    pipelineId: string;
    version: number;
    /** The pipeline's `settings.concurrency`. */
    concurrency: number;
    plan: ExecutionPlan;
    params: Record<string, string | number | boolean>;
    trigger?: string;
    triggerDetails?: Record<string, unknown>;
    /** Audit action; default `run.start`. */
    auditAction?: string;
    auditDetails?: Record<string, unknown>;
    reuse?: { sourceRunId: string; stages: Map<string, ReusedStageRow> };
    omit?: string[];
    omitReason?: string;
    /** Default `refuse`; `startRun` passes `omit` unless told otherwise. */
    beyondRole?: BeyondRole;
    /** Stored on the run: its stages are rehearsed by the runner (workflows/runner/rehearsal.ts). */
    rehearsal?: boolean;
  },
) {
  const { plan, params, reuse } = input;
  const head = { id: input.pipelineId };
  const versionNumber = input.version;
  const spec = { settings: { concurrency: input.concurrency } };
  const reused = new Set(reuse?.stages.keys() ?? []);
  const omitted = [...new Set(input.omit ?? [])];
  const explicitReason = input.omitReason?.trim() || 'not part of this run';
  let omitReason = explicitReason;
  const summaryOf = new Map(omitted.map((id) => [id, explicitReason]));
  let leftOut: LeftOutEnvironments | null = null;
  if (input.beyondRole === 'omit' && plan.nodes.some((n) => n.environment)) {
    const found = leaveOutForRole(plan, await loadProtection(db), actor.role, { reused, omitted: new Set(omitted) });
    // Nothing left to run: leave nothing out, so the check below refuses the start with the roles it needs.
    if (found && found.remaining > 0) {
      leftOut = {
        environments: found.environments.map((e) => ({ name: e.name, displayName: e.displayName, allowedRoles: [...e.promoteRoles] })),
        stages: found.nodes,
        reason: found.reason,
      };
      for (const id of found.nodes) summaryOf.set(id, found.reason);
      // The workflow takes one reason for every omitted stage.
      omitReason = omitted.length > 0 ? `${explicitReason}; ${found.reason}` : found.reason;
      omitted.push(...found.nodes);
    }
  }
  await checkEnvironmentProtection(db, actor, { pipelineId: head.id, plan, reused, omitted: new Set(omitted), auditAction: input.auditAction ?? 'run.start' });

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

  const client = await getClient().catch(() => {
    noteTemporalDown();
    throw temporalUnreachable('The run was not started');
  });
  const id = crypto.randomUUID();
  const carried =
    reuse && reuse.stages.size > 0
      ? await db
          .select()
          .from(artifacts)
          .where(and(eq(artifacts.runId, reuse.sourceRunId), inArray(artifacts.nodeId, [...reuse.stages.keys()])))
      : [];
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
      reusedFromRunId: reuse?.sourceRunId ?? null,
      rehearsal: input.rehearsal ?? false,
    }),
    db.insert(stageRuns).values(
      plan.nodes.map((node) => {
        const r = reuse?.stages.get(node.id);
        if (r) return { runId: id, nodeId: node.id, status: 'succeeded' as const, outputs: r.outputs, summary: r.summary, reusedFrom: r.fromRunId };
        if (summaryOf.has(node.id)) return { runId: id, nodeId: node.id, status: 'skipped' as const, summary: summaryOf.get(node.id)! };
        return { runId: id, nodeId: node.id, status: 'pending' as const };
      }),
    ),
    // Reused stages carry their artifacts by reference: same digest, no copy, no rebuild.
    ...(carried.length > 0
      ? [
          db
            .insert(artifacts)
            .values(carried.map((a) => ({ runId: id, nodeId: a.nodeId, name: a.name, fileName: a.fileName, digest: a.digest, size: a.size, reusedFrom: a.reusedFrom ?? a.runId }))),
        ]
      : []),
  ]);
  const number = (await db.select({ n: runs.number }).from(runs).where(eq(runs.id, id)).get())!.n;

  const runInput: RunInput = {
    runId: id,
    pipelineId: head.id,
    plan,
    params,
    triggeredBy: actor.id,
    heartbeatTimeoutMs: getEnv().PIPEWRIGHT_HEARTBEAT_TIMEOUT_S * 1000,
    runnerWaitTimeoutMs: getEnv().PIPEWRIGHT_RUNNER_WAIT_S * 1000,
    ...(reuse ? { reused: Object.fromEntries([...reuse.stages].map(([nodeId, r]) => [nodeId, { fromRunId: r.fromRunId, outputs: r.outputs }])) } : {}),
    ...(omitted.length > 0 ? { omitted, omittedReason: omitReason } : {}),
    // The run accepts only decisions and cancellations signed by this control plane.
    decisionKey: decisionPublicKey(),
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
    await db.batch([
      db.delete(artifacts).where(eq(artifacts.runId, id)),
      db.delete(stageRuns).where(eq(stageRuns.runId, id)),
      db.delete(runs).where(eq(runs.id, id)),
    ]);
    throw await unavailableError(err, getClient, 'The run was not started', err instanceof Error ? err.message : undefined);
  }
  // Its delivery facts (a rollback run counts from its start; stages reused by a re-run or promotion never deploy),
  // derived off the path to the first stage: the run's rows marked it behind, so no metric reads it stale meanwhile.
  refreshRunFactsSoon(db, id);
  await db.insert(auditLog).values({
    actorId: actor.id,
    actorName: actor.username,
    action: input.auditAction ?? 'run.start',
    outcome: 'ok',
    pipelineId: head.id,
    runId: id,
    details: leftOut
      ? { ...input.auditDetails, leftOut: { environments: leftOut.environments.map((e) => e.name), stages: leftOut.stages, role: actor.role, ...(actor.roleOf ? { roleOf: actor.roleOf } : {}) } }
      : (input.auditDetails ?? null),
  });
  liveChanged();
  return { id, number, planHash: plan.hash, leftOut };
}

const PROTECTION_CODES: ReadonlySet<string> = new Set<ProtectionIssueCode>(['environment-needs-gate', 'gate-auto-approves', 'k8s-needs-environment', 'cluster-not-bound']);

/** Every environment's protection facts and allowed roles. */
async function loadProtection(db: Db): Promise<(EnvironmentProtection & { displayName: string; promoteRoles: Role[] })[]> {
  return db
    .select({
      name: environments.name,
      displayName: environments.displayName,
      requireGate: environments.requireGate,
      clusterConnection: environments.clusterConnection,
      namespace: environments.namespace,
      promoteRoles: environments.promoteRoles,
    })
    .from(environments);
}

/**
 * The environments' protection, checked on the plan about to run, on the one
 * path every start takes (manual, re-run, promotion, triggers, rollback):
 * - `actor.role` must be allowed by every environment a stage of this run
 *   would run in (reused and left-out stages run nothing) — the same roles
 *   that may promote into it; refused with 403 (a start by a person or a
 *   trigger has already left such stages out, see `BeyondRole`, so this
 *   refuses it only when nothing would be left to run);
 * - the plan must follow the rules of `protectionIssues` with what this run
 *   reuses (a gate taken over from an earlier run approves nothing now);
 *   refused with the list (400), painted on the nodes like validation issues.
 * Every refusal is audited; nothing else is written.
 */
async function checkEnvironmentProtection(
  db: Db,
  actor: StartActor,
  input: { pipelineId: string; plan: ExecutionPlan; reused: ReadonlySet<string>; omitted: ReadonlySet<string>; auditAction: string },
): Promise<void> {
  const { plan, reused, omitted } = input;
  if (!plan.nodes.some((n) => n.environment || isKubernetesKind(n.kind))) return;
  const envRows = await loadProtection(db);
  const refuse = async (reason: string, details: Record<string, unknown>) =>
    db.insert(auditLog).values({ actorId: actor.id, actorName: actor.username, action: input.auditAction, outcome: 'refused', pipelineId: input.pipelineId, reason, details });

  const touched = new Set(plan.nodes.filter((n) => n.environment && !reused.has(n.id) && !omitted.has(n.id)).map((n) => n.environment!));
  const forbidden = envRows.filter((e) => touched.has(e.name) && !e.promoteRoles.includes(actor.role));
  if (forbidden.length > 0) {
    const message = `${actor.roleOf ? `The role of ${actor.roleOf}` : 'Your role'} (${actor.role}) may not run stages in ${forbidden
      .map((e) => `${e.displayName} (allowed: ${e.promoteRoles.length ? e.promoteRoles.join(', ') : 'nobody'})`)
      .join(', ')}.`;
    await refuse(message, { environments: forbidden.map((e) => e.name) });
    throw new TRPCError({ code: 'FORBIDDEN', message });
  }

  const edges = plan.nodes.flatMap((n) => n.needs.map((d) => ({ from: d.from, to: n.id, on: d.on })));
  const problems = protectionIssues({ nodes: plan.nodes, edges }, envRows, { reused, omitted });
  if (problems.length > 0) {
    const message = `This run would break the protection of its environments (${problems.length} problem(s)): ${problems.map((p) => p.message).join('; ')}.`;
    await refuse(message, { issues: problems.map((p) => ({ code: p.code, nodeId: p.nodeId })) });
    throw invalidPipeline(message, problems.map((p) => ({ ...p, severity: 'error' as const })));
  }
}

type ReusedStageRow = { fromRunId: string; outputs: Record<string, string>; summary: string | null };

/**
 * Checks a `reuse`/`omit` request against the plan about to run and loads what
 * the reused stages produced. Refuses (400, with the list) unknown stage ids, a
 * source run of another pipeline, and stages that did not succeed there.
 */
async function loadReuse(
  db: Db,
  pipelineId: string,
  plan: ExecutionPlan,
  reuse: { fromRunId: string; nodes: string[] } | undefined,
  omit: string[],
): Promise<{ sourceRunId: string; stages: Map<string, ReusedStageRow> } | undefined> {
  const known = new Set(plan.nodes.map((n) => n.id));
  const unknown = [...new Set([...(reuse?.nodes ?? []), ...omit])].filter((id) => !known.has(id));
  if (unknown.length > 0) {
    throw new TRPCError({ code: 'BAD_REQUEST', message: `Cannot start the run: no stage ${unknown.map((u) => `"${u}"`).join(', ')} in this version of the pipeline.` });
  }
  const both = (reuse?.nodes ?? []).filter((id) => omit.includes(id));
  if (both.length > 0) {
    throw new TRPCError({ code: 'BAD_REQUEST', message: `Cannot start the run: ${both.map((u) => `"${u}"`).join(', ')} cannot be both reused and left out.` });
  }
  if (!reuse) return undefined;
  const source = await db.select({ id: runs.id, pipelineId: runs.pipelineId, number: runs.number }).from(runs).where(eq(runs.id, reuse.fromRunId)).get();
  if (!source) throw new TRPCError({ code: 'BAD_REQUEST', message: 'Cannot start the run: the run to reuse stages from does not exist.' });
  if (source.pipelineId !== pipelineId) {
    throw new TRPCError({ code: 'BAD_REQUEST', message: `Cannot start the run: run #${source.number} belongs to another pipeline; stages can only be reused from runs of the same pipeline.` });
  }
  const nodes = [...new Set(reuse.nodes)];
  const rows = nodes.length
    ? await db.select().from(stageRuns).where(and(eq(stageRuns.runId, source.id), inArray(stageRuns.nodeId, nodes)))
    : [];
  const byNode = new Map(rows.map((r) => [r.nodeId, r]));
  const notSucceeded = nodes.filter((id) => byNode.get(id)?.status !== 'succeeded');
  if (notSucceeded.length > 0) {
    const list = notSucceeded.map((id) => `"${id}" (${byNode.get(id)?.status ?? 'not in that run'})`).join(', ');
    throw new TRPCError({ code: 'BAD_REQUEST', message: `Cannot reuse stages that did not succeed in run #${source.number}: ${list}.` });
  }
  const stages = new Map<string, ReusedStageRow>();
  for (const id of nodes) {
    const row = byNode.get(id)!;
    // A stage that was itself reused points at the run where it really ran.
    stages.set(id, { fromRunId: row.reusedFrom ?? source.id, outputs: (row.outputs ?? {}) as Record<string, string>, summary: row.summary });
  }
  return { sourceRunId: source.id, stages };
}

/**
 * "Re-run from the failed stage": a new run of the same plan version and
 * parameters that reuses every stage that succeeded in a failed or cancelled
 * run and runs the others (gates and rollbacks: see `planRerunFromFailed`).
 */
export async function rerunFromFailed(db: Db, getClient: () => Promise<Client>, actor: StartActor, input: { runId: string }) {
  const run = await db.select().from(runs).where(eq(runs.id, input.runId)).get();
  if (!run) throw notFound('Run');
  if (run.status !== 'failed' && run.status !== 'cancelled') {
    throw new TRPCError({
      code: 'BAD_REQUEST',
      message: `Only a failed or cancelled run can be re-run from the failed stage; run #${run.number} is ${run.status}.`,
    });
  }
  const plan = parsedPlan(run.id, run.planHash, run.plan);
  const rows = await db.select({ nodeId: stageRuns.nodeId, status: stageRuns.status }).from(stageRuns).where(eq(stageRuns.runId, run.id));
  const statusOf = new Map(rows.map((r) => [r.nodeId, r.status]));
  const what = planRerunFromFailed(
    plan.nodes.map((n) => ({ id: n.id, needs: n.needs, isGate: n.runtime === 'gate', kind: n.kind })),
    (id) => statusOf.get(id),
  );
  if (what.rerun.length === 0) {
    throw new TRPCError({ code: 'BAD_REQUEST', message: `Every stage of run #${run.number} succeeded; there is nothing to run again.` });
  }
  return startRun(db, getClient, actor, {
    pipelineId: run.pipelineId,
    version: run.pipelineVersion,
    params: run.params as Record<string, string | number | boolean>,
    trigger: 'rerun',
    reuse: { fromRunId: run.id, nodes: what.reuse },
    auditDetails: {
      rerunFromFailedOf: run.id,
      rerunOfNumber: run.number,
      reused: what.reuse,
      reaskedGates: what.reaskedGates,
      ...(what.undone.length > 0 ? { undoneByRollback: what.undone } : {}),
    },
  });
}

/**
 * "Run again": a new run of the same pipeline with the same parameters, on the
 * version the run used (or the newest one with `latest`; parameters the newest
 * version no longer declares are left out, new ones take their defaults).
 */
export async function rerun(db: Db, getClient: () => Promise<Client>, actor: StartActor, input: { runId: string; latest?: boolean }) {
  const run = await db
    .select({ id: runs.id, number: runs.number, pipelineId: runs.pipelineId, pipelineVersion: runs.pipelineVersion, params: runs.params, rehearsal: runs.rehearsal })
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
    // Running a rehearsal again rehearses again.
    rehearsal: run.rehearsal,
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
      rehearsal: runs.rehearsal,
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
  const statuses = await runStatuses(db, rows);
  return rows.map((r) => ({ ...r, triggerDetails: parseTriggerDetails(r.triggerDetails), display: statuses.get(r.id) ?? describeRunStatus(r.status) }));
}

/**
 * How each run's status reads (workflows/model/run-status.ts): for runs still going, what they wait for — a gate's
 * approvers or a runner with some labels — from their plans and stage rows, in two queries for the whole list.
 */
export async function runStatuses(db: Db, list: readonly { id: string; status: string }[]): Promise<Map<string, RunStatusDescription>> {
  const out = new Map<string, RunStatusDescription>();
  const live = list.filter((r) => r.status === 'running' || r.status === 'queued').map((r) => r.id);
  for (const r of list) out.set(r.id, describeRunStatus(r.status));
  if (live.length === 0) return out;
  const [planRows, stageRows] = await Promise.all([
    db.select({ id: runs.id, status: runs.status, plan: runs.plan, planHash: runs.planHash, createdAt: runs.createdAt }).from(runs).where(inArray(runs.id, live)),
    db
      .select({
        runId: stageRuns.runId,
        nodeId: stageRuns.nodeId,
        status: stageRuns.status,
        runnerId: stageRuns.runnerId,
        attempt: stageRuns.attempt,
        endedAt: stageRuns.endedAt,
      })
      .from(stageRuns)
      .where(and(inArray(stageRuns.runId, live), inArray(stageRuns.status, ['running', 'waiting', 'succeeded', 'failed', 'cancelled']))),
  ]);
  const now = Date.now();
  for (const r of planRows) {
    const plan = parsedPlan(r.id, r.planHash, r.plan);
    // A gate whose next stage has begun was decided, even before the workflow's record of it lands.
    const stages = settleDecidedGates(plan, stageRows.filter((s) => s.runId === r.id));
    out.set(r.id, describeRunStatus(r.status, runWaits(plan, stages, { now, runCreatedAt: r.createdAt })));
  }
  return out;
}

export { parsedPlan } from './run-plans';

export async function getRun(db: Db, runId: string) {
  const run = await db.select().from(runs).where(eq(runs.id, runId)).get();
  if (!run) throw notFound('Run');
  const plan = parsedPlan(run.id, run.planHash, run.plan);
  const [stages, gateRows, pipeline, starter, runArtifacts, runnerRows, gatedEnvironments] = await Promise.all([
    db.select().from(stageRuns).where(eq(stageRuns.runId, runId)),
    db.select().from(gates).where(eq(gates.runId, runId)),
    db.select({ name: pipelines.name }).from(pipelines).where(eq(pipelines.id, run.pipelineId)).get(),
    db.select({ name: user.name }).from(user).where(eq(user.id, run.triggeredBy)).get(),
    listRunArtifacts(db, runId),
    db
      .select({ id: runners.id, name: runners.name })
      .from(runners)
      .where(inArray(runners.id, db.select({ id: stageRuns.runnerId }).from(stageRuns).where(eq(stageRuns.runId, runId)))),
    // Gates bound to these never let the starter (or promotion requester) approve: shown on the gate.
    plan.nodes.some((n) => n.gate && n.environment)
      ? db.select({ name: environments.name }).from(environments).where(eq(environments.requireGate, true))
      : Promise.resolve([]),
  ]);
  const byNode = new Map(stages.map((s) => [s.nodeId, s]));
  const runnerNames = new Map(runnerRows.map((r) => [r.id, r.name]));
  const gateByNode = new Map(gateRows.map((g) => [g.nodeId, g]));
  // Numbers of the runs stages were reused from, for "reused from run #N" links.
  const sourceIds = [...new Set([run.reusedFromRunId, ...stages.map((s) => s.reusedFrom)].filter((x): x is string => !!x))];
  const sourceNumbers = new Map(
    sourceIds.length > 0
      ? (await db.select({ id: runs.id, number: runs.number }).from(runs).where(inArray(runs.id, sourceIds))).map((r) => [r.id, r.number])
      : [],
  );
  const runRef = (id: string | null | undefined) => (id ? { id, number: sourceNumbers.get(id) ?? null } : null);
  const stageOutputs = Object.fromEntries(stages.map((s) => [s.nodeId, (s.outputs ?? {}) as Record<string, string>]));
  const runFinished = run.status !== 'queued' && run.status !== 'running';
  const waits = runFinished ? [] : runWaits(plan, stages, { now: Date.now(), runCreatedAt: run.createdAt });
  const waitingForARunner = new Set(waits.filter((w) => w.kind === 'runner').map((w) => w.stageId));
  return {
    id: run.id,
    pipelineId: run.pipelineId,
    pipelineName: pipeline?.name ?? '',
    pipelineVersion: run.pipelineVersion,
    number: run.number,
    status: run.status,
    /** The status in words, with who or what the run waits for (one function for every page). */
    display: describeRunStatus(run.status, waits),
    /** Commands printed instead of run, deploys only checked, webhooks not sent. */
    rehearsal: run.rehearsal,
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
    /** The run this one reused stages from (re-run from the failed stage, promotion). */
    reusedFromRun: runRef(run.reusedFromRunId),
    /** Files the stages stored (reused stages' ones included, by reference). */
    artifacts: runArtifacts,
    stages: plan.nodes.map((node) => {
      const s = byNode.get(node.id);
      const g = gateByNode.get(node.id);
      // An executing stage that is ready and that no runner has begun yet is waiting for one (runWaits).
      const waitingForRunner = waitingForARunner.has(node.id);
      return {
        id: node.id,
        name: node.name,
        kind: node.kind,
        /** Labels a runner needs to run this stage (empty: the default pool). */
        runsOn: node.runsOn ?? [],
        /** The runner that began the current attempt (id and name), if any. */
        runner: s?.runnerId ? { id: s.runnerId, name: runnerNames.get(s.runnerId) ?? '(deleted runner)' } : null,
        /** "waiting for a runner with labels …" while no runner has picked the stage up. */
        waitingFor: waitingForRunner ? `waiting for a runner with labels ${describeLabels(node.runsOn)}` : null,
        /** Environment the stage is bound to (its variables and secrets were used; values never shown). */
        environment: node.environment ?? null,
        needs: node.needs,
        status: waitingForRunner ? ('queued' as const) : (s?.status ?? 'pending'),
        attempt: s?.attempt ?? 0,
        maxAttempts: node.retry.maxAttempts,
        startedAt: s?.startedAt ?? null,
        endedAt: s?.endedAt ?? null,
        summary: s?.summary ?? null,
        error: s?.error ?? null,
        outputs: (s?.outputs ?? {}) as Record<string, string>,
        executions: s?.executions ?? 0,
        /** The last heartbeat details of the stage (a rollout's ready counts, step, weights), if it reports any. */
        progress: (s?.progress ?? null) as Record<string, unknown> | null,
        /** Run where this stage really ran, when this run reused its result instead of executing it. */
        reusedFrom: runRef(s?.reusedFrom),
        /** A finished k8s-deploy stage of a finished run: what "Roll back" would do, or why it cannot. */
        rollback:
          node.kind === 'k8s-deploy' && runFinished
            ? describeRollback(
                { kind: node.kind, config: node.config, status: s?.status ?? 'pending', outputs: stageOutputs[node.id] ?? {} },
                { params: run.params as Record<string, string | number | boolean>, outputs: stageOutputs },
              )
            : null,
        gate: node.gate
          ? {
              rules: node.gate,
              /** The environment this gate guards when that environment requires someone else's approval. */
              protectedEnvironment: node.environment && gatedEnvironments.some((e) => e.name === node.environment) ? node.environment : null,
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
    noteTemporalDown();
    throw temporalUnreachable('The run was not cancelled');
  });
  const handle = client.workflow.getHandle(run.workflowId);
  try {
    await client.withDeadline(Date.now() + getEnv().PIPEWRIGHT_UPDATE_DEADLINE_MS, () =>
      handle.executeUpdate(cancelRunUpdate, {
        args: [signCancel(run.id, { userId: actor.id, userName: actor.username, reason: input.reason })],
        updateId: `cancel:${actor.id}`,
      }),
    );
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) {
      throw new TRPCError({ code: 'CONFLICT', message: `Cannot cancel: ${err.cause?.message ?? err.message}` });
    }
    throw await unavailableError(err, getClient, 'The run was not cancelled', 'no worker answered in time');
  }
  // The run recorded who cancelled it (the signed Update above); Temporal's own cancel request is what makes
  // Temporal show the workflow as Cancelled rather than Completed or Failed. A run that already ended refuses it.
  await client
    .withDeadline(Date.now() + getEnv().PIPEWRIGHT_UPDATE_DEADLINE_MS, () => handle.cancel())
    .catch(() => undefined);
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
