/**
 * What a run is doing, in words, from one place: the run header, the runs
 * lists, the pipeline page, the promotion board, the embeds, the badge and the
 * diagram all show "Waiting for approval — alan, group approvers" or "Waiting
 * for a runner with labels gpu" through `describeRunStatus`, never a bare
 * "Running" for a run that waits for someone. Pure (model layer).
 */
import { needMet, retryDelayMs, type ExecutionPlan, type PlanNode } from './plan';
import { describeLabels } from './runners';

/** Something a running run waits for: people to decide a gate, or a runner to pick a stage up. */
export type RunWait =
  | { kind: 'approval'; stageId: string; stageName: string; approvers: string[] }
  | { kind: 'runner'; stageId: string; stageName: string; labels: string[] };

export type RunStatusKey = 'queued' | 'running' | 'waiting' | 'succeeded' | 'failed' | 'cancelled';

export type RunStatusDescription = {
  /** The colour and glyph to use (`waiting` for both kinds of waiting). */
  key: RunStatusKey;
  /** "Waiting for approval", "Waiting for a runner", "Running", … */
  label: string;
  /** Who or what it waits for: "alan, group approvers", "with labels gpu"; null when not waiting. */
  detail: string | null;
  /** Label and detail in one line. */
  text: string;
  waits: RunWait[];
};

const LABELS: Record<RunStatusKey, string> = {
  queued: 'Queued',
  running: 'Running',
  waiting: 'Waiting',
  succeeded: 'Succeeded',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

/** A gate waiting for a decision, with whom it waits for ("alan", "group approvers"). */
export function approvalWait(stage: { id: string; name: string }, gate: { users: readonly string[]; groups: readonly string[] }): RunWait {
  return { kind: 'approval', stageId: stage.id, stageName: stage.name, approvers: [...gate.users, ...gate.groups.map((g) => `group ${g}`)] };
}

/**
 * How long a stage whose needs are met may go without a runner beginning it before it reads "waiting for a
 * runner". In a chain the next stage is begun a few milliseconds after the last one finished: never shown then.
 */
export const RUNNER_WAIT_NOTICE_MS = 1000;

/** A stage's recorded row, as much of it as `runWaits` reads. */
export type StageRowForWaits = {
  nodeId: string;
  status: string;
  runnerId?: string | null;
  attempt?: number | null;
  endedAt?: Date | number | null;
};

/** The run's start and the time of the reading: with them, `runWaits` also sees stages no runner has begun yet. */
export type WaitTiming = { now: number; runCreatedAt: Date | number };

const msOf = (t: Date | number | null | undefined) => (t === null || t === undefined ? undefined : typeof t === 'number' ? t : t.getTime());

/** Failed with no attempt left: the interpreter will not run it again. */
const failedForGood = (node: PlanNode | undefined, row: StageRowForWaits | undefined) =>
  row?.status === 'failed' && (row.attempt ?? 1) >= (node?.retry.maxAttempts ?? 1);

/**
 * When an executing stage became ready to run, from the rows: every need met (its stage succeeded, or failed for
 * good for a failure or always connection), or, for a failed attempt with attempts left, when its retry was due.
 * Undefined while it is not ready, is running, or has ended.
 */
function readySince(node: PlanNode, row: StageRowForWaits | undefined, nodes: Map<string, PlanNode>, rows: Map<string, StageRowForWaits>, timing: WaitTiming): number | undefined {
  const created = msOf(timing.runCreatedAt) ?? timing.now;
  if (row?.status === 'failed' && !failedForGood(node, row)) {
    const ended = msOf(row.endedAt);
    return ended === undefined ? undefined : Math.max(created, ended + retryDelayMs(node.retry, row.attempt ?? 1));
  }
  if (row && row.status !== 'pending') return undefined;
  let since = created;
  for (const need of node.needs) {
    const up = rows.get(need.from);
    const upNode = nodes.get(need.from);
    // A failed attempt with attempts left has not ended yet: it will run again.
    const ended = up?.status === 'failed' && !failedForGood(upNode, up) ? undefined : up?.status;
    if (!needMet(need.on, ended)) return undefined;
    since = Math.max(since, msOf(up?.endedAt) ?? timing.now);
  }
  return since;
}

/**
 * What a run waits for, from its plan and its stages' recorded state: gates
 * waiting for a decision, and executing stages no runner has begun yet.
 *
 * A stage waits for a runner when its row says running with no runner (the
 * interpreter recorded that in earlier versions) or, given `timing`, when it has
 * been ready for `RUNNER_WAIT_NOTICE_MS` and no runner has begun it: the
 * interpreter records nothing while a stage waits (that would cost every stage a
 * timer), so the wait is read here. Not once the line has stopped (a stage
 * failed for good that nothing handles, or one was cancelled): the stages left
 * will be skipped, not run.
 */
export function runWaits(plan: Pick<ExecutionPlan, 'nodes'>, stages: readonly StageRowForWaits[], timing?: WaitTiming): RunWait[] {
  const byNode = new Map(stages.map((s) => [s.nodeId, s]));
  const nodes = new Map(plan.nodes.map((n) => [n.id, n]));
  const stopped = plan.nodes.some((n) => {
    const row = byNode.get(n.id);
    return row?.status === 'cancelled' || (!n.failureHandled && failedForGood(n, row));
  });
  const waits: RunWait[] = [];
  for (const node of plan.nodes) {
    const s = byNode.get(node.id);
    if (node.runtime === 'gate' && s?.status === 'waiting' && node.gate) {
      waits.push(approvalWait(node, node.gate));
    } else if (node.runtime === 'activity') {
      const recorded = s?.status === 'running' && !s.runnerId;
      const since = !recorded && timing && !stopped ? readySince(node, s, nodes, byNode, timing) : undefined;
      if (recorded || (since !== undefined && timing!.now - since >= RUNNER_WAIT_NOTICE_MS)) {
        waits.push({ kind: 'runner', stageId: node.id, stageName: node.name, labels: node.runsOn ?? [] });
      }
    }
  }
  return waits;
}

/**
 * The run's status as people should read it. Only a running (or queued) run can
 * be waiting; approvals come first (a person can act on them).
 * @example describeRunStatus('running', [{ kind: 'approval', stageId: 'qa', stageName: 'QA', approvers: ['alan'] }]).text
 *   // "Waiting for approval — alan"
 */
export function describeRunStatus(status: string, waits: readonly RunWait[] = []): RunStatusDescription {
  const base = (key: RunStatusKey): RunStatusDescription => ({ key, label: LABELS[key], detail: null, text: LABELS[key], waits: [...waits] });
  if (status !== 'running' && status !== 'queued') return base((status in LABELS ? status : 'queued') as RunStatusKey);
  const approvals = waits.filter((w) => w.kind === 'approval');
  if (approvals.length > 0) {
    const who = [...new Set(approvals.flatMap((w) => w.approvers))];
    const detail = who.length > 0 ? who.join(', ') : 'nobody';
    return { key: 'waiting', label: 'Waiting for approval', detail, text: `Waiting for approval — ${detail}`, waits: [...waits] };
  }
  const runners = waits.filter((w) => w.kind === 'runner');
  if (runners.length > 0) {
    const labels = [...new Set(runners.map((w) => describeLabels(w.labels)))];
    const detail = labels.length === 1 && labels[0] === '(any)' ? null : `with labels ${labels.join(' / ')}`;
    return { key: 'waiting', label: 'Waiting for a runner', detail, text: detail ? `Waiting for a runner ${detail}` : 'Waiting for a runner', waits: [...waits] };
  }
  return base(status as RunStatusKey);
}

/**
 * Stage statuses with what the stages after a gate prove about it: a gate still recorded as waiting
 * whose next stage has begun through a success connection was approved (through a failure connection:
 * rejected). The workflow records a gate's decision alongside the next stage's start, and the runner
 * that begins that stage writes its own row, so for a moment the rows can say "gate waiting" while
 * the stage behind it already runs; nobody should ever be shown that. Returns the same array when
 * nothing needs settling.
 */
export function settleDecidedGates<T extends { nodeId: string; status: string }>(plan: Pick<ExecutionPlan, 'nodes'>, stages: readonly T[]): readonly T[] {
  const byNode = new Map(stages.map((s) => [s.nodeId, s]));
  const gates = new Set(plan.nodes.filter((n) => n.runtime === 'gate').map((n) => n.id));
  const settled = new Map<string, 'succeeded' | 'failed'>();
  for (const node of plan.nodes) {
    const status = byNode.get(node.id)?.status;
    if (status !== 'running' && status !== 'succeeded' && status !== 'failed') continue;
    for (const need of node.needs) {
      if (!gates.has(need.from) || byNode.get(need.from)?.status !== 'waiting' || need.on === 'always') continue;
      settled.set(need.from, need.on === 'success' ? 'succeeded' : 'failed');
    }
  }
  if (settled.size === 0) return stages;
  return stages.map((s) => (settled.has(s.nodeId) ? { ...s, status: settled.get(s.nodeId)! } : s));
}
