/**
 * Which pods a strategy's Services send traffic to, phase by phase, read from
 * the EndpointSlices the endpoint-slice controller fills from kwok's Ready pods
 * (issue 16, item 1): the live Service of a blue/green deploy never lists the
 * colour under test — over a plain Deployment deployed some other way, or on a
 * first deploy; a canary's and an A/B split's stable Service list only the
 * versions the split intends; a promoted canary leaves no Deployment behind.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { parseManifests } from '../../workflows/k8s/manifests';
import { k8sDeployConfigSchema } from '../../workflows/stages/k8s-deploy/definition';
import { executeK8sDeploy } from '../../workflows/stages/k8s-deploy/executor';
import { k8sRollbackConfigSchema } from '../../workflows/stages/k8s-rollback/definition';
import { executeK8sRollback } from '../../workflows/stages/k8s-rollback/executor';
import { StageFailure, type ExecutorResult } from '../../workflows/stages/executor-types';
import {
  admin,
  appManifests,
  endpointImages,
  freshNamespace,
  getDeployment,
  httpRouteCrd,
  k8sContext,
  replicasOf,
  sampler,
  smokeServer,
  until,
} from './helpers';

type Served = Record<string, string>;
const images = (served: Served) => Object.values(served).sort();
const pods = (served: Served) => Object.keys(served).sort();
const selectorOf = async (ns: string, name: string) =>
  ((await admin().get({ apiVersion: 'v1', kind: 'Service', namespace: ns, name }))?.spec as { selector?: Record<string, string> } | undefined)?.selector;

/** Waits until the Service's EndpointSlices list ready pods running exactly `expected` (one image per pod, any order); returns them. */
async function servedSettled(ns: string, service: string, expected: string[]): Promise<Served> {
  let last: Served = {};
  const want = [...expected].sort();
  await until(async () => {
    last = await endpointImages(ns, service);
    return JSON.stringify(images(last)) === JSON.stringify(want);
  }, 30_000, `${service} to list pods of ${JSON.stringify(want)} (last: ${JSON.stringify(last)})`);
  return last;
}
const times = (n: number, image: string) => Array.from({ length: n }, () => image);

/**
 * Runs a blue/green deploy whose smoke test answers 503 until the test has
 * looked at the Services while the new colour is up and under test, then
 * answers `verdict`. Samples the live Service's endpoints from the start until
 * the verdict.
 */
async function deployWatched(
  ns: string,
  config: Record<string, unknown>,
  o: { live: string; preview: string; newPods: number; newImage: string; verdict: 200 | 500 },
): Promise<{ result?: ExecutorResult; error?: unknown; liveSamples: Served[]; during: { live: Served; preview: Served }; log: string }> {
  let answer = 503;
  const smoke = await smokeServer(() => answer);
  const watch = sampler(() => endpointImages(ns, o.live));
  const f = k8sContext();
  try {
    const strategy = config.strategy as Record<string, unknown>;
    const running = executeK8sDeploy(
      k8sDeployConfigSchema.parse({
        ...config,
        strategy: { ...strategy, smokeTest: { url: smoke.url, intervalSeconds: 0.2, timeoutSeconds: o.verdict === 500 ? 20 : 120 } },
      }),
      f.ctx,
    ).then(
      (result) => ({ result }),
      (error: unknown) => ({ error }),
    );
    await until(async () => smoke.hits > 0, 60_000, 'the smoke test to start');
    // The new colour is Ready and the endpoint-slice controller has seen it (the preview Service lists it): what does the live one list?
    const preview = await servedSettled(ns, o.preview, times(o.newPods, o.newImage));
    const live = await endpointImages(ns, o.live);
    const liveSamples = await watch.stop();
    answer = o.verdict;
    const outcome = await running;
    return { ...outcome, liveSamples, during: { live, preview }, log: f.log.text() };
  } finally {
    await watch.stop();
    await smoke.close();
  }
}

describe('blue/green over a plain Deployment deployed before (adopted as the live version)', () => {
  let ns: string;
  let old: Served;
  beforeAll(async () => {
    ns = await freshNamespace('bg-adopt');
    await executeK8sDeploy(
      k8sDeployConfigSchema.parse({ connection: 'local', namespace: ns, manifests: appManifests({ image: 'example/web:1', replicas: 4 }), progressDeadlineSeconds: 30 }),
      k8sContext().ctx,
    );
    old = await servedSettled(ns, 'web', times(4, 'example/web:1'));
  });
  const imageOnly = (image: string) => ({
    connection: 'local',
    namespace: ns,
    deployment: 'web',
    image,
    strategy: { type: 'blue-green', activeService: 'web', scaleDownDelaySeconds: 1 },
    progressDeadlineSeconds: 30,
  });

  it('a failed smoke test: the live Service listed only the old pods throughout, and the old Deployment is said to stay live', async () => {
    const w = await deployWatched(ns, imageOnly('example/web:2'), { live: 'web', preview: 'web-preview', newPods: 4, newImage: 'example/web:2', verdict: 500 });
    expect(w.during.preview).not.toEqual({});
    expect(pods(w.during.preview).every((p) => p.startsWith('web-blue-'))).toBe(true);
    expect(w.during.live).toEqual(old);
    expect(w.liveSamples.length).toBeGreaterThan(0);
    for (const sample of w.liveSamples) expect(sample).toEqual(old);
    expect(w.error).toBeInstanceOf(StageFailure);
    expect((w.error as Error).message).toMatch(/smoke test failed.*the live Service never switched: Deployment web \(example\/web:1\) stays live/);
    expect(replicasOf(await getDeployment(ns, 'web-blue'))).toBe(0);
    expect(replicasOf(await getDeployment(ns, 'web'))).toBe(4);
    expect(await servedSettled(ns, 'web', times(4, 'example/web:1'))).toEqual(old);
    // The preview Service is pointed back at what is live.
    expect(await servedSettled(ns, 'web-preview', times(4, 'example/web:1'))).toEqual(old);
  }, 120_000);

  it('a passing smoke test: old pods only until the switch, then only the new colour; the old Deployment scaled to 0', async () => {
    const w = await deployWatched(ns, imageOnly('example/web:3'), { live: 'web', preview: 'web-preview', newPods: 4, newImage: 'example/web:3', verdict: 200 });
    expect(w.during.live).toEqual(old);
    for (const sample of w.liveSamples) expect(sample).toEqual(old);
    expect(w.error).toBeUndefined();
    expect(w.result?.outputs).toMatchObject({ deployment: 'web-blue', color: 'blue', image: 'example/web:3' });
    expect(w.log).toContain('pinned to the pods of Deployment web');
    const after = await servedSettled(ns, 'web', times(4, 'example/web:3'));
    expect(pods(after)).toEqual(pods(w.during.preview));
    expect(await selectorOf(ns, 'web')).toEqual({ app: 'web', 'pipewright.dev/color': 'blue' });
    expect(replicasOf(await getDeployment(ns, 'web'))).toBe(0);
  }, 120_000);

  it('k8s-rollback goes back to the adopted Deployment: the live Service lists its pods again, none of blue', async () => {
    const res = await executeK8sRollback(k8sRollbackConfigSchema.parse({ connection: 'local', namespace: ns, deployment: 'web', progressDeadlineSeconds: 30 }), k8sContext().ctx);
    expect(res.outputs).toMatchObject({ strategy: 'blue-green', rolledBackTo: 'Deployment web (example/web:1)' });
    const back = await servedSettled(ns, 'web', times(4, 'example/web:1'));
    expect(pods(back).some((p) => p.startsWith('web-blue-'))).toBe(false);
    expect(replicasOf(await getDeployment(ns, 'web-blue'))).toBe(0);
    expect(replicasOf(await getDeployment(ns, 'web'))).toBe(4);
  }, 120_000);

  it('the next blue/green deploy adopts it again and switches only after its smoke test', async () => {
    const live = await servedSettled(ns, 'web', times(4, 'example/web:1'));
    const w = await deployWatched(ns, imageOnly('example/web:4'), { live: 'web', preview: 'web-preview', newPods: 4, newImage: 'example/web:4', verdict: 200 });
    expect(w.during.live).toEqual(live);
    for (const sample of w.liveSamples) expect(sample).toEqual(live);
    expect(w.result?.outputs).toMatchObject({ color: 'blue', image: 'example/web:4' });
    await servedSettled(ns, 'web', times(4, 'example/web:4'));
  }, 120_000);
});

describe('blue/green with the Services in the manifests', () => {
  const manifests = (image: string) => appManifests({ image, replicas: 2 });
  const config = (ns: string, image: string) => ({
    connection: 'local',
    namespace: ns,
    manifests: manifests(image),
    strategy: { type: 'blue-green', activeService: 'web', scaleDownDelaySeconds: 1 },
    progressDeadlineSeconds: 30,
  });

  it('over a plain Deployment: the live Service keeps the old pods during the smoke test, then lists only blue', async () => {
    const ns = await freshNamespace('bg-manifests');
    await executeK8sDeploy(k8sDeployConfigSchema.parse({ connection: 'local', namespace: ns, manifests: manifests('example/web:1'), progressDeadlineSeconds: 30 }), k8sContext().ctx);
    const old = await servedSettled(ns, 'web', times(2, 'example/web:1'));
    const w = await deployWatched(ns, config(ns, 'example/web:2'), { live: 'web', preview: 'web-preview', newPods: 2, newImage: 'example/web:2', verdict: 200 });
    expect(w.during.live).toEqual(old);
    for (const sample of w.liveSamples) expect(sample).toEqual(old);
    expect(w.result?.outputs).toMatchObject({ color: 'blue' });
    const after = await servedSettled(ns, 'web', times(2, 'example/web:2'));
    expect(pods(after).every((p) => p.startsWith('web-blue-'))).toBe(true);
  }, 120_000);

  it('a first deploy with nothing live: the live Service lists no pod until the untested colour passed', async () => {
    const ns = await freshNamespace('bg-first');
    const w = await deployWatched(ns, config(ns, 'example/web:1'), { live: 'web', preview: 'web-preview', newPods: 2, newImage: 'example/web:1', verdict: 200 });
    expect(w.during.live).toEqual({});
    for (const sample of w.liveSamples) expect(sample).toEqual({});
    expect(w.result?.outputs).toMatchObject({ color: 'blue' });
    const after = await servedSettled(ns, 'web', times(2, 'example/web:1'));
    expect(pods(after)).toEqual(pods(w.during.preview));
  }, 120_000);
});

describe('canary and A/B by replica ratio', () => {
  let ns: string;
  const cfg = (image: string, strategy: object) =>
    k8sDeployConfigSchema.parse({ connection: 'local', namespace: ns, manifests: appManifests({ image, replicas: 4 }), strategy, progressDeadlineSeconds: 30 });
  beforeAll(async () => {
    ns = await freshNamespace('split');
    await executeK8sDeploy(cfg('example/web:1', { type: 'rolling' }), k8sContext().ctx);
    await servedSettled(ns, 'web', times(4, 'example/web:1'));
  });

  it('a held canary: the stable Service lists the stable pods and the canary pods in the asked ratio; promoted: only the new version, no canary Deployment left', async () => {
    await executeK8sDeploy(cfg('example/web:2', { type: 'canary', steps: [{ weight: 50 }], promote: false }), k8sContext().ctx);
    const held = await servedSettled(ns, 'web', ['example/web:1', 'example/web:1', 'example/web:2', 'example/web:2']);
    expect(pods(held).filter((p) => p.startsWith('web-canary-'))).toHaveLength(2);
    for (const [pod, image] of Object.entries(held)) expect(image).toBe(pod.startsWith('web-canary-') ? 'example/web:2' : 'example/web:1');

    const res = await executeK8sDeploy(cfg('example/web:2', { type: 'canary', steps: [{ weight: 100 }] }), k8sContext().ctx);
    expect(res.outputs).toMatchObject({ deployment: 'web', weight: '100', image: 'example/web:2' });
    expect(res.summary).toBeTruthy();
    expect(await getDeployment(ns, 'web-canary')).toBeUndefined();
    const promoted = await servedSettled(ns, 'web', times(4, 'example/web:2'));
    expect(pods(promoted).some((p) => p.startsWith('web-canary-'))).toBe(false);
    await until(async () => (await admin().list('v1', 'Pod', ns, { labelSelector: 'pipewright.dev/track=canary' })).length === 0, 30_000, 'the canary pods to be gone');
  }, 120_000);

  it('A/B: the stable Service lists A and B pods in the asked split; ended by k8s-rollback it lists only A', async () => {
    await executeK8sDeploy(cfg('example/web:3-b', { type: 'ab', weightB: 25 }), k8sContext().ctx);
    const split = await servedSettled(ns, 'web', ['example/web:2', 'example/web:2', 'example/web:2', 'example/web:3-b']);
    expect(pods(split).filter((p) => p.startsWith('web-b-'))).toHaveLength(1);
    await executeK8sRollback(k8sRollbackConfigSchema.parse({ connection: 'local', namespace: ns, deployment: 'web' }), k8sContext().ctx);
    const ended = await servedSettled(ns, 'web', times(4, 'example/web:2'));
    expect(pods(ended).some((p) => p.startsWith('web-b-'))).toBe(false);
  }, 120_000);
});

describe('canary by HTTPRoute weights', () => {
  const crd = httpRouteCrd();
  let ns: string;
  beforeAll(async () => {
    if (!crd) throw new Error('tools/k8s/crds/gateway.networking.k8s.io_httproutes.yaml is missing: run npm run k8s:build');
    for (const obj of parseManifests(crd)) await admin().apply(obj);
    await until(async () => admin().serves('gateway.networking.k8s.io/v1', 'HTTPRoute'), 30_000, 'the HTTPRoute CRD to be served');
    ns = await freshNamespace('route-split');
  });

  it('a weighted Service only ever lists its own version; promotion moves all traffic to the canary before the stable pods are replaced', async () => {
    const manifests = (image: string) => `${appManifests({ image, name: 'api', replicas: 4 })}---
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
    const base = { connection: 'local', namespace: ns, progressDeadlineSeconds: 30 };
    await executeK8sDeploy(k8sDeployConfigSchema.parse({ ...base, manifests: manifests('example/api:1') }), k8sContext().ctx);
    const route = { name: 'api', stableService: 'api-stable', canaryService: 'api-canary' };
    const weightsNow = async () => {
      const obj = await admin().get({ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', namespace: ns, name: 'api' });
      const refs = (obj?.spec as { rules: { backendRefs: { name: string; weight?: number }[] }[] }).rules[0]!.backendRefs;
      return Object.fromEntries(refs.map((r) => [r.name, r.weight]));
    };
    const watch = sampler(async () => {
      const weights = await weightsNow();
      return { weights, stable: await endpointImages(ns, 'api-stable'), canary: await endpointImages(ns, 'api-canary') };
    });
    const f = k8sContext();
    let res: ExecutorResult;
    try {
      res = await executeK8sDeploy(
        k8sDeployConfigSchema.parse({ ...base, manifests: manifests('example/api:2'), strategy: { type: 'canary', steps: [{ weight: 10 }, { pause: 1 }, { weight: 40 }], httpRoute: route } }),
        f.ctx,
      );
    } finally {
      await watch.stop();
    }
    expect(res.outputs).toMatchObject({ deployment: 'api', weight: '100', image: 'example/api:2' });
    // The weights the stage set, in order: the steps, all to the canary while the stable Deployment is replaced, then all back to stable.
    const set = (f.heartbeats as { weights?: { stable: number; canary: number } | null }[]).map((h) => h.weights).filter(Boolean).map((w) => `${w!.stable}/${w!.canary}`);
    expect(set.filter((w, i) => w !== set[i - 1])).toEqual(['90/10', '60/40', '0/100', '100/0']);
    // While both Services carried traffic, each listed only its own version.
    const split = watch.samples.filter((s) => (s.weights['api-stable'] ?? 0) > 0 && (s.weights['api-canary'] ?? 0) > 0);
    expect(split.length).toBeGreaterThan(0);
    for (const s of split) {
      expect(images(s.stable)).toEqual(['example/api:1', 'example/api:1', 'example/api:1', 'example/api:1']);
      for (const image of images(s.canary)) expect(image).toBe('example/api:2');
    }
    expect(await weightsNow()).toEqual({ 'api-stable': 100, 'api-canary': 0 });
    await servedSettled(ns, 'api-stable', times(4, 'example/api:2'));
    await servedSettled(ns, 'api-canary', []);
    expect(await getDeployment(ns, 'api-canary')).toBeUndefined();
    // The canary Service stays: the HTTPRoute names it.
    expect(await admin().get({ apiVersion: 'v1', kind: 'Service', namespace: ns, name: 'api-canary' })).toBeDefined();
  }, 120_000);
});
