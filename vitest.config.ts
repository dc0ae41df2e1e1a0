/**
 * Test projects:
 * 1. `unit`: pure model, validator, compiler, executors against real local processes and servers.
 * 2. `integration`: a real Temporal dev server (started by tests/setup/global-setup.ts on its
 *    own port with a temporary database), a real worker, a real SQLite file.
 * 3. `e2e`: the whole product in real Chromium (playwright-core, /usr/bin/chromium): the
 *    Temporal dev server of (2), then tests/e2e/app-setup.ts migrates and seeds a temporary
 *    database, builds Next if the build is stale, starts the worker and `next start`.
 * 4. `k8s`: a real Kubernetes control plane on loopback (etcd, kube-apiserver,
 *    kube-controller-manager, kube-scheduler, kwok; tests/k8s/global-setup.ts, binaries
 *    from scripts/k8s/build.sh) plus the Temporal dev server of (2).
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { alias: { '@': new URL('.', import.meta.url).pathname } },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['tests/unit/**/*.test.ts'],
          environment: 'node',
          // Some unit tests hash passwords (scrypt) or start real processes: 5 s is too tight on a busy 2-core machine.
          testTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['tests/integration/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['tests/setup/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['tests/e2e/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['tests/setup/global-setup.ts', 'tests/e2e/app-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 60_000,
          fileParallelism: false,
        },
      },
      {
        extends: true,
        test: {
          name: 'k8s',
          include: ['tests/k8s/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['tests/setup/global-setup.ts', 'tests/k8s/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
