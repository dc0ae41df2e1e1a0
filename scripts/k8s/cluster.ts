/**
 * A real Kubernetes control plane on loopback, for the k8s tests and for
 * developers (`npm run k8s:up`). No containers, no kubelet:
 *
 *   etcd → kube-apiserver → kube-controller-manager + kube-scheduler → kwok
 *
 * 1. Binaries come from tools/k8s/bin (scripts/k8s/build.sh builds them once).
 *    `PIPEWRIGHT_K8S_BIN_DIR` points elsewhere.
 * 2. Everything lives in one temporary folder: etcd's data, a CA and a serving
 *    certificate for the API server (openssl), a service-account key pair
 *    (node:crypto), a static token file with an admin token (group
 *    system:masters) and a `limited` token (no RBAC grants: every call is 403),
 *    component kubeconfigs, logs, and the admin kubeconfig for you.
 * 3. All components listen on 127.0.0.1 on free ports; the API server uses
 *    token authentication and RBAC.
 * 4. kwok plays the kubelet: it manages a few fake Node objects created here
 *    and makes pods scheduled on them Running and Ready, with the pod stages of
 *    scripts/k8s/kwok-stages.yaml: pods labelled `pipewright.dev/kwok-ignore=true`
 *    never become ready (they stay Pending), which is how tests make a rollout
 *    fail on purpose.
 * 5. `startCluster` resolves once the API server is ready, the controllers and
 *    the scheduler answer /healthz, the nodes are Ready and the default service
 *    account exists. `stop()` stops everything in reverse order and removes the
 *    folder (unless `keep`).
 *
 * Run directly: `npx tsx scripts/k8s/cluster.ts` (`npm run k8s:up`) starts a
 * cluster, prints `export KUBECONFIG=…` and runs until Ctrl-C.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getFreePort } from '../ports';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Label that makes kwok leave a pod alone (it stays Pending: its rollout never progresses). */
export const KWOK_IGNORE_LABEL = 'pipewright.dev/kwok-ignore';
export const SERVICE_CIDR = '10.96.0.0/16';
const BINARIES = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok'] as const;

export interface ClusterOptions {
  /** Folder for the cluster's files. Default: a new folder under the OS temp dir. */
  dir?: string;
  /** Keep the folder when stopping (logs, kubeconfig). Default false. */
  keep?: boolean;
  binDir?: string;
  /** Fake nodes to create. Default 3. */
  nodes?: number;
  /** Progress lines. Default: stderr. */
  log?: (line: string) => void;
  /** Overall start-up limit in ms. Default 120 s. */
  timeoutMs?: number;
}

export interface Cluster {
  dir: string;
  /** `https://127.0.0.1:PORT` */
  server: string;
  /** PEM of the CA that signed the API server's certificate. */
  caPem: string;
  /** Bearer token of the admin user (group system:masters). */
  adminToken: string;
  /** Bearer token of a user without any RBAC grant (every request is forbidden). */
  limitedToken: string;
  /** Admin kubeconfig (for kubectl and @kubernetes/client-node). */
  kubeconfigPath: string;
  kubeconfig: string;
  nodeNames: string[];
  logsDir: string;
  stop(): Promise<void>;
}

export function k8sBinDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.PIPEWRIGHT_K8S_BIN_DIR?.trim() || path.join(REPO_ROOT, 'tools', 'k8s', 'bin');
}

export function missingBinaries(binDir = k8sBinDir()): string[] {
  return BINARIES.filter((b) => {
    try {
      fs.accessSync(path.join(binDir, b), fs.constants.X_OK);
      return false;
    } catch {
      return true;
    }
  });
}

const defaultLog = (line: string) => process.stderr.write(`${line}\n`);

export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const log = opts.log ?? defaultLog;
  const binDir = opts.binDir ?? k8sBinDir();
  const missing = missingBinaries(binDir);
  if (missing.length > 0) {
    throw new Error(
      `Missing Kubernetes binaries in ${binDir}: ${missing.join(', ')}. Build them with scripts/k8s/build.sh (see docs/kubernetes.md).`,
    );
  }
  const started = Date.now();
  const deadline = started + (opts.timeoutMs ?? 120_000);
  const dir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'pipewright-k8s-'));
  fs.mkdirSync(dir, { recursive: true });
  const logsDir = path.join(dir, 'logs');
  const pkiDir = path.join(dir, 'pki');
  fs.mkdirSync(logsDir, { recursive: true });
  fs.mkdirSync(pkiDir, { recursive: true, mode: 0o700 });

  const procs: { name: string; child: ChildProcess }[] = [];
  let stopped = false;
  const stopAll = async () => {
    if (stopped) return;
    stopped = true;
    process.off('exit', killOnExit);
    for (const p of [...procs].reverse()) await stopProcess(p.child);
    if (!opts.keep) fs.rmSync(dir, { recursive: true, force: true });
  };
  const killOnExit = () => {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  };
  process.on('exit', killOnExit);

  const run = (name: string, args: string[]) => {
    const out = fs.openSync(path.join(logsDir, `${name}.log`), 'a');
    const child = spawn(path.join(binDir, name), args, { cwd: dir, stdio: ['ignore', out, out] });
    fs.closeSync(out);
    procs.push({ name, child });
    child.once('exit', (code, signal) => {
      if (!stopped) log(`[k8s] ${name} exited (${code ?? signal}); see ${path.join(logsDir, `${name}.log`)}`);
    });
    return child;
  };
  const alive = (name: string) => {
    const p = procs.find((x) => x.name === name);
    if (!p || p.child.exitCode !== null || p.child.signalCode !== null) {
      throw new Error(`${name} exited during start-up:\n${tail(path.join(logsDir, `${name}.log`), 30)}`);
    }
  };

  try {
    // ── Keys and certificates ────────────────────────────────────────────────
    const pki = makePki(pkiDir);
    const adminToken = randomBytes(24).toString('hex');
    const limitedToken = randomBytes(24).toString('hex');
    const tokenFile = path.join(pkiDir, 'tokens.csv');
    fs.writeFileSync(
      tokenFile,
      `${adminToken},pipewright-admin,pipewright-admin,"system:masters"\n${limitedToken},limited,limited,\n`,
      { mode: 0o600 },
    );

    const [etcdPort, etcdPeerPort, apiPort, kcmPort, schedPort, kwokPort] = await Promise.all(
      Array.from({ length: 6 }, () => getFreePort()),
    );
    const server = `https://127.0.0.1:${apiPort}`;
    const kubeconfig = renderKubeconfig({ server, caPem: pki.caPem, token: adminToken, user: 'pipewright-admin' });
    const kubeconfigPath = path.join(dir, 'kubeconfig');
    fs.writeFileSync(kubeconfigPath, kubeconfig, { mode: 0o600 });

    // ── etcd ────────────────────────────────────────────────────────────────
    log(`[k8s] starting etcd on 127.0.0.1:${etcdPort}`);
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const peerUrl = `http://127.0.0.1:${etcdPeerPort}`;
    run('etcd', [
      '--name=pipewright',
      `--data-dir=${path.join(dir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=pipewright=${peerUrl}`,
      '--log-level=warn',
      // A throw-away test store: durability is not needed, speed is.
      '--unsafe-no-fsync=true',
      '--snapshot-count=10000',
    ]);
    await waitUntil('etcd', deadline, async () => {
      alive('etcd');
      const res = await fetch(`${etcdUrl}/health`).catch(() => undefined);
      return res?.ok === true;
    });

    // ── kube-apiserver ──────────────────────────────────────────────────────
    log(`[k8s] starting kube-apiserver on ${server}`);
    run('kube-apiserver', [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--cert-dir=${path.join(dir, 'apiserver-certs')}`,
      `--tls-cert-file=${pki.serverCert}`,
      `--tls-private-key-file=${pki.serverKey}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${pki.saPublic}`,
      `--service-account-signing-key-file=${pki.saPrivate}`,
      `--token-auth-file=${tokenFile}`,
      '--authorization-mode=RBAC',
      '--allow-privileged=true',
      // The `kubernetes` Service's endpoints would be a loopback address, which Endpoints refuse.
      '--endpoint-reconciler-type=none',
      '--profiling=false',
      '--v=0',
    ]);
    await waitUntil('kube-apiserver', deadline, async () => {
      alive('kube-apiserver');
      const res = await k8sFetch(server, pki.caPem, adminToken, '/readyz').catch(() => undefined);
      return res?.status === 200;
    });

    // ── Controllers and scheduler ───────────────────────────────────────────
    const componentKubeconfig = kubeconfigPath; // admin (system:masters): simple and enough for a local plane
    log('[k8s] starting kube-controller-manager and kube-scheduler');
    run('kube-controller-manager', [
      `--kubeconfig=${componentKubeconfig}`,
      `--authentication-kubeconfig=${componentKubeconfig}`,
      `--authorization-kubeconfig=${componentKubeconfig}`,
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
      `--secure-port=${kcmPort}`,
      `--cert-dir=${path.join(dir, 'kcm-certs')}`,
      `--service-account-private-key-file=${pki.saPrivate}`,
      `--root-ca-file=${pki.caCert}`,
      '--use-service-account-credentials=false',
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      '--allocate-node-cidrs=false',
      // Faster feedback than the defaults, for tests and demos.
      '--concurrent-deployment-syncs=10',
      '--concurrent-replicaset-syncs=10',
      '--profiling=false',
    ]);
    run('kube-scheduler', [
      `--kubeconfig=${componentKubeconfig}`,
      `--authentication-kubeconfig=${componentKubeconfig}`,
      `--authorization-kubeconfig=${componentKubeconfig}`,
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
      `--secure-port=${schedPort}`,
      `--cert-dir=${path.join(dir, 'scheduler-certs')}`,
      '--profiling=false',
    ]);
    log('[k8s] starting kwok');
    run('kwok', [
      `--kubeconfig=${componentKubeconfig}`,
      '--manage-all-nodes=true',
      // Its default pod stages, except that pods labelled KWOK_IGNORE_LABEL never become ready.
      `--config=${path.join(REPO_ROOT, 'scripts', 'k8s', 'kwok-stages.yaml')}`,
      `--server-address=127.0.0.1:${kwokPort}`,
      '--cidr=10.244.0.0/16',
    ]);

    // ── Nodes ───────────────────────────────────────────────────────────────
    const nodeNames = Array.from({ length: opts.nodes ?? 3 }, (_, i) => `kwok-node-${i}`);
    for (const name of nodeNames) {
      const res = await k8sFetch(server, pki.caPem, adminToken, '/api/v1/nodes', {
        method: 'POST',
        body: JSON.stringify(fakeNode(name)),
      });
      if (res.status !== 201 && res.status !== 409) throw new Error(`creating node ${name}: HTTP ${res.status} ${await res.text()}`);
    }

    await waitUntil('kube-controller-manager and kube-scheduler', deadline, async () => {
      alive('kube-controller-manager');
      alive('kube-scheduler');
      const [a, b] = await Promise.all([
        k8sFetch(`https://127.0.0.1:${kcmPort}`, undefined, undefined, '/healthz').catch(() => undefined),
        k8sFetch(`https://127.0.0.1:${schedPort}`, undefined, undefined, '/healthz').catch(() => undefined),
      ]);
      return a?.status === 200 && b?.status === 200;
    });
    await waitUntil('kwok nodes Ready and the default service account', deadline, async () => {
      alive('kwok');
      const nodes = (await (await k8sFetch(server, pki.caPem, adminToken, '/api/v1/nodes')).json()) as {
        items: { status?: { conditions?: { type: string; status: string }[] } }[];
      };
      const ready = nodes.items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
      const sa = await k8sFetch(server, pki.caPem, adminToken, '/api/v1/namespaces/default/serviceaccounts/default');
      return ready.length === nodeNames.length && sa.status === 200;
    });

    log(`[k8s] control plane ready in ${((Date.now() - started) / 1000).toFixed(1)} s (${server})`);
    return {
      dir,
      server,
      caPem: pki.caPem,
      adminToken,
      limitedToken,
      kubeconfigPath,
      kubeconfig,
      nodeNames,
      logsDir,
      stop: stopAll,
    };
  } catch (err) {
    const keep = opts.keep;
    opts.keep = true; // keep the logs for the error message, then honour the choice
    await stopAll();
    const logs = procs.map((p) => `--- ${p.name} ---\n${tail(path.join(logsDir, `${p.name}.log`), 15)}`).join('\n');
    if (!keep) fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`${(err as Error).message}\n${logs}`, { cause: err });
  }
}

// ---------------------------------------------------------------------------

type Pki = {
  caCert: string;
  caPem: string;
  serverCert: string;
  serverKey: string;
  saPrivate: string;
  saPublic: string;
};

/** A CA and an API server certificate for 127.0.0.1/localhost (openssl), and the service-account key pair (node:crypto). */
function makePki(dir: string): Pki {
  const f = (name: string) => path.join(dir, name);
  const openssl = (args: string[]) => {
    const res = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
    if (res.error) throw new Error(`openssl is needed to make the API server's certificates: ${res.error.message}`);
    if (res.status !== 0) throw new Error(`openssl ${args[0]} failed: ${res.stderr}`);
  };
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', f('ca.key'),
    '-out', f('ca.crt'), '-days', '3650', '-subj', '/CN=pipewright-local-k8s-ca']);
  fs.writeFileSync(
    f('server.ext'),
    'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' +
      'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:10.96.0.1\n',
  );
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', f('server.key'),
    '-out', f('server.csr'), '-subj', '/CN=kube-apiserver']);
  openssl(['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial',
    '-out', f('server.crt'), '-days', '3650', '-extfile', f('server.ext')]);
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  fs.writeFileSync(f('sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  fs.writeFileSync(f('sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
  return {
    caCert: f('ca.crt'),
    caPem: fs.readFileSync(f('ca.crt'), 'utf8'),
    serverCert: f('server.crt'),
    serverKey: f('server.key'),
    saPrivate: f('sa.key'),
    saPublic: f('sa.pub'),
  };
}

export function renderKubeconfig(a: { server: string; caPem: string; token: string; user: string; namespace?: string }): string {
  const ca = Buffer.from(a.caPem).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: pipewright-local',
    '  cluster:',
    `    server: ${a.server}`,
    `    certificate-authority-data: ${ca}`,
    'users:',
    `- name: ${a.user}`,
    '  user:',
    `    token: ${a.token}`,
    'contexts:',
    '- name: pipewright-local',
    '  context:',
    '    cluster: pipewright-local',
    `    user: ${a.user}`,
    ...(a.namespace ? [`    namespace: ${a.namespace}`] : []),
    'current-context: pipewright-local',
    '',
  ].join('\n');
}

function fakeNode(name: string) {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'kwok.x-k8s.io/node': 'fake' },
      labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', type: 'kwok' },
    },
    spec: {},
    status: {
      allocatable: { cpu: '32', memory: '256Gi', pods: '110' },
      capacity: { cpu: '32', memory: '256Gi', pods: '110' },
    },
  };
}

/** A small HTTPS request to a local component (undici's fetch cannot take a CA, so node:https it is). */
async function k8sFetch(
  base: string,
  caPem: string | undefined,
  token: string | undefined,
  pathname: string,
  init: { method?: string; body?: string } = {},
): Promise<{ status: number; text(): Promise<string>; json(): Promise<unknown> }> {
  const https = await import('node:https');
  const url = new URL(pathname, base);
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method: init.method ?? 'GET',
        ca: caPem,
        rejectUnauthorized: caPem !== undefined,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(init.body ? { 'content-type': 'application/json' } : {}),
        },
        timeout: 5000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, text: async () => body, json: async () => JSON.parse(body) });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    if (init.body) req.write(init.body);
    req.end();
  });
}

async function waitUntil(what: string, deadline: number, check: () => Promise<boolean>): Promise<void> {
  let lastError: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      if (err instanceof Error && err.message.includes('exited during start-up')) throw err;
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

function tail(file: string, lines: number): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

// ---------------------------------------------------------------------------
// `npm run k8s:up`

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const keep = process.argv.includes('--keep');
  const dirArg = process.argv.find((a) => a.startsWith('--dir='))?.slice('--dir='.length);
  startCluster({ keep, dir: dirArg ? path.resolve(dirArg) : undefined })
    .then((cluster) => {
      process.stdout.write(
        [
          '',
          `Kubernetes control plane running at ${cluster.server} (nodes: ${cluster.nodeNames.join(', ')})`,
          `  export KUBECONFIG=${cluster.kubeconfigPath}`,
          `  kubectl get nodes        # Debian: apt-get install kubernetes-client`,
          `  logs: ${cluster.logsDir}`,
          'Press Ctrl-C to stop it.',
          '',
        ].join('\n'),
      );
      let stopping = false;
      const stop = () => {
        if (stopping) return;
        stopping = true;
        process.stderr.write('\n[k8s] stopping…\n');
        void cluster.stop().then(() => process.exit(0));
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    })
    .catch((err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    });
}
