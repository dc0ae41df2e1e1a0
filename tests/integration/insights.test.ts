/**
 * Delivery insight through the API on a real SQLite file: a constructed history of the seeded "Release train"
 * (rows as the worker writes them) gives known metrics; rehearsals and deleted pipelines are left out; the
 * release plan has the environments, gate approvers and rollback path; written sections are versioned and
 * audited; viewers read, authors edit; the issue log takes causes and fixes and is searchable.
 */
import { and, eq } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GET as doraGET } from '../../app/api/dora/[id]/route';
import { auditLog, environments, logChunks, runs, stageRuns } from '../../db/schema';
import { releaseTrainPipeline } from '../../db/seed';
import { compileValidSpec, validatePipeline } from '../../workflows/model';
import { startHarness, type Harness } from './harness';

let h: Harness;
let pipelineId: string;
let otherId: string;
const MIN = 60_000;
const NOW = Date.now();
const T = NOW - 3 * 24 * 3_600_000;

async function insertRun(pid: string, number: number, stages: [string, 'succeeded' | 'failed', number][], over: { rehearsal?: boolean } = {}) {
  const { spec } = validatePipeline(releaseTrainPipeline());
  const plan = compileValidSpec(spec!);
  const id = randomUUID();
  const created = stages[0]![2] - MIN;
  await h.db.insert(runs).values({
    id,
    pipelineId: pid,
    pipelineVersion: 1,
    number,
    plan,
    planHash: plan.hash,
    params: {},
    status: stages.some((s) => s[1] === 'failed') ? 'failed' : 'succeeded',
    triggeredBy: h.users.author.id,
    workflowId: `wf-${id}`,
    rehearsal: over.rehearsal ?? false,
    createdAt: new Date(created),
    startedAt: new Date(created),
    endedAt: new Date(stages.at(-1)![2] + MIN),
  });
  for (const [nodeId, status, at] of stages) {
    await h.db.insert(stageRuns).values({ runId: id, nodeId, status, attempt: 1, startedAt: new Date(at), endedAt: new Date(at + MIN), error: status === 'failed' ? 'exit code 1' : null });
  }
  return id;
}

beforeAll(async () => {
  h = await startHarness({ worker: false });
  for (const [i, name] of ['dev', 'staging', 'production'].entries()) {
    await h.db
      .insert(environments)
      .values({ id: name, name, displayName: name[0]!.toUpperCase() + name.slice(1), position: i, variables: {}, secrets: {}, promoteRoles: ['author', 'admin'], requireGate: name === 'production' })
      .onConflictDoNothing();
  }
  pipelineId = (await h.as(h.users.author).pipelines.create({ name: 'Release train', spec: releaseTrainPipeline() })).id;
  otherId = (await h.as(h.users.author).pipelines.create({ name: 'Gone', spec: releaseTrainPipeline() })).id;
}, 180_000);
afterAll(async () => {
  await h?.close();
});

let failedRun: string;

describe('metrics from real rows', () => {
  it('counts deployments, change failures and restores; leaves out rehearsals and deleted pipelines', async () => {
    // #1: build, dev, staging, smoke passes. #2: staging deployed, smoke fails (change failure). #3: fixes staging 2 h later.
    await insertRun(pipelineId, 1, [['build', 'succeeded', T], ['deploy-dev', 'succeeded', T + 2 * MIN], ['deploy-staging', 'succeeded', T + 10 * MIN], ['smoke', 'succeeded', T + 12 * MIN]]);
    failedRun = await insertRun(pipelineId, 2, [['build', 'succeeded', T + 60 * MIN], ['deploy-staging', 'succeeded', T + 62 * MIN], ['smoke', 'failed', T + 64 * MIN]]);
    await h.db.insert(logChunks).values({ runId: failedRun, nodeId: 'smoke', attempt: 1, stream: 'stdout', offset: 0, text: 'GET /health\n503 Service Unavailable: database pool exhausted\n' });
    await insertRun(pipelineId, 3, [['build', 'succeeded', T + 180 * MIN], ['deploy-staging', 'succeeded', T + 182 * MIN], ['smoke', 'succeeded', T + 184 * MIN]]);
    // A rehearsal that "deploys" and fails, and a deleted pipeline's deployments: neither counts.
    await insertRun(pipelineId, 4, [['deploy-dev', 'failed', T + 200 * MIN]], { rehearsal: true });
    await insertRun(otherId, 1, [['deploy-dev', 'succeeded', T + 5 * MIN], ['deploy-staging', 'failed', T + 6 * MIN]]);
    await h.as(h.users.author).pipelines.delete({ id: otherId });

    const m = await h.as(h.users.viewer).insights.metrics({ days: 7 });
    expect(m.current.deploymentFrequency.count).toBe(4); // dev #1, staging #1, #2, #3
    expect(m.current.changeFailureRate).toMatchObject({ failures: 1, total: 4 });
    expect(m.current.timeToRestore.value).toBe(120 * MIN); // staging #2 at T+63 → #3 live at T+183
    expect(m.deployments.every((d) => d.pipelineId === pipelineId)).toBe(true);
    expect(m.deployments.find((d) => d.failure)).toMatchObject({ number: 2, environment: 'staging', failedStage: 'smoke', restoredByRunNumber: 3 });

    const staging = await h.as(h.users.viewer).insights.metrics({ days: 7, pipelineId, environment: 'staging' });
    expect(staging.current.deploymentFrequency.count).toBe(3);
    expect(staging.stageDurations.map((s) => s.nodeId).sort()).toEqual(['deploy-staging', 'smoke']);

    await expect(h.as(h.users.viewer).insights.metrics({ days: 7, pipelineId: otherId })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(h.as(null).insights.metrics({ days: 7 })).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  });

  it('the same question asked again right after new runs, a finished stage or a deleted pipeline sees them (nothing stale is kept)', async () => {
    const ask = () => h.as(h.users.viewer).insights.metrics({ days: 7, pipelineId, environment: 'dev' });
    const before = await ask();
    expect((await ask()).current.deploymentFrequency.count).toBe(before.current.deploymentFrequency.count);
    // A new deployment into dev (same minute, same question).
    const later = await insertRun(pipelineId, 5, [['build', 'succeeded', T + 300 * MIN], ['deploy-dev', 'succeeded', T + 302 * MIN]]);
    const after = await ask();
    expect(after.current.deploymentFrequency.count).toBe(before.current.deploymentFrequency.count + 1);
    // The same deployment's stage turns out failed (a row updated in place, counts unchanged).
    await h.db.update(stageRuns).set({ status: 'failed' }).where(and(eq(stageRuns.runId, later), eq(stageRuns.nodeId, 'deploy-dev')));
    const failed = await ask();
    expect(failed.current.deploymentFrequency.count).toBe(before.current.deploymentFrequency.count);
    expect(failed.current.changeFailureRate.failures).toBe(after.current.changeFailureRate.failures + 1);
    // Runs of a pipeline deleted since are left out at once.
    await h.db.update(stageRuns).set({ status: 'succeeded' }).where(and(eq(stageRuns.runId, later), eq(stageRuns.nodeId, 'deploy-dev')));
    const all = await h.as(h.users.viewer).insights.metrics({ days: 7 });
    const scratch = (await h.as(h.users.author).pipelines.create({ name: 'Scratch', spec: releaseTrainPipeline() })).id;
    await insertRun(scratch, 1, [['deploy-dev', 'succeeded', T + 400 * MIN]]);
    expect((await h.as(h.users.viewer).insights.metrics({ days: 7 })).current.deploymentFrequency.count).toBe(all.current.deploymentFrequency.count + 1);
    await h.as(h.users.author).pipelines.delete({ id: scratch });
    expect((await h.as(h.users.viewer).insights.metrics({ days: 7 })).current.deploymentFrequency.count).toBe(all.current.deploymentFrequency.count);
    // Run #5 removed again (the tests below count on the history above): the numbers are back where they were.
    await h.db.delete(stageRuns).where(eq(stageRuns.runId, later));
    await h.db.delete(runs).where(eq(runs.id, later));
    expect((await ask()).current.deploymentFrequency.count).toBe(before.current.deploymentFrequency.count);
  });
});

describe('release plan', () => {
  it('has the environments, the gate approvers and the rollback path of the Release train', async () => {
    const plan = await h.as(h.users.viewer).insights.releasePlan({ pipelineId });
    expect(plan.markdown).toContain('Dev → Staging → Production');
    expect(plan.markdown).toContain('| Go to production | production | group approvers | 1 | never (protected environment) |');
    expect(plan.markdown).toContain('**Roll back to #N** promotes the build that was live before');
  });

  it('viewers cannot write (refusal audited); authors write a versioned, audited section', async () => {
    await expect(h.as(h.users.viewer).insights.saveSection({ pipelineId, section: 'monitoring', body: 'nope' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    const refused = await h.db.select().from(auditLog).where(and(eq(auditLog.action, 'insights.saveSection'), eq(auditLog.outcome, 'refused'))).all();
    expect(refused).toHaveLength(1);

    await h.as(h.users.author).insights.saveSection({ pipelineId, section: 'monitoring', body: 'Watch the error-rate dashboard.' });
    // A new pipeline version, then a new text: version 1 keeps the old one.
    const { version: first } = await h.as(h.users.author).pipelines.get({ id: pipelineId });
    await h.as(h.users.author).pipelines.save({ id: pipelineId, baseVersion: 1, spec: { ...first.spec, description: 'v2' }, message: 'v2' });
    await h.as(h.users.author).insights.saveSection({ pipelineId, section: 'monitoring', body: 'Watch the v2 dashboard.' });
    const v1 = await h.as(h.users.viewer).insights.releasePlan({ pipelineId, version: 1 });
    const v2 = await h.as(h.users.viewer).insights.releasePlan({ pipelineId });
    expect(v1.written.find((w) => w.key === 'monitoring')).toMatchObject({ body: 'Watch the error-rate dashboard.', version: 1 });
    expect(v2.written.find((w) => w.key === 'monitoring')).toMatchObject({ body: 'Watch the v2 dashboard.', version: 2, updatedByName: expect.any(String) });
    const audited = await h.db.select().from(auditLog).where(and(eq(auditLog.action, 'release-plan.section'), eq(auditLog.outcome, 'ok'))).all();
    expect(audited.map((a) => (a.details as { version: number }).version)).toEqual([1, 2]);
    await expect(h.as(h.users.author).insights.saveSection({ pipelineId, section: 'made-up', body: 'x' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('a derived section reviewed, then changed, is flagged', async () => {
    await h.as(h.users.author).insights.markReviewed({ pipelineId, section: 'gates' });
    expect((await h.as(h.users.viewer).insights.releasePlan({ pipelineId })).derived.find((s) => s.key === 'gates')).toMatchObject({ stale: false, reviewedByName: expect.any(String) });
    const { version } = await h.as(h.users.author).pipelines.get({ id: pipelineId });
    const changed = { ...version.spec, nodes: version.spec.nodes.map((n) => (n.id === 'gate-production' ? { ...n, config: { ...n.config, groups: ['release-managers'] } } : n)) };
    await h.as(h.users.author).pipelines.save({ id: pipelineId, baseVersion: version.version, spec: changed, message: 'new approvers' });
    const after = await h.as(h.users.viewer).insights.releasePlan({ pipelineId });
    expect(after.derived.filter((s) => s.stale).map((s) => s.key)).toEqual(['gates']);
    expect(after.markdown).toContain('Changed since last reviewed');
  });

  it('the issue log shows the failed deployment with its error and log, takes a cause and fix, and is searchable', async () => {
    const plan = await h.as(h.users.viewer).insights.releasePlan({ pipelineId });
    expect(plan.issues).toEqual([expect.objectContaining({ runNumber: 2, environment: 'staging', failedStage: 'smoke', error: 'exit code 1', excerpt: expect.stringContaining('database pool exhausted') })]);
    await expect(h.as(h.users.viewer).insights.saveIssue({ runId: failedRun, environment: 'staging', cause: 'x', fix: 'y' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(h.as(h.users.author).insights.saveIssue({ runId: failedRun, environment: 'staging', cause: 'x', fix: 'y', fixRunNumber: 99 })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await h.as(h.users.author).insights.saveIssue({ runId: failedRun, environment: 'staging', cause: 'Connection pool too small', fix: 'Raised the pool to 50', fixRunNumber: 3 });
    const after = await h.as(h.users.viewer).insights.releasePlan({ pipelineId, search: 'pool to 50' });
    expect(after.issues).toEqual([expect.objectContaining({ cause: 'Connection pool too small', fix: 'Raised the pool to 50', fixRunNumber: 3 })]);
    expect((await h.as(h.users.viewer).insights.releasePlan({ pipelineId, search: 'no such words' })).issues).toEqual([]);
    expect(after.markdown).toContain('- Fix: Raised the pool to 50 (fixed by run #3)');
    const audited = await h.db.select().from(auditLog).where(eq(auditLog.action, 'issue-log.update')).all();
    expect(audited).toHaveLength(1);
  });
});

describe('DORA card for wikis', () => {
  const card = (id: string, token: string) => doraGET(new Request(`http://localhost:3000/api/dora/${id}.svg?token=${token}&days=7`), { params: Promise.resolve({ id: `${id}.svg` }) });

  it('shows the four measures with a view link, not with a badge-only one, and stops when revoked', async () => {
    const view = await h.as(h.users.author).embeds.create({ pipelineId, scope: 'view', allowedOrigins: [], expiresInDays: null });
    const badgeOnly = await h.as(h.users.author).embeds.create({ pipelineId, scope: 'badge', allowedOrigins: [], expiresInDays: null });
    const res = await card(pipelineId, view.token);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('image/svg+xml');
    const svg = await res.text();
    expect(svg).toContain('Release train');
    // 4 deployments in 7 days, 1 of them a change failure (25 %), restored in 2 h.
    expect(svg).toContain('>25 %<');
    expect(svg).toContain('>2.0 h<');
    expect((await card(pipelineId, badgeOnly.token)).status).not.toBe(200);
    await h.as(h.users.author).embeds.revoke({ id: view.id });
    const revoked = await card(pipelineId, view.token);
    expect(revoked.status).not.toBe(200);
    expect(await revoked.text()).not.toContain('Release train');
  });
});

