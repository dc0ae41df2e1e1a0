/**
 * A run whose worker dies in the middle of a rolling deploy ("the worker" is
 * the control worker and a runner, as child processes killed together): a new one
 * picks the stage up from its last heartbeat and finishes the same rollout —
 * the Deployment is changed once (one generation, one new revision, one new
 * ReplicaSet), and the run ends succeeded. Also: while it runs, the run page
 * data carries the rollout's progress (ready counts) from the heartbeats.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { spec, startHarness, type Harness } from '../integration/harness';
import { admin, freshNamespace, getDeployment, imageOf, until } from './helpers';

let h: Harness;
let ns: string;
let worker: ChildProcess | undefined;
let runner: ChildProcess | undefined;

/** The production control worker and a runner as real child processes (on the harness's database, task queue and runner API), so they can be killed. */
function startWorker() {
  worker = spawn(process.execPath, ['--import', 'tsx', 'server/control-worker/worker.ts'], { env: { ...process.env }, stdio: ['ignore', 'inherit', 'inherit'] });
  runner = h.spawnRunner();
}
async function kill9(p: ChildProcess | undefined) {
  if (!p || p.exitCode !== null) return;
  const exited = new Promise((r) => p.once('exit', r));
  p.kill('SIGKILL');
  await exited;
}
async function killWorker() {
  const [w, r] = [worker, runner];
  worker = undefined;
  runner = undefined;
  await Promise.all([kill9(w), kill9(r)]);
}

beforeAll(async () => {
  h = await startHarness({ worker: false });
  startWorker();
  ns = await freshNamespace('resume');
  const k8s = inject('k8s');
  await h.as(h.users.admin).clusters.create({ authType: 'token', name: 'local-k8s', server: k8s.server, token: k8s.adminToken, caPem: k8s.caPem, allowedNamespaces: [ns] });
  await h.as(h.users.admin).environments.create({ name: 'k8s-test', displayName: 'K8s test', clusterConnection: 'local-k8s' });
});
afterAll(async () => {
  await killWorker();
  await h?.close();
});

/** Three replicas, one new pod at a time, each counted available only after 3 s: a rollout of ~10 s. */
const slowApp = (image: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  minReadySeconds: 3
  selector:
    matchLabels: { app: web }
  strategy:
    rollingUpdate: { maxSurge: 1, maxUnavailable: 0 }
  template:
    metadata:
      labels: { app: web }
    spec:
      containers:
        - name: app
          image: ${image}
`;

it('resumes a rolling deploy after kill -9 of the worker, without applying twice', async () => {
  const pipelineId = await h.createPipeline(
    spec('k8s resume', [{ id: 'deploy', kind: 'k8s-deploy', name: 'deploy', environment: 'k8s-test', config: { connection: 'local-k8s', namespace: ns, manifests: slowApp('example/web:${{ params.version }}') } }], [], {
      parameters: [{ name: 'version', type: 'string', required: true }],
    }),
  );
  const { id: first } = await h.as(h.users.author).runs.start({ pipelineId, params: { version: '1' } });
  expect((await h.waitForEnd(first, 120_000)).status).toBe('succeeded');
  const before = (await getDeployment(ns, 'web'))!;
  const generation = before.metadata.generation as number;
  const revision = Number(before.metadata.annotations?.['deployment.kubernetes.io/revision']);

  const { id: runId } = await h.as(h.users.author).runs.start({ pipelineId, params: { version: '2' } });
  // Mid-rollout: the new ReplicaSet has pods but is not complete. The run page data shows the progress.
  const running = await h.waitFor(
    runId,
    (r) => {
      const p = r.stages[0]?.progress as { rollout?: Record<string, { ready: number; updated: number; replicas: number }> } | null | undefined;
      const web = p?.rollout?.web;
      return r.stages[0]?.status === 'running' && !!web && web.updated >= 1 && web.updated < web.replicas;
    },
    60_000,
  );
  expect(running.stages[0]!.progress).toMatchObject({ kind: 'k8s-deploy', strategy: 'rolling', rollout: { web: { replicas: 3 } } });
  expect(imageOf(await getDeployment(ns, 'web'))).toBe('example/web:2');

  // kill -9 of the worker mid-rollout; a new one starts.
  await killWorker();
  startWorker();

  const r = await h.waitForEnd(runId, 120_000);
  expect(r.status).toBe('succeeded');
  const stage = h.stageOf(r, 'deploy');
  expect(stage.attempt).toBe(1);
  expect(stage.executions).toBe(2); // started again by the new worker, not a second attempt
  expect(stage.outputs).toMatchObject({ deployment: 'web', image: 'example/web:2', revision: String(revision + 1) });
  const logs = await h.as(h.users.viewer).runs.logs({ runId, nodeId: 'deploy' });
  expect(logs.text).toContain('restarted after an infrastructure failure');

  // Applied once: one spec change, one new revision, one ReplicaSet of the new version.
  const after = (await getDeployment(ns, 'web'))!;
  expect(after.metadata.generation).toBe(generation + 1);
  expect(after.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe(String(revision + 1));
  expect(after.metadata.annotations?.['pipewright.dev/run']).toBe(runId);
  await until(async () => {
    const d = await getDeployment(ns, 'web');
    const st = d?.status as { updatedReplicas?: number; availableReplicas?: number } | undefined;
    return st?.updatedReplicas === 3 && st.availableReplicas === 3;
  }, 30_000, 'web complete');
  const sets = await admin().list('apps/v1', 'ReplicaSet', ns, { labelSelector: 'app=web' });
  const images = sets.map((s) => (s.spec as { template: { spec: { containers: { image: string }[] } } }).template.spec.containers[0]!.image).sort();
  expect(images).toEqual(['example/web:1', 'example/web:2']);
}, 300_000);
