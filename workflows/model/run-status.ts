/**
 * What a run is doing, in words, from one place: the run header, the runs
 * lists, the pipeline page, the promotion board, the embeds, the badge and the
 * diagram all show "Waiting for approval — alan, group approvers" or "Waiting
 * for a runner with labels gpu" through `describeRunStatus`, never a bare
 * "Running" for a run that waits for someone. Pure (model layer).
 */
import type { ExecutionPlan } from './plan';
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
 * What a run waits for, from its plan and its stages' recorded state: gates
 * waiting for a decision, and executing stages no runner has begun yet.
 */
export function runWaits(
  plan: Pick<ExecutionPlan, 'nodes'>,
  stages: readonly { nodeId: string; status: string; runnerId?: string | null }[],
): RunWait[] {
  const byNode = new Map(stages.map((s) => [s.nodeId, s]));
  const waits: RunWait[] = [];
  for (const node of plan.nodes) {
    const s = byNode.get(node.id);
    if (!s) continue;
    if (node.runtime === 'gate' && s.status === 'waiting' && node.gate) {
      waits.push(approvalWait(node, node.gate));
    } else if (node.runtime === 'activity' && s.status === 'running' && !s.runnerId) {
      waits.push({ kind: 'runner', stageId: node.id, stageName: node.name, labels: node.runsOn ?? [] });
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
