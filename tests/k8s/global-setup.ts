/**
 * Global setup of the `k8s` test project (see vitest.config.ts).
 *
 * 1. Builds the control plane binaries into tools/k8s/bin when they are
 *    missing or stale (scripts/k8s/build.sh; instant when cached, long cold —
 *    CI builds them in an earlier step of .ci/run).
 * 2. Starts etcd, kube-apiserver, kube-controller-manager, kube-scheduler and
 *    kwok on loopback (scripts/k8s/cluster.ts) with three fake nodes.
 * 3. Tests read the connection with `inject('k8s')`; teardown stops it all.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { REPO_ROOT, k8sBinDir, missingBinaries, startCluster } from '../../scripts/k8s/cluster';

export type K8sTestCluster = {
  server: string;
  caPem: string;
  adminToken: string;
  limitedToken: string;
  kubeconfigPath: string;
  nodeNames: string[];
};

declare module 'vitest' {
  export interface ProvidedContext {
    k8s: K8sTestCluster;
  }
}

export default async function setup(project: TestProject) {
  if (!process.env.PIPEWRIGHT_K8S_BIN_DIR) {
    const res = spawnSync('bash', [path.join(REPO_ROOT, 'scripts', 'k8s', 'build.sh')], { stdio: 'inherit' });
    if (res.status !== 0) throw new Error(`scripts/k8s/build.sh failed (exit ${res.status ?? res.signal})`);
  } else if (missingBinaries(k8sBinDir()).length > 0) {
    throw new Error(`PIPEWRIGHT_K8S_BIN_DIR=${k8sBinDir()} lacks ${missingBinaries(k8sBinDir()).join(', ')}`);
  }
  const cluster = await startCluster({ log: (line) => process.stderr.write(`${line}\n`) });
  project.provide('k8s', {
    server: cluster.server,
    caPem: cluster.caPem,
    adminToken: cluster.adminToken,
    limitedToken: cluster.limitedToken,
    kubeconfigPath: cluster.kubeconfigPath,
    nodeNames: cluster.nodeNames,
  });
  return async () => {
    await cluster.stop();
  };
}
