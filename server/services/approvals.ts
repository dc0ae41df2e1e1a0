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
import { and, asc, eq, inArray } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { auditLog, environments, gates, pipelines, runs, stageRuns, user } from '../../db/schema';
import type { ExecutionPlan, GateRules } from '../../workflows/model';
import { decideUpdate, type DecideResult, type Vote } from '../../workflows/run-state';
import type { SessionUser } from '../auth/session';
import { getEnv } from '../env';
import { notFound, temporalUnreachable } from '../errors';
import { isConnectionError, noteTemporalDown, unavailableError } from '../temporal/health';
// eslint-disable-next-line import-x/no-restricted-paths -- known: the role→capability table lives in the API layer; it belongs in server/auth (left for later)
import { hasCapability } from '../api/trpc';
import { boostRun } from '../live/app-live';
import { signDecision } from '../security/decision-keys';
import { parsedPlan, workerIsPolling } from './runs';

/** Whether `user` is named by the gate's rules (directly or through a group). */
export function isGateApprover(rules: Pick<GateRules, 'users' | 'groups'>, user: Pick<SessionUser, 'id' | 'username' | 'email' | 'groups'>) {
  return (
    rules.users.includes(user.id) ||
    rules.users.includes(user.username) ||
    rules.users.includes(user.email) ||
    user.groups.some((g) => rules.groups.includes(g))
  );
}

/** Names of the environments whose protection requires an approval gate. */
async function gatedEnvironmentNames(db: Db): Promise<Set<string>> {
  const rows = await db.select({ name: environments.name }).from(environments).where(eq(environments.requireGate, true));
  return new Set(rows.map((r) => r.name));
}

/**
 * Whether the person who started the run may approve this gate: never for a
 * gate bound to a gate-protected environment (four eyes, whatever the gate's
 * `allowTriggerer` says — runs started before that rule included), else as
 * the gate says.
 */
export function starterMayApprove(rules: Pick<GateRules, 'allowTriggerer'>, protectedEnvironment: string | null | undefined): boolean {
  return rules.allowTriggerer && !protectedEnvironment;
}

/** A stage before the gate (its ancestors in the plan), as the approver sees it. */
export type UpstreamStage = {
  id: string;
  name: string;
  kind: string;
  status: string;
  startedAt: Date | null;
  endedAt: Date | null;
  summary: string | null;
  outputs: Record<string, string>;
};

/** Every waiting gate with what an approver needs to decide it (shared by all viewers; see `pendingFor`). */
export async function fetchWaitingGates(db: Db) {
  const rows = await db
    .select({
      runId: gates.runId,
      nodeId: gates.nodeId,
      votes: gates.votes,
      waitingSince: gates.waitingSince,
      deadlineAt: gates.deadlineAt,
      plan: runs.plan,
      planHash: runs.planHash,
      params: runs.params,
      runNumber: runs.number,
      pipelineVersion: runs.pipelineVersion,
      triggeredBy: runs.triggeredBy,
      triggeredByName: user.name,
      trigger: runs.trigger,
      pipelineId: runs.pipelineId,
      pipelineName: pipelines.name,
    })
    .from(gates)
    .innerJoin(runs, eq(runs.id, gates.runId))
    .innerJoin(pipelines, eq(pipelines.id, runs.pipelineId))
    .leftJoin(user, eq(user.id, runs.triggeredBy))
    .where(and(eq(gates.status, 'waiting'), eq(runs.status, 'running')))
    .orderBy(asc(gates.waitingSince), asc(gates.runId), asc(gates.nodeId));
  const runIds = [...new Set(rows.map((r) => r.runId))];
  const stageRows = runIds.length
    ? await db
        .select({
          runId: stageRuns.runId,
          nodeId: stageRuns.nodeId,
          status: stageRuns.status,
          startedAt: stageRuns.startedAt,
          endedAt: stageRuns.endedAt,
          summary: stageRuns.summary,
          outputs: stageRuns.outputs,
        })
        .from(stageRuns)
        .where(inArray(stageRuns.runId, runIds))
    : [];
  const stageOf = new Map(stageRows.map((s) => [`${s.runId}\n${s.nodeId}`, s]));
  const gated = rows.length ? await gatedEnvironmentNames(db) : new Set<string>();
  const out = [];
  for (const r of rows) {
    let plan: ExecutionPlan;
    try {
      plan = parsedPlan(r.runId, r.planHash, r.plan);
    } catch {
      continue;
    }
    const byId = new Map(plan.nodes.map((n) => [n.id, n]));
    const node = byId.get(r.nodeId);
    if (!node?.gate) continue;
    // Everything the gate depends on, directly or not, in plan order.
    const ancestors = new Set<string>();
    const stack = node.needs.map((n) => n.from);
    while (stack.length) {
      const id = stack.pop()!;
      if (ancestors.has(id)) continue;
      ancestors.add(id);
      for (const n of byId.get(id)?.needs ?? []) stack.push(n.from);
    }
    const upstream: UpstreamStage[] = plan.nodes
      .filter((n) => ancestors.has(n.id))
      .map((n) => {
        const s = stageOf.get(`${r.runId}\n${n.id}`);
        return {
          id: n.id,
          name: n.name,
          kind: n.kind,
          status: s?.status ?? 'pending',
          startedAt: s?.startedAt ?? null,
          endedAt: s?.endedAt ?? null,
          summary: s?.summary ?? null,
          outputs: (s?.outputs ?? {}) as Record<string, string>,
        };
      });
    out.push({
      runId: r.runId,
      gateId: r.nodeId,
      gateName: node.name,
      pipelineId: r.pipelineId,
      pipelineName: r.pipelineName,
      pipelineVersion: r.pipelineVersion,
      runNumber: r.runNumber,
      trigger: r.trigger,
      triggeredBy: r.triggeredBy,
      triggeredByName: r.triggeredByName,
      params: r.params as Record<string, string | number | boolean>,
      rules: node.gate,
      /** Bound to an environment that requires an approval gate: the run's starter may never approve it. */
      protectedEnvironment: node.environment && gated.has(node.environment) ? node.environment : null,
      votes: r.votes as Vote[],
      waitingSince: r.waitingSince,
      deadlineAt: r.deadlineAt,
      upstream,
    });
  }
  return out;
}

export type WaitingGate = Awaited<ReturnType<typeof fetchWaitingGates>>[number];

/** The waiting gates `user` is named by (all of them with `all`), each with whether they may decide it now. */
export function pendingFor(waiting: WaitingGate[], user: SessionUser, opts: { all?: boolean } = {}) {
  const out = [];
  for (const g of waiting) {
    const named = isGateApprover(g.rules, user);
    if (!named && !opts.all) continue;
    const canDecide =
      named && hasCapability(user, 'decide') && !g.votes.some((v) => v.userId === user.id) && (starterMayApprove(g.rules, g.protectedEnvironment) || g.triggeredBy !== user.id);
    const { triggeredBy, ...rest } = g;
    out.push({ ...rest, startedByMe: triggeredBy === user.id, canDecide });
  }
  return out;
}

export async function listPendingGates(db: Db, user: SessionUser, opts: { all?: boolean } = {}) {
  return pendingFor(await fetchWaitingGates(db), user, opts);
}

/** One gate's state (for a card whose gate stopped waiting while the page was open). */
export async function getGate(db: Db, input: { runId: string; gateId: string }) {
  const row = await db
    .select({ status: gates.status, votes: gates.votes, decidedAt: gates.decidedAt, decidedBy: gates.decidedBy, runStatus: runs.status })
    .from(gates)
    .innerJoin(runs, eq(runs.id, gates.runId))
    .where(and(eq(gates.runId, input.runId), eq(gates.nodeId, input.gateId)))
    .get();
  if (!row) throw notFound('Gate');
  const votes = row.votes as Vote[];
  const names = await displayNames(db, votes.map((v) => v.userId));
  return {
    status: row.status,
    runStatus: row.runStatus,
    decidedAt: row.decidedAt,
    decidedBy: row.decidedBy,
    /** Display name of whoever decided (`timeout` when the deadline did). */
    decidedByName: row.decidedBy === 'timeout' ? 'the timeout' : (votes.find((v) => v.userName === row.decidedBy) && names.get(votes.find((v) => v.userName === row.decidedBy)!.userId)) || row.decidedBy,
    votes,
  };
}

async function displayNames(db: Db, ids: string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const rows = await db.select({ id: user.id, name: user.name }).from(user).where(inArray(user.id, ids));
  return new Map(rows.map((r) => [r.id, r.name]));
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

/** "Alan Turing (alan)" for a username, or the username when the name says nothing more. */
async function personLabel(db: Db, username: string): Promise<string> {
  if (username === 'timeout') return 'the timeout';
  const row = await db.select({ name: user.name }).from(user).where(eq(user.username, username)).get();
  return row?.name && row.name !== username ? `${row.name} (${username})` : username;
}

export async function decideGate(db: Db, getClient: () => Promise<Client>, user: SessionUser, input: DecisionInput): Promise<DecideResult> {
  // The role first: a viewer is refused (and audited, with the run's pipeline when there is one) whatever the run.
  if (!hasCapability(user, 'decide')) {
    const message = `Your role (${user.role}) may not decide gates.`;
    const of = await db.select({ pipelineId: runs.pipelineId }).from(runs).where(eq(runs.id, input.runId)).get();
    await audit(db, user, input, of?.pipelineId ?? null, 'refused', message);
    throw new TRPCError({ code: 'FORBIDDEN', message });
  }
  // Is a worker there? Asked while the database answers the rest (it is one more round trip to Temporal).
  const clientP = getClient();
  const pollingP = clientP.then(workerIsPolling).catch(() => false);
  clientP.catch(() => undefined);
  const run = await db.select().from(runs).where(eq(runs.id, input.runId)).get();
  if (!run) throw notFound('Run');
  const refuse = async (code: 'FORBIDDEN' | 'CONFLICT' | 'BAD_REQUEST', message: string): Promise<never> => {
    await audit(db, user, input, run.pipelineId, 'refused', message);
    throw new TRPCError({ code, message });
  };
  const plan = parsedPlan(run.id, run.planHash, run.plan);
  const node = plan.nodes.find((n) => n.id === input.gateId);
  if (!node?.gate) return refuse('BAD_REQUEST', `"${input.gateId}" is not an approval gate of this run.`);
  if (!isGateApprover(node.gate, user)) return refuse('FORBIDDEN', `${user.username} is not an approver of gate "${node.name}".`);
  // Four eyes in protected environments: checked here, before the Update is sent, so it holds for runs
  // already in flight too (their plans may still say `allowTriggerer: true`); new runs' plans say false,
  // so the workflow's validator refuses it as well.
  if (input.decision === 'approve' && run.triggeredBy === user.id && node.environment) {
    const protectedEnvironment = (await gatedEnvironmentNames(db)).has(node.environment) ? node.environment : null;
    if (!starterMayApprove(node.gate, protectedEnvironment)) {
      return refuse(
        'FORBIDDEN',
        `${user.username} started this run and may not approve gate "${node.name}": environment "${node.environment}" requires someone else's approval.`,
      );
    }
  }

  // Fast answers from the database; the workflow's validator has the final word.
  const gate = await db.select().from(gates).where(and(eq(gates.runId, run.id), eq(gates.nodeId, node.id))).get();
  if (gate && gate.status !== 'waiting') {
    const by = gate.decidedBy ? await personLabel(db, gate.decidedBy) : 'someone else';
    return refuse('CONFLICT', `Gate "${node.name}" was already ${gate.status === 'cancelled' ? 'cancelled' : `decided (${gate.status}) by ${by}`}.`);
  }
  const previous = (gate?.votes as Vote[] | undefined)?.find((v) => v.userId === user.id);
  if (previous) return refuse('CONFLICT', `You already voted (${previous.decision}) on gate "${node.name}".`);
  if (run.status !== 'running' && run.status !== 'queued') return refuse('CONFLICT', `This run already ended (${run.status}).`);

  const client = await clientP.catch(() => {
    noteTemporalDown();
    throw temporalUnreachable('Your decision was not recorded');
  });
  if (!(await pollingP)) throw await unavailableError(new Error('no worker is polling'), getClient, 'Your decision was not recorded', 'no worker is polling');
  const handle = client.workflow.getHandle(run.workflowId);
  const updateId = `${node.id}:${user.id}`;
  const deadlineMs = getEnv().PIPEWRIGHT_UPDATE_DEADLINE_MS;
  let result: DecideResult;
  try {
    result = await client.withDeadline(Date.now() + deadlineMs, () =>
      handle.executeUpdate(decideUpdate, {
        // Signed for this run: the workflow refuses decisions the control plane did not vouch for.
        args: [
          signDecision(run.id, {
            gateId: node.id,
            userId: user.id,
            userName: user.username,
            groups: user.groups,
            decision: input.decision,
            comment: (input.comment ?? '').slice(0, 2000),
          }),
        ],
        updateId,
      }),
    );
  } catch (first) {
    // A busy worker may apply the decision just after the deadline: ask once more for the outcome of the same
    // update (Temporal never applies one update id twice) before telling the person it was not recorded.
    let err: unknown = first;
    if (!(first instanceof WorkflowUpdateFailedError) && !isConnectionError(first)) {
      const late = await client
        .withDeadline(Date.now() + deadlineMs, () => handle.getUpdateHandle<DecideResult>(updateId).result())
        .then((r): { result: DecideResult } => ({ result: r }), (e: unknown) => ({ error: e }));
      if ('result' in late) {
        await audit(db, user, input, run.pipelineId, 'ok');
        boostRun(run.id);
        return late.result;
      }
      if (late.error instanceof WorkflowUpdateFailedError) err = late.error;
    }
    if (err instanceof WorkflowUpdateFailedError) {
      let reason = err.cause?.message ?? err.message;
      const decided = /already decided \((approved|rejected)\) by (.+)$/.exec(reason);
      if (decided) reason = reason.slice(0, decided.index) + `already decided (${decided[1]}) by ${await personLabel(db, decided[2]!)}`;
      const code = /not an approver|may not approve/.test(reason) ? 'FORBIDDEN' : 'CONFLICT';
      return refuse(code, reason.charAt(0).toUpperCase() + reason.slice(1) + '.');
    }
    throw await unavailableError(err, getClient, 'Your decision was not recorded', 'no worker answered in time');
  }
  await audit(db, user, input, run.pipelineId, 'ok');
  boostRun(run.id);
  return result;
}
