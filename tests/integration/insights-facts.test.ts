/**
 * Delivery facts kept on write: a real run (real Temporal, worker and runner) leaves its deployments and stage
 * results in the facts tables through the control plane, without anyone reading the metrics; rehearsals and
 * deleted pipelines count nowhere; runs recorded before migration 0013_insights_facts are back-filled at the first
 * read; a run written to again is derived again.
 */
import { createClient } from '@libsql/client';
import { and, eq } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/libsql';
import { migrate as drizzleMigrate } from 'drizzle-orm/libsql/migrator';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getDb } from '../../db/client';
import { migrate } from '../../db/migrate';
import { insightDeployments, insightRunFacts, insightStages, pipelines, pipelineVersions, runs, stageRuns } from '../../db/schema';
import { releaseTrainPipeline } from '../../db/seed';
import { getInsights } from '../../server/services/insights';
import { compileValidSpec, validatePipeline } from '../../workflows/model';
import { migrationsUpTo } from '../fixtures/schema-fixtures';
import { cmd, spec, startHarness, type Harness } from './harness';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
  await h.as(h.users.admin).environments.create({ name: 'qa', displayName: 'QA' });
}, 180_000);
afterAll(async () => {
  await h?.close();
});

/** Waits until the control plane has derived the run's facts for its newest state (no metrics read meanwhile). */
async function factsOf(runId: string) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const f = await h.db.select().from(insightRunFacts).where(eq(insightRunFacts.runId, runId)).get();
    if (f && f.derivedAt === f.changes) break;
    if (Date.now() > deadline) throw new Error(`the facts of run ${runId} were not derived: ${JSON.stringify(f)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    deployments: await h.db.select().from(insightDeployments).where(eq(insightDeployments.runId, runId)),
    stages: await h.db.select().from(insightStages).where(eq(insightStages.runId, runId)),
  };
}

const deployQa = spec(
  'Deploy to QA',
  [cmd('build', 'echo built'), cmd('deploy', 'echo deployed', { environment: 'qa' }), cmd('smoke', 'echo "health: 503"; exit 1', { environment: 'qa' })],
  [
    ['build', 'deploy'],
    ['deploy', 'smoke'],
  ],
);

describe('facts kept on write', () => {
  it('a finished run has its deployment (live, then failed by its smoke test) and its stage durations, derived by the control plane', async () => {
    const pipelineId = await h.createPipeline(deployQa);
    const { id } = await h.as(h.users.author).runs.start({ pipelineId });
    const run = await h.waitForEnd(id);
    expect(run.status).toBe('failed');
    const { deployments, stages } = await factsOf(id);
    expect(deployments).toEqual([
      expect.objectContaining({ kind: 'deploy', environment: 'qa', pipelineId, ok: true, failure: 'smoke failed after the deployment', failedStage: 'smoke' }),
    ]);
    const deploy = h.stageOf(run, 'deploy');
    expect(deployments[0]!.at).toBe(new Date(deploy.endedAt!).getTime());
    expect(stages.map((s) => s.nodeId).sort()).toEqual(['build', 'deploy', 'smoke']);
    expect(stages.every((s) => s.durationMs !== null && s.durationMs >= 0 && !s.flaky)).toBe(true);

    // The metrics read those facts: one deployment into QA, a change failure, not restored.
    const m = await getInsights(h.db, { pipelineId, days: 7 });
    expect(m.current.deploymentFrequency.count).toBe(1);
    expect(m.current.changeFailureRate).toMatchObject({ failures: 1, total: 1 });
    expect(m.current.timeToRestore.unrestored).toBe(1);
    expect(m.deployments[0]).toMatchObject({ runId: id, environment: 'qa', failedStage: 'smoke' });
  });

  it('a rehearsal leaves no facts; a deleted pipeline keeps its facts but counts nowhere', async () => {
    const pipelineId = await h.createPipeline({ ...deployQa, name: 'Rehearsed' });
    const { id } = await h.as(h.users.author).runs.start({ pipelineId, rehearsal: true });
    await h.waitForEnd(id);
    expect(await factsOf(id)).toEqual({ deployments: [], stages: [] });

    const goneId = await h.createPipeline({ ...deployQa, name: 'Soon gone' });
    const real = await h.as(h.users.author).runs.start({ pipelineId: goneId });
    await h.waitForEnd(real.id);
    expect((await factsOf(real.id)).deployments).toHaveLength(1);
    const before = await getInsights(h.db, { days: 7 });
    expect(before.deployments.some((d) => d.runId === real.id)).toBe(true);
    await h.as(h.users.author).pipelines.delete({ id: goneId });
    const after = await getInsights(h.db, { days: 7 });
    expect(after.deployments.some((d) => d.runId === real.id || d.runId === id)).toBe(false);
    expect(after.current.deploymentFrequency.count).toBe(before.current.deploymentFrequency.count - 1);
    expect(after.stageDurations.find((s) => s.nodeId === 'smoke')!.count).toBe(before.stageDurations.find((s) => s.nodeId === 'smoke')!.count - 1);
  });

  it('a stage result written again (here by hand, as any writer might) makes the run derived again before the next read', async () => {
    const pipelineId = await h.createPipeline({ ...deployQa, name: 'Fixed by hand' });
    const { id } = await h.as(h.users.author).runs.start({ pipelineId });
    await h.waitForEnd(id);
    expect((await factsOf(id)).deployments[0]!.failure).toBe('smoke failed after the deployment');
    await h.db.update(stageRuns).set({ status: 'succeeded' }).where(and(eq(stageRuns.runId, id), eq(stageRuns.nodeId, 'smoke')));
    const behind = await h.db.select().from(insightRunFacts).where(eq(insightRunFacts.runId, id)).get();
    expect(behind!.derivedAt).toBeLessThan(behind!.changes);
    const m = await getInsights(h.db, { pipelineId, days: 7 });
    expect(m.current.changeFailureRate).toMatchObject({ failures: 0, total: 1 });
    expect((await factsOf(id)).deployments[0]!.failure).toBeNull();
  });
});

describe('back-fill', () => {
  it('runs recorded before the facts existed are derived once, at the first read, and counted like new ones', async () => {
    // A database as the release before this one left it (migrations up to 0012), holding the Release train's runs.
    const file = join(mkdtempSync(join(tmpdir(), 'pipewright-facts-')), 'app.db');
    const client = createClient({ url: `file:${file}` });
    await drizzleMigrate(drizzle(client), { migrationsFolder: migrationsUpTo('0012_insights_indexes') });
    const old = drizzle(client);
    const { spec: trainSpec } = validatePipeline(releaseTrainPipeline());
    const plan = compileValidSpec(trainSpec!);
    const now = Date.now();
    const MIN = 60_000;
    await old.insert(pipelines).values({ id: 'train', name: 'Release train' });
    await old.insert(pipelineVersions).values({ pipelineId: 'train', version: 1, spec: trainSpec!, valid: true });
    const ids: string[] = [];
    for (const [i, smoke] of (['succeeded', 'failed', 'succeeded'] as const).entries()) {
      const id = randomUUID();
      ids.push(id);
      const t = now - (3 - i) * 60 * MIN;
      await old.insert(runs).values({ id, pipelineId: 'train', pipelineVersion: 1, number: i + 1, plan, planHash: plan.hash, params: {}, status: smoke, triggeredBy: 'someone', workflowId: `wf-${id}`, createdAt: new Date(t - MIN) });
      await old.insert(stageRuns).values(
        (['build', 'deploy-staging', 'smoke'] as const).map((nodeId, k) => ({
          runId: id,
          nodeId,
          status: nodeId === 'smoke' ? smoke : ('succeeded' as const),
          attempt: 1,
          startedAt: new Date(t + k * 2 * MIN),
          endedAt: new Date(t + k * 2 * MIN + MIN),
        })),
      );
    }
    client.close();

    await migrate(`file:${file}`);
    const db = await getDb(`file:${file}`);
    // The migration writes nothing: the old runs have no facts until the metrics are first read.
    expect(await db.select().from(insightRunFacts)).toEqual([]);
    expect(await db.select().from(insightDeployments)).toEqual([]);

    const m = await getInsights(db, { pipelineId: 'train', days: 7 });
    expect(m.current.deploymentFrequency.count).toBe(3);
    expect(m.current.changeFailureRate).toMatchObject({ failures: 1, total: 3 });
    expect(m.current.timeToRestore.value).toBe(60 * MIN); // #2's staging deployment → #3's, an hour later
    expect(m.deployments.find((d) => d.failure)).toMatchObject({ number: 2, environment: 'staging', failedStage: 'smoke', restoredByRunNumber: 3 });
    expect(m.stageDurations.find((s) => s.nodeId === 'smoke')).toMatchObject({ count: 3, medianMs: MIN });
    const facts = await db.select().from(insightRunFacts);
    expect(facts.map((f) => f.runId).sort()).toEqual([...ids].sort());
    expect(facts.every((f) => f.derivedAt === f.changes)).toBe(true);
    expect(await db.select().from(insightDeployments)).toHaveLength(3);
  });
});
