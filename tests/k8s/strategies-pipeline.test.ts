/**
 * Blue/green, A/B and HTTPRoute canary inside real pipeline runs (issue 16,
 * item 11): Temporal, the interpreter, the control worker and a runner over the
 * runner HTTP API, the cluster connection registered by an admin and bound to
 * an environment, against the local control plane. Each run's recorded result
 * (status, outputs, errors, logs) is checked against what the cluster ends up
 * serving (EndpointSlices, selectors, HTTPRoute weights).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseManifests } from '../../workflows/k8s/manifests';
import { spec, startHarness, type Harness } from '../integration/harness';
import { admin, appManifests, endpointImages, freshNamespace, getDeployment, httpRouteCrd, replicasOf, smokeServer, until } from './helpers';

let h: Harness;
let ns: string;
beforeAll(async () => {
  h = await startHarness();
  ns = await freshNamespace('strategies');
  const k8s = inject('k8s');
  await h.as(h.users.admin).clusters.create({
    authType: 'token',
    name: 'local-k8s',
    server: k8s.server,
    token: k8s.adminToken,
    caPem: k8s.caPem,
    allowedNamespaces: [ns],
  });
  await h.as(h.users.admin).environments.create({ name: 'k8s-test', displayName: 'K8s test', clusterConnection: 'local-k8s' });
});
afterAll(async () => {
  await h?.close();
});

const node = (id: string, kind: string, config: Record<string, unknown>) => ({
  id,
  kind,
  name: id,
  environment: 'k8s-test',
  config: { connection: 'local-k8s', namespace: ns, progressDeadlineSeconds: 60, ...config },
});
const versionParam = { parameters: [{ name: 'version', type: 'string' as const, required: true }] };
const sorted = (served: Record<string, string>) => Object.values(served).sort();
const times = (n: number, image: string) => Array.from({ length: n }, () => image);

/** Waits until the Service lists ready pods of exactly these images (any order); returns pod → image. */
async function served(service: string, expected: string[]): Promise<Record<string, string>> {
  let last: Record<string, string> = {};
  const want = JSON.stringify([...expected].sort());
  await until(async () => {
    last = await endpointImages(ns, service);
    return JSON.stringify(sorted(last)) === want;
  }, 30_000, `${service} to list ${want} (last: ${JSON.stringify(last)})`);
  return last;
}

describe('blue/green in a run', () => {
  it('adopts the plain Deployment, keeps live traffic on it during the smoke test, switches; a failing smoke test fails the run with the live colour untouched', async () => {
    // Run 1: the app as it was deployed before blue/green (a plain rolling deploy).
    const install = await h.run(spec('web install', [node('install', 'k8s-deploy', { manifests: appManifests({ image: 'example/web:1', replicas: 4 }) })]));
    expect((await h.waitForEnd(install, 90_000)).status).toBe('succeeded');
    const old = await served('web', times(4, 'example/web:1'));

    // The smoke test answers 200 once the preview Service lists the new pods, noting what the live Service listed then.
    const seen: { live: Record<string, string>; preview: Record<string, string> }[] = [];
    const smoke = await smokeServer(async () => {
      const preview = await endpointImages(ns, 'web-preview');
      seen.push({ live: await endpointImages(ns, 'web'), preview });
      return JSON.stringify(sorted(preview)) === JSON.stringify(times(4, 'example/web:2')) ? 200 : 503;
    });
    const blueGreen = (url: string, timeoutSeconds: number) =>
      spec(
        'web blue/green',
        [
          node('deploy', 'k8s-deploy', {
            deployment: 'web',
            image: 'example/web:${{ params.version }}',
            strategy: { type: 'blue-green', activeService: 'web', scaleDownDelaySeconds: 1, smokeTest: { url, intervalSeconds: 0.2, timeoutSeconds } },
          }),
        ],
        [],
        versionParam,
      );
    try {
      const runId = await h.run(blueGreen(smoke.url, 60), { version: '2' });
      const r = await h.waitForEnd(runId, 120_000);
      expect(r.status).toBe('succeeded');
      expect(h.stageOf(r, 'deploy').outputs).toMatchObject({ deployment: 'web-blue', color: 'blue', image: 'example/web:2' });
      const tested = seen.at(-1)!;
      expect(sorted(tested.preview)).toEqual(times(4, 'example/web:2'));
      for (const s of seen) expect(s.live).toEqual(old);
      const logs = await h.as(h.users.viewer).runs.logs({ runId, nodeId: 'deploy' });
      expect(logs.text).toContain('smoke test passed');
      expect(logs.text).toContain('Service web now selects blue');
      const live = await served('web', times(4, 'example/web:2'));
      expect(Object.keys(live).sort()).toEqual(Object.keys(tested.preview).sort());
      expect(replicasOf(await getDeployment(ns, 'web'))).toBe(0);
    } finally {
      await smoke.close();
    }

    const failing = await smokeServer(() => 500);
    try {
      const runId = await h.run(blueGreen(failing.url, 2), { version: '3' });
      const r = await h.waitForEnd(runId, 120_000);
      expect(r.status).toBe('failed');
      const stage = h.stageOf(r, 'deploy');
      expect(stage.error).toMatch(/smoke test failed: .* answered 500, expected 200 .*the live Service never switched: colour blue stays live/);
      expect(stage.attempt).toBe(1);
      expect(failing.hits).toBeGreaterThan(0);
    } finally {
      await failing.close();
    }
    await served('web', times(4, 'example/web:2'));
    expect(replicasOf(await getDeployment(ns, 'web-green'))).toBe(0);
  }, 300_000);
});

describe('A/B in a run', () => {
  it('starts an experiment beside the installed version, and a k8s-rollback run ends it', async () => {
    const manifests = (image: string) => appManifests({ name: 'shop', image, replicas: 4 });
    const runId = await h.run(
      spec(
        'shop experiment',
        [node('install', 'k8s-deploy', { manifests: manifests('example/shop:1') }), node('experiment', 'k8s-deploy', { manifests: manifests('example/shop:2'), strategy: { type: 'ab', weightB: 50 } })],
        [['install', 'experiment']],
      ),
    );
    const r = await h.waitForEnd(runId, 120_000);
    expect(r.status).toBe('succeeded');
    expect(h.stageOf(r, 'experiment').outputs).toMatchObject({ deployment: 'shop-b', weight: '50', image: 'example/shop:2' });
    const split = await served('shop', ['example/shop:1', 'example/shop:1', 'example/shop:2', 'example/shop:2']);
    for (const [pod, image] of Object.entries(split)) expect(image).toBe(pod.startsWith('shop-b-') ? 'example/shop:2' : 'example/shop:1');

    const end = await h.run(spec('shop end experiment', [node('end', 'k8s-rollback', { deployment: 'shop' })]));
    const r2 = await h.waitForEnd(end, 120_000);
    expect(r2.status).toBe('succeeded');
    expect(h.stageOf(r2, 'end').outputs).toMatchObject({ strategy: 'ab', rolledBackTo: 'stable shop (example/shop:1)' });
    await served('shop', times(4, 'example/shop:1'));
    expect(replicasOf(await getDeployment(ns, 'shop-b'))).toBe(0);
  }, 300_000);
});

describe('HTTPRoute canary in a run', () => {
  it('steps the route weights, promotes, and leaves all traffic on the new stable version', async () => {
    const crd = httpRouteCrd();
    if (!crd) throw new Error('tools/k8s/crds/gateway.networking.k8s.io_httproutes.yaml is missing: run npm run k8s:build');
    for (const obj of parseManifests(crd)) await admin().apply(obj);
    await until(async () => admin().serves('gateway.networking.k8s.io/v1', 'HTTPRoute'), 30_000, 'the HTTPRoute CRD to be served');

    const manifests = `${appManifests({ image: 'example/api:${{ params.version }}', name: 'api', replicas: 4 })}---
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
    const install = await h.run(spec('api install', [node('install', 'k8s-deploy', { manifests })], [], versionParam), { version: '1' });
    expect((await h.waitForEnd(install, 90_000)).status).toBe('succeeded');

    const runId = await h.run(
      spec(
        'api canary',
        [
          node('canary', 'k8s-deploy', {
            manifests,
            strategy: { type: 'canary', steps: [{ weight: 20 }, { pause: 1 }, { weight: 50 }], httpRoute: { name: 'api', stableService: 'api-stable', canaryService: 'api-canary' } },
          }),
        ],
        [],
        versionParam,
      ),
      { version: '2' },
    );
    const r = await h.waitForEnd(runId, 120_000);
    expect(r.status).toBe('succeeded');
    expect(h.stageOf(r, 'canary').outputs).toMatchObject({ deployment: 'api', weight: '100', image: 'example/api:2' });
    const logs = await h.as(h.users.viewer).runs.logs({ runId, nodeId: 'canary' });
    const weights = [...logs.text.matchAll(/HTTPRoute api: api-stable (\d+), api-canary (\d+)/g)].map((m) => `${m[1]}/${m[2]}`);
    expect(weights).toEqual(['80/20', '50/50', '0/100', '100/0']);
    expect(logs.text).toContain('paused for 1 s');

    const route = await admin().get({ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', namespace: ns, name: 'api' });
    const refs = (route?.spec as { rules: { backendRefs: { name: string; weight: number }[] }[] }).rules[0]!.backendRefs;
    expect(refs.map((b) => `${b.name}=${b.weight}`)).toEqual(['api-stable=100', 'api-canary=0']);
    expect(route?.metadata.annotations?.['pipewright.dev/run']).toBe(runId);
    await served('api-stable', times(4, 'example/api:2'));
    await served('api-canary', []);
    expect(await getDeployment(ns, 'api-canary')).toBeUndefined();
    expect((await getDeployment(ns, 'api'))?.metadata.annotations?.['pipewright.dev/run']).toBe(runId);
  }, 300_000);
});
