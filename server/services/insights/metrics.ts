/**
 * Delivery metrics, derived (pure: no database, unit-tested on constructed histories).
 *
 * 1. A **deployment** is run R putting a build into environment E: R is a real run (not a rehearsal, of a
 *    pipeline that is not deleted — the loader leaves those out) and one of E's *deploy stages* in R's plan
 *    executed in R (a stage reused from an earlier run by a re-run or a promotion did not deploy again).
 *    Deploy stages of E: the stages bound to E of kind `k8s-deploy`/`k8s-apply`; if there are none, E's
 *    executing stages whose id or name says "deploy"; if none either, E's first executing stage.
 *    It succeeded (the build went live) when every deploy stage of E that ran in R succeeded; its time is
 *    when the last of them ended.
 * 2. **Change failure**: a deployment that failed, or that went live and then, in the same run, was followed
 *    by a failed stage bound to E (a smoke test), a stage of E reached only through a `failure` edge (a back-out
 *    branch) or a `k8s-rollback` stage; or that was followed by a rollback into E (a promotion marked rollback,
 *    or a `Roll back` run) within `rollbackWindowMs` (24 h unless set).
 * 3. **Lead time for changes**: from when the change entered the pipeline (the build run's creation: the
 *    webhook delivery of the commit, or the person pressing Run) to the deployment going live, per successful
 *    deployment; the median is reported.
 * 4. **Time to restore**: from a change failure to the next successful, not failed deployment into E.
 * 5. Days are calendar days in the viewer's time zone (a run at 23:30 in Berlin counts on that day there).
 *
 * Bands: the 2023 Accelerate State of DevOps report (docs/insights.md says why that one).
 */

export type InsightPlanNode = { id: string; kind: string; name: string; environment?: string; needs: { from: string; on: string }[] };
export type InsightPlan = { nodes: InsightPlanNode[] };

export type InsightRun = {
  id: string;
  number: number;
  pipelineId: string;
  status: string;
  trigger: string;
  createdAt: number;
  /** When the change entered the pipeline: the build run's creation (a promotion's build, else the run itself). */
  changeAt: number;
  planHash: string;
  /** Set on runs that roll an environment back (rollback promotions, `Roll back` runs): the environment. */
  rollbackOf?: string | null;
};

export type InsightStage = {
  runId: string;
  nodeId: string;
  status: string;
  attempt: number;
  startedAt: number | null;
  endedAt: number | null;
  error?: string | null;
  reusedFrom: string | null;
};

export type InsightGate = {
  runId: string;
  nodeId: string;
  status: string;
  waitingSince: number;
  decidedAt: number | null;
};

export type Deployment = {
  runId: string;
  runNumber: number;
  pipelineId: string;
  environment: string;
  at: number;
  ok: boolean;
  leadTimeMs: number | null;
  /** Why it counts as a change failure, or null. */
  failure: string | null;
  /** The deploy stage that failed or the stage that showed the failure. */
  failedStage: string | null;
  /** For change failures: when the environment was restored, by which run. */
  restoredAt: number | null;
  restoredByRunId: string | null;
};

export type Band = 'elite' | 'high' | 'medium' | 'low';

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
export const DEFAULT_ROLLBACK_WINDOW_MS = DAY;

const NO_STAGES: InsightStage[] = [];

const EXECUTING = (n: InsightPlanNode) => n.kind !== 'approval' && n.kind !== 'wait';

/** The deploy stages of environment `env` in a plan (see the file comment). */
export function deployStagesOf(plan: InsightPlan, env: string): InsightPlanNode[] {
  const bound = plan.nodes.filter((n) => n.environment === env && EXECUTING(n));
  const k8s = bound.filter((n) => n.kind === 'k8s-deploy' || n.kind === 'k8s-apply');
  if (k8s.length > 0) return k8s;
  const named = bound.filter((n) => n.kind !== 'k8s-rollback' && /deploy/i.test(`${n.id} ${n.name}`));
  if (named.length > 0) return named;
  const first = bound.find((n) => n.kind !== 'k8s-rollback');
  return first ? [first] : [];
}

/** Nodes reachable from `roots` (exclusive), and those reached only through a `failure` edge somewhere on the way. */
function downstream(plan: InsightPlan, roots: Set<string>): { after: Set<string>; viaFailure: Set<string> } {
  const children = new Map<string, { to: string; on: string }[]>();
  for (const n of plan.nodes) for (const need of n.needs) children.set(need.from, [...(children.get(need.from) ?? []), { to: n.id, on: need.on }]);
  const after = new Set<string>();
  const viaFailure = new Set<string>();
  const stack = [...roots].map((id) => ({ id, failure: false }));
  while (stack.length > 0) {
    const cur = stack.pop()!;
    for (const c of children.get(cur.id) ?? []) {
      const failure = cur.failure || c.on === 'failure';
      if (failure && !viaFailure.has(c.to)) {
        viaFailure.add(c.to);
        after.add(c.to);
        stack.push({ id: c.to, failure });
      } else if (!after.has(c.to)) {
        after.add(c.to);
        stack.push({ id: c.to, failure });
      }
    }
  }
  return { after, viaFailure };
}

/** What a plan says about each of its environments: deploy stages, what follows them, what is reached only by failure. */
export type PlanDeployInfo = Map<string, { deploy: InsightPlanNode[]; after: InsightPlanNode[]; viaFailure: Set<string> }>;

export function planDeployInfo(plan: InsightPlan): PlanDeployInfo {
  const info: PlanDeployInfo = new Map();
  for (const env of new Set(plan.nodes.map((n) => n.environment).filter((e): e is string => !!e))) {
    const deploy = deployStagesOf(plan, env);
    const { after, viaFailure } = downstream(plan, new Set(deploy.map((n) => n.id)));
    // What follows the deploy in the same environment (smoke tests), and any rollback stage after it.
    info.set(env, { deploy, after: plan.nodes.filter((n) => after.has(n.id) && (n.environment === env || n.kind === 'k8s-rollback')), viaFailure });
  }
  return info;
}

/** Lead time of a deployment: from its change entering the pipeline to going live (none when it did not). */
export function leadTimeOf(ok: boolean, at: number, changeAt: number): number | null {
  return ok ? Math.max(0, at - changeAt) : null;
}

/** A run that rolled an environment back, and when (its last stage's end, else its creation). */
export type Rollback = { environment: string; at: number; runId: string; pipelineId: string };

/**
 * What one run contributes, from its own rows alone (the facts kept per run, server/services/insights/facts.ts):
 * its deployments (change failures seen in the run itself, no restores yet) and, for a rollback run, the
 * rollback. `stages` are the run's stage results (the last result of a node wins).
 */
export function runDeployments(run: InsightRun, info: PlanDeployInfo, stages: readonly InsightStage[]): { deployments: Deployment[]; rollback: Rollback | null } {
  const own = (nodeId: string) => {
    for (let i = stages.length - 1; i >= 0; i--) if (stages[i]!.nodeId === nodeId) return stages[i];
    return undefined;
  };
  let rollback: Rollback | null = null;
  if (run.rollbackOf) {
    let at = 0;
    for (const s of stages) at = Math.max(at, s.endedAt ?? s.startedAt ?? 0);
    at ||= run.createdAt;
    rollback = { environment: run.rollbackOf, at, runId: run.id, pipelineId: run.pipelineId };
  }
  const deployments: Deployment[] = [];
  for (const [env, e] of info) {
    let ranAny = false;
    let failedDeploy: InsightStage | undefined;
    let at = -Infinity;
    for (const n of e.deploy) {
      const s = own(n.id);
      if (!s || s.reusedFrom || (s.status !== 'succeeded' && s.status !== 'failed')) continue;
      ranAny = true;
      if (!failedDeploy && s.status === 'failed') failedDeploy = s;
      at = Math.max(at, s.endedAt ?? s.startedAt ?? run.createdAt);
    }
    if (!ranAny) continue;
    const ok = !failedDeploy;
    let failure: string | null = null;
    let failedStage: string | null = null;
    if (failedDeploy) {
      failure = 'deployment failed';
      failedStage = failedDeploy.nodeId;
    } else {
      for (const n of e.after) {
        const s = own(n.id);
        if (!s || s.reusedFrom) continue;
        if (n.kind === 'k8s-rollback' && (s.status === 'succeeded' || s.status === 'failed')) {
          failure = 'rolled back in the same run';
        } else if (e.viaFailure.has(n.id) && (s.status === 'succeeded' || s.status === 'failed')) {
          failure = 'back-out branch ran';
        } else if (s.status === 'failed') {
          failure = `${n.id} failed after the deployment`;
        }
        if (failure) {
          failedStage = n.id;
          break;
        }
      }
    }
    deployments.push({
      runId: run.id,
      runNumber: run.number,
      pipelineId: run.pipelineId,
      environment: env,
      at,
      ok,
      leadTimeMs: leadTimeOf(ok, at, run.changeAt),
      failure,
      failedStage,
      restoredAt: null,
      restoredByRunId: null,
    });
  }
  return { deployments, rollback };
}

/**
 * Every deployment in the runs, oldest first, with change failures and restores worked out.
 * `stages` may hold stages of runs not in `runs` (ignored).
 */
export function deriveDeployments(input: {
  runs: InsightRun[];
  plans: ReadonlyMap<string, InsightPlan>;
  stages: InsightStage[];
  rollbackWindowMs?: number;
}): Deployment[] {
  // Each run's stages as a short list (a handful per run): cheaper than a map per run for 50,000 stage results.
  const stagesByRun = new Map<string, InsightStage[]>();
  for (const s of input.stages) {
    const list = stagesByRun.get(s.runId);
    if (list) list.push(s);
    else stagesByRun.set(s.runId, [s]);
  }
  const perPlan = new Map<string, PlanDeployInfo>();
  const deployments: Deployment[] = [];
  const rollbacks: Rollback[] = [];
  for (const run of input.runs) {
    let info = perPlan.get(run.planHash);
    if (!info) perPlan.set(run.planHash, (info = planDeployInfo(input.plans.get(run.planHash) ?? { nodes: [] })));
    const own = runDeployments(run, info, stagesByRun.get(run.id) ?? NO_STAGES);
    deployments.push(...own.deployments);
    if (own.rollback) rollbacks.push(own.rollback);
  }
  return linkDeployments(deployments, rollbacks, input.rollbackWindowMs);
}

/**
 * What needs more than one run: rollbacks into E within the window after a live deployment make it a change
 * failure, and each change failure is restored by the next deployment into E that went live and held, or a
 * rollback run. `deployments` in run order (sorted here by time, stable), `rollbacks` in run order.
 */
export function linkDeployments(deployments: Deployment[], rollbacks: readonly Rollback[], rollbackWindowMs = DEFAULT_ROLLBACK_WINDOW_MS): Deployment[] {
  const window = rollbackWindowMs;
  deployments.sort((a, b) => a.at - b.at || a.runNumber - b.runNumber);
  // Rollbacks within the window after a live deployment make it a change failure.
  for (const rb of rollbacks) {
    let previous: Deployment | undefined;
    for (let i = deployments.length - 1; i >= 0 && !previous; i--) {
      const d = deployments[i]!;
      if (d.environment === rb.environment && d.pipelineId === rb.pipelineId && d.ok && d.at <= rb.at && d.runId !== rb.runId) previous = d;
    }
    if (previous && !previous.failure && rb.at - previous.at <= window) {
      previous.failure = 'rolled back';
      previous.failedStage = null;
    }
  }

  // Restores: the next deployment into the same environment (of the same pipeline) that went live and held.
  for (let i = 0; i < deployments.length; i++) {
    const d = deployments[i]!;
    if (!d.failure) continue;
    for (let j = i + 1; j < deployments.length; j++) {
      const next = deployments[j]!;
      if (next.environment === d.environment && next.pipelineId === d.pipelineId && next.ok && !next.failure) {
        d.restoredAt = next.at;
        d.restoredByRunId = next.runId;
        break;
      }
    }
    // A rollback run restores too (its own run is no deployment of a new change).
    const rb = rollbacks.find((r) => r.environment === d.environment && r.pipelineId === d.pipelineId && r.at >= d.at && (d.restoredAt === null || r.at < d.restoredAt));
    if (rb) {
      d.restoredAt = rb.at;
      d.restoredByRunId = rb.runId;
    }
  }
  return deployments;
}

export function quantile(sorted: number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export const median = (values: number[]) => quantile([...values].sort((a, b) => a - b), 0.5);

// ── DORA bands (2023 Accelerate State of DevOps report) ─────────────────────

/** Deployments per day → band: elite on demand (≥ 1 a day), high ≥ 1 a week, medium ≥ 1 a month. */
export function frequencyBand(perDay: number): Band {
  if (perDay >= 1) return 'elite';
  if (perDay >= 1 / 7) return 'high';
  if (perDay >= 1 / 30) return 'medium';
  return 'low';
}
/** Lead time → band: elite < 1 day, high < 1 week, medium < 1 month. */
export function leadTimeBand(ms: number): Band {
  if (ms < DAY) return 'elite';
  if (ms < 7 * DAY) return 'high';
  if (ms < 30 * DAY) return 'medium';
  return 'low';
}
/** Change failure rate (0…1) → band: elite ≤ 5 %, high ≤ 10 %, medium ≤ 15 %. */
export function changeFailureBand(rate: number): Band {
  if (rate <= 0.05) return 'elite';
  if (rate <= 0.1) return 'high';
  if (rate <= 0.15) return 'medium';
  return 'low';
}
/** Time to restore → band: elite < 1 hour, high < 1 day, medium < 1 week. */
export function restoreBand(ms: number): Band {
  if (ms < HOUR) return 'elite';
  if (ms < DAY) return 'high';
  if (ms < 7 * DAY) return 'medium';
  return 'low';
}

export type DoraMeasure = {
  value: number | null;
  band: Band | null;
  /** The runs behind the number. */
  runIds: string[];
};

export type Dora = {
  deploymentFrequency: DoraMeasure & { count: number; perDay: number };
  leadTime: DoraMeasure;
  changeFailureRate: DoraMeasure & { failures: number; total: number };
  timeToRestore: DoraMeasure & { unrestored: number };
};

/** The four measures over deployments that happened in [from, to). */
export function dora(deployments: Deployment[], from: number, to: number): Dora {
  const inWindow = deployments.filter((d) => d.at >= from && d.at < to);
  const live = inWindow.filter((d) => d.ok);
  const days = Math.max(1, (to - from) / DAY);
  const perDay = live.length / days;
  const leads = live.map((d) => d.leadTimeMs).filter((x): x is number => x !== null);
  const lead = median(leads);
  const failures = inWindow.filter((d) => d.failure);
  const rate = inWindow.length > 0 ? failures.length / inWindow.length : null;
  const restored = failures.filter((d) => d.restoredAt !== null);
  const restore = median(restored.map((d) => d.restoredAt! - d.at));
  return {
    deploymentFrequency: { value: perDay, perDay, count: live.length, band: live.length > 0 ? frequencyBand(perDay) : 'low', runIds: live.map((d) => d.runId) },
    leadTime: { value: lead, band: lead === null ? null : leadTimeBand(lead), runIds: live.map((d) => d.runId) },
    changeFailureRate: { value: rate, band: rate === null ? null : changeFailureBand(rate), failures: failures.length, total: inWindow.length, runIds: failures.map((d) => d.runId) },
    timeToRestore: {
      value: restore,
      band: restore === null ? null : restoreBand(restore),
      unrestored: failures.length - restored.length,
      runIds: [...new Set(restored.flatMap((d) => [d.runId, d.restoredByRunId!]))],
    },
  };
}

/** `YYYY-MM-DD` of an instant in a time zone (IANA name). */
const dayFormats = new Map<string, Intl.DateTimeFormat>();
export function dayKey(at: number, timeZone: string): string {
  let f = dayFormats.get(timeZone);
  if (!f) dayFormats.set(timeZone, (f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' })));
  return f.format(at);
}

/** A calendar day: its deployments and change failures, and the instants [start, end) it covers in the window. */
export type DayPoint = { day: string; start: number; end: number; deployments: number; failures: number; runIds: string[] };

/**
 * Deployments and change failures per calendar day in `timeZone`, every day of [from, to) listed.
 * The instants where a new day starts are found once (hour by hour, then to the millisecond by halving), so each
 * deployment costs a binary search instead of a time-zone conversion.
 */
export function dailySeries(deployments: Deployment[], from: number, to: number, timeZone: string): DayPoint[] {
  const starts: number[] = [from];
  const keys: string[] = [dayKey(from, timeZone)];
  for (let t = from + HOUR; ; t += HOUR) {
    const end = Math.min(t, to - 1);
    const k = dayKey(end, timeZone);
    if (k !== keys[keys.length - 1]) {
      // The day changed in (end - HOUR, end]: find its first millisecond.
      let lo = Math.max(from, end - HOUR);
      let hi = end;
      while (hi - lo > 1) {
        const mid = Math.floor((lo + hi) / 2);
        if (dayKey(mid, timeZone) === k) hi = mid;
        else lo = mid;
      }
      starts.push(hi);
      keys.push(k);
    }
    if (end >= to - 1) break;
  }
  const points: DayPoint[] = keys.map((day, i) => ({ day, start: starts[i]!, end: starts[i + 1] ?? to, deployments: 0, failures: 0, runIds: [] }));
  for (const d of deployments) {
    if (d.at < from || d.at >= to) continue;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= d.at) lo = mid;
      else hi = mid - 1;
    }
    const p = points[lo]!;
    if (d.ok) p.deployments++;
    if (d.failure) p.failures++;
    p.runIds.push(d.runId);
  }
  // A day seen twice (a clock turned back across midnight) is one day.
  const byDay = new Map<string, DayPoint>();
  for (const p of points) {
    const seen = byDay.get(p.day);
    if (!seen) byDay.set(p.day, p);
    else {
      seen.end = Math.max(seen.end, p.end);
      seen.deployments += p.deployments;
      seen.failures += p.failures;
      seen.runIds.push(...p.runIds);
    }
  }
  return [...byDay.values()].sort((a, b) => a.day.localeCompare(b.day));
}

export type StageDuration = { nodeId: string; name: string; count: number; medianMs: number; p90Ms: number; slowestRunId: string };

/** Median and p90 of each stage's duration (executed, finished stages only), slowest p90 first. */
export function stageDurations(stages: InsightStage[], names: ReadonlyMap<string, string>): StageDuration[] {
  const by = new Map<string, { ms: number; runId: string }[]>();
  for (const s of stages) {
    if (s.reusedFrom || s.startedAt === null || s.endedAt === null || (s.status !== 'succeeded' && s.status !== 'failed')) continue;
    let xs = by.get(s.nodeId);
    if (!xs) by.set(s.nodeId, (xs = []));
    xs.push({ ms: Math.max(0, s.endedAt - s.startedAt), runId: s.runId });
  }
  return sortDurations(
    [...by.entries()].map(([nodeId, xs]) => {
      const slowest = xs.reduce((a, b) => (b.ms > a.ms ? b : a));
      return durationOf(nodeId, names.get(nodeId) ?? nodeId, xs.map((x) => x.ms).sort((a, b) => a - b), slowest.runId);
    }),
  );
}

/** One stage's duration figures from its durations, sorted ascending (non-empty). */
export function durationOf(nodeId: string, name: string, sortedMs: readonly number[], slowestRunId: string): StageDuration {
  const sorted = sortedMs as number[];
  return { nodeId, name, count: sorted.length, medianMs: quantile(sorted, 0.5)!, p90Ms: quantile(sorted, 0.9)!, slowestRunId };
}

/** Slowest p90 first. */
export function sortDurations(rows: StageDuration[]): StageDuration[] {
  return rows.sort((a, b) => b.p90Ms - a.p90Ms || a.nodeId.localeCompare(b.nodeId));
}

/**
 * A stage result's own facts (kept per stage result, server/services/insights/facts.ts), or null when it did not
 * execute here (not succeeded or failed, or reused): its duration when it has both ends, and whether it was flaky —
 * succeeded on attempt 2 or later, or succeeded in a re-run (same plan) of a run where it had failed
 * (`rerunSourceStatus`: the node's status in that run; undefined when this run is no such re-run).
 */
export function stageFact(s: InsightStage, rerunSourceStatus: string | undefined): { durationMs: number | null; flaky: boolean } | null {
  if (s.reusedFrom || (s.status !== 'succeeded' && s.status !== 'failed')) return null;
  const durationMs = s.startedAt === null || s.endedAt === null ? null : Math.max(0, s.endedAt - s.startedAt);
  const flaky = s.status === 'succeeded' && (s.attempt > 1 || rerunSourceStatus === 'failed');
  return { durationMs, flaky };
}

/** Most flaky first. */
export function sortFlaky(rows: FlakyStage[]): FlakyStage[] {
  return rows.sort((a, b) => b.flaky - a.flaky || a.nodeId.localeCompare(b.nodeId));
}

export type GateWait = { nodeId: string; name: string; approvers: string; decided: number; waiting: number; medianMs: number | null; p90Ms: number | null; runIds: string[] };

/** How long each gate (and so its approver group) takes to decide: waiting since → decided. */
export function gateWaits(gates: InsightGate[], info: ReadonlyMap<string, { name: string; approvers: string }>): GateWait[] {
  const by = new Map<string, InsightGate[]>();
  for (const g of gates) {
    let gs = by.get(g.nodeId);
    if (!gs) by.set(g.nodeId, (gs = []));
    gs.push(g);
  }
  return [...by.entries()]
    .map(([nodeId, gs]) => {
      const decided = gs.filter((g) => g.decidedAt !== null && g.status !== 'cancelled');
      const sorted = decided.map((g) => Math.max(0, g.decidedAt! - g.waitingSince)).sort((a, b) => a - b);
      const meta = info.get(nodeId);
      return {
        nodeId,
        name: meta?.name ?? nodeId,
        approvers: meta?.approvers ?? '',
        decided: decided.length,
        waiting: gs.filter((g) => g.status === 'waiting').length,
        medianMs: quantile(sorted, 0.5),
        p90Ms: quantile(sorted, 0.9),
        runIds: gs.map((g) => g.runId),
      };
    })
    .sort((a, b) => (b.medianMs ?? 0) - (a.medianMs ?? 0) || a.nodeId.localeCompare(b.nodeId));
}

export type FlakyStage = { nodeId: string; name: string; flaky: number; executed: number; runIds: string[] };

/**
 * Flaky stages: a stage that failed and then passed with nothing changed — on a retry within the run (it
 * succeeded on attempt > 1), or in a re-run of the run where it had failed (trigger `rerun`, same plan).
 */
export function flakyStages(runs: InsightRun[], stages: InsightStage[], reruns: ReadonlyMap<string, string>, names: ReadonlyMap<string, string>): FlakyStage[] {
  const runById = new Map(runs.map((r) => [r.id, r]));
  // Statuses only of the runs that were re-run (the only ones looked up).
  const sources = new Set(reruns.values());
  const status = new Map<string, string>();
  for (const s of stages) if (sources.has(s.runId)) status.set(`${s.runId}\n${s.nodeId}`, s.status);
  const by = new Map<string, { flaky: number; executed: number; runIds: string[] }>();
  for (const s of stages) {
    const source = reruns.get(s.runId);
    const sameSource = source && runById.get(source)?.planHash === runById.get(s.runId)?.planHash;
    const fact = stageFact(s, sameSource ? status.get(`${source}\n${s.nodeId}`) : undefined);
    if (!fact) continue;
    const e = by.get(s.nodeId) ?? { flaky: 0, executed: 0, runIds: [] };
    e.executed++;
    if (fact.flaky) {
      e.flaky++;
      e.runIds.push(s.runId);
    }
    by.set(s.nodeId, e);
  }
  return sortFlaky(
    [...by.entries()].filter(([, e]) => e.flaky > 0).map(([nodeId, e]) => ({ nodeId, name: names.get(nodeId) ?? nodeId, ...e })),
  );
}
