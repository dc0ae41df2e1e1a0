/**
 * Environments and promotion on a real Temporal server and a real SQLite
 * database: one build deployed to staging and promoted to production deploys
 * the build's own outputs and its artifact (same sha256, never rebuilt) with
 * each environment's variables; secrets are
 * masked in logs and outputs and absent from every API response and the embed
 * page; promotions lacking something, from the wrong role, or into a
 * gate-protected environment without a gate are refused; production passes
 * its approval gate; the board and its history follow.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GET as embedGET } from '../../app/embed/pipelines/[id]/route';
import { auditLog, environments } from '../../db/schema';
import { cmd, gate, spec, startHarness, type Harness } from './harness';

const STAGING_SECRET = 'stg-Pa55-word-7731';
const PROD_SECRET = 'prd-T0ken-99120-zz';
const BASE = 'http://localhost:3000';

let h: Harness;
let stagingId: string;
let productionId: string;

beforeAll(async () => {
  h = await startHarness({ env: { PIPEWRIGHT_URL: BASE } });
  const admin = h.as(h.users.admin);
  const staging = await admin.environments.create({
    name: 'staging',
    displayName: 'Staging',
    variables: { URL: 'https://staging.example.test', REPLICAS: '1' },
    promoteRoles: ['author', 'admin'],
  });
  const production = await admin.environments.create({
    name: 'production',
    displayName: 'Production',
    variables: { URL: 'https://www.example.test', REPLICAS: '3' },
    promoteRoles: ['approver', 'admin'],
    requireGate: true,
  });
  stagingId = staging.id;
  productionId = production.id;
  await admin.environments.setSecret({ id: stagingId, name: 'DB_PASSWORD', value: STAGING_SECRET });
  await admin.environments.setSecret({ id: productionId, name: 'DB_PASSWORD', value: PROD_SECRET });
});
afterAll(async () => {
  await h?.close();
});

/** build → deploy-staging (staging) → gate-prod (production) → deploy-prod (production). */
function releaseSpec(name: string, dir: string) {
  const deploy = (id: string, env: string) =>
    cmd(
      id,
      [
        `echo x >> ${dir}/${id}.count`,
        'test "${{ params.fail_at }}" != "' + id + '" || { echo "deploy broke" >&2; exit 3; }',
        `echo "deploying \${{ stages.build.outputs.version }} to \${{ env.URL }} x\${{ env.REPLICAS }} password=\${{ secrets.DB_PASSWORD }}"`,
        `echo "\${{ stages.build.outputs.version }} \${{ env.URL }} \${{ env.REPLICAS }}" > ${dir}/${id}.out`,
        'echo "connection=db://app:${{ secrets.DB_PASSWORD }}@db" >> "$PIPEWRIGHT_OUTPUT"',
      ].join('\n'),
      { environment: env },
    );
  return spec(
    name,
    [
      cmd('build', `echo x >> ${dir}/build.count; test "\${{ params.fail_at }}" != build || exit 2; echo "version=1.4.$(cat ${dir}/build.count | wc -l)" >> "$PIPEWRIGHT_OUTPUT"`),
      deploy('deploy-staging', 'staging'),
      { ...gate('gate-prod', { users: ['alan'], groups: [] }), environment: 'production' },
      deploy('deploy-prod', 'production'),
    ],
    [
      ['build', 'deploy-staging'],
      ['deploy-staging', 'gate-prod'],
      ['gate-prod', 'deploy-prod'],
    ],
    { parameters: [{ name: 'fail_at', type: 'string', default: '' }], settings: { concurrency: 5, defaultRetry: {}, stageTimeoutSeconds: 120, runTimeoutSeconds: 0 } },
  );
}

const board = (pipelineId: string) => h.as(h.users.viewer).promotion.board({ pipelineId });
const buildOf = async (pipelineId: string, runId: string) => (await board(pipelineId)).builds.find((b) => b.runId === runId)!;

describe('environments', () => {
  it('everyone signed in sees names, order and variables; secret values never leave the server', async () => {
    const list = await h.as(h.users.viewer).environments.list();
    expect(list.map((e) => e.name)).toEqual(['staging', 'production']);
    expect(list[0]!.variables).toEqual({ URL: 'https://staging.example.test', REPLICAS: '1' });
    expect(list[1]!.secrets).toEqual([{ name: 'DB_PASSWORD', updatedBy: 'admin', updatedAt: expect.any(Date) }]);
    const text = JSON.stringify(list);
    expect(text).not.toContain(STAGING_SECRET);
    expect(text).not.toContain(PROD_SECRET);
    // Sealed at rest, too.
    const rows = await h.db.select().from(environments);
    expect(JSON.stringify(rows)).not.toContain(STAGING_SECRET);

    await expect(h.as(h.users.author).environments.create({ name: 'qa', displayName: 'QA' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(h.as(h.users.viewer).environments.setSecret({ id: stagingId, name: 'X', value: 'y' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(h.as(h.users.admin).environments.create({ name: 'staging', displayName: 'Again' })).rejects.toMatchObject({
      code: 'CONFLICT',
      message: expect.stringContaining('already exists'),
    });
    const audits = await h.db.select().from(auditLog).where(eq(auditLog.action, 'environment.secret.set'));
    expect(audits).toHaveLength(2);
    expect(JSON.stringify(audits)).not.toContain(STAGING_SECRET);
  });

  it('reorders, and refuses to delete an environment a pipeline uses', async () => {
    const admin = h.as(h.users.admin);
    const qa = await admin.environments.create({ name: 'qa', displayName: 'QA' });
    const order = await admin.environments.reorder({ ids: [qa.id, stagingId, productionId] });
    expect(order.map((e) => e.name)).toEqual(['qa', 'staging', 'production']);
    const pipelineId = await h.createPipeline(spec('uses qa', [cmd('t', 'echo ${{ env.NOPE }}', { environment: 'qa' })]));
    await expect(admin.environments.delete({ id: qa.id })).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('"uses qa"') });
    // A variable the environment does not have fails the stage, naming it.
    const run = await h.as(h.users.author).runs.start({ pipelineId });
    const ended = await h.waitForEnd(run.id);
    expect(ended.status).toBe('failed');
    expect(h.stageOf(ended, 't').error).toContain('environment "qa" has no variable "NOPE"');
    await h.as(h.users.author).pipelines.delete({ id: pipelineId });
    await admin.environments.delete({ id: qa.id });
    expect((await admin.environments.list()).map((e) => e.name)).toEqual(['staging', 'production']);
  });

  it('refuses to run env/secret references in unbound stages, unknown environments, and protected ones without a gate', async () => {
    const author = h.as(h.users.author);
    const unbound = await h.createPipeline(spec('unbound secret', [cmd('t', 'echo ${{ secrets.DB_PASSWORD }}')]));
    await expect(author.runs.start({ pipelineId: unbound })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      cause: { issues: [expect.objectContaining({ code: 'environment-ref-unbound', message: expect.stringContaining('needs an environment') })] },
    });
    const unknown = await h.createPipeline(spec('unknown env', [cmd('t', 'true', { environment: 'moon' })]));
    await expect(author.runs.start({ pipelineId: unknown })).rejects.toMatchObject({
      cause: { issues: [expect.objectContaining({ code: 'unknown-environment', message: expect.stringContaining('no environment "moon"') })] },
    });
    const ungated = await h.createPipeline(spec('ungated prod', [cmd('t', 'true', { environment: 'production' })]));
    await expect(author.runs.start({ pipelineId: ungated })).rejects.toMatchObject({
      cause: { issues: [expect.objectContaining({ code: 'environment-needs-gate', message: expect.stringContaining('requires an approval gate') })] },
    });
  });
});

describe('build once, promote through the environments', () => {
  it('deploys the same build with each environment’s configuration, masks secrets everywhere, refuses what is not allowed, and passes the production gate', async () => {
    const d = h.shared;
    const pipelineId = await h.createPipeline(releaseSpec('release', d));
    const author = h.as(h.users.author);
    const admin = h.as(h.users.admin);

    // Build #1 deploys to staging on its own and waits at the production gate.
    const b1 = await admin.runs.start({ pipelineId });
    let r1 = await h.waitForStage(b1.id, 'gate-prod', 'waiting');
    expect(h.stageOf(r1, 'deploy-staging').status).toBe('succeeded');
    const stagingOut = readFileSync(join(d, 'deploy-staging.out'), 'utf8').trim();
    expect(stagingOut).toBe('1.4.1 https://staging.example.test 1');

    // Secrets: masked in the log and the outputs, absent from the run and the embed.
    const log = await author.runs.logs({ runId: b1.id, nodeId: 'deploy-staging' });
    expect(log.text).toContain('to https://staging.example.test x1 password=•••');
    expect(log.text).not.toContain(STAGING_SECRET);
    expect(h.stageOf(r1, 'deploy-staging').outputs).toEqual({ connection: 'db://app:•••@db' });
    expect(JSON.stringify(r1)).not.toContain(STAGING_SECRET);
    const share = await author.embeds.create({ pipelineId, scope: 'view', allowedOrigins: ['https://wiki.example.com'], expiresInDays: null });
    const page = await embedGET(new Request(`${BASE}/embed/pipelines/${pipelineId}?token=${share.token}`), { params: Promise.resolve({ id: pipelineId }) });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).not.toContain(STAGING_SECRET);

    const b = await buildOf(pipelineId, b1.id);
    expect(b.buildOk).toBe(true);
    expect(b.version).toBe('1.4.1');
    expect(b.cells.staging).toMatchObject({ status: 'passed', runNumber: 1 });
    expect(b.cells.production).toMatchObject({ status: 'waiting', detail: expect.stringMatching(/^Waiting for approval — .+ \(at gate-prod in run #1\)$/) });
    // While its own run waits there, the build is not promoted anywhere (two deploys of one build would race).
    expect(b.missing.production).toEqual(['run #1 is still waiting at gate-prod: promote the build once that run has finished, or cancel it']);
    await expect(admin.promotion.promote({ pipelineId, buildRunId: b1.id, environment: 'production' })).rejects.toMatchObject({ code: 'PRECONDITION_FAILED' });

    // Cancel the build's own wait: promotion is how it goes on.
    await author.runs.cancel({ runId: b1.id });
    r1 = await h.waitForEnd(b1.id);

    // Build #2 fails its staging deploy: promoting it to production is refused with what it lacks.
    const b2 = await admin.runs.start({ pipelineId, params: { fail_at: 'deploy-staging' } });
    await h.waitForEnd(b2.id);
    await expect(admin.promotion.promote({ pipelineId, buildRunId: b2.id, environment: 'production' })).rejects.toMatchObject({
      code: 'PRECONDITION_FAILED',
      message: 'Cannot promote build #2 to production: not passed: staging (deploy-staging failed in run #2).',
    });
    // Build #3 fails to build: it lacks the build, and staging too.
    const b3 = await admin.runs.start({ pipelineId, params: { fail_at: 'build' } });
    await h.waitForEnd(b3.id);
    await expect(author.promotion.promote({ pipelineId, buildRunId: b3.id, environment: 'staging' })).rejects.toMatchObject({
      message: 'Cannot promote build #3 to staging: build: build failed in run #3.',
    });

    // Roles: production allows approvers and admins, not authors.
    await expect(author.promotion.promote({ pipelineId, buildRunId: b1.id, environment: 'production' })).rejects.toMatchObject({
      code: 'FORBIDDEN',
      message: expect.stringContaining('may not promote into Production'),
    });
    // A gate-protected environment needs a gate bound to it in the build's pipeline version.
    await admin.environments.update({ id: stagingId, requireGate: true });
    await expect(author.promotion.promote({ pipelineId, buildRunId: b1.id, environment: 'staging' })).rejects.toMatchObject({
      code: 'PRECONDITION_FAILED',
      message: expect.stringContaining('Staging requires an approval gate'),
    });
    await admin.environments.update({ id: stagingId, requireGate: false });
    const refusals = await h.db.select().from(auditLog).where(and(eq(auditLog.action, 'promotion.promote'), eq(auditLog.outcome, 'refused')));
    // The refusals above, the first one while the build's own run still waited at the production gate.
    expect(refusals.length).toBe(5);
    expect(refusals.map((r) => r.reason).some((why) => why?.includes('run #1 is still waiting at gate-prod'))).toBe(true);

    // Promote #1 to production: build and staging reused, the gate asked again, production deployed.
    const p = await admin.promotion.promote({ pipelineId, buildRunId: b1.id, environment: 'production' });
    const waiting = await h.waitForStage(p.id, 'gate-prod', 'waiting');
    expect(waiting.trigger).toBe('promotion');
    expect(h.stageOf(waiting, 'build').reusedFrom).toEqual({ id: b1.id, number: 1 });
    expect(h.stageOf(waiting, 'deploy-staging').reusedFrom).toEqual({ id: b1.id, number: 1 });
    expect((await buildOf(pipelineId, b1.id)).cells.production).toMatchObject({ status: 'waiting', runNumber: p.number });
    // The promotion history says whom the promotion run waits for, as every page does.
    expect((await board(pipelineId)).history.find((x) => x.runId === p.id)?.runDisplay).toMatchObject({ key: 'waiting', text: 'Waiting for approval — alan' });
    await h.as(h.users.alan).approvals.decide({ runId: p.id, gateId: 'gate-prod', decision: 'approve' });
    const promoted = await h.waitForEnd(p.id);
    expect(promoted.status).toBe('succeeded');

    // Same build output, production's variables; nothing rebuilt or redeployed to staging.
    expect(readFileSync(join(d, 'deploy-prod.out'), 'utf8').trim()).toBe('1.4.1 https://www.example.test 3');
    expect(readFileSync(join(d, 'build.count'), 'utf8').trim().split('\n')).toHaveLength(3);
    expect(readFileSync(join(d, 'deploy-staging.count'), 'utf8').trim().split('\n')).toHaveLength(2);
    const prodLog = await author.runs.logs({ runId: p.id, nodeId: 'deploy-prod' });
    expect(prodLog.text).toContain('deploying 1.4.1 to https://www.example.test x3 password=•••');
    expect(prodLog.text).not.toContain(PROD_SECRET);
    expect(JSON.stringify(promoted)).not.toContain(PROD_SECRET);

    const after = await board(pipelineId);
    expect(JSON.stringify(after)).not.toContain(PROD_SECRET);
    expect(after.environments.map((e) => [e.name, e.live?.number ?? null])).toEqual([
      ['staging', 1],
      ['production', 1],
    ]);
    expect(after.builds.map((x) => x.number)).toEqual([3, 2, 1]);
    expect(after.builds.find((x) => x.number === 1)!.cells.production).toMatchObject({ status: 'passed', runNumber: p.number });
    expect(after.history).toEqual([expect.objectContaining({ environment: 'production', buildNumber: 1, runNumber: p.number, promotedByName: 'admin', rollback: false })]);

    // A newer build goes to staging; rolling staging back is promoting #1 again.
    const b5 = await admin.runs.start({ pipelineId });
    const r5 = await h.waitFor(b5.id, (r) => ['succeeded', 'failed', 'cancelled'].includes(r.status) || h.stageOf(r, 'gate-prod').status === 'waiting');
    expect(h.stageOf(r5, 'deploy-staging').error ?? '').toBe('');
    await author.runs.cancel({ runId: b5.id });
    await h.waitForEnd(b5.id);
    let staging = (await board(pipelineId)).environments[0]!;
    expect(staging.live?.runId).toBe(b5.id);
    expect(staging.previous?.runId).toBe(b1.id);
    const back = await author.promotion.promote({ pipelineId, buildRunId: b1.id, environment: 'staging' });
    expect(back.rollback).toBe(true);
    const rolled = await h.waitForEnd(back.id);
    expect(rolled.status).toBe('succeeded');
    expect(h.stageOf(rolled, 'gate-prod').status).toBe('skipped');
    expect(readFileSync(join(d, 'deploy-staging.out'), 'utf8').trim()).toBe('1.4.1 https://staging.example.test 1');
    staging = (await board(pipelineId)).environments[0]!;
    expect(staging.live?.runId).toBe(b1.id);
  }, 180_000);

  it('deploys an artifact built once to two environments with the same digest, never rebuilding it', async () => {
    const d = join(h.shared, 'artifact-promotion');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(d, { recursive: true });
    const deploy = (id: string, env: string) =>
      cmd(id, '', {
        environment: env,
        config: {
          command: `sha256sum app.bin | cut -d' ' -f1 > ${d}/${id}.sha; echo "deployed to \${{ env.URL }}"`,
          inputs: [{ artifact: 'build.app', path: 'app.bin' }],
        },
      });
    const pipelineId = await h.createPipeline(
      spec(
        'artifact release',
        [
          // A build whose bytes differ on every build: a rebuild would show as another digest.
          cmd('build', '', { config: { command: `echo x >> ${d}/build.count; date +%s%N > app.bin; head -c 4096 /dev/urandom >> app.bin`, artifacts: [{ name: 'app', path: 'app.bin' }] } }),
          deploy('deploy-staging', 'staging'),
          { ...gate('gate-prod', { users: ['alan'], groups: [] }), environment: 'production' },
          deploy('deploy-prod', 'production'),
        ],
        [
          ['build', 'deploy-staging'],
          ['deploy-staging', 'gate-prod'],
          ['gate-prod', 'deploy-prod'],
        ],
        { settings: { concurrency: 5, defaultRetry: {}, stageTimeoutSeconds: 120, runTimeoutSeconds: 0 } },
      ),
    );
    const author = h.as(h.users.author);
    const b1 = await h.as(h.users.admin).runs.start({ pipelineId });
    const atGate = await h.waitForStage(b1.id, 'gate-prod', 'waiting');
    expect(h.stageOf(atGate, 'deploy-staging').status).toBe('succeeded');
    const built = atGate.artifacts.find((a) => a.stage === 'build' && a.name === 'app')!;
    expect(built.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    await author.runs.cancel({ runId: b1.id });
    await h.waitForEnd(b1.id);

    const p = await h.as(h.users.admin).promotion.promote({ pipelineId, buildRunId: b1.id, environment: 'production' });
    await h.waitForStage(p.id, 'gate-prod', 'waiting');
    await h.as(h.users.alan).approvals.decide({ runId: p.id, gateId: 'gate-prod', decision: 'approve' });
    const promoted = await h.waitForEnd(p.id);
    expect(promoted.status).toBe('succeeded');

    const hex = built.digest.slice('sha256:'.length);
    expect(readFileSync(join(d, 'deploy-staging.sha'), 'utf8').trim()).toBe(hex);
    expect(readFileSync(join(d, 'deploy-prod.sha'), 'utf8').trim()).toBe(hex);
    expect(readFileSync(join(d, 'build.count'), 'utf8').trim().split('\n')).toHaveLength(1);
    expect(h.stageOf(promoted, 'build').reusedFrom).toEqual({ id: b1.id, number: b1.number });
    expect(promoted.artifacts).toEqual([expect.objectContaining({ stage: 'build', name: 'app', digest: built.digest, reusedFrom: b1.id })]);
  }, 180_000);
});
