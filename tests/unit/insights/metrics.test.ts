/**
 * Delivery metric definitions on constructed histories with known answers: what a deployment is, change
 * failures (failed deploys, failed smoke tests, back-out branches, rollbacks within the window), lead time,
 * time to restore, calendar days across midnight and time zones, re-runs, flaky stages, gate waits and the
 * DORA bands.
 */
import { describe, expect, it } from 'vitest';
import {
  DAY,
  HOUR,
  changeFailureBand,
  dailySeries,
  dayKey,
  deployStagesOf,
  deriveDeployments,
  dora,
  flakyStages,
  frequencyBand,
  gateWaits,
  leadTimeBand,
  restoreBand,
  stageDurations,
  type InsightPlan,
  type InsightRun,
  type InsightStage,
} from '@/server/services/insights/metrics';

const MIN = 60_000;
const T0 = Date.UTC(2026, 10, 2, 9, 0, 0); // Monday 2 November 2026, 09:00 UTC

/** build → deploy-staging → smoke (staging) → gate → deploy-prod; deploy-prod fails → rollback-prod (failure edge). */
const plan: InsightPlan = {
  nodes: [
    { id: 'build', kind: 'command', name: 'Build', needs: [] },
    { id: 'deploy-staging', kind: 'command', name: 'Deploy to staging', environment: 'staging', needs: [{ from: 'build', on: 'success' }] },
    { id: 'smoke', kind: 'http-check', name: 'Smoke test', environment: 'staging', needs: [{ from: 'deploy-staging', on: 'success' }] },
    { id: 'gate', kind: 'approval', name: 'Go to production', environment: 'production', needs: [{ from: 'smoke', on: 'success' }] },
    { id: 'apply-prod', kind: 'k8s-deploy', name: 'Roll out', environment: 'production', needs: [{ from: 'gate', on: 'success' }] },
    { id: 'notify', kind: 'webhook', name: 'Tell the team', environment: 'production', needs: [{ from: 'apply-prod', on: 'success' }] },
    { id: 'undo', kind: 'command', name: 'Restore the database', environment: 'production', needs: [{ from: 'apply-prod', on: 'failure' }] },
  ],
};
const plans = new Map([['p1', plan]]);

let seq = 0;
function run(over: Partial<InsightRun> & { createdAt: number }): InsightRun {
  seq++;
  return { id: `r${seq}`, number: seq, pipelineId: 'pipe', status: 'succeeded', trigger: 'manual', changeAt: over.createdAt, planHash: 'p1', ...over };
}
function stage(runId: string, nodeId: string, status: string, startedAt: number, minutes = 1, over: Partial<InsightStage> = {}): InsightStage {
  return { runId, nodeId, status, attempt: 1, startedAt, endedAt: startedAt + minutes * MIN, error: null, reusedFrom: null, ...over };
}

describe('deploy stages', () => {
  it('are the k8s stages of the environment, else stages named deploy, else its first executing stage', () => {
    expect(deployStagesOf(plan, 'production').map((n) => n.id)).toEqual(['apply-prod']);
    expect(deployStagesOf(plan, 'staging').map((n) => n.id)).toEqual(['deploy-staging']);
    const unnamed: InsightPlan = { nodes: [{ id: 'gate', kind: 'approval', name: 'Gate', environment: 'qa', needs: [] }, { id: 'install', kind: 'command', name: 'Install', environment: 'qa', needs: [] }] };
    expect(deployStagesOf(unnamed, 'qa').map((n) => n.id)).toEqual(['install']);
  });
});

describe('deployments and change failures', () => {
  it('a deploy that succeeds and holds is live, with its lead time from the change', () => {
    const r = run({ createdAt: T0 });
    const deps = deriveDeployments({ runs: [r], plans, stages: [stage(r.id, 'build', 'succeeded', T0), stage(r.id, 'deploy-staging', 'succeeded', T0 + 10 * MIN), stage(r.id, 'smoke', 'succeeded', T0 + 12 * MIN)] });
    expect(deps).toHaveLength(1);
    expect(deps[0]).toMatchObject({ environment: 'staging', ok: true, failure: null, at: T0 + 11 * MIN, leadTimeMs: 11 * MIN });
  });

  it('a failed smoke test after a good deploy is a change failure, restored by the next good deployment', () => {
    const a = run({ createdAt: T0 });
    const b = run({ createdAt: T0 + HOUR });
    const deps = deriveDeployments({
      runs: [a, b],
      plans,
      stages: [
        stage(a.id, 'deploy-staging', 'succeeded', T0),
        stage(a.id, 'smoke', 'failed', T0 + 2 * MIN),
        stage(b.id, 'deploy-staging', 'succeeded', T0 + HOUR),
        stage(b.id, 'smoke', 'succeeded', T0 + HOUR + 2 * MIN),
      ],
    });
    expect(deps.map((d) => [d.runId, d.ok, d.failure])).toEqual([
      [a.id, true, 'smoke failed after the deployment'],
      [b.id, true, null],
    ]);
    expect(deps[0]!.restoredAt! - deps[0]!.at).toBe(HOUR);
    expect(deps[0]!.restoredByRunId).toBe(b.id);
  });

  it('a failed rollout and its back-out branch: one failed deployment, no lead time', () => {
    const r = run({ createdAt: T0 });
    const deps = deriveDeployments({ runs: [r], plans, stages: [stage(r.id, 'apply-prod', 'failed', T0), stage(r.id, 'undo', 'succeeded', T0 + MIN)] });
    expect(deps).toEqual([expect.objectContaining({ environment: 'production', ok: false, failure: 'deployment failed', failedStage: 'apply-prod', leadTimeMs: null })]);
  });

  it('a rollback into the environment within the window marks the deployment before it; after the window it does not', () => {
    const a = run({ createdAt: T0 });
    const rollback = run({ createdAt: T0 + 2 * HOUR, trigger: 'promotion', rollbackOf: 'staging' });
    const b = run({ createdAt: T0 + 3 * DAY });
    const lateRollback = run({ createdAt: T0 + 5 * DAY, trigger: 'promotion', rollbackOf: 'staging' });
    const deps = deriveDeployments({
      runs: [a, rollback, b, lateRollback],
      plans,
      stages: [
        stage(a.id, 'deploy-staging', 'succeeded', T0),
        stage(rollback.id, 'deploy-staging', 'succeeded', T0 + 2 * HOUR),
        stage(b.id, 'deploy-staging', 'succeeded', T0 + 3 * DAY),
        stage(lateRollback.id, 'deploy-staging', 'succeeded', T0 + 5 * DAY),
      ],
    });
    const byRun = new Map(deps.map((d) => [d.runId, d]));
    expect(byRun.get(a.id)!.failure).toBe('rolled back');
    expect(byRun.get(a.id)!.restoredByRunId).toBe(rollback.id);
    expect(byRun.get(b.id)!.failure).toBeNull();
  });

  it('a stage reused by a re-run or a promotion is not deployed again', () => {
    const a = run({ createdAt: T0 });
    const rerun = run({ createdAt: T0 + HOUR, trigger: 'rerun' });
    const deps = deriveDeployments({
      runs: [a, rerun],
      plans,
      stages: [
        stage(a.id, 'deploy-staging', 'succeeded', T0),
        stage(a.id, 'smoke', 'failed', T0 + MIN),
        stage(rerun.id, 'deploy-staging', 'succeeded', T0, 1, { reusedFrom: a.id }),
        stage(rerun.id, 'smoke', 'succeeded', T0 + HOUR),
      ],
    });
    expect(deps.map((d) => d.runId)).toEqual([a.id]);
  });

  it('a promotion counts its lead time from the build run, not from the promotion', () => {
    const build = run({ createdAt: T0 });
    const promo = run({ createdAt: T0 + 2 * DAY, trigger: 'promotion', changeAt: T0 });
    const deps = deriveDeployments({ runs: [build, promo], plans, stages: [stage(promo.id, 'apply-prod', 'succeeded', T0 + 2 * DAY)] });
    expect(deps[0]!.leadTimeMs).toBe(2 * DAY + MIN);
  });
});

describe('the four measures over a window', () => {
  it('10 deployments in 7 days, 2 failures restored in 30 min and 3 h', () => {
    const runs: InsightRun[] = [];
    const stages: InsightStage[] = [];
    for (let i = 0; i < 10; i++) {
      const created = T0 + i * 12 * HOUR;
      const r = run({ createdAt: created, changeAt: created - 2 * HOUR });
      runs.push(r);
      const failing = i === 3 || i === 7;
      stages.push(stage(r.id, 'deploy-staging', 'succeeded', created));
      stages.push(stage(r.id, 'smoke', failing ? 'failed' : 'succeeded', created + MIN));
    }
    // Fixes: run 3 restored 30 min later, run 7 three hours later (both before the next regular run).
    const fix3 = run({ createdAt: runs[3]!.createdAt + 30 * MIN });
    const fix7 = run({ createdAt: runs[7]!.createdAt + 3 * HOUR });
    stages.push(stage(fix3.id, 'deploy-staging', 'succeeded', fix3.createdAt), stage(fix3.id, 'smoke', 'succeeded', fix3.createdAt + MIN));
    stages.push(stage(fix7.id, 'deploy-staging', 'succeeded', fix7.createdAt), stage(fix7.id, 'smoke', 'succeeded', fix7.createdAt + MIN));
    const deps = deriveDeployments({ runs: [...runs, fix3, fix7], plans, stages });
    const m = dora(deps, T0, T0 + 7 * DAY);
    expect(m.deploymentFrequency.count).toBe(12);
    expect(m.deploymentFrequency.perDay).toBeCloseTo(12 / 7);
    expect(m.deploymentFrequency.band).toBe('elite');
    expect(m.changeFailureRate.failures).toBe(2);
    expect(m.changeFailureRate.total).toBe(12);
    expect(m.changeFailureRate.value).toBeCloseTo(2 / 12);
    expect(m.changeFailureRate.band).toBe('low');
    expect(m.changeFailureRate.runIds).toEqual([runs[3]!.id, runs[7]!.id]);
    // Median of 30 min and 3 h = 1 h 45 min.
    expect(m.timeToRestore.value).toBe(105 * MIN);
    expect(m.timeToRestore.band).toBe('high');
    // Regular runs: 2 h + 1 min; fixes: 1 min each. Median of 12 values = 2 h 1 min.
    expect(m.leadTime.value).toBe(2 * HOUR + MIN);
    expect(m.leadTime.band).toBe('elite');
    // The window excludes what happened before it.
    expect(dora(deps, T0 + 6 * DAY, T0 + 7 * DAY).deploymentFrequency.count).toBe(0);
  });

  it('no deployments: frequency band low, no lead time, no failure rate', () => {
    const m = dora([], T0, T0 + 30 * DAY);
    expect(m.deploymentFrequency).toMatchObject({ count: 0, band: 'low' });
    expect(m.leadTime.value).toBeNull();
    expect(m.changeFailureRate.value).toBeNull();
    expect(m.timeToRestore.value).toBeNull();
  });
});

describe('calendar days', () => {
  it('a deployment at 23:30 UTC falls on the next day in Berlin and the same day in New York', () => {
    const late = Date.UTC(2026, 10, 3, 23, 30);
    const r = run({ createdAt: late - MIN });
    const deps = deriveDeployments({ runs: [r], plans, stages: [stage(r.id, 'deploy-staging', 'succeeded', late - MIN)] });
    const from = Date.UTC(2026, 10, 2, 12);
    const to = Date.UTC(2026, 10, 6, 12);
    const inUtc = dailySeries(deps, from, to, 'UTC').filter((p) => p.deployments > 0).map((p) => p.day);
    const inBerlin = dailySeries(deps, from, to, 'Europe/Berlin').filter((p) => p.deployments > 0).map((p) => p.day);
    const inNewYork = dailySeries(deps, from, to, 'America/New_York').filter((p) => p.deployments > 0).map((p) => p.day);
    expect(inUtc).toEqual(['2026-11-03']);
    expect(inBerlin).toEqual(['2026-11-04']);
    expect(inNewYork).toEqual(['2026-11-03']);
    // Every day of the window is listed, with zeros.
    expect(dailySeries(deps, from, to, 'UTC').map((p) => p.day)).toEqual(['2026-11-02', '2026-11-03', '2026-11-04', '2026-11-05', '2026-11-06']);
  });

  it('deployments a minute either side of midnight land on their own day, in zones with odd offsets and across clock changes', () => {
    const zones = ['UTC', 'Asia/Kathmandu', 'Australia/Lord_Howe', 'America/St_Johns', 'Europe/London'];
    for (const tz of zones) {
      // 40 days across the end of European and North American summer time (late Oct / early Nov 2026).
      const from = Date.UTC(2026, 9, 1, 7, 13);
      const to = Date.UTC(2026, 10, 10, 7, 13);
      const deps = [];
      // The minute before and after each local midnight, found by asking the time zone directly (every offset in
      // use is a whole number of quarter hours, so midnight falls on a quarter hour in UTC).
      for (let t = Date.UTC(2026, 9, 1, 7, 15); t < to; t += 15 * 60_000) {
        if (dayKey(t, tz) !== dayKey(t - 60_000, tz)) {
          for (const at of [t - 60_000, t]) {
            if (at < from) continue;
            const r = run({ createdAt: at - 1000 });
            deps.push(...deriveDeployments({ runs: [r], plans, stages: [stage(r.id, 'deploy-staging', 'succeeded', at - MIN)] }));
          }
        }
      }
      const series = dailySeries(deps, from, to, tz);
      expect(series.reduce((n, p) => n + p.deployments, 0)).toBe(deps.length);
      for (const p of series) {
        const expected = deps.filter((d) => dayKey(d.at, tz) === p.day);
        expect([p.day, tz, p.deployments]).toEqual([p.day, tz, expected.length]);
        // The day's instants (what its drill-down lists) hold exactly its deployments.
        expect(deps.filter((d) => d.at >= p.start && d.at < p.end).length).toBe(expected.length);
        expect(dayKey(p.start, tz)).toBe(p.day);
        expect(dayKey(p.end - 1, tz)).toBe(p.day);
      }
    }
  });
});

describe('stage durations, gate waits and flaky stages', () => {
  it('median and p90 per stage, slowest first; reused and unfinished stages left out', () => {
    const stages = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((m, i) => stage(`x${i}`, 'build', 'succeeded', T0, m));
    stages.push(stage('y', 'smoke', 'succeeded', T0, 30), stage('z', 'smoke', 'succeeded', T0, 100, { reusedFrom: 'y' }), { ...stage('w', 'smoke', 'running', T0), endedAt: null });
    const d = stageDurations(stages, new Map([['build', 'Build']]));
    expect(d.map((s) => s.nodeId)).toEqual(['smoke', 'build']);
    expect(d[1]).toMatchObject({ name: 'Build', count: 10, medianMs: 5.5 * MIN, p90Ms: 9.1 * MIN, slowestRunId: 'x9' });
    expect(d[0]).toMatchObject({ count: 1, medianMs: 30 * MIN });
  });

  it('gate waits: decided gates only, per gate with its approvers', () => {
    const w = gateWaits(
      [
        { runId: 'a', nodeId: 'gate', status: 'approved', waitingSince: T0, decidedAt: T0 + 10 * MIN },
        { runId: 'b', nodeId: 'gate', status: 'rejected', waitingSince: T0, decidedAt: T0 + 30 * MIN },
        { runId: 'c', nodeId: 'gate', status: 'waiting', waitingSince: T0, decidedAt: null },
        { runId: 'd', nodeId: 'gate', status: 'cancelled', waitingSince: T0, decidedAt: T0 + DAY },
      ],
      new Map([['gate', { name: 'Go to production', approvers: 'group approvers (1 of them)' }]]),
    );
    expect(w).toEqual([
      expect.objectContaining({ nodeId: 'gate', name: 'Go to production', approvers: 'group approvers (1 of them)', decided: 2, waiting: 1, medianMs: 20 * MIN }),
    ]);
  });

  it('flaky: passed on a later attempt, or passed in a re-run of the same plan after failing', () => {
    const a = run({ createdAt: T0 });
    const rerun = run({ createdAt: T0 + HOUR, trigger: 'rerun' });
    const otherPlan = run({ createdAt: T0 + 2 * HOUR, trigger: 'rerun', planHash: 'p2' });
    const stages = [
      stage(a.id, 'build', 'succeeded', T0, 1, { attempt: 2 }),
      stage(a.id, 'smoke', 'failed', T0),
      stage(rerun.id, 'smoke', 'succeeded', T0 + HOUR),
      stage(otherPlan.id, 'smoke', 'succeeded', T0 + 2 * HOUR),
      stage(rerun.id, 'build', 'succeeded', T0, 1, { reusedFrom: a.id }),
    ];
    const f = flakyStages([a, rerun, otherPlan], stages, new Map([[rerun.id, a.id], [otherPlan.id, a.id]]), new Map());
    expect(f.map((s) => [s.nodeId, s.flaky, s.executed])).toEqual([
      ['build', 1, 1],
      ['smoke', 1, 3],
    ]);
  });
});

describe('DORA bands (2023 report thresholds)', () => {
  it.each([
    [2, 'elite'],
    [1, 'elite'],
    [0.5, 'high'],
    [1 / 7, 'high'],
    [0.1, 'medium'],
    [1 / 30, 'medium'],
    [0.01, 'low'],
  ] as const)('deploying %d a day is %s', (perDay, band) => expect(frequencyBand(perDay)).toBe(band));
  it('lead time, change failure rate and time to restore', () => {
    expect([leadTimeBand(23 * HOUR), leadTimeBand(DAY), leadTimeBand(7 * DAY), leadTimeBand(30 * DAY)]).toEqual(['elite', 'high', 'medium', 'low']);
    expect([changeFailureBand(0.05), changeFailureBand(0.1), changeFailureBand(0.15), changeFailureBand(0.16)]).toEqual(['elite', 'high', 'medium', 'low']);
    expect([restoreBand(59 * MIN), restoreBand(HOUR), restoreBand(DAY), restoreBand(7 * DAY)]).toEqual(['elite', 'high', 'medium', 'low']);
  });
});
