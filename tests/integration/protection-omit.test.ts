/**
 * "Build once, promote the same build" under protected environments, on a
 * real Temporal server, a real worker and a real SQLite database: an author
 * (or her trigger) starting a release pipeline builds and deploys to staging;
 * production's gate and deploy are left out with the reason (the run
 * succeeds, the start says what was left out, the audit log records it); an
 * approver promotes that very build to production, where it runs behind the
 * gate and reuses the build; an admin's start runs everything; a start that
 * would leave nothing to run is refused as before.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, runs } from '../../db/schema';
import { cmd, gate, spec, startHarness, type Harness } from './harness';

const REASON = 'not run: deploying to production needs the role approver or admin — promote this build from the promotion board';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
  const admin = h.as(h.users.admin);
  await admin.environments.create({ name: 'staging', displayName: 'Staging', promoteRoles: ['author', 'approver', 'admin'] });
  await admin.environments.create({ name: 'production', displayName: 'Production', promoteRoles: ['approver', 'admin'], requireGate: true });
});
afterAll(async () => {
  await h?.close();
});

const lines = (file: string) => readFileSync(file, 'utf8').trim().split('\n').length;

/** build → deploy-staging (staging) → gate-prod (production) → deploy-prod (production). */
function releaseSpec(name: string, dir: string) {
  return spec(
    name,
    [
      cmd('build', `echo x >> ${dir}/build.count; echo "version=2.0.$(wc -l < ${dir}/build.count | tr -d ' ')" >> "$PIPEWRIGHT_OUTPUT"`),
      cmd('deploy-staging', `echo "\${{ stages.build.outputs.version }}" >> ${dir}/staging.txt`, { environment: 'staging' }),
      { ...gate('gate-prod', { users: ['alan', 'grace'], groups: [] }), environment: 'production' },
      cmd('deploy-prod', `echo "\${{ stages.build.outputs.version }}" >> ${dir}/production.txt`, { environment: 'production' }),
    ],
    [
      ['build', 'deploy-staging'],
      ['deploy-staging', 'gate-prod'],
      ['gate-prod', 'deploy-prod'],
    ],
    { settings: { concurrency: 5, defaultRetry: {}, stageTimeoutSeconds: 120, runTimeoutSeconds: 0 } },
  );
}

async function freshDir(name: string) {
  const dir = join(h.shared, name);
  await import('node:fs').then((fs) => fs.mkdirSync(dir, { recursive: true }));
  return dir;
}

describe('an author’s run leaves production out; an approver promotes the same build', () => {
  it('builds and deploys to staging, skips the production gate and deploy with the reason, and production runs on promotion, reusing the build', async () => {
    const dir = await freshDir('release');
    const pipelineId = await h.createPipeline(releaseSpec('release train', dir));

    const started = await h.as(h.users.author).runs.start({ pipelineId });
    expect(started.leftOut).toEqual({
      environments: [{ name: 'production', displayName: 'Production', allowedRoles: ['approver', 'admin'] }],
      stages: ['gate-prod', 'deploy-prod'],
      reason: REASON,
    });
    const build = await h.waitForEnd(started.id);
    expect(build.status).toBe('succeeded');
    expect(build.stages.map((s) => [s.id, s.status])).toEqual([
      ['build', 'succeeded'],
      ['deploy-staging', 'succeeded'],
      ['gate-prod', 'skipped'],
      ['deploy-prod', 'skipped'],
    ]);
    expect(h.stageOf(build, 'gate-prod').summary).toBe(REASON);
    expect(h.stageOf(build, 'deploy-prod').summary).toBe(REASON);
    expect(readFileSync(join(dir, 'staging.txt'), 'utf8').trim()).toBe('2.0.1');
    const audited = await h.db.select().from(auditLog).where(and(eq(auditLog.action, 'run.start'), eq(auditLog.runId, started.id)));
    expect(audited).toEqual([
      expect.objectContaining({ actorName: 'ada', outcome: 'ok', details: { leftOut: { environments: ['production'], stages: ['gate-prod', 'deploy-prod'], role: 'author' } } }),
    ]);

    // The board: passed staging, not in production yet, and promotable there.
    const entry = (await h.as(h.users.viewer).promotion.board({ pipelineId })).builds.find((b) => b.runId === started.id)!;
    expect(entry.cells.staging!.status).toBe('passed');
    expect(entry.cells.production!.status).toBe('none');
    expect(entry.missing.production).toEqual([]);

    // The author still may not promote into production; grace (an approver) may.
    await expect(h.as(h.users.author).promotion.promote({ pipelineId, buildRunId: started.id, environment: 'production' })).rejects.toMatchObject({
      code: 'FORBIDDEN',
      message: expect.stringContaining('may not promote into Production'),
    });
    const promoted = await h.as(h.users.grace).promotion.promote({ pipelineId, buildRunId: started.id, environment: 'production' });
    const waiting = await h.waitForStage(promoted.id, 'gate-prod', 'waiting');
    expect(h.stageOf(waiting, 'deploy-prod').status).toBe('pending');
    expect(h.stageOf(waiting, 'build')).toMatchObject({ status: 'succeeded', reusedFrom: { id: started.id, number: build.number } });
    await h.as(h.users.alan).approvals.decide({ runId: promoted.id, gateId: 'gate-prod', decision: 'approve' });
    const prod = await h.waitForEnd(promoted.id);
    expect(prod.status).toBe('succeeded');
    expect(h.stageOf(prod, 'deploy-prod').status).toBe('succeeded');
    // The same build: built once, its version deployed to production.
    expect(lines(join(dir, 'build.count'))).toBe(1);
    expect(readFileSync(join(dir, 'production.txt'), 'utf8').trim()).toBe('2.0.1');
    const after = (await h.as(h.users.viewer).promotion.board({ pipelineId })).builds.find((b) => b.runId === started.id)!;
    expect(after.cells.production!.status).toBe('passed');
  }, 120_000);

  it('an admin’s start runs everything, production behind its gate', async () => {
    const dir = await freshDir('admin');
    const pipelineId = await h.createPipeline(releaseSpec('release by admin', dir));
    const started = await h.as(h.users.admin).runs.start({ pipelineId });
    expect(started.leftOut).toBeNull();
    await h.waitForStage(started.id, 'gate-prod', 'waiting');
    await h.as(h.users.alan).approvals.decide({ runId: started.id, gateId: 'gate-prod', decision: 'approve' });
    const ended = await h.waitForEnd(started.id);
    expect(ended.stages.map((s) => [s.id, s.status])).toEqual([
      ['build', 'succeeded'],
      ['deploy-staging', 'succeeded'],
      ['gate-prod', 'succeeded'],
      ['deploy-prod', 'succeeded'],
    ]);
    expect(readFileSync(join(dir, 'production.txt'), 'utf8').trim()).toBe('2.0.1');
  }, 120_000);

  it('re-running an author’s build leaves production out again; a start with nothing left to run is refused (403, audited)', async () => {
    const dir = await freshDir('rerun');
    const pipelineId = await h.createPipeline(releaseSpec('release rerun', dir));
    const first = await h.as(h.users.author).runs.start({ pipelineId });
    await h.waitForEnd(first.id);
    const again = await h.as(h.users.author).runs.rerun({ runId: first.id });
    expect(again.leftOut?.stages).toEqual(['gate-prod', 'deploy-prod']);
    const ended = await h.waitForEnd(again.id);
    expect(ended.status).toBe('succeeded');
    expect(h.stageOf(ended, 'deploy-prod')).toMatchObject({ status: 'skipped', summary: REASON });

    const prodOnly = await h.createPipeline(
      spec('production only', [{ ...gate('gate-prod', { users: ['alan'], groups: [] }), environment: 'production' }, cmd('deploy-prod', 'echo deployed', { environment: 'production' })], [['gate-prod', 'deploy-prod']]),
    );
    await expect(h.as(h.users.author).runs.start({ pipelineId: prodOnly })).rejects.toMatchObject({
      code: 'FORBIDDEN',
      message: 'Your role (author) may not run stages in Production (allowed: approver, admin).',
    });
    expect(await h.db.select().from(runs).where(eq(runs.pipelineId, prodOnly))).toEqual([]);
    const refused = await h.db.select().from(auditLog).where(and(eq(auditLog.action, 'run.start'), eq(auditLog.outcome, 'refused'), eq(auditLog.pipelineId, prodOnly)));
    expect(refused).toEqual([expect.objectContaining({ actorName: 'ada', reason: expect.stringContaining('may not run stages in Production') })]);
  }, 120_000);
});
