/**
 * Promotion board derivation and eligibility (pure): cell states from a
 * build's own run and its promotion runs, what a build lacks to be promoted,
 * what is live where and what it was before, and which stages a promotion
 * reuses, runs and leaves out.
 */
import { describe, expect, it } from 'vitest';
import {
  buildStagesOf,
  deriveBoard,
  promotionPlan,
  type BoardPlan,
  type BoardPromotion,
  type BoardRun,
  type BoardStage,
} from '@/server/services/promotion-board';

const envs = [
  { name: 'dev', displayName: 'Dev', position: 0, requireGate: false, promoteRoles: ['author', 'admin'] },
  { name: 'staging', displayName: 'Staging', position: 1, requireGate: false, promoteRoles: ['author', 'admin'] },
  { name: 'production', displayName: 'Production', position: 2, requireGate: true, promoteRoles: ['approver', 'admin'] },
];
const order = new Map(envs.map((e) => [e.name, e.position]));

/** build → unit → deploy-dev → gate-staging → deploy-staging → gate-prod → deploy-prod, plus an unbound notify after prod. */
const plan: BoardPlan = {
  nodes: [
    { id: 'build', name: 'Build', runtime: 'activity', needs: [] },
    { id: 'unit', name: 'Unit tests', runtime: 'activity', needs: [{ from: 'build' }] },
    { id: 'deploy-dev', name: 'Deploy dev', runtime: 'activity', environment: 'dev', needs: [{ from: 'unit' }] },
    { id: 'gate-staging', name: 'Gate', runtime: 'gate', environment: 'staging', needs: [{ from: 'deploy-dev' }] },
    { id: 'deploy-staging', name: 'Deploy staging', runtime: 'activity', environment: 'staging', needs: [{ from: 'gate-staging' }] },
    { id: 'gate-prod', name: 'Gate', runtime: 'gate', environment: 'production', needs: [{ from: 'deploy-staging' }] },
    { id: 'deploy-prod', name: 'Deploy prod', runtime: 'activity', environment: 'production', needs: [{ from: 'gate-prod' }] },
    { id: 'notify', name: 'Notify', runtime: 'activity', needs: [{ from: 'deploy-prod' }] },
  ],
};

let clock = 1_000;
function run(number: number, status: string, stages: Record<string, string>, trigger = 'manual'): { run: BoardRun; stages: BoardStage[] } {
  const id = `r${number}`;
  clock += 1000;
  return {
    run: { id, number, status, trigger, planHash: 'h', pipelineVersion: 1, params: { version: `1.0.${number}` }, createdAt: clock, triggeredByName: 'ada' },
    stages: Object.entries(stages).map(([nodeId, s], i) => ({ runId: id, nodeId, status: s, endedAt: s === 'succeeded' || s === 'failed' ? clock + i : null, outputs: null })),
  };
}

function board(items: { run: BoardRun; stages: BoardStage[] }[], promotions: BoardPromotion[] = []) {
  return deriveBoard({
    environments: envs,
    plans: new Map([['h', plan]]),
    columns: ['production', 'dev', 'staging'],
    runs: items.map((i) => i.run),
    stages: items.flatMap((i) => i.stages),
    promotions,
  });
}

const passedToDev = { build: 'succeeded', unit: 'succeeded', 'deploy-dev': 'succeeded', 'gate-staging': 'waiting', 'deploy-staging': 'pending', 'gate-prod': 'pending', 'deploy-prod': 'pending' };

describe('deriveBoard', () => {
  it('a build whose run left production out (the author may not deploy there) passed staging and is promotable to production', () => {
    const authorsRun = run(1, 'succeeded', {
      build: 'succeeded',
      unit: 'succeeded',
      'deploy-dev': 'succeeded',
      'gate-staging': 'succeeded',
      'deploy-staging': 'succeeded',
      'gate-prod': 'skipped',
      'deploy-prod': 'skipped',
      notify: 'skipped',
    });
    const build = board([authorsRun]).builds[0]!;
    expect(build.cells.staging).toMatchObject({ status: 'passed', runNumber: 1 });
    expect(build.cells.production).toMatchObject({ status: 'none', detail: 'not deployed yet' });
    expect(build.missing.production).toEqual([]);
  });

  it('orders columns by the promotion path and derives each cell from the build’s own run', () => {
    const b = board([run(1, 'running', passedToDev)]);
    expect(b.environments.map((e) => e.name)).toEqual(['dev', 'staging', 'production']);
    const build = b.builds[0]!;
    expect(build.version).toBe('1.0.1');
    expect(build.buildStages.map((s) => s.id)).toEqual(['build', 'unit']);
    expect(build.cells.dev).toMatchObject({ status: 'passed', runNumber: 1 });
    expect(build.cells.staging).toMatchObject({ status: 'waiting', detail: 'waiting at gate-staging in run #1' });
    expect(build.cells.production).toMatchObject({ status: 'none', detail: 'not deployed yet' });
    // Its own run is still on its way: no promotion anywhere until it has finished.
    const onItsWay = 'run #1 is still waiting at Gate: promote the build once that run has finished, or cancel it';
    expect(build.missing).toEqual({ dev: [onItsWay], staging: [onItsWay], production: [onItsWay, 'not passed: staging (waiting at gate-staging in run #1)'] });
    expect(b.environments[0]!.live).toMatchObject({ runId: 'r1', number: 1 });
  });

  it('lists everything a build lacks', () => {
    const failedBuild = run(2, 'failed', { build: 'succeeded', unit: 'failed', 'deploy-dev': 'skipped' });
    const failedStaging = run(3, 'failed', { build: 'succeeded', unit: 'succeeded', 'deploy-dev': 'succeeded', 'gate-staging': 'succeeded', 'deploy-staging': 'failed' });
    const b = board([failedBuild, failedStaging]);
    const two = b.builds.find((x) => x.number === 2)!;
    expect(two.buildOk).toBe(false);
    expect(two.missing.production).toEqual([
      'build: Unit tests failed in run #2',
      'not passed: dev (not deployed yet)',
      'not passed: staging (not deployed yet)',
    ]);
    const three = b.builds.find((x) => x.number === 3)!;
    expect(three.cells.staging).toMatchObject({ status: 'failed', detail: 'deploy-staging failed in run #3' });
    expect(three.missing.production).toEqual(['not passed: staging (deploy-staging failed in run #3)']);
    expect(three.missing.staging).toEqual([]);
  });

  it('takes a promotion run into an environment over the build’s own run, and leaves promotion runs out of the builds', () => {
    const b1 = run(1, 'cancelled', { ...passedToDev, 'gate-staging': 'cancelled', 'deploy-staging': 'cancelled' });
    const p2 = run(2, 'running', { build: 'succeeded', unit: 'succeeded', 'deploy-dev': 'succeeded', 'gate-staging': 'succeeded', 'deploy-staging': 'running' }, 'promotion');
    const promos: BoardPromotion[] = [{ runId: 'r2', buildRunId: 'r1', environment: 'staging', promotedByName: 'ada', createdAt: clock, rollback: false }];
    let b = board([b1, p2], promos);
    expect(b.builds.map((x) => x.number)).toEqual([1]);
    expect(b.builds[0]!.cells.staging).toMatchObject({ status: 'running', runNumber: 2 });
    // Reused dev stages in the promotion run do not count for dev: dev comes from the build's own run.
    expect(b.builds[0]!.cells.dev).toMatchObject({ status: 'passed', runNumber: 1 });
    expect(b.history).toEqual([expect.objectContaining({ buildNumber: 1, runNumber: 2, runStatus: 'running', environment: 'staging' })]);

    p2.run.status = 'succeeded';
    p2.stages.find((s) => s.nodeId === 'deploy-staging')!.status = 'succeeded';
    p2.stages.find((s) => s.nodeId === 'deploy-staging')!.endedAt = clock + 50;
    b = board([b1, p2], promos);
    expect(b.builds[0]!.cells.staging).toMatchObject({ status: 'passed', runNumber: 2 });
    expect(b.builds[0]!.missing.production).toEqual([]);
    expect(b.environments[1]!.live).toMatchObject({ runId: 'r1', number: 1 });
  });

  it('live now is the build whose stages for the environment succeeded last; previous is the one before', () => {
    const all = { build: 'succeeded', unit: 'succeeded', 'deploy-dev': 'succeeded' };
    const b1 = run(1, 'succeeded', all);
    const b2 = run(2, 'succeeded', all);
    let b = board([b1, b2]);
    expect(b.environments[0]!.live?.number).toBe(2);
    expect(b.environments[0]!.previous?.number).toBe(1);
    // Rolling back: #1 deployed to dev again, later than #2.
    clock += 10_000;
    const p3 = run(3, 'succeeded', all, 'promotion');
    b = board([b1, b2, p3], [{ runId: 'r3', buildRunId: 'r1', environment: 'dev', promotedByName: 'ada', createdAt: clock, rollback: true }]);
    expect(b.environments[0]!.live?.number).toBe(1);
    expect(b.environments[0]!.previous?.number).toBe(2);
  });

  it('build stages are the unbound stages before any environment', () => {
    expect(buildStagesOf(plan).map((n) => n.id)).toEqual(['build', 'unit']);
  });
});

describe('promotionPlan', () => {
  it('into staging: reuses the build and dev, runs staging, leaves production (and what follows it) out', () => {
    const ok = new Set(['build', 'unit', 'deploy-dev']);
    expect(promotionPlan(plan, 'staging', order, (id) => ok.has(id))).toEqual({
      run: ['gate-staging', 'deploy-staging'],
      reuse: ['build', 'unit', 'deploy-dev'],
      omit: ['gate-prod', 'deploy-prod', 'notify'],
    });
  });

  it('into production: runs its gate, deploy and the unbound stage after it', () => {
    const ok = new Set(['build', 'unit', 'deploy-dev', 'gate-staging', 'deploy-staging']);
    expect(promotionPlan(plan, 'production', order, (id) => ok.has(id))).toEqual({
      run: ['gate-prod', 'deploy-prod', 'notify'],
      reuse: ['build', 'unit', 'deploy-dev', 'gate-staging', 'deploy-staging'],
      omit: [],
    });
  });

  it('leaves out earlier stages that did not succeed in the source run (nothing is reused that failed)', () => {
    const ok = new Set(['build', 'unit']);
    expect(promotionPlan(plan, 'dev', order, (id) => ok.has(id)).omit).toEqual(['gate-staging', 'deploy-staging', 'gate-prod', 'deploy-prod', 'notify']);
  });
});

describe('a build whose own run is still on its way', () => {
  // The staging gate is drawn unbound, in front of the staging deploy.
  const unboundGate: BoardPlan = {
    nodes: [
      { id: 'build', name: 'Build', runtime: 'activity', needs: [] },
      { id: 'deploy-dev', name: 'Deploy dev', runtime: 'activity', environment: 'dev', needs: [{ from: 'build' }] },
      { id: 'approve-staging', name: 'Approve staging', runtime: 'gate', needs: [{ from: 'deploy-dev' }] },
      { id: 'deploy-staging', name: 'Deploy staging', runtime: 'activity', environment: 'staging', needs: [{ from: 'approve-staging' }] },
      { id: 'deploy-prod', name: 'Deploy prod', runtime: 'activity', environment: 'production', needs: [{ from: 'deploy-staging' }] },
    ],
  };

  it('shows it waiting at the gate in front of staging, with its run, and cannot be promoted anywhere meanwhile', () => {
    const own = run(41, 'running', { build: 'succeeded', 'deploy-dev': 'succeeded', 'approve-staging': 'waiting', 'deploy-staging': 'pending', 'deploy-prod': 'pending' });
    const b = deriveBoard({
      environments: envs,
      plans: new Map([['h', unboundGate]]),
      columns: ['dev', 'staging', 'production'],
      runs: [own.run],
      stages: own.stages,
      promotions: [],
    }).builds[0]!;
    expect(b.cells.staging).toMatchObject({ status: 'waiting', runId: 'r41', runNumber: 41, detail: 'waiting at Approve staging in run #41' });
    expect(b.cells.dev!.status).toBe('passed');
    expect(b.missing.staging).toEqual(['run #41 is still waiting at Approve staging: promote the build once that run has finished, or cancel it']);
    expect(b.cells.production).toMatchObject({ status: 'none' });
    expect(b.missing.production).toContain('run #41 is still waiting at Approve staging: promote the build once that run has finished, or cancel it');
  });
});
