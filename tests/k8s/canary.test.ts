/**
 * k8s-deploy canary and A/B on the real control plane: replica-ratio steps
 * with a pause and promotion, Gateway API HTTPRoute weights (with the real
 * HTTPRoute CRD), a failed canary rolled back, manual promotion across two
 * stages, and A/B splits.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { parseManifests } from '../../workflows/k8s/manifests';
import { k8sDeployConfigSchema } from '../../workflows/stages/k8s-deploy/definition';
import { executeK8sDeploy } from '../../workflows/stages/k8s-deploy/executor';
import { k8sRollbackConfigSchema } from '../../workflows/stages/k8s-rollback/definition';
import { executeK8sRollback } from '../../workflows/stages/k8s-rollback/executor';
import { StageFailure } from '../../workflows/stages/executor-types';
import { admin, appManifests, freshNamespace, getDeployment, httpRouteCrd, imageOf, k8sContext, replicasOf, until } from './helpers';

type Split = { step?: number; canaryReplicas?: number; stableReplicas?: number; weights?: { stable: number; canary: number } | null };

describe('k8s-deploy canary', () => {
  let ns: string;
  const cfg = (image: string, strategy: object, over: { pending?: boolean; progressDeadlineSeconds?: number } = {}) =>
    k8sDeployConfigSchema.parse({
      connection: 'local',
      namespace: ns,
      manifests: appManifests({ image, replicas: 4, pending: over.pending }),
      strategy,
      progressDeadlineSeconds: over.progressDeadlineSeconds ?? 20,
    });
  beforeAll(async () => {
    ns = await freshNamespace('canary');
    await executeK8sDeploy(cfg('example/web:1', { type: 'rolling' }), k8sContext().ctx);
  });

  it('steps through replica ratios with a pause, then promotes', async () => {
    const f = k8sContext();
    const started = Date.now();
    const res = await executeK8sDeploy(cfg('example/web:2', { type: 'canary', steps: [{ weight: 25 }, { pause: 1 }, { weight: 50 }] }), f.ctx);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(res.outputs).toMatchObject({ deployment: 'web', weight: '100', image: 'example/web:2' });
    const splits = (f.heartbeats as Split[]).filter((h) => h.canaryReplicas !== undefined).map((h) => `${h.canaryReplicas}/${h.stableReplicas}`);
    expect([...new Set(splits)]).toEqual(['1/3', '2/2']);
    expect(f.log.text()).toContain('paused for 1 s');
    expect(imageOf(await getDeployment(ns, 'web'))).toBe('example/web:2');
    expect(replicasOf(await getDeployment(ns, 'web'))).toBe(4);
    expect(await getDeployment(ns, 'web-canary')).toBeUndefined();
  });

  it('rolls a failing canary back: all traffic to stable, canary at 0', async () => {
    let caught: unknown;
    try {
      await executeK8sDeploy(cfg('example/web:3', { type: 'canary', steps: [{ weight: 50 }] }, { pending: true, progressDeadlineSeconds: 4 }), k8sContext().ctx);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(StageFailure);
    expect((caught as Error).message).toMatch(/canary failed at step 1 \(50%\): Deployment web-canary exceeded its progress deadline.*rolled back to stable web \(example\/web:2\)/);
    expect(replicasOf(await getDeployment(ns, 'web-canary'))).toBe(0);
    expect(replicasOf(await getDeployment(ns, 'web'))).toBe(4);
    expect(imageOf(await getDeployment(ns, 'web'))).toBe('example/web:2');
  }, 90_000);

  it('holds a canary for a manual decision, then a second stage promotes it', async () => {
    const hold = await executeK8sDeploy(cfg('example/web:5', { type: 'canary', steps: [{ weight: 50 }], promote: false }), k8sContext().ctx);
    expect(hold.outputs).toMatchObject({ deployment: 'web-canary', weight: '50' });
    expect(replicasOf(await getDeployment(ns, 'web-canary'))).toBe(2);
    expect(replicasOf(await getDeployment(ns, 'web'))).toBe(2);
    // (An approval gate sits here in the pipeline.) Approved: the next stage continues the steps and promotes.
    const promote = await executeK8sDeploy(cfg('example/web:5', { type: 'canary', steps: [{ weight: 75 }] }), k8sContext().ctx);
    expect(promote.outputs).toMatchObject({ weight: '100', image: 'example/web:5' });
    expect(await getDeployment(ns, 'web-canary')).toBeUndefined();
  });

  it('a try interrupted during a pause resumes at that step instead of starting over', async () => {
    const strategy = { type: 'canary', steps: [{ weight: 25 }, { pause: 3 }, { weight: 50 }] };
    const first = k8sContext();
    const running = executeK8sDeploy(cfg('example/web:5b', strategy), first.ctx);
    await until(async () => (first.heartbeats as { phase?: string }[]).some((h) => h.phase === 'paused'), 30_000, 'the pause');
    first.controller.abort(); // the worker "dies" here
    await expect(running).rejects.toMatchObject({ name: 'AbortError' });
    const last = first.heartbeats.at(-1) as { step?: number; pauseUntil?: number };
    expect(last.step).toBe(1);

    // Temporal retries the activity with the last heartbeat's details.
    const second = k8sContext({ lastHeartbeat: [last] });
    const res = await executeK8sDeploy(cfg('example/web:5b', strategy), second.ctx);
    expect(res.outputs.weight).toBe('100');
    expect(second.log.text()).toContain('resuming after an interrupted try');
    expect(second.log.text()).not.toContain('step 1/3');
    expect(second.log.text()).toContain('step 3/3');
    expect(imageOf(await getDeployment(ns, 'web'))).toBe('example/web:5b');
  });

  it('A/B: a fixed split between the current version and B, ended by k8s-rollback', async () => {
    const res = await executeK8sDeploy(cfg('example/web:6-b', { type: 'ab', weightB: 25 }), k8sContext().ctx);
    expect(res.outputs).toMatchObject({ deployment: 'web-b', weight: '25' });
    expect(replicasOf(await getDeployment(ns, 'web-b'))).toBe(1);
    expect(replicasOf(await getDeployment(ns, 'web'))).toBe(3);
    const back = await executeK8sRollback(k8sRollbackConfigSchema.parse({ connection: 'local', namespace: ns, deployment: 'web' }), k8sContext().ctx);
    expect(back.outputs.strategy).toBe('ab');
    expect(replicasOf(await getDeployment(ns, 'web-b'))).toBe(0);
    expect(replicasOf(await getDeployment(ns, 'web'))).toBe(4);
  });

  describe('with Gateway API HTTPRoute weights', () => {
    let routeNs: string;
    beforeAll(async () => {
      const crd = httpRouteCrd();
      // Too big for a stage's config (16,000 characters): applied directly.
      for (const obj of parseManifests(crd)) await admin().apply(obj);
      await until(async () => admin().serves('gateway.networking.k8s.io/v1', 'HTTPRoute'), 30_000, 'the HTTPRoute CRD to be served');
      routeNs = await freshNamespace('route');
    });

    it('sets backend weights per step and resets them on rollback', async () => {
      const manifests = `${appManifests({ image: 'example/api:1', name: 'api', replicas: 4 })}---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: api
spec:
  rules:
    - backendRefs:
        - name: api-stable
          port: 80
`;
      const base = { connection: 'local', namespace: routeNs, progressDeadlineSeconds: 20 };
      await executeK8sDeploy(k8sDeployConfigSchema.parse({ ...base, manifests }), k8sContext().ctx);
      const route = { name: 'api', stableService: 'api-stable', canaryService: 'api-canary' };
      const f = k8sContext();
      const res = await executeK8sDeploy(
        k8sDeployConfigSchema.parse({
          ...base,
          manifests: manifests.replace('example/api:1', 'example/api:2'),
          strategy: { type: 'canary', steps: [{ weight: 10 }, { weight: 40 }], httpRoute: route, promote: false },
        }),
        f.ctx,
      );
      expect(res.outputs.weight).toBe('40');
      const weights = (f.heartbeats as Split[]).map((h) => h.weights).filter(Boolean).map((w) => `${w!.stable}/${w!.canary}`);
      expect([...new Set(weights)]).toEqual(['90/10', '60/40']);

      const read = async () =>
        ((await admin().get({ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', namespace: routeNs, name: 'api' }))?.spec as {
          rules: { backendRefs: { name: string; weight: number }[] }[];
        }).rules[0]!.backendRefs.map((b) => `${b.name}=${b.weight}`);
      expect(await read()).toEqual(['api-stable=60', 'api-canary=40']);
      // The stable Service selects only the stable ReplicaSet's pods; the canary one only the canary's.
      const svc = await admin().get({ apiVersion: 'v1', kind: 'Service', namespace: routeNs, name: 'api-stable' });
      expect(Object.keys((svc?.spec as { selector: object }).selector)).toContain('pod-template-hash');
      expect(replicasOf(await getDeployment(routeNs, 'api'))).toBe(4);
      expect(replicasOf(await getDeployment(routeNs, 'api-canary'))).toBe(2);

      await executeK8sRollback(k8sRollbackConfigSchema.parse({ connection: 'local', namespace: routeNs, deployment: 'api' }), k8sContext().ctx);
      expect(await read()).toEqual(['api-stable=100', 'api-canary=0']);
      expect(replicasOf(await getDeployment(routeNs, 'api-canary'))).toBe(0);
    });
  });
});
