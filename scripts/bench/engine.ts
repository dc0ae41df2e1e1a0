/**
 * `npm run bench:engine`: how much the Pipewright engine costs, measured in one
 * process against a real Temporal dev server.
 *
 * 1. Starts everything it needs and nothing else: the Temporal CLI's dev server
 *    (headless, free port, temporary SQLite file like `npm start`, or in memory
 *    with `--temporal-db=memory`), a temporary app database, a Pipewright worker
 *    (createPipewrightWorker), the control plane's runner API on loopback HTTP,
 *    a runner as a separate process (`workflows/runner/main.ts`, as `npm run
 *    runner` starts it; `--runner=in-process` puts it in this process instead)
 *    and a second worker on another task queue in this process running the
 *    hand-written baseline workflow (scripts/bench/baseline-workflow.ts).
 * 2. Measures (see `docs/benchmarks.md` for the method in prose):
 *    a. engine overhead: a 100-stage sequential pipeline of no-op `command`
 *       stages started through the real tRPC API vs. the baseline running 100
 *       sequential activities that spawn `/bin/sh -c true`, and vs. 100 pure
 *       no-op activities (median of N, after one warm-up each; the ratio of
 *       each repetition too, for the spread);
 *    f. failover: two more runner processes with the same labels; a run with
 *       one long command stage; kill -9 of the runner running it → the stage
 *       running on the other runner (stage_runs.runner_id), polled every 20 ms;
 *    b. approval latency: 100 gates in sequence, each approved through the
 *       real API (`approvals.decide`) and, in a second run, through the raw
 *       Workflow Update; decision sent → next stage started;
 *    c. throughput: 50 concurrent runs of a 20-stage no-op pipeline;
 *    d. validate + compile of a 1,000-node pipeline (median of 20).
 * 3. Prints a table on stdout (progress goes to stderr) and rewrites the
 *    generated section of docs/benchmarks.md (`--no-doc` to skip).
 * 4. Stops every process and removes every file it started or wrote, also on
 *    error, Ctrl-C and its own time limit (15 minutes).
 *
 * Options: `--reps=N` (default 3), `--temporal-db=file|memory`, `--no-doc`,
 * `--compile-only` (only d., no Temporal, no doc), `--quick` (skips b. and c.),
 * `--failover-reps=N` (default 3), `--runner=process|in-process`.
 */
import { Client, Connection, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { getFreePort } from '../ports';
import { ensureTemporalCli } from '../temporal-cli';
import { startDevServer } from '../temporal-dev-server';
import { registerSearchAttributes } from '../../server/temporal/search-attributes-registration';
import {
  compileValidSpec,
  executionPlanSchema,
  validatePipeline,
  type PipelineSpecInput,
} from '../../workflows/model';
import { createBaselineActivities } from './baseline-activities';
import { startRunnerProcess, type RunnerProcess } from './runner-process';
import type { BaselineInput } from './baseline-workflow';
import type { RunState } from '../../workflows/run-state';

/**
 * A run's final state once its workflow closed, and when it closed (`endedAt`, performance.now(): the moment its
 * result arrived, as the baseline is timed). A failed or cancelled run's workflow ends Failed or Cancelled in
 * Temporal (its result is an error then), so the state is read through the workflow's query afterwards; that
 * query replays the whole history on the worker, which is the benchmark's check, not part of the run.
 */
async function runEnd(handle: WorkflowHandle): Promise<RunState & { endedAt: number }> {
  const endedAt = await runResult(handle);
  return { ...(await runState(handle)), endedAt };
}

/** When the run's workflow ended (performance.now(), when its result arrived). */
async function runResult(handle: WorkflowHandle): Promise<number> {
  await handle.result().catch((err: unknown) => {
    if (!(err instanceof WorkflowFailedError)) throw err;
  });
  return performance.now();
}

async function runState(handle: WorkflowHandle): Promise<RunState> {
  const { getStateQuery } = await import('../../workflows/run-state');
  return handle.query(getStateQuery);
}

// ── Options ─────────────────────────────────────────────────────────────────
const args = process.argv.slice(2);
const arg = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const REPS = Math.max(1, Number(arg('reps') ?? 3));
const TEMPORAL_DB = arg('temporal-db') === 'memory' ? 'memory' : 'file';
const WRITE_DOC = !args.includes('--no-doc');
const COMPILE_ONLY = args.includes('--compile-only');
/** Skips the slow sections (approval latency, throughput): overhead, failover and compile only. */
const QUICK = args.includes('--quick');
/** Where stages run: a separate runner process (as in production) or a runner inside this process. */
const RUNNER_MODE = arg('runner') === 'in-process' ? 'in-process' : 'process';
/** How many times a runner is killed under a running stage. */
const FAILOVER_REPS = Math.max(1, Number(arg('failover-reps') ?? 3));
/** Worker tuning to compare against the defaults: workflow threads of the Pipewright worker, and its pollers (fixed maximum or autoscaling). */
const WORKFLOW_THREADS = arg('workflow-threads') ? Math.max(1, Number(arg('workflow-threads'))) : undefined;
const AUTOSCALING_POLLERS = arg('pollers') === 'autoscaling';
/** SQLite's `synchronous` on Pipewright's dev server (`normal` to measure lever 21; the default is SQLite's own, FULL). */
const TEMPORAL_SYNC = arg('temporal-sync') === 'normal' ? 'NORMAL' : undefined;
const TIME_LIMIT_MS = 15 * 60_000;
/** Each throughput phase stops waiting after this long; unfinished runs count as failed and are terminated. */
const THROUGHPUT_LIMIT_MS = 150_000;
/** The failover stage's labels: only the two failover runners serve them. */
const FAILOVER_LABEL = 'bench-failover';
/** How often the app database is polled for the stage's runner after a kill. */
const FAILOVER_POLL_MS = 20;

const CHAIN_STAGES = 100;
const GATES = 100;
const THROUGHPUT_RUNS = 50;
const THROUGHPUT_STAGES = 20;
const COMPILE_NODES = 1000;
const COMPILE_REPS = 20;

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DOC_FILE = path.join(REPO_ROOT, 'docs', 'benchmarks.md');
const BASELINE_WORKFLOW = fileURLToPath(new URL('./baseline-workflow.ts', import.meta.url));

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ── Statistics ──────────────────────────────────────────────────────────────
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
function median(xs: number[]): number {
  const s = sorted(xs);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
/** Nearest-rank percentile (p99 of 100 samples is the 99th smallest). */
function percentile(xs: number[], p: number): number {
  const s = sorted(xs);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** `p`, or a rejection once the wall clock passes `at`. */
function beforeDeadline<T>(p: Promise<T>, at: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not finished within the phase's ${THROUGHPUT_LIMIT_MS / 1000} s`)), Math.max(0, at - Date.now()));
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
const ms = (x: number, digits = 0) => `${x.toFixed(digits)} ms`;
const sec = (x: number) => `${(x / 1000).toFixed(2)} s`;

// ── Clean-up of everything this process started ────────────────────────────
const cleanups: { name: string; run: () => Promise<void> | void }[] = [];
let cleaning: Promise<void> | undefined;
function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    while (cleanups.length > 0) {
      const c = cleanups.pop()!;
      try {
        await c.run();
      } catch (err) {
        log(`clean-up of ${c.name} failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  })();
  return cleaning;
}
/** Set when a signal or the time limit stops the run (errors that follow are expected). */
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = true;
    log(`${signal}: stopping everything`);
    void cleanUp().finally(() => process.exit(130));
  });
}
const limit = setTimeout(() => {
  interrupted = true;
  log(`the benchmark took longer than ${TIME_LIMIT_MS / 60_000} minutes; stopping`);
  void cleanUp().finally(() => process.exit(2));
}, TIME_LIMIT_MS);
limit.unref();

/**
 * A small shell process that outlives this one if need be: when this process
 * is gone (even killed with SIGKILL) it stops the dev server it started (only
 * if that pid is still the server on our port) and removes the temporary
 * folder; and past the time limit + 1 minute it stops this process, in case the
 * event loop is blocked and the in-process limit cannot fire.
 */
function startWatchdog(serverPid: number, port: number, dir: string) {
  const script = [
    `parent=${process.pid}; server=${serverPid}; end=$(( $(date +%s) + ${Math.round(TIME_LIMIT_MS / 1000) + 60} ))`,
    'while kill -0 $parent 2>/dev/null && [ "$(date +%s)" -lt "$end" ]; do sleep 1; done',
    'if kill -0 $parent 2>/dev/null; then echo "[bench] watchdog: time limit passed, stopping the benchmark" >&2; kill -TERM $parent; sleep 20; kill -0 $parent 2>/dev/null && kill -KILL $parent; fi',
    `if ps -p $server -o args= 2>/dev/null | grep -q -- "--port ${port} "; then kill -TERM $server; sleep 5; kill -KILL $server 2>/dev/null; fi`,
    // Runner processes this one started (their pids are listed in the folder), only if still runners.
    `for pid in $(cat '${dir.replace(/'/g, `'\\''`)}/runner-pids' 2>/dev/null); do ps -p $pid -o args= 2>/dev/null | grep -q 'workflows/runner/main.ts' && kill -KILL $pid; done`,
    `rm -rf '${dir.replace(/'/g, `'\\''`)}'`,
  ].join('\n');
  spawn('/bin/sh', ['-c', script], { detached: true, stdio: ['ignore', 'ignore', 'inherit'] }).unref();
}

// ── Pipeline documents ──────────────────────────────────────────────────────
type NodeInput = PipelineSpecInput['nodes'][number];
type EdgeInput = PipelineSpecInput['edges'][number];
const edge = (from: string, to: string): EdgeInput => ({ id: `${from}->${to}`, from, to, on: 'success' });
const chain = (nodes: NodeInput[]): EdgeInput[] => nodes.slice(1).map((n, i) => edge(nodes[i]!.id, n.id));
const noop = (id: string): NodeInput => ({ id, kind: 'command', name: id, config: { command: 'true' } });
const doc = (name: string, nodes: NodeInput[], edges: EdgeInput[], concurrency = 1): PipelineSpecInput => ({
  schemaVersion: 1,
  name,
  nodes,
  edges,
  settings: { concurrency, defaultRetry: {}, stageTimeoutSeconds: 3600, runTimeoutSeconds: 0 },
});

/**
 * 1,000 nodes: ten blocks, each a hub fanning out to nine chains of ten stages
 * that join into the next block's hub. Stages reference a parameter and the
 * hub's outputs, and every block has an approval gate, an http-check and a
 * webhook, so the reference and config checks have work to do.
 */
function bigPipeline(): PipelineSpecInput {
  const nodes: NodeInput[] = [];
  const edges: EdgeInput[] = [];
  let previousTails: string[] = [];
  // 1 hub + 9 chains × 11 stages = 100 nodes per block.
  for (let b = 0; b < COMPILE_NODES / 100; b++) {
    const hub = `hub${b}`;
    nodes.push({ id: hub, kind: 'command', name: `Hub ${b}`, config: { command: `echo "tag=v${b}" >> "$PIPEWRIGHT_OUTPUT"` } });
    for (const t of previousTails) edges.push(edge(t, hub));
    previousTails = [];
    for (let c = 0; c < 9; c++) {
      const ids: string[] = [];
      for (let s = 0; s < 11; s++) {
        const id = `b${b}c${c}s${s}`;
        ids.push(id);
        if (c === 0 && s === 5) nodes.push({ id, kind: 'approval', name: id, config: { groups: ['approvers'], instructions: `Check \${{ stages.${hub}.outputs.tag }}` } });
        else if (c === 1 && s === 5) nodes.push({ id, kind: 'http-check', name: id, config: { url: 'http://localhost:3000/health', jsonPath: 'status', jsonEquals: 'ok' } });
        else if (c === 2 && s === 10) nodes.push({ id, kind: 'webhook', name: id, config: { url: 'http://localhost/hook', body: { text: `\${{ params.version }} \${{ stages.${hub}.outputs.tag }}` } } });
        else nodes.push({ id, kind: 'command', name: id, config: { command: `make step-${s} VERSION=\${{ params.version }} TAG=\${{ stages.${hub}.outputs.tag }}` } });
      }
      edges.push(edge(hub, ids[0]!));
      for (let s = 1; s < ids.length; s++) edges.push(edge(ids[s - 1]!, ids[s]!));
      previousTails.push(ids.at(-1)!);
    }
  }
  return { ...doc(`bench-${COMPILE_NODES}`, nodes, edges), parameters: [{ name: 'version', type: 'string', default: '1.0.0', required: false }] };
}

// ── Results ─────────────────────────────────────────────────────────────────
type Row = { measurement: string; result: string; goal: string; verdict: '' | 'met' | 'MISSED' };
const rows: Row[] = [];
const row = (measurement: string, result: string, goal = '', met?: boolean) =>
  rows.push({ measurement, result, goal, verdict: met === undefined ? '' : met ? 'met' : 'MISSED' });
const notes: string[] = [];

function table(): string {
  const lines = ['| Measurement | Result | Goal | |', '|---|---:|---:|---|'];
  for (const r of rows) lines.push(`| ${r.measurement} | ${r.result} | ${r.goal} | ${r.verdict} |`);
  return lines.join('\n');
}

// ── d. validate + compile ───────────────────────────────────────────────────
function benchCompile() {
  log(`validate + compile a ${COMPILE_NODES}-node pipeline, median of ${COMPILE_REPS}`);
  const input = bigPipeline();
  const check = validatePipeline(input);
  if (!check.ok || !check.spec) throw new Error(`the 1,000-node pipeline is invalid: ${check.issues.slice(0, 3).map((i) => i.message).join('; ')}`);
  for (let i = 0; i < 3; i++) compileValidSpec(validatePipeline(input).spec!);
  const v: number[] = [];
  const c: number[] = [];
  const p: number[] = [];
  for (let i = 0; i < COMPILE_REPS; i++) {
    const t0 = performance.now();
    const spec = validatePipeline(input).spec!;
    const t1 = performance.now();
    const plan = compileValidSpec(spec);
    const t2 = performance.now();
    executionPlanSchema.parse(plan);
    const t3 = performance.now();
    v.push(t1 - t0);
    c.push(t2 - t1);
    p.push(t3 - t2);
  }
  const total = v.map((x, i) => x + c[i]!);
  return { nodes: input.nodes.length, edges: input.edges.length, validate: median(v), compile: median(c), total: median(total), fastest: Math.min(...total), planParse: median(p) };
}

// ── Main ────────────────────────────────────────────────────────────────────
async function main() {
  const started = Date.now();
  const loadBefore = os.loadavg()[0]!;
  const compile = benchCompile();
  if (COMPILE_ONLY) {
    process.stdout.write(`validate + compile, ${compile.nodes} nodes / ${compile.edges} edges: ${ms(compile.total, 1)} (validate ${ms(compile.validate, 1)}, compile ${ms(compile.compile, 1)}, plan parse ${ms(compile.planParse, 1)})\n`);
    return;
  }

  // Temporal.
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
  const bin = await ensureTemporalCli({ log });
  const temporalVersion = spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout.trim();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pipewright-bench-'));
  cleanups.push({ name: 'temporary folder', run: () => fs.rmSync(dir, { recursive: true, force: true }) });
  const port = await getFreePort();
  log(`starting a Temporal dev server on 127.0.0.1:${port} (${TEMPORAL_DB === 'memory' ? 'in memory' : 'temporary SQLite file'})`);
  const server = await startDevServer({
    bin,
    port,
    namespace: 'default',
    dbFile: TEMPORAL_DB === 'file' ? path.join(dir, 'temporal.db') : undefined,
    logFile: path.join(dir, 'temporal.log'),
    sqliteSynchronous: TEMPORAL_SYNC,
  });
  cleanups.push({ name: 'Temporal dev server', run: () => server.stop('SIGTERM', 15_000) });
  startWatchdog(server.pid, port, dir);
  // The bare baseline runs on a second dev server with Temporal's default dynamic config (the
  // issue's floor), while Pipewright runs on the one `npm start` starts (LOW_LATENCY_DYNAMIC_CONFIG).
  const basePort = await getFreePort();
  log(`starting a second Temporal dev server with the default dynamic config on 127.0.0.1:${basePort} (the bare baseline)`);
  const baseServer = await startDevServer({
    bin,
    port: basePort,
    namespace: 'default',
    defaultConfig: true,
    searchAttributes: [],
    dbFile: TEMPORAL_DB === 'file' ? path.join(dir, 'temporal-base.db') : undefined,
    logFile: path.join(dir, 'temporal-base.log'),
  });
  cleanups.push({ name: 'Temporal dev server (default config)', run: () => baseServer.stop('SIGTERM', 15_000) });
  startWatchdog(baseServer.pid, basePort, dir);
  {
    const connection = await Connection.connect({ address: server.address });
    try {
      await registerSearchAttributes(connection, 'default');
    } finally {
      await connection.close();
    }
  }

  // The app, configured before its modules read the environment.
  const pwQueue = `bench-pw-${randomUUID().slice(0, 8)}`;
  const baseQueue = `bench-base-${randomUUID().slice(0, 8)}`;
  Object.assign(process.env, {
    DATABASE_URL: `file:${path.join(dir, 'app.db')}`,
    PIPEWRIGHT_DATA_DIR: dir,
    TEMPORAL_ADDRESS: server.address,
    TEMPORAL_NAMESPACE: 'default',
    TEMPORAL_TASK_QUEUE: pwQueue,
  });
  const { resetEnvCache } = await import('../../server/env');
  resetEnvCache();
  const { closeAllDbs, getDb } = await import('../../db/client');
  const { migrate } = await import('../../db/migrate');
  const schema = await import('../../db/schema');
  const { createCaller } = await import('../../server/api/root');
  const { getTemporalClient, resetTemporalClient } = await import('../../server/temporal/client');
  const { buildWorkflowBundle, createPipewrightWorker } = await import('../../server/control-worker/worker');
  const { createActivities } = await import('../../server/control-worker/activities');
  const { createRunnerApiHandler, serveRunnerApi } = await import('../../server/runner-api/handler');
  const { registerRunner } = await import('../../server/services/runners');
  const { createArtifactStore } = await import('../../server/artifacts/store');
  const { getEnv } = await import('../../server/env');
  const { ControlPlaneClient } = await import('../../workflows/runner/client');
  const { createRunnerWorkers } = await import('../../workflows/runner/worker');
  const { sweepOrphanedCommands } = await import('../../workflows/stages/command/executor');
  const { decideUpdate, workflowIdForRun } = await import('../../workflows/run-state');
  const { signDecision } = await import('../../server/security/decision-keys');
  const { and, eq } = await import('drizzle-orm');
  cleanups.push({ name: 'app database', run: () => closeAllDbs() });
  cleanups.push({ name: 'Temporal client', run: () => resetTemporalClient() });
  await migrate();
  const db = await getDb();
  // The worker gets its own handle (its own connection pool) on the same file,
  // as it has in production, where it is a separate process. The URL differs
  // only so that db/client.ts does not hand back the API's cached handle.
  const workerDb = await getDb(`file:${dir}/./app.db`);

  const makeUser = async (username: string, role: 'author' | 'approver', groups: string[] = []) => {
    const id = `u-${username}`;
    await db.insert(schema.user).values({ id, name: username, email: `${username}@example.test`, username, role });
    for (const g of groups) await db.insert(schema.groupMembers).values({ group: g, userId: id });
    return { id, name: username, username, email: `${username}@example.test`, role, groups };
  };
  const ada = await makeUser('ada', 'author');
  const alan = await makeUser('alan', 'approver', ['approvers']);
  const asAda = createCaller({ db, user: ada });
  const asAlan = createCaller({ db, user: alan });

  // Workers.
  log('bundling the interpreter and the baseline workflow');
  const [pwBundle, baseBundle] = await Promise.all([
    buildWorkflowBundle(),
    bundleWorkflowCode({ workflowsPath: BASELINE_WORKFLOW, logger: { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: (m: string) => log(m), error: (m: string) => log(m) } }),
  ]);
  const pwConnection = await NativeConnection.connect({ address: server.address });
  const baseConnection = await NativeConnection.connect({ address: baseServer.address });
  const tunedBaseConnection = await NativeConnection.connect({ address: server.address });
  cleanups.push({
    name: 'worker connections',
    run: async () => void (await Promise.all([pwConnection.close(), baseConnection.close(), tunedBaseConnection.close()])),
  });
  const pwWorker = await createPipewrightWorker({
    connection: pwConnection,
    namespace: 'default',
    taskQueue: pwQueue,
    db: workerDb,
    workflowBundle: pwBundle,
    tuning: {
      ...(WORKFLOW_THREADS ? { workflowThreadPoolSize: WORKFLOW_THREADS } : {}),
      ...(AUTOSCALING_POLLERS ? { workflowTaskPollerBehavior: { type: 'autoscaling' }, activityTaskPollerBehavior: { type: 'autoscaling' } } : {}),
    },
  });
  // Stages run on a runner, as in production: the runner API has its own handle on the database and
  // serves loopback HTTP; the runner is a separate process that holds only its token.
  const runnerApi = await serveRunnerApi(
    createRunnerApiHandler({ db: await getDb(`file:${dir}/././app.db`), queueBase: `${pwQueue}-runner`, artifactStore: () => createArtifactStore(getEnv()) }),
  );
  cleanups.push({ name: 'runner API', run: () => runnerApi.close() });
  const runnerProcs: RunnerProcess[] = [];
  cleanups.push({
    name: 'runner processes',
    run: async () => {
      await Promise.all(runnerProcs.map((r) => r.stop()));
      // Commands left running by runners killed with -9 (their workspaces list them).
      for (const ws of fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.startsWith('ws-')) : []) await sweepOrphanedCommands(path.join(dir, ws));
    },
  });
  const spawnRunner = (token: string, name: string, labels: string[] = []) => {
    const r = startRunnerProcess({ repoRoot: REPO_ROOT, url: runnerApi.url, token, temporal: server.address, workspace: path.join(dir, `ws-${name}`), labels, maxStages: 50 });
    runnerProcs.push(r);
    fs.appendFileSync(path.join(dir, 'runner-pids'), `${r.pid}\n`);
    return r;
  };
  const { token: runnerToken } = await registerRunner(db, ada, { name: 'bench' });
  let pwRunner: { run(): Promise<void>; shutdown(): void };
  if (RUNNER_MODE === 'process') {
    log('starting a runner process (tsx compiles it first; slow on a busy machine)');
    const proc = spawnRunner(runnerToken, 'main');
    await proc.ready;
    // The process is watched like a worker: its death fails the benchmark fast.
    let stop = () => undefined as void;
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    pwRunner = {
      run: () =>
        Promise.race([
          stopped,
          proc.exited.then(() => {
            throw new Error(`the runner process died:\n${proc.output()}`);
          }),
        ]),
      shutdown: () => stop(),
    };
  } else {
    pwRunner = await createRunnerWorkers({
      connection: pwConnection,
      namespace: 'default',
      queueBase: `${pwQueue}-runner`,
      labels: [],
      client: new ControlPlaneClient(runnerApi.url, runnerToken),
      workspaceDir: path.join(dir, 'ws-main'),
      env: process.env,
      maxConcurrentStages: 50,
    });
  }
  const baseWorker = await Worker.create({
    connection: baseConnection,
    namespace: 'default',
    taskQueue: baseQueue,
    workflowBundle: baseBundle,
    activities: createBaselineActivities(),
    maxConcurrentActivityTaskExecutions: 50,
  });
  // The same bare chain on Pipewright's dev server: what the dynamic config alone is worth.
  const tunedBaseWorker = await Worker.create({
    connection: tunedBaseConnection,
    namespace: 'default',
    taskQueue: baseQueue,
    workflowBundle: baseBundle,
    activities: createBaselineActivities(),
    maxConcurrentActivityTaskExecutions: 50,
  });
  let workerError: unknown;
  let rejectWorkerDied: (err: unknown) => void = () => undefined;
  const workerDied = new Promise<never>((_, reject) => {
    rejectWorkerDied = reject;
  });
  workerDied.catch(() => undefined);
  const running = [pwWorker, baseWorker, tunedBaseWorker, pwRunner].map((w) =>
    w.run().catch((err: unknown) => {
      workerError = err;
      rejectWorkerDied(new Error(`a worker stopped: ${err instanceof Error ? err.message : String(err)}`));
    }),
  );
  cleanups.push({
    name: 'workers',
    run: async () => {
      for (const w of [pwWorker, baseWorker, tunedBaseWorker]) if (w.getState() === 'RUNNING') w.shutdown();
      pwRunner.shutdown();
      await Promise.all(running);
    },
  });
  /** Awaits `p`, failing fast when a worker dies. */
  const guard = <T>(p: Promise<T>): Promise<T> => Promise.race([p, workerDied]);

  const client = await getTemporalClient();
  const baseClientConnection = await Connection.connect({ address: baseServer.address });
  cleanups.push({ name: 'baseline client', run: () => baseClientConnection.close() });
  const baseClient = new Client({ connection: baseClientConnection, namespace: 'default' });
  const createPipeline = async (spec: PipelineSpecInput) => (await asAda.pipelines.create({ name: spec.name, spec })).id;

  /** Starts a run through the API and waits for the workflow's result; returns the run id, the wall time and the final state. */
  async function runPipeline(pipelineId: string) {
    const t0 = performance.now();
    const { id } = await guard(asAda.runs.start({ pipelineId })).catch((err: unknown) => {
      throw new Error(`runs.start refused: ${err instanceof Error ? err.message : String(err)}`);
    });
    const startMs = performance.now() - t0;
    const state = await guard(runEnd(client.workflow.getHandle(workflowIdForRun(id))));
    return { id, ms: state.endedAt - t0, startMs, status: state.status, error: state.error };
  }
  let lastNoopWorkflowId = '';
  /** The bare chain; on the default-config server unless `on` is 'pipewright' (the app's dev server). */
  async function runBaseline(activity: BaselineInput['activity'], stages: number, on: 'default' | 'pipewright' = 'default') {
    const t0 = performance.now();
    const workflowId = `bench-baseline-${activity}-${randomUUID()}`;
    await guard(
      (on === 'default' ? baseClient : client).workflow.execute('baselineSequential', {
        taskQueue: baseQueue,
        workflowId,
        args: [{ stages, activity } satisfies BaselineInput],
      }),
    );
    if (activity === 'noop' && on === 'default') lastNoopWorkflowId = workflowId;
    return performance.now() - t0;
  }
  /** A history event's time in ms. */
  const eventMs = (e: { eventTime?: { seconds?: unknown; nanos?: number | null } | null }) => Number(e.eventTime?.seconds ?? 0) * 1000 + Math.round((e.eventTime?.nanos ?? 0) / 1e6);
  /** Medians of the gaps between history events of one workflow: where a bare activity step spends its time. */
  async function historyBreakdown(workflowId: string) {
    const history = await baseClient.workflow.getHandle(workflowId).fetchHistory();
    const events = (history.events ?? []).map((e) => ({
      type: Number(e.eventType),
      at: eventMs(e),
    }));
    // Event types: 5/6/7 workflow task scheduled/started/completed, 10/11/12 activity task scheduled/started/completed.
    const pairs = { wftQueued: [5, 6], wftRan: [6, 7], activityQueued: [10, 11], activityRan: [11, 12] } as const;
    const gaps = Object.fromEntries(Object.keys(pairs).map((k) => [k, [] as number[]])) as Record<keyof typeof pairs, number[]>;
    for (let i = 1; i < events.length; i++) {
      for (const [k, [from, to]] of Object.entries(pairs) as [keyof typeof pairs, readonly [number, number]][]) {
        if (events[i - 1]!.type === from && events[i]!.type === to) gaps[k].push(events[i]!.at - events[i - 1]!.at);
      }
    }
    return Object.fromEntries(Object.entries(gaps).map(([k, xs]) => [k, xs.length ? median(xs) : NaN])) as Record<keyof typeof pairs, number>;
  }

  /**
   * The same for one stage of the pipeline's run: its `executeStage` waiting for a runner
   * (scheduled → started), on the runner (started → completed: begin, sandboxed command,
   * finish), and from its completion to the next stage's activity being scheduled (the
   * interpreter's workflow task). Medians over the run's stages.
   */
  async function stageBreakdown(workflowId: string) {
    const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
    const scheduled = new Map<number, number>();
    const started = new Map<number, number>();
    const queued: number[] = [];
    const ran: number[] = [];
    const between: number[] = [];
    // The workflow task after each stage's completion: queued (scheduled → started) and processed (started → completed).
    const wftQueued: number[] = [];
    const wftProcessed: number[] = [];
    let wftScheduled: number | undefined;
    let wftStarted: number | undefined;
    let lastCompleted: number | undefined;
    let firstScheduled: number | undefined;
    let workflowStarted: number | undefined;
    let workflowEnded: number | undefined;
    for (const e of events) {
      const id = Number(e.eventId);
      if (e.workflowExecutionStartedEventAttributes) workflowStarted = eventMs(e);
      if (e.workflowExecutionCompletedEventAttributes) workflowEnded = eventMs(e);
      if (e.workflowTaskScheduledEventAttributes) wftScheduled = eventMs(e);
      if (e.workflowTaskStartedEventAttributes) wftStarted = eventMs(e);
      if (e.workflowTaskCompletedEventAttributes && lastCompleted !== undefined && wftScheduled !== undefined && wftStarted !== undefined && wftScheduled >= lastCompleted) {
        wftQueued.push(wftStarted - wftScheduled);
        wftProcessed.push(eventMs(e) - wftStarted);
      }
      if (e.activityTaskScheduledEventAttributes?.activityType?.name === 'executeStage') {
        firstScheduled ??= eventMs(e);
        scheduled.set(id, eventMs(e));
        if (lastCompleted !== undefined) between.push(eventMs(e) - lastCompleted);
      } else if (e.activityTaskStartedEventAttributes && scheduled.has(Number(e.activityTaskStartedEventAttributes.scheduledEventId))) {
        const from = Number(e.activityTaskStartedEventAttributes.scheduledEventId);
        started.set(from, eventMs(e));
        queued.push(eventMs(e) - scheduled.get(from)!);
      } else if (e.activityTaskCompletedEventAttributes && started.has(Number(e.activityTaskCompletedEventAttributes.scheduledEventId))) {
        ran.push(eventMs(e) - started.get(Number(e.activityTaskCompletedEventAttributes.scheduledEventId))!);
        lastCompleted = eventMs(e);
      }
    }
    const med = (xs: number[]) => (xs.length ? median(xs) : NaN);
    const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
    return {
      queued: med(queued),
      ran: med(ran),
      between: med(between),
      wftQueued: med(wftQueued),
      wftProcessed: med(wftProcessed),
      mean: { queued: mean(queued), ran: mean(ran), between: mean(between) },
      /** Workflow started → first stage scheduled; last stage completed → workflow completed. */
      before: firstScheduled !== undefined && workflowStarted !== undefined ? firstScheduled - workflowStarted : NaN,
      after: lastCompleted !== undefined && workflowEnded !== undefined ? workflowEnded - lastCompleted : NaN,
    };
  }

  // ── a. engine overhead ────────────────────────────────────────────────────
  log(`engine overhead: ${CHAIN_STAGES}-stage chain vs. baselines, 1 warm-up + ${REPS} repetitions each`);
  const chainNodes = Array.from({ length: CHAIN_STAGES }, (_, i) => noop(`s${i + 1}`));
  const chainId = await createPipeline(doc(`bench-chain-${CHAIN_STAGES}`, chainNodes, chain(chainNodes)));
  const times = { pipeline: [] as number[], spawn: [] as number[], noop: [] as number[], tunedNoop: [] as number[], start: [] as number[] };
  let lastRunId = '';
  for (let rep = 0; rep <= REPS; rep++) {
    const r = await runPipeline(chainId);
    if (r.status !== 'succeeded') throw new Error(`the ${CHAIN_STAGES}-stage run ${r.status}: ${r.error}`);
    lastRunId = r.id;
    const spawnMs = await runBaseline('spawnTrue', CHAIN_STAGES);
    const noopMs = await runBaseline('noop', CHAIN_STAGES);
    const tunedNoopMs = await runBaseline('noop', CHAIN_STAGES, 'pipewright');
    log(
      `  ${rep === 0 ? 'warm-up' : `rep ${rep}`}: pipeline ${sec(r.ms)}, baseline (spawn) ${sec(spawnMs)}, baseline (no-op) ${sec(noopMs)}, baseline (no-op, Pipewright's dev server) ${sec(tunedNoopMs)}`,
    );
    if (rep === 0) continue;
    times.pipeline.push(r.ms);
    times.start.push(r.startMs);
    times.spawn.push(spawnMs);
    times.noop.push(noopMs);
    times.tunedNoop.push(tunedNoopMs);
  }
  const steps = await historyBreakdown(lastNoopWorkflowId);
  const stageSteps = await stageBreakdown(workflowIdForRun(lastRunId));
  // Sequential Temporal round trips are what a stage costs at least: which activities the run scheduled.
  const pipelineActivities = new Map<string, number>();
  for (const e of (await client.workflow.getHandle(workflowIdForRun(lastRunId)).fetchHistory()).events ?? []) {
    const type = e.activityTaskScheduledEventAttributes?.activityType?.name;
    if (type) pipelineActivities.set(type, (pipelineActivities.get(type) ?? 0) + 1);
  }
  const pipelineMs = median(times.pipeline);
  const spawnMs = median(times.spawn);
  const noopMs = median(times.noop);
  const tunedNoopMs = median(times.tunedNoop);
  /** The issue's figure: per stage against the bare default-config no-op chain, each repetition back to back. */
  const bareRatios = times.pipeline.map((p, i) => p / times.noop[i]!);
  const ratio = pipelineMs / spawnMs;
  /** Each repetition's pipeline / spawn baseline (the two ran back to back, under the same load). */
  const repRatios = times.pipeline.map((p, i) => p / times.spawn[i]!);
  const repOverhead = times.pipeline.map((p, i) => (p - times.spawn[i]!) / CHAIN_STAGES);
  log(`  ratio pipeline / spawn baseline ${ratio.toFixed(2)} (repetitions ${repRatios.map((r) => r.toFixed(2)).join(', ')})`);

  // Where the time goes: the activity bodies alone, outside Temporal.
  log('  diagnostics: activity bodies without Temporal');
  const activities = createActivities({ db: workerDb });
  const baseline = createBaselineActivities();
  const bodies = { spawn: [] as number[], record1: [] as number[], record100: [] as number[] };
  for (let i = 0; i < 120; i++) {
    const t = performance.now();
    await baseline.spawnTrue();
    if (i >= 20) bodies.spawn.push(performance.now() - t);
  }
  // recordRunState rewrites every started stage of the run: cost with 1 and with 100 finished stages.
  const stateWith = (finished: number) => ({
    runId: lastRunId,
    status: 'running' as const,
    startedAt: Date.now(),
    stages: Object.fromEntries(
      chainNodes.map((n, i) => [n.id, i < finished ? { status: 'succeeded' as const, attempt: 1, startedAt: Date.now(), endedAt: Date.now(), outputs: {} } : { status: 'pending' as const, attempt: 0, outputs: {} }]),
    ),
  });
  for (let i = 0; i < 40; i++) {
    let t = performance.now();
    await activities.recordRunState({ state: stateWith(1), final: false });
    if (i >= 10) bodies.record1.push(performance.now() - t);
    t = performance.now();
    await activities.recordRunState({ state: stateWith(100), final: false });
    if (i >= 10) bodies.record100.push(performance.now() - t);
  }
  // Put the run's rows back as the workflow left them (the diagnostics overwrote them).
  await activities.recordRunState({ state: { ...stateWith(100), status: 'succeeded', endedAt: Date.now() }, final: true });

  // ── f. failover: runner killed → stage running again on another runner ───────
  const failover = RUNNER_MODE === 'process' ? await benchFailover() : undefined;

  async function benchFailover() {
    const heartbeatTimeoutS = getEnv().PIPEWRIGHT_HEARTBEAT_TIMEOUT_S;
    log(`failover: two runner processes labelled ${FAILOVER_LABEL}, kill -9 of the one running a stage, ${FAILOVER_REPS} times (heartbeat timeout ${heartbeatTimeoutS} s)`);
    const pool = await Promise.all(
      ['fo-a', 'fo-b'].map(async (name) => {
        const { runner, token } = await registerRunner(db, ada, { name, labels: [FAILOVER_LABEL] });
        return { name, id: runner.id, token, proc: spawnRunner(token, name, [FAILOVER_LABEL]) };
      }),
    );
    await Promise.all(pool.map((r) => r.proc.ready));
    const pipelineId = await createPipeline(
      doc('bench-failover', [{ id: 'long', kind: 'command', name: 'long', runsOn: [FAILOVER_LABEL], config: { command: 'sleep 600' } }], []),
    );
    const stageRow = async (runId: string) =>
      db.select({ status: schema.stageRuns.status, runnerId: schema.stageRuns.runnerId }).from(schema.stageRuns).where(and(eq(schema.stageRuns.runId, runId), eq(schema.stageRuns.nodeId, 'long'))).get();
    async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const v = await check();
        if (v !== undefined) return v;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${pool.map((r) => `[${r.name}] ${r.proc.output()}`).join('\n')}`);
        if (workerError) await workerDied;
        await sleep(FAILOVER_POLL_MS);
      }
    }
    const samples: number[] = [];
    for (let rep = 1; rep <= FAILOVER_REPS; rep++) {
      const { id: runId } = await guard(asAda.runs.start({ pipelineId }));
      const first = await until('the stage to run on a runner', async () => {
        const r = await stageRow(runId);
        return r?.status === 'running' && r.runnerId ? r.runnerId : undefined;
      });
      // A second in, the command runs and heartbeats flow, as in a stage that was killed mid-work.
      await sleep(1000);
      const victim = pool.find((r) => r.id === first)!;
      const t0 = performance.now();
      await victim.proc.kill9();
      const second = await until('the stage to run on the other runner', async () => {
        const r = await stageRow(runId);
        return r?.status === 'running' && r.runnerId && r.runnerId !== first ? r.runnerId : undefined;
      });
      const took = performance.now() - t0;
      samples.push(took);
      log(`  kill ${rep}: ${victim.name} killed → running on ${pool.find((r) => r.id === second)?.name ?? second} after ${sec(took)}`);
      await guard(asAda.runs.cancel({ runId, reason: 'bench: failover measured' }));
      await guard(runEnd(client.workflow.getHandle(workflowIdForRun(runId)))).catch(() => undefined);
      // The killed runner comes back (and kills the command it left running), for the next kill.
      victim.proc = spawnRunner(victim.token, victim.name, [FAILOVER_LABEL]);
      await victim.proc.ready;
    }
    // Only the main runner stays for what follows.
    await Promise.all(pool.map((r) => r.proc.stop()));
    return { heartbeatTimeoutS, samples };
  }

  // ── b. approval latency ───────────────────────────────────────────────────
  const approvals = QUICK ? undefined : await benchApprovals();
  async function benchApprovals() {
  log(`approval latency: ${GATES} gates in sequence, decided through the API, then through the raw update`);
  const gateNodes: NodeInput[] = Array.from({ length: GATES }, (_, i) => ({ id: `g${i + 1}`, kind: 'approval', name: `Gate ${i + 1}`, config: { groups: ['approvers'] } }));
  const gateDoc = (name: string, n: number) => {
    const nodes = [...gateNodes.slice(0, n), { id: 'done', kind: 'wait', name: 'done', config: { seconds: 0 } } satisfies NodeInput];
    return doc(name, nodes, chain(nodes), 5);
  };
  const gatePipelineId = await createPipeline(gateDoc('bench-gates', GATES));
  const warmGatesId = await createPipeline(gateDoc('bench-gates-warm-up', 5));

  async function waitForGate(runId: string, nodeId: string, timeoutMs = 30_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const g = await db.select({ status: schema.gates.status }).from(schema.gates).where(and(eq(schema.gates.runId, runId), eq(schema.gates.nodeId, nodeId))).get();
      if (g?.status === 'waiting') return;
      if (Date.now() > deadline) throw new Error(`gate ${nodeId} of run ${runId} did not start waiting within ${timeoutMs / 1000} s`);
      if (workerError) await workerDied;
      await sleep(2);
    }
  }
  const startedAtOf = async (runId: string, nodeId: string) =>
    (await db.select({ startedAt: schema.stageRuns.startedAt }).from(schema.stageRuns).where(and(eq(schema.stageRuns.runId, runId), eq(schema.stageRuns.nodeId, nodeId))).get())?.startedAt?.getTime();

  async function gateRun(pipelineId: string, n: number, via: 'api' | 'update') {
    const { id: runId } = await guard(asAda.runs.start({ pipelineId }));
    const handle = client.workflow.getHandle(workflowIdForRun(runId));
    const call: number[] = [];
    const start: number[] = [];
    const visible: number[] = [];
    for (let i = 1; i <= n; i++) {
      const gateId = `g${i}`;
      const next = i < n ? `g${i + 1}` : 'done';
      await waitForGate(runId, gateId);
      const sentAt = Date.now();
      const t0 = performance.now();
      if (via === 'api') {
        const res = await guard(asAlan.approvals.decide({ runId, gateId, decision: 'approve' }));
        if (res.gateStatus !== 'approved') throw new Error(`gate ${gateId}: ${res.gateStatus}`);
      } else {
        await guard(
          client.withDeadline(Date.now() + 5000, () =>
            handle.executeUpdate(decideUpdate, {
              // Runs accept only decisions signed by the control plane (as the approvals service signs them).
              args: [signDecision(runId, { gateId, userId: alan.id, userName: alan.username, groups: alan.groups, decision: 'approve', comment: '' })],
              updateId: `${gateId}:${alan.id}`,
            }),
          ),
        );
      }
      call.push(performance.now() - t0);
      if (next === 'done') await guard(runEnd(handle));
      else await waitForGate(runId, next);
      visible.push(Date.now() - sentAt);
      const nextStarted = await startedAtOf(runId, next);
      if (nextStarted === undefined) throw new Error(`stage ${next} of run ${runId} has no start time`);
      start.push(Math.max(0, nextStarted - sentAt));
    }
    const state = await guard(runEnd(handle));
    if (state.status !== 'succeeded') throw new Error(`gate run ${state.status}: ${state.error}`);
    const info = (await handle.describe()).raw.workflowExecutionInfo;
    return { call, start, visible, historyEvents: Number(info?.historyLength ?? 0), historyBytes: Number(info?.historySizeBytes ?? 0) };
  }
  await gateRun(warmGatesId, 5, 'api');
  await gateRun(warmGatesId, 5, 'update');
  const viaApi = await gateRun(gatePipelineId, GATES, 'api');
  log(`  API: decide call p50 ${ms(percentile(viaApi.call, 50))}, decision → next stage started p50 ${ms(percentile(viaApi.start, 50))} p99 ${ms(percentile(viaApi.start, 99))}`);
  const viaUpdate = await gateRun(gatePipelineId, GATES, 'update');
  log(`  raw update: round trip p50 ${ms(percentile(viaUpdate.call, 50))}, decision → next stage started p50 ${ms(percentile(viaUpdate.start, 50))} p99 ${ms(percentile(viaUpdate.start, 99))}`);
  return { viaApi, viaUpdate };
  }

  // ── c. throughput ─────────────────────────────────────────────────────────
  const throughputs = QUICK ? undefined : await benchThroughput();
  async function benchThroughput() {
  const tpNodes = Array.from({ length: THROUGHPUT_STAGES }, (_, i) => noop(`t${i + 1}`));
  const tpId = await createPipeline(doc(`bench-throughput-${THROUGHPUT_STAGES}`, tpNodes, chain(tpNodes), THROUGHPUT_RUNS));
  /**
   * `burst`: all start calls at once (as 50 simultaneous API requests would);
   * `stream`: each start call awaited before the next (the runs still overlap).
   */
  async function throughput(mode: 'burst' | 'stream') {
    log(`throughput (${mode}): ${THROUGHPUT_RUNS} concurrent runs of a ${THROUGHPUT_STAGES}-stage no-op pipeline`);
    // Statements that wait for SQLite's write lock block the event loop; this shows it.
    const loop = monitorEventLoopDelay({ resolution: 20 });
    loop.enable();
    const t0 = performance.now();
    const deadline = Date.now() + THROUGHPUT_LIMIT_MS;
    const started: string[] = [];
    const finished = new Set<string>();
    const launch = () => {
      const t = performance.now();
      const id = guard(asAda.runs.start({ pipelineId: tpId })).then(
        (r) => {
          started.push(r.id);
          return r.id;
        },
        (err: unknown) => {
          throw new Error(`runs.start refused: ${err instanceof Error ? err.message : String(err)}`);
        },
      );
      // Only the result here: the state is read once every run has ended (a query replays the run's history on the
      // worker, work that would otherwise compete with the runs still going).
      const done = id.then(async (runId) => {
        const endedAt = await guard(beforeDeadline(runResult(client.workflow.getHandle(workflowIdForRun(runId))), deadline));
        finished.add(runId);
        return { id: runId, ms: endedAt - t, endedAt };
      });
      return { id, done };
    };
    let dones: Promise<{ id: string; ms: number; endedAt: number }>[];
    if (mode === 'burst') {
      dones = Array.from({ length: THROUGHPUT_RUNS }, () => launch().done);
    } else {
      dones = [];
      for (let i = 0; i < THROUGHPUT_RUNS; i++) {
        if (Date.now() >= deadline) {
          dones.push(Promise.reject(new Error(`not started within the phase's ${THROUGHPUT_LIMIT_MS / 1000} s`)));
          continue;
        }
        const l = launch();
        dones.push(l.done);
        await l.id.catch(() => undefined);
      }
    }
    const ended = await Promise.allSettled(dones);
    const endings = ended.flatMap((o) => (o.status === 'fulfilled' ? [o.value.endedAt] : []));
    const wall = (endings.length === ended.length ? Math.max(...endings) : performance.now()) - t0;
    const outcomes = await Promise.allSettled(
      ended.map(async (o) => {
        if (o.status === 'rejected') throw o.reason;
        const state = await guard(runState(client.workflow.getHandle(workflowIdForRun(o.value.id))));
        return { ...o.value, status: state.status, error: state.error };
      }),
    );
    loop.disable();
    // Runs cut off by the phase's time limit must not slow down what follows.
    for (const runId of started.filter((r) => !finished.has(r))) {
      await client.workflow.getHandle(workflowIdForRun(runId)).terminate('bench: phase time limit').catch(() => undefined);
    }
    /** Why each failed run failed (one entry per run). */
    const failures: string[] = [];
    for (const o of outcomes) {
      if (o.status === 'rejected') {
        failures.push(o.reason instanceof Error ? o.reason.message : String(o.reason));
        continue;
      }
      const r = o.value;
      const dbRun = await db.select({ status: schema.runs.status }).from(schema.runs).where(eq(schema.runs.id, r.id)).get();
      if (r.status !== 'succeeded') failures.push(`the workflow ended ${r.status}: ${r.error}`);
      else if (dbRun?.status !== 'succeeded') failures.push(`the app database says ${dbRun?.status ?? 'nothing'}`);
    }
    const succeeded = THROUGHPUT_RUNS - failures.length;
    const runsPerMinute = (succeeded / wall) * 60_000;
    const kinds = [...new Set(failures)].map((f) => `${failures.filter((x) => x === f).length} × ${f}`);
    const longestStallMs = loop.max / 1e6;
    log(`  ${succeeded}/${THROUGHPUT_RUNS} succeeded in ${sec(wall)}: ${runsPerMinute.toFixed(1)} runs/min; longest event-loop stall ${sec(longestStallMs)}`);
    for (const f of kinds) log(`  failed: ${f}`);
    // Let anything still running settle before the next measurement.
    await sleep(1000);
    return { wall, succeeded, runsPerMinute, kinds, longestStallMs };
  }
  const burst = await throughput('burst');
  const stream = await throughput('stream');
  return { burst, stream };
  }

  // ── Report ────────────────────────────────────────────────────────────────
  const where = RUNNER_MODE === 'process' ? 'stages on a runner process' : 'stages on a runner in the bench process';
  const range = (xs: number[], f: (x: number) => string) => `${f(Math.min(...xs))} – ${f(Math.max(...xs))}`;
  row(`${CHAIN_STAGES}-stage no-op pipeline, ${where}, wall time (median of ${REPS})`, sec(pipelineMs));
  row(`Baseline: ${CHAIN_STAGES} activities spawning \`/bin/sh -c true\` (median of ${REPS})`, sec(spawnMs));
  row(`Baseline: ${CHAIN_STAGES} no-op activities (median of ${REPS})`, sec(noopMs));
  row(`Baseline: ${CHAIN_STAGES} no-op activities on Pipewright's dev server (its dynamic config; median of ${REPS})`, sec(tunedNoopMs));
  row('Ratio pipeline / bare default-config chain (no-op activities)', (pipelineMs / noopMs).toFixed(2), '≤ 0.5', pipelineMs / noopMs <= 0.5);
  row('↳ ratio of each repetition, min – max', range(bareRatios, (x) => x.toFixed(2)));
  row('Ratio pipeline / spawn baseline', ratio.toFixed(2), '≤ 1.3', ratio <= 1.3);
  row('↳ ratio of each repetition, min – max', range(repRatios, (x) => x.toFixed(2)));
  row('Engine overhead per stage, vs. spawn baseline', ms((pipelineMs - spawnMs) / CHAIN_STAGES, 1));
  row('↳ of each repetition, min – max', range(repOverhead, (x) => ms(x, 1)));
  row('Engine overhead per stage, vs. no-op baseline', ms((pipelineMs - noopMs) / CHAIN_STAGES, 1));
  row(`↳ activities the ${CHAIN_STAGES}-stage run scheduled (its history)`, [...pipelineActivities].map(([k, n]) => `${n} × \`${k}\``).join(', '));
  row('↳ spawning `/bin/sh -c true` alone, mean', ms(mean(bodies.spawn), 1));
  row('↳ `recordRunState` body, 1 / 100 finished stages, mean', `${ms(mean(bodies.record1), 1)} / ${ms(mean(bodies.record100), 1)}`);
  if (failover) {
    const f = failover.samples;
    row(
      `Runner killed (kill -9) → stage running on the other runner, median (${f.length} kills; heartbeat timeout ${failover.heartbeatTimeoutS} s)`,
      sec(median(f)),
      `(expected ≈ ${failover.heartbeatTimeoutS + 1} s)`,
    );
    row('↳ min – max', range(f, sec));
  }
  if (approvals) {
    const { viaApi, viaUpdate } = approvals;
    row(`Approval via API: decision sent → next stage started, p50 (${GATES} gates)`, ms(percentile(viaApi.start, 50)), '≤ 50 ms', percentile(viaApi.start, 50) <= 50);
    row(`Approval via API: decision sent → next stage started, p99`, ms(percentile(viaApi.start, 99)), '≤ 150 ms', percentile(viaApi.start, 99) <= 150);
    row('Approval via API: `approvals.decide` call, p50 / p99', `${ms(percentile(viaApi.call, 50))} / ${ms(percentile(viaApi.call, 99))}`);
    row('Approval via API: next gate decidable (seen waiting in the app DB), p50 / p99', `${ms(percentile(viaApi.visible, 50))} / ${ms(percentile(viaApi.visible, 99))}`);
    row('Approval via raw update: decision sent → next stage started, p50 / p99', `${ms(percentile(viaUpdate.start, 50))} / ${ms(percentile(viaUpdate.start, 99))}`);
    row('Approval via raw update: `executeUpdate` round trip, p50 / p99', `${ms(percentile(viaUpdate.call, 50))} / ${ms(percentile(viaUpdate.call, 99))}`);
  }
  if (throughputs) {
    for (const [label, t] of [['all started at once', throughputs.burst], ['started one after another', throughputs.stream]] as const) {
      // Issue 12's goal is for the runs all started at the same instant.
      const burst = t === throughputs.burst;
      row(`Throughput: ${THROUGHPUT_RUNS} concurrent runs × ${THROUGHPUT_STAGES} no-op stages, ${label}`, `${t.runsPerMinute.toFixed(1)} runs/min (${t.succeeded} in ${sec(t.wall)})`, burst ? '≥ 120 runs/min' : '', burst ? t.runsPerMinute >= 120 : undefined);
      row(`Throughput (${label}): failed runs`, String(THROUGHPUT_RUNS - t.succeeded), '0', t.succeeded === THROUGHPUT_RUNS);
      row(`Throughput (${label}): longest event-loop stall of the process`, sec(t.longestStallMs));
    }
  }
  row(`Validate + compile, ${compile.nodes} nodes / ${compile.edges} edges (median of ${COMPILE_REPS}; fastest)`, `${ms(compile.total, 1)} (${ms(compile.fastest, 1)})`, '≤ 50 ms', compile.total <= 50);
  row('↳ validate / compile / plan schema parse', `${ms(compile.validate, 1)} / ${ms(compile.compile, 1)} / ${ms(compile.planParse, 1)}`);

  notes.push(
    `Repetitions (s): pipeline ${times.pipeline.map((x) => (x / 1000).toFixed(2)).join(', ')}; spawn baseline ${times.spawn.map((x) => (x / 1000).toFixed(2)).join(', ')}; no-op baseline ${times.noop.map((x) => (x / 1000).toFixed(2)).join(', ')}; no-op baseline on Pipewright's dev server ${times.tunedNoop.map((x) => (x / 1000).toFixed(2)).join(', ')}.`,
  );
  const spread = (xs: number[]) => `${Math.round((Math.max(...xs) / Math.min(...xs) - 1) * 100)}%`;
  notes.push(
    `Spread between repetitions (slowest / fastest − 1): pipeline ${spread(times.pipeline)}, spawn baseline ${spread(times.spawn)}, no-op baseline ${spread(times.noop)}; ratio ${range(repRatios, (x) => x.toFixed(2))}. Differences smaller than that are noise.`,
  );
  notes.push(
    `One step of the no-op baseline (default-config server), from its history's event times (medians): workflow task queued ${ms(steps.wftQueued)}, workflow task processed ${ms(steps.wftRan)}, activity queued ${ms(steps.activityQueued)}, activity ran and reported ${ms(steps.activityRan)}.`,
    `One stage of the pipeline's run, from its history (medians over its ${CHAIN_STAGES} stages, means in brackets): waiting for the runner (scheduled → started) ${ms(stageSteps.queued)} (${ms(stageSteps.mean.queued)}), on the runner (begin, sandboxed \`true\`, finish) ${ms(stageSteps.ran)} (${ms(stageSteps.mean.ran)}), completion → next stage scheduled (the interpreter's workflow task) ${ms(stageSteps.between)} (${ms(stageSteps.mean.between)}; the task queued ${ms(stageSteps.wftQueued)}, processed by the worker ${ms(stageSteps.wftProcessed)}). Once per run: \`runs.start\` answered in ${ms(median(times.start))} (median), workflow started → first stage scheduled ${ms(stageSteps.before)}, last stage completed → workflow completed ${ms(stageSteps.after)} (the final run-state record).`,
  );
  if (failover) notes.push(`Failover, each kill (s): ${failover.samples.map((x) => (x / 1000).toFixed(2)).join(', ')}.`);
  if (approvals) {
    const { viaApi, viaUpdate } = approvals;
    notes.push(
      `The ${GATES}-gate run's history: ${viaApi.historyEvents} events, ${(viaApi.historyBytes / 1e6).toFixed(2)} MB (every run-state record carries the whole run state).`,
    );
    const firstTen = (xs: number[]) => median(xs.slice(0, 10));
    const lastTen = (xs: number[]) => median(xs.slice(-10));
    notes.push(
      `Approval latency by position in the run (API): median of gates 1–10 ${ms(firstTen(viaApi.start))}, of gates ${GATES - 9}–${GATES} ${ms(lastTen(viaApi.start))}; raw update: ${ms(firstTen(viaUpdate.start))} → ${ms(lastTen(viaUpdate.start))}.`,
    );
  }
  const joinKinds = (kinds: string[]) => kinds.map((k) => k.replace(/\.$/, '')).join('; ');
  if (throughputs?.burst.kinds.length) notes.push(`Throughput failures, all started at once: ${joinKinds(throughputs.burst.kinds)}.`);
  if (throughputs?.stream.kinds.length) notes.push(`Throughput failures, started one after another: ${joinKinds(throughputs.stream.kinds)}.`);
  if (QUICK) notes.push('Run with `--quick`: approval latency and throughput were not measured (see an earlier full run).');

  const machine = {
    date: new Date().toISOString().slice(0, 10),
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model?.trim() ?? 'unknown',
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
    temporal: temporalVersion.replace(/^temporal version /, ''),
    load: `${loadBefore.toFixed(1)} before, ${os.loadavg()[0]!.toFixed(1)} after`,
  };
  const totalS = Math.round((Date.now() - started) / 1000);
  const out = [
    `Pipewright engine benchmark — ${machine.date}; ${machine.cpus} CPUs (${machine.cpuModel}), ${machine.memoryGb} GB, Node ${machine.node}, ${machine.platform}, 1-min load average ${machine.load}; Temporal CLI ${machine.temporal}, dev server on a ${TEMPORAL_DB === 'memory' ? 'in-memory' : 'SQLite file'} store; ${totalS} s in all`,
    '',
    table(),
    '',
    ...notes.map((n) => `- ${n}`),
  ].join('\n');
  process.stdout.write(`\n${out}\n`);
  // docs/benchmarks.md holds what users get: a run with any setting changed from the defaults is printed, not written there.
  const changed = [WORKFLOW_THREADS && `--workflow-threads=${WORKFLOW_THREADS}`, AUTOSCALING_POLLERS && '--pollers=autoscaling', TEMPORAL_SYNC && '--temporal-sync=normal'].filter(Boolean);
  if (WRITE_DOC && changed.length > 0) log(`docs/benchmarks.md not written: measured with ${changed.join(' ')}`);
  else if (WRITE_DOC) writeDoc(machine, totalS);

  function writeDoc(m: typeof machine, seconds: number) {
    const section = [
      '<!-- bench:engine:start (generated by `npm run bench:engine`; edits inside are overwritten) -->',
      `## Engine benchmark (${m.date})`,
      '',
      `Machine: ${m.cpus} CPUs (${m.cpuModel}), ${m.memoryGb} GB memory, Node ${m.node}, ${m.platform}; 1-min load average ${m.load} (other work shares the machine; see the spread between repetitions in the console output). ` +
        `Temporal: \`temporal server start-dev\` of the CLI built by \`npm run temporal:install\` (reports ${m.temporal}), headless, ${TEMPORAL_DB === 'memory' ? 'in-memory store' : 'temporary SQLite file in WAL mode, as `npm start` uses'}. ` +
        `App database: a temporary SQLite file. Client, API calls, the control plane's runner API (loopback HTTP), the Pipewright worker and the baseline worker in one Node process; the Pipewright worker and the runner API have their own database handles, as they have in their own process in production. ` +
        (RUNNER_MODE === 'process'
          ? 'Stages run on a separate runner process (`workflows/runner/main.ts` under tsx, as `npm run runner` starts it, holding only its token), sandboxed with bubblewrap when available; the baseline activities run in the bench process. '
          : 'Stages run on a runner inside the bench process (`--runner=in-process`). ') +
        `${QUICK ? 'Run with `--quick` (no approval latency, no throughput). ' : ''}Whole run: ${seconds} s.`,
      '',
      table(),
      '',
      ...notes.map((n) => `- ${n}`),
      '',
      '### How it is measured',
      '',
      `- **Engine overhead.** A pipeline of ${CHAIN_STAGES} \`command\` stages running \`true\`, chained one after another, is started through the real tRPC API (\`runs.start\`: load, validate, compile, store the plan, \`workflow.start\`); the wall time runs from that call to the interpreter workflow's result (\`handle.result()\`). ` +
        `The baseline is a hand-written workflow (\`scripts/bench/baseline-workflow.ts\`) on a second worker, task queue and **dev server started with Temporal's default dynamic config** (the floor the issue measures), that runs ${CHAIN_STAGES} activities in sequence with the same activity options as a stage; each activity spawns \`/bin/sh -c true\` (what a no-op command stage runs, so process spawning cancels out), or does nothing at all for the no-op baseline. It is timed from \`workflow.execute\` to its result. Pipewright runs on the dev server as \`npm start\` starts it (\`LOW_LATENCY_DYNAMIC_CONFIG\` in \`scripts/temporal-dev-server.ts\`); the no-op chain is also run there, to show what the dynamic config alone is worth. ` +
        `Each of them runs once as a warm-up, then ${REPS} times interleaved; the table shows medians, and the ratio and overhead of each repetition (pipeline and spawn baseline run back to back) for the spread. Overhead per stage = (pipeline − baseline) / ${CHAIN_STAGES}. ` +
        'Where the stages run matters: on a runner process each stage also makes its HTTP calls to the control plane (begin, context, log, finish) and its command runs in the sandbox, none of which the baseline does.',
      `- **Failover.** Two more runner processes registered with the same label (\`${FAILOVER_LABEL}\`) and a pipeline of one \`command\` stage (\`sleep 600\`) that asks for it. Once the app database shows the stage running on one of them (\`stage_runs.runner_id\`) and a second has passed, that runner is killed with SIGKILL; the time runs from the kill to the app database showing the stage running on the other runner (polled every ${FAILOVER_POLL_MS} ms). The run is then cancelled and the killed runner started again for the next kill (${FAILOVER_REPS} kills). ` +
        'Temporal notices the dead runner only when the stage activity misses its heartbeat timeout (`PIPEWRIGHT_HEARTBEAT_TIMEOUT_S`, what the benchmark reports in the row); it then retries the activity after the retry policy\'s first interval (1 s), the other runner picks it up and begins the attempt with the control plane. So the figure is about the heartbeat timeout + 1 s, minus the time since the last heartbeat (the command executor heartbeats every second).',
      '- **Where the time goes (↳ rows without min – max).** The activity bodies timed directly in the same process, without Temporal: spawning `/bin/sh -c true` (100 calls after 20 warm-ups); `recordRunState` for a 100-stage run state with 1 and with 100 finished stages (30 calls each after 10 warm-ups).',
      `- **Approval latency.** A pipeline of ${GATES} approval gates in sequence followed by a 0-second \`wait\` stage. For each gate: wait until the app database shows it waiting (polled every 2 ms), note the time, approve it, and take the next stage's start time as the workflow recorded it (\`stage_runs.started_at\`, the workflow clock when it started the stage; same machine, same clock). ` +
        'The first run decides through `approvals.decide` as a signed-in approver would (role and approver checks against the app database, `describeTaskQueue` to see that a worker is polling, the Workflow Update, the audit entry); the second run sends the raw Workflow Update (`executeUpdate`) directly. A 5-gate run of each kind goes first as a warm-up. p50/p99 are nearest-rank over the 100 gates. "Next gate decidable" is when the next gate shows as waiting in the app database, which is what the approvals inbox reads.',
      `- **Throughput.** ${THROUGHPUT_RUNS} runs of a ${THROUGHPUT_STAGES}-stage chain of \`true\` commands (pipeline concurrency setting ${THROUGHPUT_RUNS}), started through \`runs.start\` twice over: all ${THROUGHPUT_RUNS} calls at once (like ${THROUGHPUT_RUNS} simultaneous API requests), then one call after another (each awaited; the runs still overlap). Runs per minute = successful runs / time from the first start call to the last result. A run counts as failed when its start is refused, its workflow does not end \`succeeded\`, or the app database does not say \`succeeded\`. Each phase stops waiting after ${THROUGHPUT_LIMIT_MS / 1000} s: runs not finished by then count as failed and are terminated. The longest event-loop stall of the process during each phase is shown because a statement waiting for SQLite's write lock blocks the whole process. The Pipewright worker runs with its defaults (50 concurrent activities).`,
      `- **Validate + compile.** A ${COMPILE_NODES}-node document (ten blocks: a hub fanning out to nine chains of eleven stages that join into the next hub; commands, gates, http-checks and webhooks; parameter and output references) through \`validatePipeline\` then \`compileValidSpec\`, median of ${COMPILE_REPS} after three warm-ups. The plan schema parse that \`runs.start\` adds is shown separately.`,
      '',
      '<!-- bench:engine:end -->',
    ].join('\n');
    let text = fs.existsSync(DOC_FILE) ? fs.readFileSync(DOC_FILE, 'utf8') : '# Benchmarks\n\nRun `npm run bench:engine` to measure the engine on your machine; it rewrites the section below.\n';
    const start = text.indexOf('<!-- bench:engine:start');
    const endMarker = '<!-- bench:engine:end -->';
    const end = text.indexOf(endMarker);
    if (start >= 0 && end > start) text = text.slice(0, start) + section + text.slice(end + endMarker.length);
    else text = `${text.trimEnd()}\n\n${section}\n`;
    fs.mkdirSync(path.dirname(DOC_FILE), { recursive: true });
    fs.writeFileSync(DOC_FILE, text);
    log(`wrote ${path.relative(REPO_ROOT, DOC_FILE)}`);
  }
}

main()
  .then(async () => {
    await cleanUp();
    clearTimeout(limit);
    process.exit(0);
  })
  .catch(async (err: unknown) => {
    if (interrupted) return;
    log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    await cleanUp();
    process.exit(1);
  });
