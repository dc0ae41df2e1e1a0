/**
 * k8s-deploy blue/green on the real control plane: the Service switches only
 * after the new colour is available and its smoke test passed; the old colour
 * is scaled down after the delay; a failed smoke test leaves live traffic
 * where it was; k8s-rollback switches back to the previous colour.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { k8sDeployConfigSchema } from '../../workflows/stages/k8s-deploy/definition';
import { executeK8sDeploy } from '../../workflows/stages/k8s-deploy/executor';
import { k8sRollbackConfigSchema } from '../../workflows/stages/k8s-rollback/definition';
import { executeK8sRollback } from '../../workflows/stages/k8s-rollback/executor';
import { StageFailure } from '../../workflows/stages/executor-types';
import { admin, appManifests, endpointPods, freshNamespace, getDeployment, imageOf, k8sContext, replicasOf, smokeServer, until } from './helpers';

const selectorOf = async (ns: string, name: string) =>
  ((await admin().get({ apiVersion: 'v1', kind: 'Service', namespace: ns, name }))?.spec as { selector?: Record<string, string> } | undefined)?.selector;

describe('k8s-deploy blue/green', () => {
  let ns: string;
  const cfg = (image: string, over: object = {}) =>
    k8sDeployConfigSchema.parse({
      connection: 'local',
      namespace: ns,
      manifests: appManifests({ image, replicas: 2 }),
      strategy: { type: 'blue-green', activeService: 'web', scaleDownDelaySeconds: 1, ...over },
      progressDeadlineSeconds: 20,
    });
  beforeAll(async () => {
    ns = await freshNamespace('bluegreen');
  });

  it('first deploy goes live as blue', async () => {
    const res = await executeK8sDeploy(cfg('example/web:1'), k8sContext().ctx);
    expect(res.outputs).toMatchObject({ color: 'blue', deployment: 'web-blue' });
    expect(await selectorOf(ns, 'web')).toEqual({ app: 'web', 'pipewright.dev/color': 'blue' });
    await until(async () => {
      const pods = await endpointPods(ns, 'web');
      return pods.length === 2 && pods.every((p) => p.startsWith('web-blue-'));
    }, 30_000, 'EndpointSlices of web to list the blue pods');
  });

  it('switches the Service to green only after the smoke test passed, then scales blue down', async () => {
    // The smoke test endpoint records which colour the live Service selected while it was being tested.
    const seen: (string | undefined)[] = [];
    const smoke = await smokeServer(async () => {
      seen.push((await selectorOf(ns, 'web'))?.['pipewright.dev/color']);
      return seen.length < 2 ? 503 : 200;
    });
    try {
      const f = k8sContext();
      const res = await executeK8sDeploy(cfg('example/web:2', { smokeTest: { url: smoke.url, intervalSeconds: 0.2, timeoutSeconds: 20 } }), f.ctx);
      expect(res.outputs).toMatchObject({ color: 'green', deployment: 'web-green', image: 'example/web:2' });
      expect(seen.length).toBeGreaterThanOrEqual(2);
      expect(new Set(seen)).toEqual(new Set(['blue']));
      expect(f.log.text()).toContain('smoke test passed');
    } finally {
      await smoke.close();
    }
    expect(await selectorOf(ns, 'web')).toEqual({ app: 'web', 'pipewright.dev/color': 'green' });
    expect(await selectorOf(ns, 'web-preview')).toEqual({ app: 'web', 'pipewright.dev/color': 'green' });
    expect(replicasOf(await getDeployment(ns, 'web-blue'))).toBe(0);
    const svc = await admin().get({ apiVersion: 'v1', kind: 'Service', namespace: ns, name: 'web' });
    expect(svc?.metadata.annotations).toMatchObject({ 'pipewright.dev/active-color': 'green', 'pipewright.dev/previous-color': 'blue' });
    await until(async () => {
      const pods = await endpointPods(ns, 'web');
      return pods.length === 2 && pods.every((p) => p.startsWith('web-green-'));
    }, 30_000, 'EndpointSlices of web to list only the green pods');
  });

  it('deploying the live version again switches nothing', async () => {
    const res = await executeK8sDeploy(cfg('example/web:2'), k8sContext().ctx);
    expect(res.summary).toContain('already live');
    expect(await selectorOf(ns, 'web')).toMatchObject({ 'pipewright.dev/color': 'green' });
  });

  it('a failed smoke test leaves green live and scales the new colour to 0', async () => {
    const smoke = await smokeServer(() => 500);
    try {
      let caught: unknown;
      try {
        await executeK8sDeploy(cfg('example/web:3', { smokeTest: { url: smoke.url, intervalSeconds: 0.2, timeoutSeconds: 1 } }), k8sContext().ctx);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(StageFailure);
      expect((caught as Error).message).toMatch(/smoke test failed.*answered 500.*green stays live/);
    } finally {
      await smoke.close();
    }
    expect(await selectorOf(ns, 'web')).toMatchObject({ 'pipewright.dev/color': 'green' });
    expect(replicasOf(await getDeployment(ns, 'web-blue'))).toBe(0);
    expect(imageOf(await getDeployment(ns, 'web-green'))).toBe('example/web:2');
  });

  it('k8s-rollback brings the previous colour back', async () => {
    // Deploy v4 (blue), then roll back to green (v2).
    await executeK8sDeploy(cfg('example/web:4'), k8sContext().ctx);
    expect(await selectorOf(ns, 'web')).toMatchObject({ 'pipewright.dev/color': 'blue' });
    const res = await executeK8sRollback(k8sRollbackConfigSchema.parse({ connection: 'local', namespace: ns, deployment: 'web', progressDeadlineSeconds: 20 }), k8sContext().ctx);
    expect(res.outputs).toMatchObject({ strategy: 'blue-green', rolledBackTo: 'colour green (example/web:2)' });
    expect(await selectorOf(ns, 'web')).toMatchObject({ 'pipewright.dev/color': 'green' });
    expect(replicasOf(await getDeployment(ns, 'web-green'))).toBe(2);
    expect(replicasOf(await getDeployment(ns, 'web-blue'))).toBe(0);
  });
});
