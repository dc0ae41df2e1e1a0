/**
 * "Roll back" on a finished `k8s-deploy` stage: a new run of the same pipeline
 * whose plan is a single `k8s-rollback` stage aimed at what that stage
 * deployed. It is stored, audited, shown and executed (by the worker, which
 * holds the cluster credentials) like any other run, in the deploy stage's
 * environment: behind an approval gate when that environment requires one.
 */
import type { Client } from '@temporalio/client';
import { TRPCError } from '@trpc/server';
import { and, eq } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { environments, pipelines, pipelineVersions, runs, stageRuns } from '../../db/schema';
import { compileValidSpec, executionPlanSchema, validatePipeline, type PipelineSpecInput } from '../../workflows/model';
import type { SessionUser } from '../auth/session';
import { notFound } from '../errors';
import { ROLLBACK_GATE_ID, ROLLBACK_NODE_ID, rollbackTarget } from './k8s-rollback-target';
import { launchRun, parsedPlan } from './runs';

type Actor = Pick<SessionUser, 'id' | 'username' | 'role'>;

/** Starts the rollback run of stage `stageId` of run `runId`. */
export async function startRollbackRun(db: Db, getClient: () => Promise<Client>, actor: Actor, input: { runId: string; stageId: string }) {
  const run = await db.select().from(runs).where(eq(runs.id, input.runId)).get();
  if (!run) throw notFound('Run');
  if (run.status === 'queued' || run.status === 'running') {
    throw new TRPCError({ code: 'CONFLICT', message: `Run #${run.number} has not finished yet; roll back once it has ended (or cancel it first).` });
  }
  const plan = parsedPlan(run.id, run.planHash, run.plan);
  const node = plan.nodes.find((n) => n.id === input.stageId);
  if (!node) throw new TRPCError({ code: 'BAD_REQUEST', message: `Run #${run.number} has no stage "${input.stageId}".` });
  const rows = await db.select().from(stageRuns).where(eq(stageRuns.runId, run.id));
  const outputs = Object.fromEntries(rows.map((r) => [r.nodeId, (r.outputs ?? {}) as Record<string, string>]));
  const row = rows.find((r) => r.nodeId === node.id);
  const target = rollbackTarget(
    { kind: node.kind, config: node.config, status: row?.status ?? 'pending', outputs: outputs[node.id] ?? {} },
    { params: run.params as Record<string, string | number | boolean>, outputs },
  );

  const head = await db.select().from(pipelines).where(eq(pipelines.id, run.pipelineId)).get();
  if (!head || head.deletedAt) throw notFound('Pipeline');
  const version = await db
    .select({ spec: pipelineVersions.spec })
    .from(pipelineVersions)
    .where(and(eq(pipelineVersions.pipelineId, head.id), eq(pipelineVersions.version, run.pipelineVersion)))
    .get();
  const concurrency = validatePipeline(version?.spec).spec?.settings.concurrency ?? 1;

  // The rollback works in the deploy stage's environment (its cluster binding and allowed roles apply).
  // In one that requires an approval gate it waits for one, with the approvers of that environment's
  // gate in the run it rolls back: nothing reaches a protected environment without an approval.
  const environment = node.environment;
  const env = environment ? await db.select().from(environments).where(eq(environments.name, environment)).get() : undefined;
  const sourceGate = env?.requireGate ? plan.nodes.find((n) => n.environment === environment && n.gate)?.gate : undefined;
  if (env?.requireGate && !sourceGate) {
    throw new TRPCError({ code: 'PRECONDITION_FAILED', message: `Cannot roll back this stage: ${env.displayName} requires an approval gate, and run #${run.number} has none bound to it to take the approvers from.` });
  }
  const gateNode = sourceGate
    ? {
        id: ROLLBACK_GATE_ID,
        kind: 'approval',
        name: `Approve rolling back ${target.deployment}`.slice(0, 100),
        environment,
        config: {
          users: sourceGate.users,
          groups: sourceGate.groups,
          quorum: sourceGate.quorum,
          allowTriggerer: false,
          instructions: `Roll back ${target.deployment} in ${target.namespace} to what was live before run #${run.number}.`,
          timeoutSeconds: Math.round(sourceGate.timeoutMs / 1000),
          onTimeout: 'reject',
        },
      }
    : undefined;
  // A valid spec, compiled by the same compiler as every pipeline.
  const specInput: PipelineSpecInput = {
    schemaVersion: 1,
    name: `${head.name}: roll back ${target.deployment}`.slice(0, 100),
    nodes: [
      ...(gateNode ? [gateNode] : []),
      {
        id: ROLLBACK_NODE_ID,
        kind: 'k8s-rollback',
        name: `Roll back ${target.deployment}`.slice(0, 100),
        ...(environment ? { environment } : {}),
        config: {
          connection: target.connection,
          namespace: target.namespace,
          deployment: target.deployment,
          progressDeadlineSeconds: target.progressDeadlineSeconds,
        },
      },
    ],
    edges: gateNode ? [{ id: `${ROLLBACK_GATE_ID}->${ROLLBACK_NODE_ID}`, from: ROLLBACK_GATE_ID, to: ROLLBACK_NODE_ID, on: 'success' }] : [],
  };
  const checked = validatePipeline(specInput);
  if (!checked.spec || !checked.ok) {
    const why = checked.issues.filter((i) => i.severity === 'error').map((i) => i.message);
    throw new TRPCError({ code: 'BAD_REQUEST', message: `Cannot roll back this stage: ${why.join('; ')}.` });
  }
  const rollbackPlan = executionPlanSchema.parse(compileValidSpec(checked.spec, { gatedEnvironments: env?.requireGate ? [env.name] : [] }));
  const details = { type: 'rollback' as const, sourceRunId: run.id, sourceRunNumber: run.number, sourceStageId: node.id, ...target };
  return launchRun(db, getClient, actor, {
    pipelineId: head.id,
    version: run.pipelineVersion,
    concurrency,
    plan: rollbackPlan,
    params: {},
    trigger: 'rollback',
    triggerDetails: details,
    auditAction: 'run.rollback',
    auditDetails: { rollbackOf: details },
  });
}
