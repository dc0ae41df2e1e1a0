/**
 * "Roll back" on a finished `k8s-deploy` stage: a new run of the same pipeline
 * whose plan is a single `k8s-rollback` stage aimed at what that stage
 * deployed. It is stored, audited, shown and executed (by the worker, which
 * holds the cluster credentials) like any other run.
 */
import type { Client } from '@temporalio/client';
import { TRPCError } from '@trpc/server';
import { and, eq } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { pipelines, pipelineVersions, runs, stageRuns } from '../../db/schema';
import { compileValidSpec, executionPlanSchema, validatePipeline, type PipelineSpecInput } from '../../workflows/model';
import type { SessionUser } from '../auth/session';
import { notFound } from '../errors';
import { ROLLBACK_NODE_ID, rollbackTarget } from './k8s-rollback-target';
import { launchRun, parsedPlan } from './runs';

type Actor = Pick<SessionUser, 'id' | 'username'>;

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

  // A valid one-stage spec, compiled by the same compiler as every pipeline.
  const specInput: PipelineSpecInput = {
    schemaVersion: 1,
    name: `${head.name}: roll back ${target.deployment}`.slice(0, 100),
    nodes: [
      {
        id: ROLLBACK_NODE_ID,
        kind: 'k8s-rollback',
        name: `Roll back ${target.deployment}`.slice(0, 100),
        config: {
          connection: target.connection,
          namespace: target.namespace,
          deployment: target.deployment,
          progressDeadlineSeconds: target.progressDeadlineSeconds,
        },
      },
    ],
    edges: [],
  };
  const checked = validatePipeline(specInput);
  if (!checked.spec || !checked.ok) {
    const why = checked.issues.filter((i) => i.severity === 'error').map((i) => i.message);
    throw new TRPCError({ code: 'BAD_REQUEST', message: `Cannot roll back this stage: ${why.join('; ')}.` });
  }
  const rollbackPlan = executionPlanSchema.parse(compileValidSpec(checked.spec));
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
