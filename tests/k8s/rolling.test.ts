/**
 * k8s-deploy (rolling) and k8s-rollback on the real control plane: success,
 * a rollout whose pods never become ready (kwok leaves them Pending) failing
 * at its progress deadline and rolled back automatically, image-only updates,
 * a rollback stage, and cancellation.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { k8sDeployConfigSchema } from '../../workflows/stages/k8s-deploy/definition';
import { executeK8sDeploy } from '../../workflows/stages/k8s-deploy/executor';
import { k8sRollbackConfigSchema } from '../../workflows/stages/k8s-rollback/definition';
import { executeK8sRollback } from '../../workflows/stages/k8s-rollback/executor';
import { Progress } from '../../workflows/k8s/rollout';
import { StageFailure } from '../../workflows/stages/executor-types';
import { admin, appManifests, freshNamespace, getDeployment, imageOf, k8sContext, until } from './helpers';

const deployConfig = (namespace: string, over: object) => k8sDeployConfigSchema.parse({ connection: 'local', namespace, ...over });

describe('k8s-deploy rolling', () => {
  let ns: string;
  beforeAll(async () => {
    ns = await freshNamespace('rolling');
  });

  it('rolls out, reports progress, and a new version replaces the old ReplicaSet', async () => {
    const f = k8sContext();
    const first = await executeK8sDeploy(deployConfig(ns, { manifests: appManifests({ image: 'example/web:1' }) }), f.ctx);
    expect(first.outputs).toMatchObject({ deployment: 'web', revision: '1', image: 'example/web:1' });
    expect(f.log.text()).toContain('rollout: web: 3/3 ready');

    const g = k8sContext();
    const second = await executeK8sDeploy(deployConfig(ns, { manifests: appManifests({ image: 'example/web:2' }) }), g.ctx);
    expect(second.outputs).toMatchObject({ revision: '2', image: 'example/web:2' });
    // Progress was heartbeated while it rolled (ready counts per Deployment).
    expect(g.heartbeats.some((h) => (h as { phase?: string; ready?: Record<string, string> }).ready?.web !== undefined)).toBe(true);

    const sets = await admin().list('apps/v1', 'ReplicaSet', ns, { labelSelector: 'app=web' });
    expect(sets).toHaveLength(2);
    const live = sets.filter((rs) => ((rs.status as { readyReplicas?: number }).readyReplicas ?? 0) > 0);
    expect(live.map((rs) => rs.metadata.annotations?.['deployment.kubernetes.io/revision'])).toEqual(['2']);

    // Deploying the same version again is a no-op.
    const third = await executeK8sDeploy(deployConfig(ns, { manifests: appManifests({ image: 'example/web:2' }) }), k8sContext().ctx);
    expect(third.outputs.revision).toBe('2');
    expect(third.summary).toContain('nothing rolled out');
  });

  it('fails a rollout whose pods never become ready at its progress deadline and rolls back to the previous revision', async () => {
    const f = k8sContext();
    let caught: unknown;
    try {
      await executeK8sDeploy(
        deployConfig(ns, { manifests: appManifests({ image: 'example/web:3-broken', pending: true }), progressDeadlineSeconds: 4 }),
        f.ctx,
      );
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(StageFailure);
    const message = (caught as Error).message;
    expect(message).toContain('exceeded its progress deadline');
    expect(message).toContain('rolled back to revision 2 (example/web:2)');
    expect((caught as StageFailure).outputs.rolledBackTo).toBe('revision 2 (example/web:2)');

    const dep = await getDeployment(ns, 'web');
    expect(imageOf(dep)).toBe('example/web:2');
    const status = dep?.status as { readyReplicas?: number; updatedReplicas?: number };
    expect(status.readyReplicas).toBe(3);
    expect(f.log.text()).toContain('rolling back to revision 2');
  }, 90_000);

  it('updates only the image of an existing Deployment', async () => {
    const res = await executeK8sDeploy(deployConfig(ns, { deployment: 'web', image: 'example/web:4' }), k8sContext().ctx);
    expect(res.outputs.image).toBe('example/web:4');
    expect(imageOf(await getDeployment(ns, 'web'))).toBe('example/web:4');
  });

  it('k8s-rollback returns to the previous revision', async () => {
    const res = await executeK8sRollback(k8sRollbackConfigSchema.parse({ connection: 'local', namespace: ns, deployment: 'web' }), k8sContext().ctx);
    expect(res.outputs.strategy).toBe('rolling');
    expect(res.outputs.rolledBackTo).toContain('example/web:2');
    expect(imageOf(await getDeployment(ns, 'web'))).toBe('example/web:2');
  });

  it('stops watching when the stage is cancelled', async () => {
    const f = k8sContext();
    // A 600 s progress deadline, beyond the test's timeout: only the cancellation ends the watch.
    const running = executeK8sDeploy(
      deployConfig(ns, { manifests: appManifests({ name: 'stuck', image: 'example/stuck:1', pending: true }), progressDeadlineSeconds: 600 }),
      f.ctx,
    );
    // Watching: the rollout is waited for (it never becomes ready).
    await until(async () => f.heartbeats.length >= 2, 30_000, 'the watch to heartbeat');
    f.controller.abort();
    await expect(running).rejects.toMatchObject({ name: 'AbortError' });
    // Nothing keeps heartbeating after the stage ended: a witness on the same 1 s heartbeat clock
    // beats three times meanwhile, and the cancelled stage not once.
    const beats = f.heartbeats.length;
    const witness = k8sContext();
    const clock = new Progress(witness.ctx);
    try {
      await until(async () => witness.heartbeats.length >= 3, 30_000, 'three beats of the witness');
    } finally {
      clock.stop();
    }
    expect(f.heartbeats.length).toBe(beats);
  });
});
