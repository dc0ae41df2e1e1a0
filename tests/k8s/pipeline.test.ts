/**
 * Kubernetes stages inside real runs: a real Temporal server and worker, the
 * cluster connection registered through the admin API (encrypted in the app
 * database, opened by the worker's activity), a canary held on an approval gate
 * that resumes on approval and rolls back on rejection, and a failed rollout
 * rolled back automatically.
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { auditLog, clusterConnections } from '../../db/schema';
import { gate, spec, startHarness, type Harness } from '../integration/harness';
import { appManifests, freshNamespace, getDeployment, imageOf, replicasOf } from './helpers';

let h: Harness;
let ns: string;
let connectionId: string;
beforeAll(async () => {
  h = await startHarness();
  ns = await freshNamespace('pipeline');
  const k8s = inject('k8s');
  const created = await h.as(h.users.admin).clusters.create({
    authType: 'token',
    name: 'local-k8s',
    server: k8s.server,
    token: k8s.adminToken,
    caPem: k8s.caPem,
    allowedNamespaces: [ns],
  });
  expect(created.allowedNamespaces).toEqual([ns]);
  connectionId = created.id;
  // Kubernetes stages deploy only through the connection of the environment they are bound to.
  await h.as(h.users.admin).environments.create({ name: 'k8s-test', displayName: 'K8s test', clusterConnection: 'local-k8s' });
});
afterAll(async () => {
  await h?.close();
});

const k8sNode = (id: string, kind: string, config: Record<string, unknown>, more: object = {}) => ({
  id,
  kind,
  name: id,
  environment: 'k8s-test',
  config: { connection: 'local-k8s', namespace: ns, ...config },
  ...more,
});

describe('cluster connections (admin API)', () => {
  it('stores credentials encrypted, never returns them, checks them, and is admin-only', async () => {
    const k8s = inject('k8s');
    const listed = await h.as(h.users.admin).clusters.list();
    expect(JSON.stringify(listed)).not.toContain(k8s.adminToken);
    const [row] = await h.db.select().from(clusterConnections).where(eq(clusterConnections.name, 'local-k8s'));
    expect(row!.secret).not.toContain(k8s.adminToken);
    expect(row!.secret.startsWith('v1.')).toBe(true);

    const check = await h.as(h.users.admin).clusters.check({ id: connectionId });
    expect(check).toMatchObject({ ok: true, user: 'pipewright-admin', version: 'v1.34.4' });
    expect(check.namespaces).toEqual([{ namespace: ns, canDeploy: true }]);

    const bad = await h.as(h.users.admin).clusters.create({ authType: 'token', name: 'bad-token', server: k8s.server, token: 'nope', caPem: k8s.caPem });
    const badCheck = await h.as(h.users.admin).clusters.check({ id: bad.id });
    expect(badCheck.ok).toBe(false);
    expect(badCheck.message).toMatch(/cannot connect: .*Unauthorized/i);
    await h.as(h.users.admin).clusters.delete({ id: bad.id });

    await expect(h.as(h.users.author).clusters.list()).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(
      h.as(h.users.author).clusters.create({ authType: 'token', name: 'mine', server: k8s.server, token: 'x' }),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' });
    // Kubeconfigs that would run programs on the worker are refused.
    const execKubeconfig = `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: "${k8s.server}" } }]
users: [{ name: u, user: { exec: { apiVersion: client.authentication.k8s.io/v1, command: /bin/sh, args: ["-c", "id"] } } }]
contexts: [{ name: x, context: { cluster: c, user: u } }]
current-context: x
`;
    await expect(h.as(h.users.admin).clusters.create({ authType: 'kubeconfig', name: 'exec', kubeconfig: execKubeconfig })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringContaining('runs a program'),
    });
  });
});

describe('k8s stages in runs', () => {
  it('deploys with the registered connection, then rolls a failed rollout back automatically', async () => {
    const good = await h.run(
      spec('k8s rolling', [k8sNode('deploy', 'k8s-deploy', { manifests: appManifests({ image: 'example/web:${{ params.version }}', replicas: 2 }) })], [], {
        parameters: [{ name: 'version', type: 'string', required: true }],
      }),
      { version: '1' },
    );
    const r1 = await h.waitForEnd(good, 90_000);
    expect(r1.status).toBe('succeeded');
    expect(h.stageOf(r1, 'deploy').outputs).toMatchObject({ deployment: 'web', image: 'example/web:1' });
    const dep = await getDeployment(ns, 'web');
    expect(dep?.metadata.annotations?.['pipewright.dev/run']).toBe(good);
    expect(dep?.metadata.annotations?.['pipewright.dev/pipeline']).toBeTruthy();

    const bad = await h.run(
      spec('k8s failing', [
        k8sNode('deploy', 'k8s-deploy', { manifests: appManifests({ image: 'example/web:2', replicas: 2, pending: true }), progressDeadlineSeconds: 4 }),
      ]),
    );
    const r2 = await h.waitForEnd(bad, 90_000);
    expect(r2.status).toBe('failed');
    const stage = h.stageOf(r2, 'deploy');
    expect(stage.error).toContain('exceeded its progress deadline');
    expect(stage.error).toContain('rolled back to revision 1 (example/web:1)');
    // A rollout failure is the user's own: not retried as an infrastructure error.
    expect(stage.attempt).toBe(1);
    expect(imageOf(await getDeployment(ns, 'web'))).toBe('example/web:1');
    const logs = await h.as(h.users.viewer).runs.logs({ runId: bad, nodeId: 'deploy' });
    expect(logs.text).toContain('rolling back to revision 1');
  }, 180_000);

  it('refuses a namespace the connection does not allow', async () => {
    const runId = await h.run(
      spec('k8s wrong ns', [k8sNode('deploy', 'k8s-apply', { namespace: 'kube-system', manifests: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n' })]),
    );
    const r = await h.waitForEnd(runId, 60_000);
    expect(r.status).toBe('failed');
    expect(h.stageOf(r, 'deploy').error).toContain('may not touch namespace "kube-system"');
    expect(h.stageOf(r, 'deploy').attempt).toBe(1);
  });

  const canaryPipeline = (name: string, image: string) =>
    spec(
      name,
      [
        k8sNode('canary', 'k8s-deploy', { manifests: appManifests({ image, replicas: 2 }), strategy: { type: 'canary', steps: [{ weight: 50 }], promote: false } }),
        gate('approve', { groups: ['approvers'] }),
        k8sNode('promote', 'k8s-deploy', { manifests: appManifests({ image, replicas: 2 }), strategy: { type: 'canary', steps: [{ weight: 100 }] } }),
        k8sNode('rollback', 'k8s-rollback', { deployment: 'web' }),
      ],
      [
        ['canary', 'approve'],
        ['approve', 'promote'],
        ['approve', 'rollback', 'failure'],
      ],
    );

  it('holds a canary at a gate: promoted on approval', async () => {
    const runId = await h.run(canaryPipeline('canary approve', 'example/web:3'));
    await h.waitForStage(runId, 'approve', 'waiting', 90_000);
    expect(replicasOf(await getDeployment(ns, 'web-canary'))).toBe(1);
    expect(imageOf(await getDeployment(ns, 'web'))).toBe('example/web:1');
    // A run that has not finished cannot be rolled back from its page.
    await expect(h.as(h.users.author).runs.rollbackDeploy({ runId, stageId: 'canary' })).rejects.toMatchObject({
      code: 'CONFLICT',
      message: expect.stringContaining('has not finished yet'),
    });
    await h.as(h.users.alan).approvals.decide({ runId, gateId: 'approve', decision: 'approve' });
    const r = await h.waitForEnd(runId, 90_000);
    expect(r.status).toBe('succeeded');
    expect(h.stageOf(r, 'rollback').status).toBe('skipped');
    expect(imageOf(await getDeployment(ns, 'web'))).toBe('example/web:3');
    expect(await getDeployment(ns, 'web-canary')).toBeUndefined();
  }, 180_000);

  it('holds a canary at a gate: rolled back on rejection', async () => {
    const runId = await h.run(canaryPipeline('canary reject', 'example/web:4'));
    await h.waitForStage(runId, 'approve', 'waiting', 90_000);
    expect(replicasOf(await getDeployment(ns, 'web-canary'))).toBe(1);
    await h.as(h.users.grace).approvals.decide({ runId, gateId: 'approve', decision: 'reject', comment: 'error rate up' });
    const r = await h.waitForEnd(runId, 90_000);
    expect(h.stageOf(r, 'rollback').status).toBe('succeeded');
    expect(h.stageOf(r, 'rollback').outputs).toMatchObject({ strategy: 'canary', rolledBackTo: 'stable web (example/web:3)' });
    expect(replicasOf(await getDeployment(ns, 'web-canary'))).toBe(0);
    expect(replicasOf(await getDeployment(ns, 'web'))).toBe(2);
    expect(imageOf(await getDeployment(ns, 'web'))).toBe('example/web:3');
  }, 180_000);

  it('rolls a finished deploy back on request: a new run of the pipeline with one k8s-rollback stage', async () => {
    const before = imageOf(await getDeployment(ns, 'web'));
    const pipelineId = await h.createPipeline(
      spec('k8s button', [k8sNode('deploy', 'k8s-deploy', { manifests: appManifests({ image: 'example/web:${{ params.version }}', replicas: 2 }) })], [], {
        parameters: [{ name: 'version', type: 'string', required: true }],
      }),
    );
    const { id: deployRun } = await h.as(h.users.author).runs.start({ pipelineId, params: { version: '5' } });
    const r1 = await h.waitForEnd(deployRun, 90_000);
    expect(r1.status).toBe('succeeded');
    expect(imageOf(await getDeployment(ns, 'web'))).toBe('example/web:5');
    // The run page data says what the button would do.
    expect(h.stageOf(r1, 'deploy').rollback).toEqual({
      ok: true,
      target: { connection: 'local-k8s', namespace: ns, deployment: 'web', strategy: 'rolling', progressDeadlineSeconds: 600 },
      returnsTo: 'the previous revision',
    });

    await expect(h.as(h.users.viewer).runs.rollbackDeploy({ runId: deployRun, stageId: 'deploy' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(h.as(h.users.author).runs.rollbackDeploy({ runId: deployRun, stageId: 'nope' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });

    const { id: rollbackRun } = await h.as(h.users.author).runs.rollbackDeploy({ runId: deployRun, stageId: 'deploy' });
    const r2 = await h.waitForEnd(rollbackRun, 90_000);
    expect(r2).toMatchObject({ status: 'succeeded', pipelineId, trigger: 'rollback', triggerDetails: { sourceRunId: deployRun, sourceRunNumber: r1.number, sourceStageId: 'deploy' } });
    expect(r2.number).toBe(r1.number + 1);
    expect(r2.stages.map((s) => [s.id, s.kind, s.status])).toEqual([['rollback', 'k8s-rollback', 'succeeded']]);
    expect(h.stageOf(r2, 'rollback').outputs.rolledBackTo).toContain(before!);
    expect(imageOf(await getDeployment(ns, 'web'))).toBe(before);
    // It shows in the pipeline's runs like any run, and is audited.
    const listed = await h.as(h.users.viewer).runs.list({ pipelineId });
    expect(listed.map((r) => [r.number, r.trigger])).toEqual([
      [r2.number, 'rollback'],
      [r1.number, 'manual'],
    ]);
    const [audit] = await h.db.select().from(auditLog).where(and(eq(auditLog.action, 'run.rollback'), eq(auditLog.runId, rollbackRun)));
    expect(audit).toMatchObject({ actorId: h.users.author.id, outcome: 'ok' });

    // Not a deploy stage, or a failed deploy that was already rolled back: refused with the reason.
    const failed = await h.run(
      spec('k8s failing again', [
        k8sNode('deploy', 'k8s-deploy', { manifests: appManifests({ image: 'example/web:6', replicas: 2, pending: true }), progressDeadlineSeconds: 4 }),
      ]),
    );
    const r3 = await h.waitForEnd(failed, 90_000);
    expect(r3.status).toBe('failed');
    expect(h.stageOf(r3, 'deploy').rollback).toMatchObject({ ok: false, reason: expect.stringContaining('already rolled back automatically') });
    await expect(h.as(h.users.author).runs.rollbackDeploy({ runId: failed, stageId: 'deploy' })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringContaining('already rolled back automatically'),
    });
    await expect(h.as(h.users.author).runs.rollbackDeploy({ runId: r2.id, stageId: 'rollback' })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: 'Only a "Deploy to Kubernetes" stage can be rolled back.',
    });
  }, 240_000);
});
