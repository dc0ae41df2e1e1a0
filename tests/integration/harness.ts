/**
 * Integration harness: a real Temporal dev server (started by the global
 * setup), a real SQLite file, a real control worker in this process on its own
 * task queue, a real runner (in this process, talking to the control plane's
 * runner API over loopback HTTP like a remote one), and the real tRPC router
 * called through `createCaller`.
 */
import { NativeConnection, type Worker, type WorkflowBundle } from '@temporalio/worker';
import { and, eq } from 'drizzle-orm';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { closeAllDbs, getDb, type Db } from '../../db/client';
import { migrate } from '../../db/migrate';
import { groupMembers, stageRuns, user as userTable } from '../../db/schema';
import { createCaller } from '../../server/api/root';
import type { SessionUser } from '../../server/auth/session';
import { createArtifactStore } from '../../server/artifacts/store';
import { getEnv, resetEnvCache } from '../../server/env';
import { createRunnerApiHandler, serveRunnerApi } from '../../server/runner-api/handler';
import { registerRunner } from '../../server/services/runners';
import { getTemporalClient, resetTemporalClient } from '../../server/temporal/client';
import type { PipelineSpecInput } from '../../workflows/model';
import { ControlPlaneClient } from '../../workflows/runner/client';
import { createRunnerWorkers, type RunnerWorkers } from '../../workflows/runner/worker';
import { workflowIdForRun } from '../../workflows/run-state';
import { buildWorkflowBundle, createPipewrightWorker } from '../../server/control-worker/worker';

let bundle: Promise<WorkflowBundle> | undefined;
export function workflowBundle() {
  bundle ??= buildWorkflowBundle();
  return bundle;
}

export type Harness = Awaited<ReturnType<typeof startHarness>>;

export async function makeUser(db: Db, u: { username: string; role: SessionUser['role']; groups?: string[] }): Promise<SessionUser> {
  const id = `u-${u.username}`;
  const email = `${u.username}@example.test`;
  await db.insert(userTable).values({ id, name: u.username, email, username: u.username, role: u.role }).onConflictDoNothing();
  for (const g of u.groups ?? []) await db.insert(groupMembers).values({ group: g, userId: id }).onConflictDoNothing();
  return { id, name: u.username, username: u.username, email, role: u.role, groups: u.groups ?? [] };
}

export async function startHarness(
  opts: {
    worker?: boolean;
    runner?: boolean;
    env?: Record<string, string>;
    address?: string;
    /** An existing data directory (its `app.db`, keys) instead of a new one: restores and upgrades. */
    dataDir?: string;
    /** The control task queue (runs in flight of an earlier worker live on its queue). Default a new one. */
    taskQueue?: string;
    /** Name of the harness's registered runner. Default `harness-local`. */
    runnerName?: string;
  } = {},
) {
  const address = opts.env?.TEMPORAL_ADDRESS ?? opts.address ?? inject('temporalAddress');
  const dir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'pipewright-it-'));
  // Where tests and their sandboxed commands exchange marks (the data directory is invisible to commands).
  const shared = mkdtempSync(join(tmpdir(), 'pipewright-it-shared-'));
  const taskQueue = opts.taskQueue ?? `it-${Math.random().toString(36).slice(2, 10)}`;
  Object.assign(process.env, {
    DATABASE_URL: `file:${join(dir, 'app.db')}`,
    PIPEWRIGHT_DATA_DIR: dir,
    TEMPORAL_ADDRESS: address,
    TEMPORAL_NAMESPACE: 'default',
    TEMPORAL_TASK_QUEUE: taskQueue,
    PIPEWRIGHT_HEARTBEAT_TIMEOUT_S: '3',
    PIPEWRIGHT_UPDATE_DEADLINE_MS: '8000',
    PIPEWRIGHT_SANDBOX_SHARED_DIRS: shared,
    ...opts.env,
  });
  resetEnvCache();
  closeAllDbs();
  await resetTemporalClient();
  const migrated = await migrate();
  const db = await getDb();

  const users = {
    admin: await makeUser(db, { username: 'admin', role: 'admin' }),
    author: await makeUser(db, { username: 'ada', role: 'author' }),
    alan: await makeUser(db, { username: 'alan', role: 'approver', groups: ['approvers', 'qa'] }),
    grace: await makeUser(db, { username: 'grace', role: 'approver', groups: ['approvers'] }),
    viewer: await makeUser(db, { username: 'vera', role: 'viewer' }),
    outsider: await makeUser(db, { username: 'otto', role: 'approver', groups: ['other'] }),
  };

  // The control plane's runner API on loopback, and one registered runner for the default pool.
  const runnerQueueBase = `${taskQueue}-runner`;
  let store: ReturnType<typeof createArtifactStore> | undefined;
  /** What the runner API told the live pages (run, stage, and the stage's status in the database at that moment). */
  const stageChanges: Promise<{ runId: string; nodeId: string; status: string | undefined }>[] = [];
  const runnerApi = await serveRunnerApi(
    createRunnerApiHandler({
      db,
      queueBase: runnerQueueBase,
      artifactStore: () => (store ??= createArtifactStore(getEnv())),
      onStageChanged: (runId, nodeId) => {
        stageChanges.push(
          db
            .select({ status: stageRuns.status })
            .from(stageRuns)
            .where(and(eq(stageRuns.runId, runId), eq(stageRuns.nodeId, nodeId)))
            .get()
            .then((row) => ({ runId, nodeId, status: row?.status })),
        );
      },
    }),
  );
  const registerTestRunner = (name: string, labels: string[] = []) => registerRunner(db, users.admin, { name, labels });
  const localRunner = await registerTestRunner(opts.runnerName ?? 'harness-local');

  let worker: Worker | undefined;
  let runner: RunnerWorkers | undefined;
  let running: Promise<void>[] = [];
  let connection: NativeConnection | undefined;

  async function startWorker() {
    connection = await NativeConnection.connect({ address });
    worker = await createPipewrightWorker({
      connection,
      namespace: 'default',
      taskQueue,
      db,
      workflowBundle: await workflowBundle(),
    });
    if (opts.runner === false) {
      running = [worker.run()];
      return;
    }
    runner = await createRunnerWorkers({
      connection,
      namespace: 'default',
      queueBase: runnerQueueBase,
      labels: [],
      client: new ControlPlaneClient(runnerApi.url, localRunner.token),
      workspaceDir: join(dir, 'workspaces'),
      env: process.env,
    });
    running = [worker.run(), runner.run()];
  }
  async function stopWorker() {
    if (worker && worker.getState() === 'RUNNING') worker.shutdown();
    runner?.shutdown();
    await Promise.allSettled(running);
    await connection?.close().catch(() => undefined);
    worker = undefined;
    runner = undefined;
    running = [];
  }
  if (opts.worker !== false) await startWorker();

  const as = (u: SessionUser | null) => createCaller({ db, user: u });

  /**
   * A runner as a real child process (`workflows/runner/main.ts`), reaching this harness's runner API
   * and Temporal; its environment holds only its token and a PATH. Default: the harness's own runner.
   */
  function spawnRunner(o: { token?: string; labels?: string[]; temporal?: string; workspace?: string; stdio?: 'inherit' | 'pipe' } = {}): ChildProcess {
    const args = ['--import', 'tsx', 'workflows/runner/main.ts', '--url', runnerApi.url, '--temporal', o.temporal ?? process.env.TEMPORAL_ADDRESS ?? address];
    if (o.labels) args.push('--labels', o.labels.join(','));
    args.push('--workspace', o.workspace ?? join(dir, 'workspaces'));
    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'test',
      PIPEWRIGHT_RUNNER_TOKEN: o.token ?? localRunner.token,
      PIPEWRIGHT_RUNNER_HEARTBEAT_MS: '500',
      // Where the tests and sandboxed commands exchange marks (the data directory is invisible to commands).
      PIPEWRIGHT_SANDBOX_SHARED_DIRS: shared,
      PIPEWRIGHT_DATA_DIR: dir,
    };
    return spawn(process.execPath, args, { env: env as unknown as NodeJS.ProcessEnv, stdio: ['ignore', o.stdio ?? 'inherit', o.stdio ?? 'inherit'] });
  }

  async function createPipeline(spec: PipelineSpecInput) {
    const { id } = await as(users.author).pipelines.create({ name: spec.name, spec });
    return id;
  }

  async function run(spec: PipelineSpecInput, params?: Record<string, string | number | boolean>) {
    const pipelineId = await createPipeline(spec);
    const { id } = await as(users.author).runs.start({ pipelineId, params });
    return id;
  }

  type RunView = Awaited<ReturnType<ReturnType<typeof as>['runs']['get']>>;
  async function waitFor(runId: string, done: (r: RunView) => boolean, timeoutMs = 60_000): Promise<RunView> {
    const deadline = Date.now() + timeoutMs;
    let last: RunView | undefined;
    while (Date.now() < deadline) {
      last = await as(users.admin).runs.get({ id: runId });
      if (done(last)) return last;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out waiting for run ${runId}; last state: ${JSON.stringify(last?.stages.map((s) => [s.id, s.status]))} run=${last?.status}`);
  }
  const waitForEnd = (runId: string, timeoutMs?: number) =>
    waitFor(runId, (r) => ['succeeded', 'failed', 'cancelled'].includes(r.status), timeoutMs);
  const waitForStage = (runId: string, nodeId: string, status: string, timeoutMs?: number) =>
    waitFor(runId, (r) => r.stages.find((s) => s.id === nodeId)?.status === status, timeoutMs);

  /** Waits until the run's workflow has no workflow task pending (a worker caught up with its history). */
  async function waitForWorkflowIdle(runId: string, timeoutMs = 60_000): Promise<void> {
    const handle = (await getTemporalClient()).workflow.getHandle(workflowIdForRun(runId));
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const d = await handle.describe();
      if (!d.raw.pendingWorkflowTask) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`timed out waiting for the workflow of run ${runId} to have no pending workflow task`);
  }

  const stageOf = (r: RunView, id: string) => {
    const s = r.stages.find((x) => x.id === id);
    if (!s) throw new Error(`no stage ${id}`);
    return s;
  };

  return {
    db,
    dir,
    /** What opening the data directory migrated (and the automatic backup it took). */
    migrated,
    /** A folder command stages can read and write too (PIPEWRIGHT_SANDBOX_SHARED_DIRS). */
    shared,
    /** A path in the workspace of run `runId` (where its commands start). */
    workspace: (runId: string, ...parts: string[]) => join(dir, 'workspaces', runId, ...parts),
    address,
    taskQueue,
    /** The control plane's runner API (`--url` of a runner process) and the runner queue base. */
    runnerApiUrl: runnerApi.url,
    runnerQueueBase,
    /** The token of the harness's own runner (labels: none, the default pool). */
    localRunnerToken: localRunner.token,
    registerRunner: registerTestRunner,
    spawnRunner,
    users,
    as,
    createPipeline,
    run,
    waitFor,
    waitForEnd,
    waitForStage,
    waitForWorkflowIdle,
    stageOf,
    /** What the runner API pushed to the live pages so far (see `onStageChanged`). */
    stageChanges: () => Promise.all(stageChanges),
    startWorker,
    stopWorker,
    temporal: getTemporalClient,
    async close() {
      await stopWorker();
      await runnerApi.close();
      await resetTemporalClient();
      closeAllDbs();
    },
  };
}

/** A spec with `command` stages in a chain or any shape; positions do not matter to the runner. */
export function spec(name: string, nodes: PipelineSpecInput['nodes'], edges: [string, string, ('success' | 'failure' | 'always')?][] = [], extra: Partial<PipelineSpecInput> = {}): PipelineSpecInput {
  return {
    schemaVersion: 1,
    name,
    nodes,
    edges: edges.map(([from, to, on]) => ({ id: `${from}->${to}`, from, to, on: on ?? 'success' })),
    ...extra,
  };
}

export const cmd = (id: string, command: string, more: Partial<PipelineSpecInput['nodes'][number]> = {}) => ({
  id,
  kind: 'command',
  name: id,
  config: { command },
  ...more,
});

export const gate = (id: string, config: Record<string, unknown>) => ({ id, kind: 'approval', name: id, config });
