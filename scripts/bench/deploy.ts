/**
 * `npm run bench:deploy`: how long Kubernetes deploys take through Pipewright's
 * stages on the local control plane, next to plain kubectl on the same change.
 *
 * 1. Starts the local control plane (scripts/k8s/cluster.ts; binaries from
 *    scripts/k8s/build.sh) and stops it at the end, also on error.
 * 2. For a 10-replica Deployment (default RollingUpdate 25 %/25 %), each
 *    repetition in fresh namespaces, with v1 already rolled out:
 *    a. rolling, blue/green (scale-down delay 0, no smoke test), canary (steps
 *       20 % → 50 % → promote), each timed from the executor's start to its
 *       result (= rollout complete);
 *    b. a failed rollout (pods left Pending by kwok, progressDeadlineSeconds
 *       10): time until the failure is detected (the first "rolling back"
 *       heartbeat) and until the rollback is complete;
 *    c. kubectl (`kubectl apply -f` then `kubectl rollout status`) on the same
 *       v1 → v2 change, and for the failure `rollout status` until it reports
 *       the exceeded deadline, then `rollout undo` + `rollout status`.
 * 3. Prints a table (medians) and rewrites the bench:deploy section of
 *    docs/benchmarks.md (`--no-doc` to skip). `--reps=N` (default 3).
 *    `PIPEWRIGHT_KUBECTL` picks the kubectl binary (default `kubectl` on PATH);
 *    without one the kubectl rows are skipped.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCluster, type Cluster } from '../k8s/cluster';
import { K8sClient } from '../../workflows/k8s/client';
import type { ClusterConnectionSecret, ExecutorContext } from '../../workflows/stages/executor-types';
import { k8sDeployConfigSchema } from '../../workflows/stages/k8s-deploy/definition';
import { executeK8sDeploy } from '../../workflows/stages/k8s-deploy/executor';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const DOC_FILE = path.join(REPO_ROOT, 'docs', 'benchmarks.md');
const REPS = Number(process.argv.find((a) => a.startsWith('--reps='))?.slice(7) ?? 3);
const WRITE_DOC = !process.argv.includes('--no-doc');
const REPLICAS = 10;
const FAIL_DEADLINE_S = 10;
const log = (line: string) => process.stderr.write(`[bench:deploy] ${line}\n`);

function manifest(name: string, image: string, opts: { pending?: boolean; deadline?: number } = {}): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  replicas: ${REPLICAS}
  progressDeadlineSeconds: ${opts.deadline ?? 600}
  selector:
    matchLabels: { app: ${name} }
  template:
    metadata:
      labels:
        app: ${name}
${opts.pending ? '        pipewright.dev/kwok-ignore: "true"\n' : ''}    spec:
      containers:
        - name: app
          image: ${image}
---
apiVersion: v1
kind: Service
metadata:
  name: ${name}
spec:
  selector: { app: ${name} }
  ports: [{ port: 80, targetPort: 8080 }]
`;
}

function context(conn: ClusterConnectionSecret, heartbeats: { at: number; details: unknown }[]): { ctx: ExecutorContext; abort: AbortController } {
  const abort = new AbortController();
  let offset = 0;
  const ctx: ExecutorContext = {
    runId: `bench-${randomBytes(3).toString('hex')}`,
    nodeId: 'deploy',
    attempt: 1,
    signal: abort.signal,
    timeoutMs: 600_000,
    log: {
      write: (_s, text) => {
        offset += text.length;
      },
      flush: async () => undefined,
      get offset() {
        return offset;
      },
    },
    heartbeat: (details) => heartbeats.push({ at: Date.now(), details }),
    workspaceDir: os.tmpdir(),
    env: {},
    clusters: { get: async () => conn },
  };
  return { ctx, abort };
}

async function deploy(conn: ClusterConnectionSecret, namespace: string, manifests: string, strategy: object, extra: object = {}) {
  const heartbeats: { at: number; details: unknown }[] = [];
  const { ctx } = context(conn, heartbeats);
  const config = k8sDeployConfigSchema.parse({ connection: 'local', namespace, manifests, strategy, ...extra });
  const started = Date.now();
  let error: unknown;
  try {
    await executeK8sDeploy(config, ctx);
  } catch (err) {
    error = err;
  }
  return { ms: Date.now() - started, started, heartbeats, error };
}

async function namespace(client: K8sClient, prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await client.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  for (let i = 0; i < 300; i++) {
    if (await client.get({ apiVersion: 'v1', kind: 'ServiceAccount', namespace: name, name: 'default' })) return name;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no default service account in ${name}`);
}

function kubectl(bin: string, kubeconfig: string, args: string[], input?: string) {
  const started = Date.now();
  const res = spawnSync(bin, args, { input, encoding: 'utf8', env: { ...process.env, KUBECONFIG: kubeconfig }, timeout: 300_000 });
  return { ms: Date.now() - started, status: res.status, out: `${res.stdout}${res.stderr}` };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const sec = (ms: number) => (Number.isNaN(ms) ? '—' : `${(ms / 1000).toFixed(1)} s`);

async function main() {
  const t0 = Date.now();
  const kubectlBin = process.env.PIPEWRIGHT_KUBECTL || 'kubectl';
  const kubectlVersion = spawnSync(kubectlBin, ['version', '--client'], { encoding: 'utf8' });
  const haveKubectl = kubectlVersion.status === 0;
  if (!haveKubectl) log(`no kubectl (${kubectlBin}); the kubectl rows are skipped`);
  let cluster: Cluster | undefined;
  const stop = async () => {
    await cluster?.stop();
    cluster = undefined;
  };
  process.on('SIGINT', () => void stop().then(() => process.exit(130)));
  cluster = await startCluster({ log });
  const conn: ClusterConnectionSecret = { name: 'local', server: cluster.server, caPem: cluster.caPem, token: cluster.adminToken, allowedNamespaces: [] };
  const client = new K8sClient(conn);
  const r: Record<string, number[]> = {};
  const add = (key: string, ms: number) => (r[key] ??= []).push(ms);
  try {
    for (let rep = 1; rep <= REPS; rep++) {
      log(`repetition ${rep}/${REPS}`);
      for (const [key, strategy] of [
        ['rolling', { type: 'rolling' }],
        ['blue-green', { type: 'blue-green', activeService: 'web', scaleDownDelaySeconds: 0 }],
        ['canary 20 % → 50 % → promote', { type: 'canary', steps: [{ weight: 20 }, { weight: 50 }] }],
      ] as const) {
        const ns = await namespace(client, 'bench');
        const first = await deploy(conn, ns, manifest('web', 'example/web:1'), key === 'blue-green' ? strategy : { type: 'rolling' });
        if (first.error) throw first.error;
        const res = await deploy(conn, ns, manifest('web', 'example/web:2'), strategy);
        if (res.error) throw res.error;
        add(key, res.ms);
        log(`  ${key}: ${sec(res.ms)}`);
      }
      // A rollout that never becomes ready: detection and rollback.
      {
        const ns = await namespace(client, 'bench-fail');
        const first = await deploy(conn, ns, manifest('web', 'example/web:1'), { type: 'rolling' });
        if (first.error) throw first.error;
        const res = await deploy(conn, ns, manifest('web', 'example/web:2', { pending: true }), { type: 'rolling' }, { progressDeadlineSeconds: FAIL_DEADLINE_S });
        if (!res.error) throw new Error('the failing rollout succeeded');
        const detected = res.heartbeats.find((h) => (h.details as { phase?: string }).phase === 'rolling back');
        add('fail: detected', (detected?.at ?? NaN) - res.started);
        add('fail: rolled back', res.ms);
        log(`  failure detected after ${sec((detected?.at ?? NaN) - res.started)}, rolled back after ${sec(res.ms)}`);
      }
      if (haveKubectl) {
        const kc = cluster.kubeconfigPath;
        const ns = await namespace(client, 'bench-kubectl');
        const apply = (text: string) => kubectl(kubectlBin, kc, ['-n', ns, 'apply', '-f', '-'], text);
        const status = () => kubectl(kubectlBin, kc, ['-n', ns, 'rollout', 'status', 'deployment/web', '--timeout=300s']);
        apply(manifest('web', 'example/web:1'));
        status();
        const a = apply(manifest('web', 'example/web:2'));
        const s = status();
        if (s.status !== 0) throw new Error(`kubectl rollout status failed: ${s.out}`);
        add('kubectl', a.ms + s.ms);
        log(`  kubectl apply + rollout status: ${sec(a.ms + s.ms)}`);
        const a2 = apply(manifest('web', 'example/web:3', { pending: true, deadline: FAIL_DEADLINE_S }));
        const s2 = status();
        const detectedMs = a2.ms + s2.ms;
        const undo = kubectl(kubectlBin, kc, ['-n', ns, 'rollout', 'undo', 'deployment/web']);
        const s3 = status();
        add('kubectl fail: detected', detectedMs);
        add('kubectl fail: rolled back', detectedMs + undo.ms + s3.ms);
        log(`  kubectl: failure reported after ${sec(detectedMs)} (${s2.out.trim().split('\n').at(-1)}), undone after ${sec(detectedMs + undo.ms + s3.ms)}`);
      }
    }
  } finally {
    await stop();
  }

  const load = os.loadavg()[0]!.toFixed(1);
  const rows = [
    ['Rolling update (v1 → v2)', 'rolling', 'kubectl'],
    ['Blue/green (new colour up, Service switched, old scaled to 0)', 'blue-green', 'kubectl'],
    ['Canary 20 % → 50 % → promote (replica ratio)', 'canary 20 % → 50 % → promote', 'kubectl'],
    [`Failed rollout (progressDeadlineSeconds ${FAIL_DEADLINE_S}): failure detected`, 'fail: detected', 'kubectl fail: detected'],
    ['Failed rollout: rollback complete', 'fail: rolled back', 'kubectl fail: rolled back'],
  ];
  const table = [
    '| scenario (10 replicas) | Pipewright stage | kubectl on the same change |',
    '| --- | --- | --- |',
    ...rows.map(([label, a, b]) => `| ${label} | ${sec(median(r[a!] ?? []))} | ${haveKubectl ? sec(median(r[b!] ?? [])) : 'no kubectl'} |`),
  ].join('\n');
  const kubectlLine = haveKubectl ? (kubectlVersion.stdout.split('\n')[0] ?? '').trim() : 'none';
  const date = new Date().toISOString().slice(0, 10);
  const summary = `Medians of ${REPS}; ${os.cpus().length} CPUs, Node ${process.version}, 1-min load average ${load} at the end; kubectl: ${kubectlLine}; ${Math.round((Date.now() - t0) / 1000)} s in all.`;
  process.stdout.write(`\n${table}\n\n${summary}\n`);
  if (WRITE_DOC) {
    const section = [
      '<!-- bench:deploy:start (generated by `npm run bench:deploy`; edits inside are overwritten) -->',
      `## Kubernetes deploy benchmark (${date})`,
      '',
      `Local control plane of \`scripts/k8s/cluster.ts\` (kube-apiserver, kube-controller-manager, kube-scheduler v1.34.4, etcd, kwok with 3 fake nodes). ${summary}`,
      '',
      table,
      '',
      '- Pipewright: the `k8s-deploy` executor in-process (no Temporal), from its start to its result; the Deployment v1 is rolled out before. kubectl: `kubectl apply -f` of the same manifests, then `kubectl rollout status` (watch-based).',
      '- Failure: the new pods carry the label kwok leaves Pending, so Kubernetes sets `ProgressDeadlineExceeded` after the deadline; "detected" is the first heartbeat saying "rolling back" (kubectl: `rollout status` returning its error), "rollback complete" includes waiting for the previous revision to be available again (kubectl: `rollout undo` + `rollout status`).',
      '<!-- bench:deploy:end -->',
    ].join('\n');
    let text = fs.readFileSync(DOC_FILE, 'utf8');
    const start = text.indexOf('<!-- bench:deploy:start');
    const endMarker = '<!-- bench:deploy:end -->';
    const end = text.indexOf(endMarker);
    if (start >= 0 && end > start) text = text.slice(0, start) + section + text.slice(end + endMarker.length);
    else text = `${text.trimEnd()}\n\n${section}\n`;
    fs.writeFileSync(DOC_FILE, text);
    log(`wrote ${path.relative(REPO_ROOT, DOC_FILE)}`);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
