/**
 * `npm run bench:peers`: the same pipelines on Pipewright and on n8n, the
 * low-code workflow tool users would pick instead, side by side on this machine.
 *
 * 1. n8n (its 1.x line from npm; 2.x needs Node 24) is installed by the
 *    benchmark into `.bench/n8n-<version>` (git-ignored, not a project
 *    dependency) and started with its own SQLite database in a temporary
 *    folder, in its default "regular" execution mode (no Redis, no queue
 *    workers). Two workflows are imported and activated with its CLI: a Webhook
 *    node ("respond when the last node finishes") followed by 20 Execute Command
 *    nodes running `true` in a chain, and one fanning out from an Execute
 *    Command node to 10 and merging them (Merge node, 10 inputs) into a last one.
 *    A run is one POST to the webhook, timed until the response.
 * 2. Pipewright as `npm start` runs it: the embedded dev server with its
 *    dynamic config, a control worker and the runner API in this process, one
 *    runner process (sandboxed commands). The same two shapes as command stages
 *    running `true`; a run is `runs.start` (the Run button's call) timed until
 *    the interpreter workflow's result.
 * 3. One warm-up each, then `--reps=N` (default 5) repetitions interleaved
 *    (Pipewright chain, n8n chain, Pipewright fan, n8n fan); medians, spreads,
 *    ratios Pipewright / n8n; rewrites the bench:peers section of
 *    docs/benchmarks.md (`--no-doc` to only print).
 */
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { getFreePort } from '../ports';
import { ensureTemporalCli } from '../temporal-cli';
import { startDevServer, type DevServer } from '../temporal-dev-server';
import { registerSearchAttributes } from '../../server/temporal/search-attributes-registration';
import type { PipelineSpecInput } from '../../workflows/model';
import { ROOT, replaceDocSection } from './common';
import { startRunnerProcess, type RunnerProcess } from './runner-process';

const args = process.argv.slice(2);
const arg = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const REPS = Math.max(1, Number(arg('reps') ?? 5));
const WRITE_DOC = !args.includes('--no-doc');
/** The n8n release measured: the newest 1.x whose `engines` accepts Node 20 (`npm view n8n@1 version engines`). */
const N8N_VERSION = '1.123.81';
const N8N_DIR = path.join(ROOT, '.bench', `n8n-${N8N_VERSION}`);
const N8N_BIN = path.join(N8N_DIR, 'node_modules', '.bin', 'n8n');
const CHAIN = 20;
const FAN = 10;

const log = (line: string) => process.stderr.write(`[bench:peers] ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const ms = (x: number) => `${Math.round(x)} ms`;
const spread = (xs: number[]) => `${Math.round((Math.max(...xs) / Math.min(...xs) - 1) * 100)}%`;

const cleanups: { name: string; run: () => unknown }[] = [];
async function cleanUp() {
  while (cleanups.length) {
    const c = cleanups.pop()!;
    try {
      await c.run();
    } catch (err) {
      log(`clean-up of ${c.name} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void cleanUp().finally(() => process.exit(130)));

// ── n8n ─────────────────────────────────────────────────────────────────────
/**
 * Installs n8n into the git-ignored folder once. n8n-nodes-base depends on
 * `xlsx` as a tarball from cdn.sheetjs.com; where that host cannot be reached
 * (as on the machine these figures come from) the last xlsx on the npm registry
 * (0.18.5) stands in: only the spreadsheet nodes use it, not the nodes measured.
 * Its `isolated-vm` (a native module) is built from source and the version n8n
 * asks for does not compile against Node 20's V8 (`v8::SourceLocation`), so
 * isolated-vm 5.0.4 (engines: Node >= 18) stands in for it.
 */
function installN8n() {
  // Written only after a complete install: an interrupted one (native builds take minutes) is redone.
  const done = path.join(N8N_DIR, '.installed');
  if (fs.existsSync(done) && fs.existsSync(N8N_BIN)) return;
  log(`installing n8n ${N8N_VERSION} into ${path.relative(ROOT, N8N_DIR)} (once; several minutes)`);
  fs.mkdirSync(N8N_DIR, { recursive: true });
  fs.writeFileSync(
    path.join(N8N_DIR, 'package.json'),
    JSON.stringify({ name: 'n8n-bench', private: true, overrides: { xlsx: '0.18.5', 'isolated-vm': '5.0.4' } }, null, 2),
  );
  // Native modules are compiled against this Node's headers; where the system has them (Debian's
  // nodejs-dev puts them under /usr/include/node) node-gyp uses those instead of downloading them.
  const env = { ...process.env, ...(systemNodeHeaders() ? { npm_config_nodedir: '/usr' } : {}) };
  const r = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', `n8n@${N8N_VERSION}`], { cwd: N8N_DIR, stdio: 'inherit', env });
  if (r.status !== 0 || !fs.existsSync(N8N_BIN)) throw new Error(`npm install n8n@${N8N_VERSION} failed (exit ${r.status}); see its output above`);
  fs.writeFileSync(done, `${new Date().toISOString()}\n`);
}

/** Whether /usr/include/node holds the headers of the Node running this script. */
function systemNodeHeaders(): boolean {
  try {
    const h = fs.readFileSync('/usr/include/node/node_version.h', 'utf8');
    const v = (name: string) => new RegExp(`define NODE_${name}_VERSION (\\d+)`).exec(h)?.[1];
    return `v${v('MAJOR')}.${v('MINOR')}.${v('PATCH')}` === process.version;
  } catch {
    return false;
  }
}

type N8nNode = { id: string; name: string; type: string; typeVersion: number; position: [number, number]; parameters: Record<string, unknown>; webhookId?: string; executeOnce?: boolean };
type N8nConnections = Record<string, { main: { node: string; type: 'main'; index: number }[][] }>;

const command = (name: string, i: number, extra: Partial<N8nNode> = {}): N8nNode => ({
  id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
  name,
  type: 'n8n-nodes-base.executeCommand',
  typeVersion: 1,
  position: [200 + 200 * i, 300],
  parameters: { command: 'true' },
  ...extra,
});
const webhook = (p: string): N8nNode => ({
  id: '00000000-0000-4000-8000-100000000000',
  name: 'Webhook',
  type: 'n8n-nodes-base.webhook',
  typeVersion: 2,
  position: [0, 300],
  parameters: { httpMethod: 'POST', path: p, responseMode: 'lastNode', options: {} },
  webhookId: `00000000-0000-4000-9000-${p.padStart(12, '0').slice(-12)}`,
});
const link = (to: string, index = 0) => ({ node: to, type: 'main' as const, index });

function n8nChain(id: string) {
  const nodes = [webhook('chain'), ...Array.from({ length: CHAIN }, (_, i) => command(`s${i + 1}`, i + 1))];
  const connections: N8nConnections = {};
  for (let i = 1; i < nodes.length; i++) connections[nodes[i - 1]!.name] = { main: [[link(nodes[i]!.name)]] };
  return { id, name: `bench chain ${CHAIN}`, active: false, nodes, connections, settings: { executionOrder: 'v1' } };
}

function n8nFan(id: string) {
  const start = command('start', 1);
  const branches = Array.from({ length: FAN }, (_, i) => command(`b${i + 1}`, i + 2));
  const merge: N8nNode = {
    id: '00000000-0000-4000-8000-200000000000',
    name: 'Merge',
    type: 'n8n-nodes-base.merge',
    typeVersion: 3,
    position: [800, 300],
    parameters: { numberInputs: FAN },
  };
  // The merge hands on one item per branch; the join runs once, as a stage would.
  const join = command('join', FAN + 3, { executeOnce: true });
  const nodes = [webhook('fan'), start, ...branches, merge, join];
  const connections: N8nConnections = {
    Webhook: { main: [[link('start')]] },
    start: { main: [branches.map((b) => link(b.name))] },
    Merge: { main: [[link('join')]] },
  };
  branches.forEach((b, i) => (connections[b.name] = { main: [[link('Merge', i)]] }));
  return { id, name: `bench fan ${FAN}`, active: false, nodes, connections, settings: { executionOrder: 'v1' } };
}

function n8nEnv(home: string, port: number): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: home,
    N8N_USER_FOLDER: home,
    N8N_PORT: String(port),
    N8N_LISTEN_ADDRESS: '127.0.0.1',
    DB_TYPE: 'sqlite',
    // Execute Command is allowed (n8n 2.x excludes it by default; 1.x does not, said explicitly).
    NODES_EXCLUDE: '[]',
    N8N_DIAGNOSTICS_ENABLED: 'false',
    N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
    N8N_TEMPLATES_ENABLED: 'false',
    N8N_PERSONALIZATION_ENABLED: 'false',
    N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS: 'true',
    N8N_RUNNERS_ENABLED: 'false',
    N8N_SECURE_COOKIE: 'false',
    EXECUTIONS_MODE: 'regular',
    NODE_ENV: 'production',
  };
}

function n8nCli(env: NodeJS.ProcessEnv, cliArgs: string[]) {
  const r = spawnSync(N8N_BIN, cliArgs, { env, encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`n8n ${cliArgs.join(' ')} failed (exit ${r.status}):\n${(r.stdout + r.stderr).slice(-3000)}`);
}

async function startN8n(): Promise<{ url: string; output: () => string; stop: () => Promise<void> }> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'pipewright-n8n-'));
  cleanups.push({ name: 'n8n folder', run: () => fs.rmSync(home, { recursive: true, force: true }) });
  const port = await getFreePort();
  const env = n8nEnv(home, port);
  const flows = path.join(home, 'flows');
  fs.mkdirSync(flows);
  fs.writeFileSync(path.join(flows, 'chain.json'), JSON.stringify(n8nChain('BenchChain000001')));
  fs.writeFileSync(path.join(flows, 'fan.json'), JSON.stringify(n8nFan('BenchFanOut00001')));
  log('n8n: importing and activating the two workflows (its CLI migrates its SQLite database first)');
  n8nCli(env, ['import:workflow', '--separate', `--input=${flows}`]);
  for (const id of ['BenchChain000001', 'BenchFanOut00001']) n8nCli(env, ['update:workflow', `--id=${id}`, '--active=true']);
  log(`n8n: starting on 127.0.0.1:${port}`);
  let out = '';
  const proc: ChildProcess = spawn(N8N_BIN, ['start'], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  proc.stdout!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  proc.stderr!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  let gone = false;
  void exited.then(() => (gone = true));
  const stop = async () => {
    if (gone) return;
    try {
      process.kill(-proc.pid!, 'SIGTERM');
    } catch {
      return;
    }
    const t = setTimeout(() => {
      try {
        process.kill(-proc.pid!, 'SIGKILL');
      } catch {
        // gone
      }
    }, 15_000);
    await exited;
    clearTimeout(t);
  };
  cleanups.push({ name: 'n8n', run: stop });
  const url = `http://127.0.0.1:${port}`;
  // Ready when both webhooks answer (the workflows are active); a GET is refused with 404 until then.
  const deadline = Date.now() + 240_000;
  for (;;) {
    if (gone) throw new Error(`n8n exited while starting:\n${out.slice(-3000)}`);
    if (Date.now() > deadline) throw new Error(`n8n did not register its webhooks within 240 s:\n${out.slice(-3000)}`);
    const ok = await Promise.all(
      ['chain', 'fan'].map((p) =>
        fetch(`${url}/webhook/${p}`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })
          .then((r) => r.ok)
          .catch(() => false),
      ),
    );
    if (ok.every(Boolean)) break;
    await sleep(500);
  }
  return { url, output: () => out, stop };
}

async function runN8n(url: string, p: 'chain' | 'fan') {
  const t0 = performance.now();
  const res = await fetch(`${url}/webhook/${p}`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
  const body = await res.text();
  if (!res.ok) throw new Error(`n8n ${p} answered ${res.status}: ${body.slice(0, 500)}`);
  return performance.now() - t0;
}

// ── Pipewright ──────────────────────────────────────────────────────────────
type NodeInput = PipelineSpecInput['nodes'][number];
type EdgeInput = PipelineSpecInput['edges'][number];
const edge = (from: string, to: string): EdgeInput => ({ id: `${from}->${to}`, from, to, on: 'success' });
const stage = (id: string): NodeInput => ({ id, kind: 'command', name: id, config: { command: 'true' } });
const spec = (name: string, nodes: NodeInput[], edges: EdgeInput[]): PipelineSpecInput => ({
  schemaVersion: 1,
  name,
  nodes,
  edges,
  settings: { concurrency: 1, defaultRetry: {}, stageTimeoutSeconds: 3600, runTimeoutSeconds: 0 },
});
function pwChain() {
  const nodes = Array.from({ length: CHAIN }, (_, i) => stage(`s${i + 1}`));
  return spec(`peers chain ${CHAIN}`, nodes, nodes.slice(1).map((n, i) => edge(nodes[i]!.id, n.id)));
}
function pwFan() {
  const branches = Array.from({ length: FAN }, (_, i) => stage(`b${i + 1}`));
  return spec(`peers fan ${FAN}`, [stage('start'), ...branches, stage('join')], branches.flatMap((b) => [edge('start', b.id), edge(b.id, 'join')]));
}

async function startPipewright() {
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
  const bin = await ensureTemporalCli({ log });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pipewright-peers-'));
  cleanups.push({ name: 'temporary folder', run: () => fs.rmSync(dir, { recursive: true, force: true }) });
  const port = await getFreePort();
  log(`Pipewright: Temporal dev server on 127.0.0.1:${port}, app database, worker, runner API, runner process`);
  const server: DevServer = await startDevServer({ bin, port, namespace: 'default', dbFile: path.join(dir, 'temporal.db'), logFile: path.join(dir, 'temporal.log') });
  cleanups.push({ name: 'Temporal dev server', run: () => server.stop('SIGTERM', 15_000) });
  {
    const { Connection } = await import('@temporalio/client');
    const c = await Connection.connect({ address: server.address });
    await registerSearchAttributes(c, 'default').finally(() => c.close());
  }
  const queue = `peers-${process.pid}`;
  Object.assign(process.env, {
    DATABASE_URL: `file:${path.join(dir, 'app.db')}`,
    PIPEWRIGHT_DATA_DIR: dir,
    TEMPORAL_ADDRESS: server.address,
    TEMPORAL_NAMESPACE: 'default',
    TEMPORAL_TASK_QUEUE: queue,
  });
  const { resetEnvCache, getEnv } = await import('../../server/env');
  resetEnvCache();
  const { closeAllDbs, getDb } = await import('../../db/client');
  const { migrate } = await import('../../db/migrate');
  const schema = await import('../../db/schema');
  const { createCaller } = await import('../../server/api/root');
  const { getTemporalClient, resetTemporalClient } = await import('../../server/temporal/client');
  const { buildWorkflowBundle, createPipewrightWorker } = await import('../../server/control-worker/worker');
  const { createRunnerApiHandler, serveRunnerApi } = await import('../../server/runner-api/handler');
  const { registerRunner } = await import('../../server/services/runners');
  const { createArtifactStore } = await import('../../server/artifacts/store');
  const { workflowIdForRun } = await import('../../workflows/run-state');
  cleanups.push({ name: 'app database', run: () => closeAllDbs() });
  cleanups.push({ name: 'Temporal client', run: () => resetTemporalClient() });
  await migrate();
  const db = await getDb();
  const user = { id: 'u-ada', name: 'ada', username: 'ada', email: 'ada@example.test', role: 'author' as const, groups: [] as string[] };
  await db.insert(schema.user).values({ id: user.id, name: user.name, email: user.email, username: user.username, role: user.role });
  const api = createCaller({ db, user });

  const connection = await NativeConnection.connect({ address: server.address });
  cleanups.push({ name: 'worker connection', run: () => connection.close() });
  const worker = await createPipewrightWorker({
    connection,
    namespace: 'default',
    taskQueue: queue,
    db: await getDb(`file:${dir}/./app.db`),
    workflowBundle: await buildWorkflowBundle(),
  });
  const running = worker.run();
  cleanups.push({ name: 'worker', run: async () => void (worker.getState() === 'RUNNING' && worker.shutdown(), await running) });
  const runnerApi = await serveRunnerApi(
    createRunnerApiHandler({ db: await getDb(`file:${dir}/././app.db`), queueBase: `${queue}-runner`, artifactStore: () => createArtifactStore(getEnv()) }),
  );
  cleanups.push({ name: 'runner API', run: () => runnerApi.close() });
  const { token } = await registerRunner(db, user, { name: 'peers' });
  const runner: RunnerProcess = startRunnerProcess({ repoRoot: ROOT, url: runnerApi.url, token, temporal: server.address, workspace: path.join(dir, 'ws'), maxStages: 50 });
  cleanups.push({ name: 'runner process', run: () => runner.stop() });
  await runner.ready;
  const client = await getTemporalClient();
  const ids = {
    chain: (await api.pipelines.create({ name: `peers chain ${CHAIN}`, spec: pwChain() })).id,
    fan: (await api.pipelines.create({ name: `peers fan ${FAN}`, spec: pwFan() })).id,
  };
  return {
    async run(which: 'chain' | 'fan') {
      const t0 = performance.now();
      const { id } = await api.runs.start({ pipelineId: ids[which] });
      const state = await client.workflow.getHandle(workflowIdForRun(id)).result();
      if (state.status !== 'succeeded') throw new Error(`Pipewright ${which} run ${state.status}: ${state.error}`);
      return performance.now() - t0;
    },
  };
}

// ── main ────────────────────────────────────────────────────────────────────
async function main() {
  const started = Date.now();
  const loadBefore = os.loadavg()[0]!;
  installN8n();
  const n8n = await startN8n();
  const pw = await startPipewright();
  const times = { pwChain: [] as number[], n8nChain: [] as number[], pwFan: [] as number[], n8nFan: [] as number[] };
  log(`1 warm-up + ${REPS} repetitions, interleaved`);
  for (let rep = 0; rep <= REPS; rep++) {
    const r = { pwChain: await pw.run('chain'), n8nChain: await runN8n(n8n.url, 'chain'), pwFan: await pw.run('fan'), n8nFan: await runN8n(n8n.url, 'fan') };
    log(`  ${rep === 0 ? 'warm-up' : `rep ${rep}`}: chain Pipewright ${ms(r.pwChain)} / n8n ${ms(r.n8nChain)}; fan-out Pipewright ${ms(r.pwFan)} / n8n ${ms(r.n8nFan)}`);
    if (rep === 0) continue;
    for (const k of Object.keys(times) as (keyof typeof times)[]) times[k].push(r[k]);
  }
  const loadAfter = os.loadavg()[0]!;
  const m = Object.fromEntries(Object.entries(times).map(([k, xs]) => [k, median(xs)])) as Record<keyof typeof times, number>;
  const ratio = (a: number[], b: number[]) => a.map((x, i) => x / b[i]!);
  const range = (xs: number[]) => `${Math.min(...xs).toFixed(2)} – ${Math.max(...xs).toFixed(2)}`;
  const temporal = spawnSync(await ensureTemporalCli({ log: () => undefined }), ['--version'], { encoding: 'utf8' }).stdout.trim().replace(/^temporal version /, '');
  const table = [
    '| Pipeline | Pipewright | n8n | Pipewright / n8n | ↳ each repetition |',
    '|---|---:|---:|---:|---:|',
    `| ${CHAIN} \`true\` commands in a chain (median of ${REPS}) | ${ms(m.pwChain)} | ${ms(m.n8nChain)} | ${(m.pwChain / m.n8nChain).toFixed(2)} | ${range(ratio(times.pwChain, times.n8nChain))} |`,
    `| ↳ per stage / node | ${ms(m.pwChain / CHAIN)} | ${ms(m.n8nChain / CHAIN)} | | |`,
    `| 1 → ${FAN} → 1 fan-out / fan-in of \`true\` commands (median of ${REPS}) | ${ms(m.pwFan)} | ${ms(m.n8nFan)} | ${(m.pwFan / m.n8nFan).toFixed(2)} | ${range(ratio(times.pwFan, times.n8nFan))} |`,
  ].join('\n');
  const secs = Math.round((Date.now() - started) / 1000);
  const section = [
    '<!-- bench:peers:start (generated by `npm run bench:peers`; edits inside are overwritten) -->',
    `## Pipewright and n8n side by side (${new Date().toISOString().slice(0, 10)})`,
    '',
    `Machine: ${os.availableParallelism()} CPUs (${os.cpus()[0]?.model?.trim()}), Node ${process.version}; 1-min load average ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after (other work shares the machine). Pipewright: Temporal CLI ${temporal} dev server (SQLite file, its dynamic config as \`npm start\` sets it), control worker and runner API in the bench process, one runner process (commands in the bubblewrap sandbox when available). n8n ${N8N_VERSION} from npm (regular execution mode, its own SQLite database). Whole run: ${secs} s.`,
    '',
    table,
    '',
    `- Repetitions (ms): Pipewright chain ${times.pwChain.map(Math.round).join(', ')}; n8n chain ${times.n8nChain.map(Math.round).join(', ')}; Pipewright fan-out ${times.pwFan.map(Math.round).join(', ')}; n8n fan-out ${times.n8nFan.map(Math.round).join(', ')}.`,
    `- Spread (slowest / fastest − 1): Pipewright chain ${spread(times.pwChain)}, n8n chain ${spread(times.n8nChain)}, Pipewright fan-out ${spread(times.pwFan)}, n8n fan-out ${spread(times.n8nFan)}.`,
    '',
    '### What each one guarantees for that time',
    '',
    '| | Pipewright | n8n 1.x (regular mode, as measured) |',
    '|---|---|---|',
    '| Process killed (kill -9) mid-run | The run continues: Temporal holds the run\'s history; a restarted worker replays it and a stage on a dead runner is retried on another after its heartbeat timeout (`npm run bench:engine` measures it). Finished stages are not run again. | The execution stops; on restart n8n marks it *crashed*. Nothing resumes it: it can be retried by hand, from the start or from the failed node with the data it saved. |',
    '| Branches of a fan-out | Run at the same time (up to the runner\'s stage slots). | Run one after another in one process (execution order v1: a branch finishes before the next starts). |',
    '| Approvals | A first-class stage: approver groups, a signed decision checked on the server, audit entry, waits any length of time durably. | A Wait node (resume on a webhook or form call) or "send and wait" nodes; the waiting execution is saved in its database and resumed by the call; who may approve is up to the workflow author. |',
    '| Where a command runs | On a runner process, sandboxed (bubblewrap), with only that stage\'s secrets. | Inside the n8n server process\'s user, with its environment (Execute Command node; disabled by default from n8n 2.0). |',
    '| Each step recorded | Every stage\'s start, end, logs and outputs in the app database and in Temporal\'s history. | The execution\'s data is saved when it ends (default `EXECUTIONS_DATA_SAVE_ON_SUCCESS=all`), not step by step. |',
    '',
    '### How it is measured',
    '',
    `- **n8n.** \`npm install n8n@${N8N_VERSION}\` into \`.bench/n8n-${N8N_VERSION}\` (git-ignored; once). Its package \`n8n-nodes-base\` depends on \`xlsx\` as a tarball from cdn.sheetjs.com, which this machine cannot reach, and on \`isolated-vm\`, whose requested version does not compile against Node 20; npm \`overrides\` put xlsx 0.18.5 and isolated-vm 5.0.4 from the registry in their place (xlsx serves only the spreadsheet nodes; what isolated-vm 5 changes inside n8n was not examined — the Execute Command, Webhook and Merge nodes measured here worked with it). A temporary \`N8N_USER_FOLDER\` holds its SQLite database; the workflows are imported with \`n8n import:workflow\`, activated with \`n8n update:workflow --active=true\`, then \`n8n start\`. Each workflow starts with a Webhook node answering when the last node has finished; the chain is ${CHAIN} Execute Command nodes running \`true\`; the fan-out is one Execute Command node, ${FAN} more fed by it, a Merge node with ${FAN} inputs and a last Execute Command node (run once). A run is timed from the POST leaving to its response arriving.`,
    `- **Pipewright.** The same shapes as \`command\` stages running \`true\` (chain: ${CHAIN} stages; fan-out: start → ${FAN} → join, ${FAN + 2} stages). A run is timed from \`runs.start\` (tRPC, what the Run button calls: load, validate, compile, store the plan, start the workflow) to the interpreter workflow's result.`,
    `- One warm-up, then ${REPS} repetitions in the order Pipewright chain, n8n chain, Pipewright fan-out, n8n fan-out, so load changes hit both; medians; the ratio of each repetition compares runs made seconds apart.`,
    '<!-- bench:peers:end -->',
  ].join('\n');
  process.stdout.write(`\n${section}\n`);
  if (WRITE_DOC) replaceDocSection('peers', section);
}

main()
  .catch((err: unknown) => {
    log(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exitCode = 1;
  })
  .finally(async () => {
    await cleanUp();
    process.exit();
  });
