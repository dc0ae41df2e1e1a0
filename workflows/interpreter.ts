/**
 * The interpreter: one Temporal workflow runs one ExecutionPlan.
 *
 * 1. Deterministic: it reads nothing but its input; all I/O is in activities.
 * 2. One memoised promise per node awaits the node's dependencies, so
 *    independent branches run in parallel and joins wait for all.
 * 3. Everything runs in one CancellationScope per run: stop-the-line and user
 *    cancellation cancel it, which cancels running activities (killing their
 *    processes), timers and waiting gates.
 * 4. Gates are decided through Workflow Updates; the validator refuses, without
 *    writing history, a decision on a gate that is not waiting, from someone not
 *    allowed, or a second vote by the same person. When the run carries the
 *    control plane's public key, decisions and cancellations must also be signed
 *    for this run (decision-signature.ts); runs started before that accept
 *    unsigned ones as they always did. Validators do not run on replay and emit
 *    no commands, so this needs no `patched()`.
 * 5. Changes that alter the commands this workflow emits for an existing history
 *    must be guarded with `patched()`; the replay test in CI catches mistakes.
 * 6. Temporal's own status tells the outcome (patch `temporal-status-tells-outcome`):
 *    a failed run ends Failed (an ApplicationFailure naming what failed), a
 *    cancelled one Cancelled. The run state is recorded first, so the app's
 *    database and the `getState` query (which works on closed workflows too)
 *    still read the whole run.
 */
import {
  ActivityCancellationType,
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  condition,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  TimeoutFailure,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { createActivities } from '../server/control-worker/activities';
import { cancelSignatureProblem, decisionSignatureProblem } from './decision-signature';
import { needMet, retryDelayMs, type PlanNode } from './model/plan';
import { resolveStageConfig, shellStageOf } from './model/shell-env';
import { describeLabels, runnerQueue } from './model/runners';
import type { createRunnerActivities } from './runner/execute-stage';
import { resolveTemplates } from './model/template';
import {
  cancelRunUpdate,
  decideUpdate,
  getStateQuery,
  type CancelInput,
  type DecideInput,
  type GateState,
  type RunInput,
  type RunState,
  type StageState,
  type StageStatus,
} from './run-state';
import { SA_PENDING_GATES, SA_STATUS } from './search-attributes';

type Activities = ReturnType<typeof createActivities>;
type RunnerActivities = ReturnType<typeof createRunnerActivities>;

/** How long a stage waits for a runner by default (runs started before this was in their input). */
const DEFAULT_RUNNER_WAIT_MS = 10 * 60_000;

/**
 * Patch id: a stage is recorded as waiting for a runner only when no runner has
 * finished it within `RUNNER_WAIT_NOTICE_MS` (before, every attempt awaited a
 * `recordRunState` first: a second activity per stage, half the engine's speed).
 */
const RECORD_ONLY_WHEN_WAITING_PATCH = 'record-runner-wait-only-when-waiting';
/** How long a stage may go without a runner before the run page is told it is waiting for one (histories recorded with the patch above). */
const RUNNER_WAIT_NOTICE_MS = 1000;
/**
 * Patch id: the workflow records nothing while a stage waits for a runner. The control plane reads the wait from the
 * stage rows instead (a stage whose needs are met and that no runner has begun: `runWaits`), so a stage costs no
 * timer: the one per stage above was started and cancelled on every stage, a quarter of the workflow's own work.
 */
const RUNNER_WAIT_READ_BY_CONTROL_PLANE_PATCH = 'runner-wait-read-by-the-control-plane';

/**
 * Patch id: the workflow ends Failed for a failed run and Cancelled for a cancelled one, instead of
 * Completed with the outcome only in a search attribute and the result.
 */
const OUTCOME_IN_TEMPORAL_STATUS_PATCH = 'temporal-status-tells-outcome';
/**
 * A run cancelled in the app (a signed Update) is then cancelled in Temporal by the control plane
 * (runs.cancel), which is what lets Temporal show it as Cancelled; the run waits this long for that
 * request, and ends Failed with "cancelled by …" if it never comes (the control plane died in between).
 */
const TEMPORAL_CANCEL_WAIT_MS = 60_000;

/**
 * Patch id: an approved gate's decision is recorded while the stages after it start, instead of before
 * (the record was a whole activity round trip between the Approve click and the next stage). The run
 * still waits for every such record before its final one, so the app's database never ends behind.
 */
const GATE_RECORD_OFF_CRITICAL_PATH_PATCH = 'approved-gate-recorded-alongside-next-stage';

/** The failure type of a run that failed, as Temporal shows it. */
const RUN_FAILED_TYPE = 'PipelineRunFailed';

/** True when a runner never picked the activity up (no runner with the labels, or all busy). */
function isScheduleToStartTimeout(err: unknown): boolean {
  let e: unknown = err;
  while (e instanceof Error) {
    if (e instanceof TimeoutFailure) return e.timeoutType === 'SCHEDULE_TO_START';
    e = 'cause' in e ? e.cause : undefined;
  }
  return false;
}

function formatWait(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 120 ? `${s} s` : `${Math.round(s / 60)} min`;
}

/** Patch id: parameters and outputs in shell fields are passed as environment variables (`resolveStageConfig`). */
const PASS_REFS_AS_ENV_PATCH = 'pass-refs-as-env';

const DONE: ReadonlySet<StageStatus> = new Set(['succeeded', 'failed', 'skipped', 'cancelled']);

const { recordRunState } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});

function errorMessage(err: unknown): string {
  let e: unknown = err;
  // ActivityFailure → ApplicationFailure (the executor's own message).
  while (e instanceof Error && 'cause' in e && e.cause instanceof Error) e = e.cause;
  return e instanceof Error ? e.message : String(err);
}

function failureOutputs(err: unknown): Record<string, string> {
  let e: unknown = err;
  while (e instanceof Error) {
    if (e instanceof ApplicationFailure && Array.isArray(e.details) && e.details[0] && typeof e.details[0] === 'object') {
      const outputs = (e.details[0] as { outputs?: Record<string, string> }).outputs;
      if (outputs) return outputs;
    }
    e = 'cause' in e ? e.cause : undefined;
  }
  return {};
}

export async function pipelineRun(input: RunInput): Promise<RunState> {
  const { plan, runId } = input;
  const state: RunState = {
    runId,
    status: 'running',
    startedAt: Date.now(),
    stages: Object.fromEntries(plan.nodes.map((n) => [n.id, { status: 'pending', attempt: 0, outputs: {} } satisfies StageState])),
  };
  const nodes = new Map(plan.nodes.map((n) => [n.id, n]));
  // Reused and omitted nodes are settled before anything runs (absent in older
  // histories, so their commands are unchanged).
  const reused = input.reused ?? {};
  const omitted = new Set(input.omitted ?? []);
  for (const [id, r] of Object.entries(reused)) {
    const s = state.stages[id];
    if (!s) continue;
    Object.assign(s, { status: 'succeeded', outputs: { ...r.outputs }, reusedFrom: r.fromRunId } satisfies Partial<StageState>);
  }
  for (const id of omitted) {
    const s = state.stages[id];
    if (!s || Object.hasOwn(reused, id)) continue;
    Object.assign(s, { status: 'skipped', skipReason: input.omittedReason ?? 'not part of this run' } satisfies Partial<StageState>);
  }
  const runScope = new CancellationScope();
  /** Set when the line stops (a failure nobody handles, a timeout, or a cancel). */
  let stopped = false;

  const stage = (id: string) => state.stages[id]!;

  // ── Handlers (registered before the first await) ───────────────────────────
  setHandler(getStateQuery, () => state);

  setHandler(
    decideUpdate,
    (d: DecideInput) => {
      const gate = stage(d.gateId).gate!;
      gate.votes.push({ userId: d.userId, userName: d.userName, decision: d.decision, comment: d.comment, at: Date.now() });
      const rules = nodes.get(d.gateId)!.gate!;
      const approvals = gate.votes.filter((v) => v.decision === 'approve').length;
      if (d.decision === 'reject') decideGate(gate, 'rejected', d.userName);
      else if (approvals >= rules.quorum) decideGate(gate, 'approved', d.userName);
      return { gateStatus: gate.status, approvals, quorum: rules.quorum };
    },
    {
      validator: (d: DecideInput) => {
        // First: an identity nobody vouched for must not learn anything about the gates either.
        if (input.decisionKey) {
          const problem = decisionSignatureProblem(input.decisionKey, runId, d, Date.now());
          if (problem) throw new Error(problem);
        }
        const node = nodes.get(d.gateId);
        if (!node || node.runtime !== 'gate' || !node.gate) throw new Error(`"${d.gateId}" is not an approval gate of this run`);
        const s = stage(d.gateId);
        const gate = s.gate;
        if (!gate || s.status === 'pending') throw new Error(`gate "${node.name}" is not waiting yet`);
        if (gate.status !== 'waiting') {
          throw new Error(`gate "${node.name}" was already ${gate.status === 'cancelled' ? 'cancelled' : `decided (${gate.status}) by ${gate.decidedBy ?? 'someone else'}`}`);
        }
        const rules = node.gate;
        const allowed =
          rules.users.includes(d.userId) ||
          rules.users.includes(d.userName) ||
          d.groups.some((g) => rules.groups.includes(g));
        if (!allowed) throw new Error(`${d.userName} is not an approver of gate "${node.name}"`);
        if (!rules.allowTriggerer && d.userId === input.triggeredBy && d.decision === 'approve') {
          throw new Error(`${d.userName} started this run and may not approve it`);
        }
        const previous = gate.votes.find((v) => v.userId === d.userId);
        if (previous) throw new Error(`${d.userName} already voted (${previous.decision}) on gate "${node.name}"`);
      },
    },
  );

  setHandler(
    cancelRunUpdate,
    (c: CancelInput) => {
      state.cancelledBy = c.userName;
      state.error = c.reason ? `cancelled by ${c.userName}: ${c.reason}` : `cancelled by ${c.userName}`;
      stopLine();
    },
    {
      validator: (c: CancelInput) => {
        if (input.decisionKey) {
          const problem = cancelSignatureProblem(input.decisionKey, runId, c, Date.now());
          if (problem) throw new Error(problem);
        }
        if (state.status !== 'running' || state.cancelledBy) throw new Error('the run is not running any more');
      },
    },
  );

  function decideGate(gate: GateState, status: 'approved' | 'rejected', by: string) {
    gate.status = status;
    gate.decidedAt = Date.now();
    gate.decidedBy = by;
  }

  function stopLine() {
    if (stopped) return;
    stopped = true;
    runScope.cancel();
  }

  function pendingGates(): string[] {
    return plan.nodes.filter((n) => stage(n.id).gate?.status === 'waiting').map((n) => n.id);
  }

  async function record(final = false) {
    const gates = pendingGates();
    upsertSearchAttributes([
      { key: SA_STATUS, value: final ? state.status : gates.length > 0 ? 'waiting' : 'running' },
      { key: SA_PENDING_GATES, value: gates },
    ]);
    // Only the stages that changed since the last record travel through history,
    // so a run's history grows with its changes, not with records × stages.
    const changed: Record<string, StageState> = {};
    const snapshots = new Map<string, string>();
    for (const [id, st] of Object.entries(state.stages)) {
      const snapshot = JSON.stringify(st);
      if (recorded.get(id) !== snapshot) {
        changed[id] = st;
        snapshots.set(id, snapshot);
      }
    }
    await CancellationScope.nonCancellable(() => recordRunState({ state: { ...state, stages: changed }, final }));
    for (const [id, snapshot] of snapshots) recorded.set(id, snapshot);
  }
  const recorded = new Map<string, string>();
  /** Records started without waiting for them (approved gates); awaited before the final record. */
  const recordsInFlight: Promise<void>[] = [];

  // ── Running one node ────────────────────────────────────────────────────────
  const results = new Map<string, Promise<StageStatus>>();

  function run(node: PlanNode): Promise<StageStatus> {
    let p = results.get(node.id);
    if (!p) {
      p = runNode(node);
      results.set(node.id, p);
    }
    return p;
  }

  async function runNode(node: PlanNode): Promise<StageStatus> {
    if (Object.hasOwn(reused, node.id)) return 'succeeded';
    if (omitted.has(node.id)) return 'skipped';
    const deps = await Promise.all(node.needs.map(async (need) => ({ need, status: await run(nodes.get(need.from)!) })));
    const s = stage(node.id);
    const satisfied = deps.every(({ need, status }) => needMet(need.on, status));
    if (stopped || !satisfied) {
      s.status = stopped && state.cancelledBy ? 'cancelled' : 'skipped';
      return s.status;
    }
    try {
      await runScope.run(() => execute(node, s));
    } catch (err) {
      s.endedAt = Date.now();
      if (isCancellation(err)) {
        s.status = 'cancelled';
        if (s.gate?.status === 'waiting') s.gate.status = 'cancelled';
        return s.status;
      }
      s.status = 'failed';
      s.error = errorMessage(err);
      s.outputs = { ...s.outputs, ...failureOutputs(err) };
      if (!node.failureHandled) {
        state.error ??= `stage "${node.name}" failed: ${s.error}`;
        stopLine();
      }
      return s.status;
    }
    s.status = 'succeeded';
    s.endedAt = Date.now();
    return s.status;
  }

  async function execute(node: PlanNode, s: StageState): Promise<void> {
    s.startedAt = Date.now();
    const scope = {
      params: input.params,
      outputs: Object.fromEntries(Object.entries(state.stages).map(([id, st]) => [id, st.outputs])),
    };
    // Values in text a shell runs travel as environment variables (a pushed
    // branch named `$(…)` must not run); stages already in a history recorded
    // before this change replay the spliced form.
    const config = shellStageOf(node.kind) && patched(PASS_REFS_AS_ENV_PATCH) ? resolveStageConfig(node.kind, node.config, scope) : resolveTemplates(node.config, scope);
    if (node.runtime === 'timer') {
      s.status = 'running';
      s.attempt = 1;
      await record();
      await sleep(Math.max(0, Number((config as { seconds?: number }).seconds ?? 0) * 1000));
      return;
    }
    if (node.runtime === 'gate') {
      await waitForGate(node, s);
      return;
    }
    await runActivity(node, s, config);
  }

  async function waitForGate(node: PlanNode, s: StageState) {
    const rules = node.gate!;
    const now = Date.now();
    const gate: GateState = {
      status: 'waiting',
      votes: [],
      waitingSince: now,
      deadlineAt: rules.timeoutMs > 0 ? now + rules.timeoutMs : undefined,
    };
    s.gate = gate;
    s.status = 'waiting';
    s.attempt = 1;
    await record();
    // Wake up on every vote (so the inbox shows partial quorums) and on the deadline.
    let seenVotes = 0;
    const changed = () => gate.status !== 'waiting' || gate.votes.length !== seenVotes;
    while (gate.status === 'waiting') {
      if (gate.deadlineAt !== undefined) {
        const left = gate.deadlineAt - Date.now();
        if (left <= 0 || !(await condition(changed, left))) {
          decideGate(gate, rules.onTimeout === 'approve' ? 'approved' : 'rejected', 'timeout');
          break;
        }
      } else {
        await condition(changed);
      }
      if (gate.status === 'waiting') {
        seenVotes = gate.votes.length;
        await record();
      }
    }
    s.outputs = { decision: gate.status, decidedBy: gate.decidedBy ?? '' };
    if (gate.status === 'approved' && patched(GATE_RECORD_OFF_CRITICAL_PATH_PATCH)) {
      // Not awaited here: the next stage is scheduled in this same workflow task. A record that fails
      // fails the run at its end, as an awaited one would have failed the gate.
      const recording = record();
      recording.catch(() => undefined); // handled where it is awaited, at the end of the run
      recordsInFlight.push(recording);
      return;
    }
    await record();
    if (gate.status === 'rejected') {
      const why = gate.decidedBy === 'timeout' ? 'timed out (default: reject)' : `rejected by ${gate.decidedBy}`;
      const comment = gate.votes.find((v) => v.decision === 'reject')?.comment;
      throw ApplicationFailure.nonRetryable(comment ? `${why}: ${comment}` : why, 'GateRejected');
    }
  }

  async function runActivity(node: PlanNode, s: StageState, config: Record<string, unknown>) {
    // Stages run on runners: the task queue of the stage's labels (`runsOn`), with a limit on how long
    // the stage may wait for one. Older histories scheduled on the workflow's own queue.
    const onRunners = patched('stages-on-runners');
    const labels = node.runsOn ?? [];
    const runnerWaitMs = input.runnerWaitTimeoutMs ?? DEFAULT_RUNNER_WAIT_MS;
    const options: ActivityOptions = {
      startToCloseTimeout: node.timeoutMs + 60_000,
      heartbeatTimeout: input.heartbeatTimeoutMs ?? 15_000,
      cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
      // Infrastructure failures (worker lost, API 5xx) are retried here; the
      // user's own failures are typed non-retryable and retried below only if
      // the stage asks for it.
      retry: {
        initialInterval: '1 second',
        backoffCoefficient: 2,
        maximumInterval: '30 seconds',
        maximumAttempts: 10,
        nonRetryableErrorTypes: ['StageFailed', 'StageTimeout', 'InvalidConfig'],
      },
      ...(onRunners ? { taskQueue: runnerQueue(`${workflowInfo().taskQueue}-runner`, labels), scheduleToStartTimeout: runnerWaitMs } : {}),
    };
    const { executeStage } = proxyActivities<RunnerActivities>(options);
    const { retry } = node;
    for (let attempt = 1; ; attempt++) {
      s.attempt = attempt;
      s.status = 'running';
      s.error = undefined;
      // The run page shows a stage no runner has begun yet as "waiting for a runner". The oldest histories
      // recorded that before every attempt; later ones only when no runner had finished the stage within a
      // moment; now the control plane reads it from the stage rows (a runner that begins the stage marks it
      // running itself, with its id, through the runner API).
      const waitReadByControlPlane = onRunners && patched(RUNNER_WAIT_READ_BY_CONTROL_PLANE_PATCH);
      const recordOnlyWhenWaiting = onRunners && !waitReadByControlPlane && patched(RECORD_ONLY_WHEN_WAITING_PATCH);
      if (onRunners && !waitReadByControlPlane && !recordOnlyWhenWaiting) await record();
      try {
        const pending = executeStage({
          runId,
          nodeId: node.id,
          kind: node.kind,
          attempt,
          config,
          timeoutMs: node.timeoutMs,
        });
        if (recordOnlyWhenWaiting) {
          let settled = false;
          pending.then(
            () => (settled = true),
            () => (settled = true),
          );
          // `condition` cancels its timer when the stage settles first: no extra workflow task. Not cancellable, so a
          // stopped line still waits below until the runner confirms the stage's processes are gone.
          if (!(await CancellationScope.nonCancellable(() => condition(() => settled, RUNNER_WAIT_NOTICE_MS)))) await record();
        }
        const result = await pending;
        s.outputs = result.outputs;
        return;
      } catch (err) {
        if (onRunners && isScheduleToStartTimeout(err)) {
          throw ApplicationFailure.nonRetryable(`no runner with labels ${describeLabels(labels)} picked the stage up within ${formatWait(runnerWaitMs)}`, 'NoRunner');
        }
        if (isCancellation(err) || attempt >= retry.maxAttempts) throw err;
        s.error = errorMessage(err);
        const wait = retryDelayMs(retry, attempt);
        if (wait > 0) await sleep(wait);
      }
    }
  }

  // ── The run ────────────────────────────────────────────────────────────────
  if (plan.runTimeoutMs > 0) {
    // Not awaited: when it fires it stops the line like a failure would.
    void CancellationScope.nonCancellable(async () => {
      await sleep(plan.runTimeoutMs);
      if (state.status === 'running' && !stopped) {
        state.error = `the run took longer than its limit (${Math.round(plan.runTimeoutMs / 1000)} s)`;
        stopLine();
      }
    });
  }

  // Show reused and omitted stages at once (only runs that have any record here).
  if (Object.keys(reused).length > 0 || omitted.size > 0) await record();

  await Promise.all(plan.nodes.map((n) => run(n)));
  if (!stopped && runScope.consideredCancelled) {
    // The whole workflow was cancelled from outside (e.g. `temporal workflow cancel`).
    state.cancelledBy = 'temporal';
    stopped = true;
  }

  for (const n of plan.nodes) {
    const s = stage(n.id);
    if (!DONE.has(s.status)) s.status = state.cancelledBy ? 'cancelled' : 'skipped';
  }
  const statuses = Object.values(state.stages).map((s) => s.status);
  state.status = state.cancelledBy
    ? 'cancelled'
    : statuses.includes('failed') || (stopped && state.error)
      ? 'failed'
      : 'succeeded';
  state.endedAt = Date.now();
  await Promise.all(recordsInFlight);
  await record(true);
  if (state.status !== 'succeeded' && patched(OUTCOME_IN_TEMPORAL_STATUS_PATCH)) await endWithTheOutcome(state, plan.nodes);
  return state;
}

/** Ends the workflow as the run ended (after its state is recorded): Failed or Cancelled in Temporal's own status. */
async function endWithTheOutcome(state: RunState, planNodes: readonly PlanNode[]): Promise<void> {
  if (state.status === 'failed') {
    const failed = planNodes.filter((n) => state.stages[n.id]?.status === 'failed').map((n) => n.name);
    const what = failed.length > 0 ? `${failed.length === 1 ? 'stage' : 'stages'} ${failed.map((n) => `"${n}"`).join(', ')} failed` : 'the run failed';
    throw ApplicationFailure.create({
      type: RUN_FAILED_TYPE,
      message: state.error ? `${what}: ${state.error}` : what,
      nonRetryable: true,
    });
  }
  if (state.status === 'cancelled') {
    const root = CancellationScope.current();
    if (!root.consideredCancelled) {
      // Cancelled through the app: wait (bounded) for the control plane's cancel request; a cancelled scope
      // makes `condition` throw, which is exactly when the workflow may end as Cancelled.
      try {
        await condition(() => false, TEMPORAL_CANCEL_WAIT_MS);
      } catch (err) {
        if (!isCancellation(err)) throw err;
      }
    }
    throw new CancelledFailure(state.error ?? 'cancelled');
  }
}
