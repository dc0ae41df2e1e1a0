/**
 * Helpers of the k8s tests: connections to the local control plane, an
 * executor context, fresh namespaces, manifests, and polling assertions.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { inject } from 'vitest';
import { KWOK_IGNORE_LABEL } from '../../scripts/k8s/cluster';
import { K8sClient, type K8sObject } from '../../workflows/k8s/client';
import type { ClusterConnectionSecret, ExecutorContext } from '../../workflows/stages/executor-types';
import { fakeContext, type FakeContext } from '../unit/executors/fake-context';

export function connection(over: Partial<ClusterConnectionSecret> = {}): ClusterConnectionSecret {
  const k8s = inject('k8s');
  return { name: 'local', server: k8s.server, caPem: k8s.caPem, token: k8s.adminToken, allowedNamespaces: [], ...over };
}

/** An executor context whose cluster connections resolve to the local control plane. */
export function k8sContext(opts: { connections?: ClusterConnectionSecret[]; runId?: string; nodeId?: string; lastHeartbeat?: unknown } = {}): FakeContext {
  const connections = opts.connections ?? [connection()];
  const over: Partial<ExecutorContext> = {
    runId: opts.runId ?? `run-${randomBytes(3).toString('hex')}`,
    nodeId: opts.nodeId ?? 'deploy',
    pipelineId: 'pipeline-1',
    timeoutMs: 120_000,
    lastHeartbeat: opts.lastHeartbeat,
    clusters: {
      get: async (name) => {
        const c = connections.find((x) => x.name === name);
        if (!c) throw new Error(`test: no connection ${name}`);
        return c;
      },
    },
  };
  return fakeContext(over);
}

export const admin = () => new K8sClient(connection());

/** A new namespace (with its default service account, which pods need) for one test. */
export async function freshNamespace(prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  const client = admin();
  await client.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  await until(async () => (await client.get({ apiVersion: 'v1', kind: 'ServiceAccount', namespace: name, name: 'default' })) !== undefined, 30_000, `default service account in ${name}`);
  return name;
}

export type AppOptions = { name?: string; image: string; replicas?: number; pending?: boolean; service?: boolean; progressDeadlineSeconds?: number };

/** Manifests of a small app: a Deployment (and a Service). `pending` pods are left Pending by kwok. */
export function appManifests(o: AppOptions): string {
  const name = o.name ?? 'web';
  const labels = [`        app: ${name}`, ...(o.pending ? [`        ${KWOK_IGNORE_LABEL}: "true"`] : [])].join('\n');
  const docs = [
    `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  labels:
    app: ${name}
spec:
  replicas: ${o.replicas ?? 3}
  selector:
    matchLabels:
      app: ${name}
  strategy:
    rollingUpdate: { maxSurge: 1, maxUnavailable: 0 }
  template:
    metadata:
      labels:
${labels}
    spec:
      containers:
        - name: app
          image: ${o.image}
          ports: [{ containerPort: 8080 }]
`,
  ];
  if (o.service !== false) {
    docs.push(`apiVersion: v1
kind: Service
metadata:
  name: ${name}
spec:
  selector:
    app: ${name}
  ports:
    - port: 80
      targetPort: 8080
`);
  }
  return docs.join('---\n');
}

export async function getDeployment(namespace: string, name: string): Promise<K8sObject | undefined> {
  return admin().get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace, name });
}

export function imageOf(dep: K8sObject | undefined): string | undefined {
  return (dep?.spec as { template?: { spec?: { containers?: { image?: string }[] } } } | undefined)?.template?.spec?.containers?.[0]?.image;
}

export function replicasOf(dep: K8sObject | undefined): number | undefined {
  return (dep?.spec as { replicas?: number } | undefined)?.replicas;
}

/** Names of the pods behind a Service, from its EndpointSlices (ready endpoints only). */
export async function endpointPods(namespace: string, service: string): Promise<string[]> {
  const slices = await admin().list<{ endpoints?: { targetRef?: { name: string }; conditions?: { ready?: boolean } }[] }>('discovery.k8s.io/v1', 'EndpointSlice', namespace, {
    labelSelector: `kubernetes.io/service-name=${service}`,
  });
  return slices
    .flatMap((s) => s.endpoints ?? [])
    .filter((e) => e.conditions?.ready !== false)
    .map((e) => e.targetRef?.name ?? '')
    .sort();
}

/** The version behind a Service: the image of each ready pod in its EndpointSlices, keyed by pod name. */
export async function endpointImages(namespace: string, service: string): Promise<Record<string, string>> {
  const names = await endpointPods(namespace, service);
  const pods = await admin().list<{ metadata: { name: string }; spec?: { containers?: { image?: string }[] } }>('v1', 'Pod', namespace);
  const image = new Map(pods.map((p) => [p.metadata.name, p.spec?.containers?.[0]?.image ?? '?']));
  return Object.fromEntries(names.map((n) => [n, image.get(n) ?? '(pod gone)']));
}

/** Samples `read` every 100 ms until `stop()` is called; returns what it saw. For "at no point while …" assertions. */
export function sampler<T>(read: () => Promise<T>): { samples: T[]; stop(): Promise<T[]> } {
  const samples: T[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      samples.push(await read());
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    samples,
    stop: async () => {
      running = false;
      await loop;
      return samples;
    },
  };
}

export async function until(check: () => Promise<boolean>, ms = 30_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A local HTTP server standing in for a smoke-test endpoint; `status()` decides each answer. */
export async function smokeServer(status: () => number | Promise<number>): Promise<{ url: string; hits: number; close(): Promise<void> }> {
  const state = { hits: 0 };
  const server = http.createServer(async (_req, res) => {
    state.hits++;
    const code = await status();
    res.writeHead(code).end(String(code));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/health`,
    get hits() {
      return state.hits;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/**
 * The Gateway API HTTPRoute CRD (copied from sigs.k8s.io/gateway-api by scripts/k8s/build.sh).
 * A missing file fails the test that needs it with what to do, never skips it.
 */
export function httpRouteCrd(): string {
  const file = new URL('../../tools/k8s/crds/gateway.networking.k8s.io_httproutes.yaml', import.meta.url);
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(
      `The HTTPRoute CRD is missing (${file.pathname}: ${(err as NodeJS.ErrnoException).code ?? String(err)}); ` + 'run `npm run k8s:build` (scripts/k8s/build.sh) to fetch it.',
    );
  }
}
