/**
 * Production protection, enforced on the server, on a real Temporal server,
 * a real worker and a real SQLite database:
 * (a) a production stage placed before the production gate (the one that
 *     read DEPLOY_TOKEN and printed it reversed) is refused at start with the
 *     offending stage, and nothing runs;
 * (b) a protected gate that would approve on timeout is refused at start;
 * (c) a person whose role production does not allow starts a run with
 *     production left out (audited) — refused (403, audited) when nothing
 *     else would run — whoever may runs it all; a trigger acts with its
 *     creator's role, Run now with the role of whoever presses it;
 * (d) the approver who promoted a build to production cannot approve its
 *     gate (even with `allowTriggerer: true`, and for a run already in flight
 *     when the rule applied), another approver can;
 * secrets of a protected environment reach a stage only after the run's gate
 * for it approved (the worker asks the environments service);
 * Kubernetes stages are bound to an environment and use only its cluster
 * connection, at start and on the worker; a roll back of a production deploy
 * waits for production's approvers.
 */
import { fourEyesRule } from '../../app/lib/four-eyes';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, runs } from '../../db/schema';
import { EnvironmentUnavailableError, loadEnvironmentScope } from '../../server/services/environments';
import { cmd, gate, spec, startHarness, type Harness } from './harness';

const TOKEN = 'tok-Prod-58213-xyz';
const VAULT_TOKEN = 'vault-T0k-4471-q';

let h: Harness;
let vaultId: string;
let stagingId: string;

beforeAll(async () => {
  h = await startHarness();
  const admin = h.as(h.users.admin);
  const staging = await admin.environments.create({ name: 'staging', displayName: 'Staging', clusterConnection: 'stg-cluster', namespace: 'shop' });
  stagingId = staging.id;
  const production = await admin.environments.create({
    name: 'production',
    displayName: 'Production',
    promoteRoles: ['approver', 'admin'],
    requireGate: true,
    clusterConnection: 'prod-cluster',
    namespace: 'shop',
  });
  await admin.environments.setSecret({ id: production.id, name: 'DEPLOY_TOKEN', value: TOKEN });
  const vault = await admin.environments.create({ name: 'vault', displayName: 'Vault' });
  vaultId = vault.id;
  await admin.environments.setSecret({ id: vault.id, name: 'DEPLOY_TOKEN', value: VAULT_TOKEN });
});
afterAll(async () => {
  await h?.close();
});

const runCount = async (pipelineId: string) => (await h.db.select({ id: runs.id }).from(runs).where(eq(runs.pipelineId, pipelineId))).length;
const prodGate = (config: Record<string, unknown> = {}) => ({ ...gate('gate-prod', { users: ['alan', 'grace'], groups: [], ...config }), environment: 'production' });
const deployProd = (dir: string) => cmd('deploy', `echo "deploying with \${{ secrets.DEPLOY_TOKEN }}"; echo "\${{ secrets.DEPLOY_TOKEN }}" > ${dir}/deploy.txt`, { environment: 'production' });

describe('(a) every production stage runs after the production gate', () => {
  it('refuses at start a production stage before the gate that reads the token, naming it, and runs nothing', async () => {
    const leakFile = join(h.shared, 'leak.txt');
    const pipelineId = await h.createPipeline(
      spec(
        'leak before the gate',
        [cmd('leak', `echo "\${{ secrets.DEPLOY_TOKEN }}" | rev > ${leakFile}`, { environment: 'production' }), prodGate(), deployProd(h.shared)],
        [
          ['leak', 'gate-prod'],
          ['gate-prod', 'deploy'],
        ],
      ),
    );
    await expect(h.as(h.users.admin).runs.start({ pipelineId })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      cause: {
        issues: [
          expect.objectContaining({
            code: 'environment-needs-gate',
            nodeId: 'leak',
            message: expect.stringContaining('environment "production" requires an approval gate before this stage'),
          }),
        ],
      },
    });
    expect(await runCount(pipelineId)).toBe(0);
    expect(existsSync(leakFile)).toBe(false);
    const audited = await h.db.select().from(auditLog).where(and(eq(auditLog.action, 'run.start'), eq(auditLog.outcome, 'refused'), eq(auditLog.pipelineId, pipelineId)));
    expect(audited).toEqual([expect.objectContaining({ actorName: 'admin', reason: expect.stringContaining('leak: environment "production" requires an approval gate') })]);

    // The same stage behind the gate through an `always` edge would run after a rejection: refused too.
    const always = await h.createPipeline(spec('always after the gate', [prodGate(), deployProd(h.shared)], [['gate-prod', 'deploy', 'always']]));
    await expect(h.as(h.users.admin).runs.start({ pipelineId: always })).rejects.toMatchObject({
      cause: { issues: [expect.objectContaining({ code: 'environment-needs-gate', nodeId: 'deploy' })] },
    });
  });
});

describe('(b) a protected gate never approves by itself', () => {
  it('refuses at start a production gate that approves on timeout', async () => {
    const pipelineId = await h.createPipeline(spec('auto-approve', [prodGate({ timeoutSeconds: 1, onTimeout: 'approve' }), deployProd(h.shared)], [['gate-prod', 'deploy']]));
    await expect(h.as(h.users.admin).runs.start({ pipelineId })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      cause: { issues: [expect.objectContaining({ code: 'gate-auto-approves', nodeId: 'gate-prod', path: 'onTimeout' })] },
    });
    expect(await runCount(pipelineId)).toBe(0);
  });
});

describe('(c) starting a run checks the roles of the environments it deploys to', () => {
  it('leaves production out of an author’s run (audited); refuses her a run with nothing else (403, audited); an admin runs it all', async () => {
    const pipelineId = await h.createPipeline(spec('release by role', [cmd('build', 'echo built'), prodGate(), deployProd(h.shared)], [['build', 'gate-prod'], ['gate-prod', 'deploy']]));
    const byAda = await h.as(h.users.author).runs.start({ pipelineId });
    expect(byAda.leftOut).toMatchObject({ environments: [{ name: 'production' }], stages: ['gate-prod', 'deploy'] });
    const ended = await h.waitForEnd(byAda.id);
    expect(ended.stages.map((st) => [st.id, st.status])).toEqual([
      ['build', 'succeeded'],
      ['gate-prod', 'skipped'],
      ['deploy', 'skipped'],
    ]);
    expect(h.stageOf(ended, 'deploy').summary).toContain('deploying to production needs the role approver or admin');
    expect(existsSync(join(h.shared, 'deploy.txt'))).toBe(false);
    const ok = await h.db.select().from(auditLog).where(and(eq(auditLog.action, 'run.start'), eq(auditLog.runId, byAda.id)));
    expect(ok).toEqual([expect.objectContaining({ actorName: 'ada', outcome: 'ok', details: expect.objectContaining({ leftOut: expect.objectContaining({ environments: ['production'] }) }) })]);

    const prodOnly = await h.createPipeline(spec('production only by role', [prodGate(), deployProd(h.shared)], [['gate-prod', 'deploy']]));
    await expect(h.as(h.users.author).runs.start({ pipelineId: prodOnly })).rejects.toMatchObject({
      code: 'FORBIDDEN',
      message: 'Your role (author) may not run stages in Production (allowed: approver, admin).',
    });
    expect(await runCount(prodOnly)).toBe(0);
    const refused = await h.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'run.start'), eq(auditLog.outcome, 'refused'), eq(auditLog.pipelineId, prodOnly)));
    expect(refused).toEqual([expect.objectContaining({ actorName: 'ada', reason: expect.stringContaining('may not run stages in Production') })]);

    const started = await h.as(h.users.admin).runs.start({ pipelineId });
    expect(started.leftOut).toBeNull();
    await h.waitForStage(started.id, 'gate-prod', 'waiting');
    await h.as(h.users.admin).runs.cancel({ runId: started.id });
    await h.waitForEnd(started.id);
  });
});

describe('(c) triggers: the creator’s role; Run now: the role of whoever presses it', () => {
  it('an upstream trigger created by an author runs nothing in production, the admin’s does; an author’s Run now leaves production out', async () => {
    const upstream = await h.createPipeline(spec('upstream of release', [cmd('u', 'echo up')]));
    const release = await h.createPipeline(
      spec('release by trigger', [cmd('build', 'echo built'), prodGate(), deployProd(h.shared)], [['build', 'gate-prod'], ['gate-prod', 'deploy']], {
        settings: { concurrency: 3, defaultRetry: {}, stageTimeoutSeconds: 120, runTimeoutSeconds: 0 },
      }),
    );
    const byAda = await h.as(h.users.author).triggers.createUpstream({ pipelineId: release, name: 'after upstream (ada)', config: { upstreamPipelineId: upstream } });
    const byAdmin = await h.as(h.users.admin).triggers.createUpstream({ pipelineId: release, name: 'after upstream (admin)', config: { upstreamPipelineId: upstream } });
    const up = await h.as(h.users.author).runs.start({ pipelineId: upstream });
    expect((await h.waitForEnd(up.id)).status).toBe('succeeded');

    // Both triggers started a run; ada's says production was left out, and why.
    const resultOf = async (id: string) => (await h.as(h.users.viewer).triggers.list({ pipelineId: release })).find((t) => t.id === id)!.lastResult;
    let adaResult: string | null = null;
    let adminResult: string | null = null;
    for (let i = 0; i < 300 && (!adaResult || !adminResult); i++) {
      adaResult = await resultOf(byAda.id);
      adminResult = await resultOf(byAdmin.id);
      if (!adaResult || !adminResult) await new Promise((r) => setTimeout(r, 100));
    }
    expect(adaResult).toMatch(/^started run #\d+ after upstream run #\d+ — not run: deploying to production needs the role approver or admin/);
    expect(adminResult).toMatch(/^started run #\d+ after upstream run #\d+$/);
    const started = await h.as(h.users.admin).runs.list({ pipelineId: release });
    const runNumbered = (result: string) => started.find((r) => r.number === Number(/#(\d+)/.exec(result)![1]))!;
    const adaRun = await h.waitForEnd(runNumbered(adaResult!).id);
    expect(adaRun.stages.map((st) => [st.id, st.status])).toEqual([
      ['build', 'succeeded'],
      ['gate-prod', 'skipped'],
      ['deploy', 'skipped'],
    ]);
    const adminRun = runNumbered(adminResult!);
    await h.waitForStage(adminRun.id, 'gate-prod', 'waiting');
    await h.as(h.users.admin).runs.cancel({ runId: adminRun.id });
    await h.waitForEnd(adminRun.id);

    // A schedule the admin created: the author pressing Run now gets what pressing Run gives her — production left out.
    const schedule = await h.as(h.users.admin).triggers.createSchedule({ pipelineId: release, name: 'nightly', config: { cron: '@daily', timezone: 'UTC', params: {} }, enabled: false });
    const fired = await h.as(h.users.author).triggers.runNow({ id: schedule.id });
    const now = await h.waitForEnd(fired.runId);
    expect(now.status).toBe('succeeded');
    expect(h.stageOf(now, 'deploy')).toMatchObject({ status: 'skipped', summary: expect.stringContaining('deploying to production needs the role approver or admin') });
    expect(existsSync(join(h.shared, 'deploy.txt'))).toBe(false);
  });
});

describe('(d) four eyes on protected gates', () => {
  it('the approver who promoted a build cannot approve its production gate; another approver can, and only then the token is released', async () => {
    const dir = join(h.shared, 'four-eyes');
    await import('node:fs').then((fs) => fs.mkdirSync(dir, { recursive: true }));
    const pipelineId = await h.createPipeline(
      spec('promote and self-approve', [cmd('build', 'echo built'), prodGate({ allowTriggerer: true }), deployProd(dir)], [['build', 'gate-prod'], ['gate-prod', 'deploy']], {
        settings: { concurrency: 3, defaultRetry: {}, stageTimeoutSeconds: 120, runTimeoutSeconds: 0 },
      }),
    );
    const build = await h.as(h.users.admin).runs.start({ pipelineId });
    await h.waitForStage(build.id, 'gate-prod', 'waiting');
    await h.as(h.users.admin).runs.cancel({ runId: build.id });
    await h.waitForEnd(build.id);

    // Grace (an approver; production allows approvers to promote) promotes the build.
    const promoted = await h.as(h.users.grace).promotion.promote({ pipelineId, buildRunId: build.id, environment: 'production' });
    await h.waitForStage(promoted.id, 'gate-prod', 'waiting');

    // Until the gate approved, the environments service releases nothing for the deploy stage.
    await expect(loadEnvironmentScope(h.db, 'production', { runId: promoted.id, nodeId: 'deploy' })).rejects.toBeInstanceOf(EnvironmentUnavailableError);

    // Her inbox says she may not decide it; deciding is refused and audited, and counts for nothing.
    const inbox = await h.as(h.users.grace).approvals.pending();
    expect(inbox.find((g) => g.runId === promoted.id)).toMatchObject({ startedByMe: true, canDecide: false });
    await expect(h.as(h.users.grace).approvals.decide({ runId: promoted.id, gateId: 'gate-prod', decision: 'approve' })).rejects.toMatchObject({
      code: 'FORBIDDEN',
      message: expect.stringContaining('grace started this run and may not approve'),
    });
    const refusal = await h.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'gate.approve'), eq(auditLog.outcome, 'refused'), eq(auditLog.runId, promoted.id)));
    expect(refusal).toEqual([expect.objectContaining({ actorName: 'grace', nodeId: 'gate-prod' })]);
    const prodGateShown = h.stageOf(await h.as(h.users.admin).runs.get({ id: promoted.id }), 'gate-prod').gate!;
    expect(prodGateShown.votes).toEqual([]);
    // The run page states the rule with the environment that imposes it (the gate's own setting said yes).
    expect(prodGateShown.protectedEnvironment).toBe('production');
    expect(fourEyesRule(prodGateShown.rules.allowTriggerer, prodGateShown.protectedEnvironment)).toMatchObject({ starterMayApprove: false });

    // Alan approves: production is deployed with the token (masked in the log).
    await h.as(h.users.alan).approvals.decide({ runId: promoted.id, gateId: 'gate-prod', decision: 'approve' });
    const ended = await h.waitForEnd(promoted.id);
    expect(ended.status).toBe('succeeded');
    expect(readFileSync(join(dir, 'deploy.txt'), 'utf8').trim()).toBe(TOKEN);
    const log = await h.as(h.users.admin).runs.logs({ runId: promoted.id, nodeId: 'deploy' });
    expect(log.text).toContain('deploying with •••');
    expect(log.text).not.toContain(TOKEN);
  }, 120_000);

  it('holds for a run already in flight when its environment became protected', async () => {
    const pipelineId = await h.createPipeline(
      spec('in flight', [{ ...gate('g', { users: ['admin', 'alan'], groups: [], allowTriggerer: true }), environment: 'vault' }, cmd('after', 'echo ok', { environment: 'vault' })], [['g', 'after']]),
    );
    const run = await h.as(h.users.admin).runs.start({ pipelineId });
    await h.waitForStage(run.id, 'g', 'waiting');
    await h.as(h.users.admin).environments.update({ id: vaultId, requireGate: true });
    try {
      await expect(h.as(h.users.admin).approvals.decide({ runId: run.id, gateId: 'g', decision: 'approve' })).rejects.toMatchObject({
        code: 'FORBIDDEN',
        message: expect.stringContaining('admin started this run and may not approve gate "g"'),
      });
      await h.as(h.users.alan).approvals.decide({ runId: run.id, gateId: 'g', decision: 'approve' });
      expect((await h.waitForEnd(run.id)).status).toBe('succeeded');
    } finally {
      await h.as(h.users.admin).environments.update({ id: vaultId, requireGate: false });
    }
  });
});

describe('secrets of a protected environment', () => {
  it('are not released to a stage of a run whose gate for it has not passed', async () => {
    const leak = join(h.shared, 'vault-leak.txt');
    // Valid when it starts (vault is not protected yet); protected before the stage runs.
    const pipelineId = await h.createPipeline(
      spec('no gate in flight', [{ id: 'pause', kind: 'wait', name: 'pause', config: { seconds: 4 } }, cmd('use', `echo "\${{ secrets.DEPLOY_TOKEN }}" > ${leak}`, { environment: 'vault' })], [['pause', 'use']]),
    );
    const run = await h.as(h.users.author).runs.start({ pipelineId });
    await h.waitForStage(run.id, 'pause', 'running');
    await h.as(h.users.admin).environments.update({ id: vaultId, requireGate: true });
    try {
      const ended = await h.waitForEnd(run.id);
      expect(ended.status).toBe('failed');
      expect(h.stageOf(ended, 'use').error).toContain('environment "vault" requires an approval gate; its variables and secrets are released only to stages after a gate bound to it has approved in this run');
      expect(existsSync(leak)).toBe(false);
      expect(JSON.stringify(ended)).not.toContain(VAULT_TOKEN);
    } finally {
      await h.as(h.users.admin).environments.update({ id: vaultId, requireGate: false });
    }
  });
});

describe('Kubernetes stages and cluster connections', () => {
  const apply = (connection: string, environment?: string) => ({
    id: 'apply',
    kind: 'k8s-apply',
    name: 'apply',
    config: { connection, namespace: 'shop', manifests: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n' },
    ...(environment ? { environment } : {}),
  });

  it('refuses at start an unbound one, and one naming another environment’s connection', async () => {
    const unbound = await h.createPipeline(spec('k8s unbound', [apply('prod-cluster')]));
    await expect(h.as(h.users.author).runs.start({ pipelineId: unbound })).rejects.toMatchObject({
      cause: { issues: [expect.objectContaining({ code: 'k8s-needs-environment', nodeId: 'apply' })] },
    });
    const borrowed = await h.createPipeline(spec('k8s borrows production', [apply('prod-cluster', 'staging')]));
    await expect(h.as(h.users.author).runs.start({ pipelineId: borrowed })).rejects.toMatchObject({
      cause: { issues: [expect.objectContaining({ code: 'cluster-not-bound', nodeId: 'apply', message: expect.stringContaining('"prod-cluster" is not the one of environment "staging" (stg-cluster)') })] },
    });
    expect((await runCount(unbound)) + (await runCount(borrowed))).toBe(0);
  });

  it('rolling back a production deploy needs a role production allows and waits for production’s approvers', async () => {
    const deploy = { id: 'deploy', kind: 'k8s-deploy', name: 'deploy', environment: 'production', config: { connection: 'prod-cluster', namespace: 'shop', deployment: 'web', image: 'example/web:2' } };
    const pipelineId = await h.createPipeline(spec('k8s production', [prodGate(), deploy], [['gate-prod', 'deploy']]));
    const run = await h.as(h.users.admin).runs.start({ pipelineId });
    await h.waitForStage(run.id, 'gate-prod', 'waiting');
    await h.as(h.users.alan).approvals.decide({ runId: run.id, gateId: 'gate-prod', decision: 'approve' });
    // No cluster is registered under that name here: the deploy fails, and may be rolled back.
    const ended = await h.waitForEnd(run.id);
    expect(h.stageOf(ended, 'deploy')).toMatchObject({ status: 'failed', error: expect.stringContaining('no cluster connection named "prod-cluster"') });

    await expect(h.as(h.users.author).runs.rollbackDeploy({ runId: run.id, stageId: 'deploy' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    const rollback = await h.as(h.users.admin).runs.rollbackDeploy({ runId: run.id, stageId: 'deploy' });
    const waiting = await h.waitForStage(rollback.id, 'approve-rollback', 'waiting');
    expect(waiting.stages.map((st) => [st.id, st.environment, st.status])).toEqual([
      ['approve-rollback', 'production', 'waiting'],
      ['rollback', 'production', 'pending'],
    ]);
    expect(h.stageOf(waiting, 'approve-rollback').gate!.rules).toMatchObject({ users: ['alan', 'grace'], allowTriggerer: false, onTimeout: 'reject' });
    await h.as(h.users.admin).runs.cancel({ runId: rollback.id });
    await h.waitForEnd(rollback.id);
  });

  it('the worker refuses a connection its environment no longer points at', async () => {
    const pipelineId = await h.createPipeline(spec('k8s rebound', [{ id: 'pause', kind: 'wait', name: 'pause', config: { seconds: 4 } }, apply('stg-cluster', 'staging')], [['pause', 'apply']]));
    const run = await h.as(h.users.author).runs.start({ pipelineId });
    await h.waitForStage(run.id, 'pause', 'running');
    await h.as(h.users.admin).environments.update({ id: stagingId, clusterConnection: 'stg-cluster-2' });
    try {
      const ended = await h.waitForEnd(run.id);
      expect(ended.status).toBe('failed');
      expect(h.stageOf(ended, 'apply').error).toContain('cluster connection "stg-cluster" is not the one of environment "staging" (stg-cluster-2)');
    } finally {
      await h.as(h.users.admin).environments.update({ id: stagingId, clusterConnection: 'stg-cluster' });
    }
  });
});
