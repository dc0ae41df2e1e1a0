/**
 * Approvals: the gates waiting for someone, and decisions on them.
 *
 * A decision is a Workflow Update with the stable id `gateId:userId`; the
 * workflow's validator is the final word (not waiting, not allowed, already
 * voted) and a refused decision writes nothing to the run's history. Every
 * decision and every refusal is written to the audit log.
 */
import type { Client } from '@temporalio/client';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { TRPCError } from '@trpc/server';
import { and, asc, eq } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { auditLog, gates, pipelines, runs } from '../../db/schema';
import { executionPlanSchema, type GateRules } from '../../workflows/model';
import { decideUpdate, type DecideResult, type Vote } from '../../workflows/run-state';
import type { SessionUser } from '../auth/session';
import { getEnv } from '../env';
import { notFound, runnerOffline } from '../errors';
import { hasCapability } from '../api/trpc';
import { workerIsPolling } from './runs';

/** Whether `user` is named by the gate's rules (directly or through a group). */
export function isGateApprover(rules: Pick<GateRules, 'users' | 'groups'>, user: Pick<SessionUser, 'id' | 'username' | 'email' | 'groups'>) {
  return (
    rules.users.includes(user.id) ||
    rules.users.includes(user.username) ||
    rules.users.includes(user.email) ||
    user.groups.some((g) => rules.groups.includes(g))
  );
}

export async function listPendingGates(db: Db, user: SessionUser, opts: { all?: boolean } = {}) {
  const rows = await db
    .select({
      runId: gates.runId,
      nodeId: gates.nodeId,
      votes: gates.votes,
      waitingSince: gates.waitingSince,
      deadlineAt: gates.deadlineAt,
      plan: runs.plan,
      params: runs.params,
      runNumber: runs.number,
      triggeredBy: runs.triggeredBy,
      pipelineId: runs.pipelineId,
      pipelineName: pipelines.name,
    })
    .from(gates)
    .innerJoin(runs, eq(runs.id, gates.runId))
    .innerJoin(pipelines, eq(pipelines.id, runs.pipelineId))
    .where(and(eq(gates.status, 'waiting'), eq(runs.status, 'running')))
    .orderBy(asc(gates.waitingSince));
  const out = [];
  for (const r of rows) {
    const plan = executionPlanSchema.safeParse(r.plan);
    if (!plan.success) continue;
    const node = plan.data.nodes.find((n) => n.id === r.nodeId);
    if (!node?.gate) continue;
    const votes = r.votes as Vote[];
    const named = isGateApprover(node.gate, user);
    const canDecide =
      named &&
      hasCapability(user, 'decide') &&
      !votes.some((v) => v.userId === user.id) &&
      (node.gate.allowTriggerer || r.triggeredBy !== user.id);
    if (!named && !opts.all) continue;
    out.push({
      runId: r.runId,
      gateId: r.nodeId,
      gateName: node.name,
      pipelineId: r.pipelineId,
      pipelineName: r.pipelineName,
      runNumber: r.runNumber,
      params: r.params as Record<string, string | number | boolean>,
      rules: node.gate,
      votes,
      waitingSince: r.waitingSince,
      deadlineAt: r.deadlineAt,
      canDecide,
    });
  }
  return out;
}

export type DecisionInput = { runId: string; gateId: string; decision: 'approve' | 'reject'; comment?: string };

async function audit(db: Db, user: SessionUser, input: DecisionInput, pipelineId: string | null, outcome: 'ok' | 'refused', reason?: string) {
  await db.insert(auditLog).values({
    actorId: user.id,
    actorName: user.username,
    action: `gate.${input.decision}`,
    outcome,
    pipelineId,
    runId: input.runId,
    nodeId: input.gateId,
    reason: reason ?? null,
    details: input.comment ? { comment: input.comment } : null,
  });
}

export async function decideGate(db: Db, getClient: () => Promise<Client>, user: SessionUser, input: DecisionInput): Promise<DecideResult> {
  const run = await db.select().from(runs).where(eq(runs.id, input.runId)).get();
  if (!run) throw notFound('Run');
  const refuse = async (code: 'FORBIDDEN' | 'CONFLICT' | 'BAD_REQUEST', message: string): Promise<never> => {
    await audit(db, user, input, run.pipelineId, 'refused', message);
    throw new TRPCError({ code, message });
  };
  if (!hasCapability(user, 'decide')) return refuse('FORBIDDEN', `Your role (${user.role}) may not decide gates.`);
  const plan = executionPlanSchema.parse(run.plan);
  const node = plan.nodes.find((n) => n.id === input.gateId);
  if (!node?.gate) return refuse('BAD_REQUEST', `"${input.gateId}" is not an approval gate of this run.`);
  if (!isGateApprover(node.gate, user)) return refuse('FORBIDDEN', `${user.username} is not an approver of gate "${node.name}".`);

  // Fast answers from the database; the workflow's validator has the final word.
  const gate = await db.select().from(gates).where(and(eq(gates.runId, run.id), eq(gates.nodeId, node.id))).get();
  if (gate && gate.status !== 'waiting') {
    return refuse('CONFLICT', `Gate "${node.name}" was already ${gate.status === 'cancelled' ? 'cancelled' : `decided (${gate.status}) by ${gate.decidedBy ?? 'someone else'}`}.`);
  }
  const previous = (gate?.votes as Vote[] | undefined)?.find((v) => v.userId === user.id);
  if (previous) return refuse('CONFLICT', `You already voted (${previous.decision}) on gate "${node.name}".`);
  if (run.status !== 'running' && run.status !== 'queued') return refuse('CONFLICT', `This run already ended (${run.status}).`);

  const client = await getClient().catch(() => {
    throw runnerOffline();
  });
  if (!(await workerIsPolling(client))) throw runnerOffline('no worker is polling');
  const handle = client.workflow.getHandle(run.workflowId);
  let result: DecideResult;
  try {
    result = await client.withDeadline(Date.now() + getEnv().PIPEWRIGHT_UPDATE_DEADLINE_MS, () =>
      handle.executeUpdate(decideUpdate, {
        args: [
          {
            gateId: node.id,
            userId: user.id,
            userName: user.username,
            groups: user.groups,
            decision: input.decision,
            comment: (input.comment ?? '').slice(0, 2000),
          },
        ],
        updateId: `${node.id}:${user.id}`,
      }),
    );
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) {
      const reason = err.cause?.message ?? err.message;
      const code = /not an approver|may not approve/.test(reason) ? 'FORBIDDEN' : 'CONFLICT';
      return refuse(code, reason.charAt(0).toUpperCase() + reason.slice(1) + '.');
    }
    throw runnerOffline('no worker answered in time');
  }
  await audit(db, user, input, run.pipelineId, 'ok');
  return result;
}
