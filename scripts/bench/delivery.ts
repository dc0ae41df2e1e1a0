/**
 * `npm run bench:delivery`: the delivery flow against the production-like app
 * on this machine.
 *
 * 1. Starts everything itself (`startStack`): a Temporal dev server
 *    (headless, temporary SQLite file), a temporary app database (migrated,
 *    demo users seeded), the worker and `next start` as separate process
 *    groups, the production build first when a source file is newer (unless
 *    `--no-build`). Webhook deliveries are real HTTP requests to
 *    `/api/hooks/<pipelineId>`, signed like GitHub's.
 * 2. Runs the measurements in `MEASUREMENTS`, in order. Each is a function of
 *    the stack that returns table rows and its method in prose; add one (e.g.
 *    the promotion board) by appending to that list. Exported for that:
 *    `startStack`, `githubDelivery`, `createWebhookPipeline`,
 *    `firstStageStartedAt`, `percentile`, `writeDocSection`.
 *    a. webhook received → first stage running, p50/p95 over N deliveries
 *       sent one after another, next to the same pipeline started by
 *       `runs.start` (the manual path) as the baseline;
 *    b. a burst: B deliveries spread evenly over S seconds, each accepted
 *       exactly once and none lost (every one a run that succeeded), then
 *       every delivery sent again, which must start nothing.
 * 3. Prints the table and rewrites its section of docs/benchmarks.md
 *    (between `bench:delivery` markers; `--no-doc` skips).
 * 4. Stops everything and removes the data folder, also on error and Ctrl-C.
 * 5. Then the promotion board of a pipeline with 1,000 builds and 5
 *    environments (scripts/bench/promotion-board.ts, its own `bench:board`
 *    section; `npm run bench:board` runs only that part; `--no-board` skips it).
 *
 * Options: `--deliveries=100`, `--baseline=30`, `--burst=200`, `--burst-seconds=10`, `--no-build`, `--no-doc`, `--no-board`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Connection } from '@temporalio/client';
import { createTRPCClient, httpBatchLink, type TRPCClient } from '@trpc/client';
import superjson from 'superjson';
import type { AppRouter } from '../../server/api/root';
import { runPromotionBoardBench, writeBoardSection } from './promotion-board';
import { getFreePort } from '../ports';
import { ensureTemporalCli } from '../temporal-cli';
import { registerSearchAttributes, startDevServer, type DevServer } from '../temporal-dev-server';
import { buildIsStale, localRunnerCommand, percentile, replaceDocSection } from './common';

/** Re-exported for measurements added to this benchmark. */
export { percentile };

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const NEXT_BIN = path.join(ROOT, 'node_modules', 'next', 'dist', 'bin', 'next');
const DOC_FILE = path.join(ROOT, 'docs', 'benchmarks.md');
const DEMO_PASSWORD = 'pipewright-demo';

export const log = (line: string) => process.stderr.write(`[bench:delivery] ${line}\n`);
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const ms = (v: number) => (Number.isFinite(v) ? `${Math.round(v)} ms` : '—');

// ── The stack ───────────────────────────────────────────────────────────────

export type Api = TRPCClient<AppRouter>;

export type Stack = {
  appUrl: string;
  /** The app's environment (database, task queue, …). */
  env: NodeJS.ProcessEnv;
  temporalVersion: string;
  /** A tRPC client signed in as a demo user (ada: author, alan: approver, vera: viewer, admin). */
  api: (username: string) => Promise<Api>;
  /** Last lines of the worker and web server output (shown when something fails). */
  outputs: { name: string; output: string[] }[];
  stop: () => Promise<void>;
};



async function signInCookie(appUrl: string, username: string): Promise<string> {
  const res = await fetch(`${appUrl}/api/auth/sign-in/username`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: appUrl },
    body: JSON.stringify({ username, password: DEMO_PASSWORD }),
  });
  if (!res.ok) throw new Error(`sign-in as ${username}: HTTP ${res.status} ${await res.text()}`);
  return res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
}

/** Temporal dev server, app database, worker and `next start`, as `npm start` runs them. */
export async function startStack(opts: { build: boolean }): Promise<Stack> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pipewright-bench-delivery-'));
  const children: ChildProcess[] = [];
  const outputs: Stack['outputs'] = [];
  let temporal: DevServer | undefined;
  let stopped = false;

  async function stopGroup(c: ChildProcess) {
    if (!c.pid || c.exitCode !== null || c.signalCode !== null) return;
    try {
      process.kill(-c.pid, 'SIGTERM');
    } catch {
      return;
    }
    await Promise.race([new Promise((r) => c.once('exit', r)), sleep(8000)]);
    try {
      process.kill(-c.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await Promise.all(children.map(stopGroup));
    await temporal?.stop('SIGTERM', 10_000).catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  };

  function start(name: string, argv: string[], env: NodeJS.ProcessEnv) {
    const file = fs.createWriteStream(path.join(dir, `${name}.log`));
    const proc = spawn(process.execPath, argv, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const output: string[] = [];
    const onData = (b: Buffer) => {
      file.write(b);
      for (const l of b.toString('utf8').split('\n')) if (l.trim()) output.push(l);
      if (output.length > 300) output.splice(0, output.length - 300);
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    children.push(proc);
    outputs.push({ name, output });
    return { proc, output };
  }

  try {
    const bin = await ensureTemporalCli({ log });
    const temporalVersion = spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout.trim();
    const tport = await getFreePort();
    log(`Temporal dev server on 127.0.0.1:${tport}`);
    temporal = await startDevServer({ bin, port: tport, namespace: 'default', dbFile: path.join(dir, 'temporal.db'), logFile: path.join(dir, 'temporal.log') });
    {
      const c = await Connection.connect({ address: temporal.address });
      await registerSearchAttributes(c, 'default').finally(() => c.close());
    }

    const port = await getFreePort();
    const appUrl = `http://127.0.0.1:${port}`;
    // As `npm start`: the runner API also on its own port (server/runner-api/listener.ts), where the runner calls it.
    const runnerApiUrl = `http://127.0.0.1:${await getFreePort()}`;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NODE_ENV: 'production',
      NEXT_TELEMETRY_DISABLED: '1',
      PORT: String(port),
      PIPEWRIGHT_RUNNER_API_PORT: new URL(runnerApiUrl).port,
      PIPEWRIGHT_URL: appUrl,
      PIPEWRIGHT_DATA_DIR: dir,
      DATABASE_URL: `file:${path.join(dir, 'app.db')}`,
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TASK_QUEUE: `bench-${randomBytes(4).toString('hex')}`,
      BETTER_AUTH_SECRET: randomBytes(32).toString('base64url'),
      PIPEWRIGHT_ADMIN_PASSWORD: randomBytes(12).toString('base64url'),
      PIPEWRIGHT_DEMO_USERS: 'true',
      PIPEWRIGHT_NO_SEED: 'false',
    };
    for (const k of ['PIPEWRIGHT_OIDC_ISSUER', 'PIPEWRIGHT_NOTIFY_WEBHOOK_URL', 'PIPEWRIGHT_WORKSPACE_DIR', 'TEMPORAL_UI_URL']) delete env[k];

    const prepared = spawnSync(process.execPath, ['--import', 'tsx', 'tests/e2e/prepare-db.ts'], { cwd: ROOT, env, encoding: 'utf8' });
    if (prepared.status !== 0) throw new Error(`preparing the database failed:\n${prepared.stderr}`);
    const stale = opts.build ? buildIsStale() : undefined;
    if (stale) {
      log(`next build (${stale})…`);
      const b = spawnSync(process.execPath, [NEXT_BIN, 'build'], { cwd: ROOT, env, encoding: 'utf8' });
      if (b.status !== 0) throw new Error(`next build failed:\n${b.stdout}\n${b.stderr}`);
    }
    const worker = start('worker', ['--import', 'tsx', 'server/control-worker/worker.ts'], env);
    const web = start('web', [NEXT_BIN, 'start', '-p', String(port), '-H', '127.0.0.1'], env);
    // Command stages run on a runner, as `npm start` starts its local one.
    const local = localRunnerCommand({ runnerApiUrl, temporalAddress: env.TEMPORAL_ADDRESS!, dataDir: dir });
    const runner = start('runner', local.argv, local.env);
    const deadline = Date.now() + 180_000;
    for (;;) {
      if (Date.now() > deadline) {
        throw new Error(`the app did not come up:\n${web.output.slice(-20).join('\n')}\n${worker.output.slice(-20).join('\n')}\n${runner.output.slice(-20).join('\n')}`);
      }
      const up = await fetch(`${appUrl}/api/health`).then((r) => r.ok).catch(() => false);
      if (up && worker.output.some((l) => l.includes('Worker polling task queue')) && runner.output.some((l) => l.includes('polling'))) break;
      await sleep(300);
    }
    log(`app at ${appUrl}`);
    const api = async (username: string) => {
      const cookie = await signInCookie(appUrl, username);
      return createTRPCClient<AppRouter>({
        links: [httpBatchLink({ url: `${appUrl}/api/trpc`, transformer: superjson, headers: { cookie, 'x-pipewright-csrf': '1' } })],
      });
    };
    return { appUrl, env, temporalVersion, api, outputs, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

// ── Webhooks ────────────────────────────────────────────────────────────────

export type Delivery = { status: number; body: { started?: boolean; duplicate?: boolean; queued?: boolean; runId?: string; message?: string }; sentAt: number; answeredAt: number };

/** One push, signed like GitHub's, as real HTTP. `sentAt` is taken just before the request leaves. */
export async function githubDelivery(url: string, secret: string, deliveryId: string, branch = 'main'): Promise<Delivery> {
  const sha = randomBytes(20).toString('hex');
  const body = JSON.stringify({
    ref: `refs/heads/${branch}`,
    before: '0'.repeat(40),
    after: sha,
    repository: { full_name: 'bench/app' },
    pusher: { name: 'bench' },
    head_commit: { id: sha, message: 'bench', author: { name: 'Bench', username: 'bench' } },
  });
  const headers = {
    'content-type': 'application/json',
    'x-github-event': 'push',
    'x-github-delivery': deliveryId,
    'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
    'user-agent': 'GitHub-Hookshot/bench',
  };
  const sentAt = Date.now();
  const res = await fetch(url, { method: 'POST', headers, body });
  const answer = (await res.json().catch(() => ({}))) as Delivery['body'];
  return { status: res.status, body: answer, sentAt, answeredAt: Date.now() };
}

/** A one-stage pipeline (`true`) with the branch/commit/author parameters and a GitHub webhook on it. */
export async function createWebhookPipeline(api: Api, name: string, concurrency = 100): Promise<{ pipelineId: string; url: string; secret: string; triggerId: string }> {
  const spec = {
    schemaVersion: 1 as const,
    name,
    nodes: [{ id: 'build', kind: 'command', name: 'Build', config: { command: 'true' } }],
    edges: [],
    parameters: ['branch', 'commit', 'author'].map((n) => ({ name: n, type: 'string' as const })),
    settings: { concurrency },
  };
  const { id: pipelineId } = await api.pipelines.create.mutate({ name, spec });
  const created = await api.triggers.createWebhook.mutate({ pipelineId, name: 'bench', config: { provider: 'github', branches: ['main'] } });
  if (created.trigger.type !== 'webhook') throw new Error('not a webhook');
  return { pipelineId, url: created.trigger.url, secret: created.secret, triggerId: created.trigger.id };
}

/** When the run's first stage started (the worker's record), waiting for it. */
export async function firstStageStartedAt(api: Api, runId: string, timeoutMs = 60_000): Promise<{ startedAt: number; createdAt: number }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = await api.runs.get.query({ id: runId });
    const started = run.stages.map((s) => s.startedAt?.getTime()).filter((t): t is number => t !== undefined);
    if (started.length > 0) return { startedAt: Math.min(...started), createdAt: run.createdAt.getTime() };
    if (Date.now() > deadline) throw new Error(`run ${runId}: no stage started within ${timeoutMs / 1000} s (status ${run.status})`);
    await sleep(20);
  }
}

async function waitForRunsToEnd(api: Api, pipelineId: string, count: number, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const list = await api.runs.list.query({ pipelineId, limit: 200 });
    const ended = list.filter((r) => ['succeeded', 'failed', 'cancelled'].includes(r.status));
    if (ended.length >= count) return list;
    if (Date.now() > deadline) throw new Error(`only ${ended.length} of ${count} runs ended within ${timeoutMs / 1000} s`);
    await sleep(1000);
  }
}

// ── Measurements ────────────────────────────────────────────────────────────

export type Row = [measurement: string, result: string, goal: string, verdict: string];
export type Measurement = { rows: Row[]; method: string[] };
export type MeasurementStep = (stack: Stack, options: Options) => Promise<Measurement>;

export type Options = { deliveries: number; baseline: number; burst: number; burstSeconds: number };

/** a. Webhook received → first stage running, one delivery after another; `runs.start` → first stage running as the baseline. */
export const measureWebhookLatency: MeasurementStep = async (stack, o) => {
  const ada = await stack.api('ada');
  const hook = await createWebhookPipeline(ada, 'Bench webhook latency');
  const toRunning: number[] = [];
  const answered: number[] = [];
  const toRunRow: number[] = [];
  // Two warm-up deliveries (first compilation of the route, first workflow of the pipeline).
  for (let i = -2; i < o.deliveries; i++) {
    const d = await githubDelivery(hook.url, hook.secret, `latency-${i}-${randomBytes(4).toString('hex')}`);
    if (d.status !== 202 || !d.body.runId) throw new Error(`delivery ${i}: HTTP ${d.status} ${JSON.stringify(d.body)}`);
    const { startedAt, createdAt } = await firstStageStartedAt(ada, d.body.runId);
    if (i < 0) continue;
    toRunning.push(startedAt - d.sentAt);
    answered.push(d.answeredAt - d.sentAt);
    toRunRow.push(createdAt - d.sentAt);
    if ((i + 1) % 25 === 0) log(`latency: ${i + 1}/${o.deliveries} deliveries, p50 so far ${ms(percentile(toRunning, 50))}`);
  }
  const manual: number[] = [];
  const { id: manualPipeline } = await ada.pipelines.create.mutate({
    name: 'Bench manual baseline',
    spec: { schemaVersion: 1, name: 'Bench manual baseline', nodes: [{ id: 'build', kind: 'command', name: 'Build', config: { command: 'true' } }], edges: [], settings: { concurrency: 100 } },
  });
  for (let i = -2; i < o.baseline; i++) {
    const sentAt = Date.now();
    const { id } = await ada.runs.start.mutate({ pipelineId: manualPipeline });
    const { startedAt } = await firstStageStartedAt(ada, id);
    if (i >= 0) manual.push(startedAt - sentAt);
  }
  const p50 = percentile(toRunning, 50);
  const base50 = percentile(manual, 50);
  return {
    rows: [
      [`Webhook received → first stage running, p50 (${toRunning.length} signed deliveries, one after another)`, ms(p50), '≤ 100 ms (issue 12)', p50 <= 100 ? 'met' : 'MISSED'],
      ['Webhook received → first stage running, p95', ms(percentile(toRunning, 95)), '', ''],
      ['↳ received → run row written (signature, replay claim, plan, run row), p50 / p95', `${ms(percentile(toRunRow, 50))} / ${ms(percentile(toRunRow, 95))}`, '', ''],
      ['↳ received → HTTP 202 answered (the run\'s workflow started), p50 / p95', `${ms(percentile(answered, 50))} / ${ms(percentile(answered, 95))}`, '', ''],
      [`Baseline: \`runs.start\` (tRPC, as the Run button) → first stage running, p50 / p95 (${manual.length} runs)`, `${ms(base50)} / ${ms(percentile(manual, 95))}`, '', ''],
      ['Ratio webhook / manual start, p50', (p50 / base50).toFixed(2), '', ''],
    ],
    method: [
      `- **Webhook received → first stage running.** A pipeline with one \`true\` command stage, three string parameters (branch, commit, author) and a GitHub webhook trigger (branch filter \`main\`), concurrency 100. ${o.deliveries} push payloads, each with its own delivery id and a random commit, signed with HMAC-SHA256 like GitHub's (\`X-Hub-Signature-256\`), are POSTed to \`/api/hooks/<pipeline>\` one after another with Node \`fetch\` from the same machine; the next one leaves when the previous run's stage has started. The time runs from just before the request leaves (so it includes the HTTP request) to the stage's \`startedAt\`, which the worker records when the stage's activity starts (same machine clock). Two warm-up deliveries first. The ↳ rows split it at the run row's \`createdAt\` and at the HTTP answer (sent after Temporal accepted the workflow start). The baseline starts a one-stage pipeline through \`runs.start\` (what the Run button calls) and is timed the same way.`,
    ],
  };
};

/** b. B deliveries spread over S seconds: all accepted exactly once, none lost; then all sent again, starting nothing. */
export const measureWebhookBurst: MeasurementStep = async (stack, o) => {
  const ada = await stack.api('ada');
  const hook = await createWebhookPipeline(ada, 'Bench webhook burst');
  const ids = Array.from({ length: o.burst }, (_, i) => `burst-${i}-${randomBytes(4).toString('hex')}`);
  const gap = (o.burstSeconds * 1000) / o.burst;
  const t0 = Date.now();
  const sends: Promise<Delivery>[] = [];
  for (let i = 0; i < ids.length; i++) {
    const due = t0 + i * gap;
    if (due > Date.now()) await sleep(due - Date.now());
    sends.push(githubDelivery(hook.url, hook.secret, ids[i]!).catch((err: unknown) => ({ status: 0, body: { message: String(err) }, sentAt: Date.now(), answeredAt: Date.now() })));
  }
  const sentIn = (Date.now() - t0) / 1000;
  const results = await Promise.all(sends);
  log(`burst: ${results.length} deliveries sent in ${sentIn.toFixed(1)} s; waiting for the runs`);
  // 202: started at once, or queued behind the pipeline's concurrency limit (started when a slot frees).
  const accepted = results.filter((r) => r.status === 202);
  const queued = results.filter((r) => r.status === 202 && r.body.queued).length;
  const sentAtById = new Map(ids.map((id, i) => [id, results[i]!.sentAt]));
  const refused = results.filter((r) => r.status !== 202);
  for (const r of refused.slice(0, 5)) log(`burst: HTTP ${r.status} ${r.body.message ?? ''}`);
  const list = await waitForRunsToEnd(ada, hook.pipelineId, accepted.length, 15 * 60_000);
  const runDeliveries = list.map((r) => (r.triggerDetails?.type === 'webhook' ? r.triggerDetails.deliveryId : null));
  const distinct = new Set(runDeliveries.filter(Boolean));
  const succeeded = list.filter((r) => r.status === 'succeeded').length;
  const lost = ids.filter((id) => !distinct.has(id)).length;
  const toRunning: number[] = [];
  for (const r of list) {
    const sentAt = r.triggerDetails?.type === 'webhook' ? sentAtById.get(r.triggerDetails.deliveryId) : undefined;
    if (sentAt === undefined) continue;
    const { startedAt } = await firstStageStartedAt(ada, r.id);
    toRunning.push(startedAt - sentAt);
  }
  // Every delivery again (a sender retrying everything): nothing may start.
  const replays = await Promise.all(ids.map((id) => githubDelivery(hook.url, hook.secret, id)));
  const replayStarted = replays.filter((r) => r.status === 202).length;
  const replayDuplicate = replays.filter((r) => r.body.duplicate).length;
  await sleep(1000);
  const after = await ada.runs.list.query({ pipelineId: hook.pipelineId, limit: 200 });
  const exactlyOnce = accepted.length === o.burst && distinct.size === o.burst && list.length === o.burst && after.length === o.burst;
  return {
    rows: [
      [`${o.burst} deliveries in ${o.burstSeconds} s (sent in ${sentIn.toFixed(1)} s): accepted (HTTP 202) / runs / distinct delivery ids`, `${accepted.length} / ${list.length} / ${distinct.size}`, `${o.burst} / ${o.burst} / ${o.burst}`, exactlyOnce ? 'met' : 'MISSED'],
      ['↳ deliveries lost (no run) / refused', `${lost} / ${refused.length}`, '0 / 0', lost === 0 && refused.length === 0 ? 'met' : 'MISSED'],
      ['↳ of the accepted, queued behind the concurrency limit (100 in flight) and started later', String(queued), '', ''],
      ['↳ runs succeeded', `${succeeded} of ${list.length}`, '', ''],
      ['↳ received → first stage running during the burst, p50 / p95', `${ms(percentile(toRunning, 50))} / ${ms(percentile(toRunning, 95))}`, '', ''],
      [`Same ${o.burst} deliveries sent again at once: runs started / answered duplicate`, `${replayStarted} / ${replayDuplicate}`, `0 / ${o.burst}`, replayStarted === 0 && replayDuplicate === o.burst && after.length === o.burst ? 'met' : 'MISSED'],
    ],
    method: [
      `- **Burst.** Another such pipeline (concurrency 100). ${o.burst} signed deliveries with distinct ids leave at even intervals over ${o.burstSeconds} s without waiting for answers (open loop). "Accepted" is an HTTP 202: the run started, or, when the pipeline already had 100 runs in flight, the delivery was queued (a \`queuedTrigger\` workflow starts its run when a slot frees); the runs are then counted in the app (\`runs.list\`) with the delivery id each recorded; "lost" is a delivery id with no run. The stage latency is timed as above, from each request's departure. Then all ${o.burst} deliveries are sent again at once (as a sender retrying everything): each must be answered as a duplicate and the number of runs must not change.`,
    ],
  };
};

/** The measurements `npm run bench:delivery` runs, in order (append new ones here). */
export const MEASUREMENTS: MeasurementStep[] = [measureWebhookLatency, measureWebhookBurst];

// ── Report ──────────────────────────────────────────────────────────────────

export function machineLine(loadBefore: number, temporalVersion: string): string {
  const cpu = (os.cpus()[0]?.model ?? 'unknown').replace(/\s+/g, ' ').trim();
  return (
    `Machine: ${os.cpus().length} CPUs (${cpu}), ${Math.round(os.totalmem() / 2 ** 30)} GB memory, Node ${process.version}; 1-min load average ${loadBefore.toFixed(1)} before, ${os.loadavg()[0]!.toFixed(1)} after (other work shares the machine). ` +
    `Temporal: \`temporal server start-dev\` (${temporalVersion}), headless, temporary SQLite file. The app as \`npm start\` runs it: the production build under \`next start\` and the worker, each its own process, on one temporary SQLite database; the client on the same machine.`
  );
}

/** Replaces the section between `<!-- bench:NAME:start … -->` and `<!-- bench:NAME:end -->` in docs/benchmarks.md (appends it the first time). */
export function writeDocSection(name: string, body: string) {
  const start = `<!-- bench:${name}:start (generated by \`npm run bench:${name}\`; edits inside are overwritten) -->`;
  const end = `<!-- bench:${name}:end -->`;
  const section = `${start}\n${body.trim()}\n\n${end}`;
  replaceDocSection(name, section);
}

async function main() {
  const args = process.argv.slice(2);
  const arg = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  const options: Options = {
    deliveries: Math.max(1, Number(arg('deliveries') ?? 100)),
    baseline: Math.max(1, Number(arg('baseline') ?? 30)),
    burst: Math.min(200, Math.max(1, Number(arg('burst') ?? 200))),
    burstSeconds: Math.max(1, Number(arg('burst-seconds') ?? 10)),
  };
  const started = Date.now();
  const loadBefore = os.loadavg()[0]!;
  const stack = await startStack({ build: !args.includes('--no-build') });
  process.once('SIGINT', () => void stack.stop().then(() => process.exit(130)));
  const limit = setTimeout(() => {
    log('time limit (30 min) reached');
    void stack.stop().then(() => process.exit(2));
  }, 30 * 60_000);
  limit.unref();
  try {
    const results: Measurement[] = [];
    for (const step of MEASUREMENTS) results.push(await step(stack, options));
    const rows = results.flatMap((r) => r.rows);
    const table = ['| Measurement | Result | Goal | |', '|---|---:|---:|---|', ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
    process.stdout.write(`\n${table}\n`);
    if (!args.includes('--no-doc')) {
      const seconds = Math.round((Date.now() - started) / 1000);
      writeDocSection(
        'delivery',
        [
          `## Delivery flow benchmark (${new Date().toISOString().slice(0, 10)})`,
          '',
          `${machineLine(loadBefore, stack.temporalVersion)} Whole run: ${seconds} s.`,
          '',
          table,
          '',
          '### How it is measured',
          '',
          ...results.flatMap((r) => r.method),
        ].join('\n'),
      );
      log(`wrote ${path.relative(ROOT, DOC_FILE)}`);
    }
  } catch (err) {
    for (const o of stack.outputs) log(`last lines of ${o.name}:\n  ${o.output.slice(-25).join('\n  ')}`);
    throw err;
  } finally {
    clearTimeout(limit);
    await stack.stop();
  }
  // The promotion board of a pipeline with 1,000 builds and 5 environments (its own section, `bench:board`),
  // against the production build the stack above just used. `--no-board` skips it.
  if (!args.includes('--no-board')) {
    log('promotion board: 1,000 builds x 5 environments (npm run bench:board alone runs only this part)');
    const board = await runPromotionBoardBench({ builds: 1000, loads: 3, build: false });
    process.stdout.write(`${board.section.split('\n').filter((l) => l.startsWith('|')).join('\n')}\n`);
    if (!args.includes('--no-doc')) writeBoardSection(board.section);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      process.exit(1);
    },
  );
}
