/**
 * `npm start` (production) and `npm run dev` (`--dev`): the whole stack in one command.
 *
 * 1. Temporal: unless TEMPORAL_ADDRESS is set, builds the Temporal CLI once and
 *    starts its dev server on TEMPORAL_DEV_PORT with `<data>/temporal.db`, its
 *    HTTP API on TEMPORAL_DEV_HTTP_PORT and its log in `<data>/logs/temporal.log`.
 *    The Web UI is off unless PIPEWRIGHT_TEMPORAL_UI=true (then on
 *    TEMPORAL_DEV_UI_PORT): it has no sign-in, and anything that reaches it can
 *    act on runs. The summary says how to turn it on.
 * 2. Registers Pipewright's search attributes on the namespace (an external
 *    cluster may refuse: warned, not fatal).
 * 3. Migrates the app database and seeds it (unless PIPEWRIGHT_NO_SEED).
 *    Before all of it, checks that command stages can run in their sandbox
 *    (bubblewrap) and stops with how to install it when they cannot, unless
 *    PIPEWRIGHT_UNSAFE_NO_SANDBOX=true, which is then printed loudly.
 * 4. Starts the control worker (`node --import tsx server/control-worker/worker.ts`) and restarts it
 *    with backoff (1 s → 30 s) when it exits unexpectedly.
 * 4b. Registers a local runner on first start (token kept in `<data>/runner-token`,
 *    mode 0600) and, once the web app answers, supervises one runner process
 *    (`workflows/runner/main.ts`) with a scrubbed environment: its token, the
 *    Temporal address and the control plane's URL, no database URL or keys.
 * 5. Next.js: `next build` when `.next/BUILD_ID` is missing or older than the
 *    sources, then `next start`; `next dev` with `--dev`. Next's telemetry is
 *    off unless PIPEWRIGHT_NEXT_TELEMETRY=true (scripts/next-telemetry.ts).
 * 6. When the app answers HTTP, prints a summary box.
 *
 * 1b. The dev server is supervised (scripts/supervisor.ts): when it dies it is
 *    started again on the same database with backoff (1 s → 30 s); meanwhile
 *    the web app shows a banner, refuses starts and decisions with a clear
 *    message and answers webhooks 503, and everything reconnects by itself.
 *
 * Ctrl-C / SIGTERM stops Next, then the worker (SIGINT, SIGKILL after 15 s), then
 * Temporal, and exits 0; a second Ctrl-C kills everything at once. When Next
 * dies, everything is stopped and the exit code is non-zero. Children
 * run in their own process groups so the terminal's Ctrl-C reaches only this
 * script, which stops them in order.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { Connection } from '@temporalio/client';
import { getEnv } from '../server/env';
import { nextTelemetryEnv } from './next-telemetry';
import { assertSandboxAtStartup } from '../workflows/stages/command/sandbox';
import { stageEnvironment } from '../workflows/stages/stage-env';
import { canConnect, getFreePort, isPortFree } from './ports';
import { ensureTemporalCli, REPO_ROOT } from './temporal-cli';
import { supervise, type Supervisor } from './supervisor';
import { embeddedUiPort, isTemporalServer, startDevServer, type DevServer } from './temporal-dev-server';

const DEV = process.argv.includes('--dev');

// ---------------------------------------------------------------------------
// Output

const useColor = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
const paint = (code: string) => (s: string) => (useColor ? `\x1b[${code}m${s}\x1b[0m` : s);
const c = {
  bold: paint('1'),
  dim: paint('2'),
  red: paint('31'),
  green: paint('32'),
  yellow: paint('33'),
  blue: paint('34'),
  magenta: paint('35'),
  cyan: paint('36'),
};
const TAGS = {
  temporal: c.magenta('[temporal]'),
  worker: c.cyan('[worker]  '),
  runner: c.yellow('[runner]  '),
  web: c.green('[web]     '),
};

function step(text: string) {
  console.log(`${c.blue('▶')} ${c.bold(text)}`);
}
function info(text: string) {
  console.log(`  ${text}`);
}
function warn(text: string) {
  console.log(`${c.yellow('!')} ${c.yellow(text)}`);
}
function fail(text: string) {
  console.error(`${c.red('✖')} ${c.red(text)}`);
}

function pipeLines(stream: NodeJS.ReadableStream | null, tag: string, to: NodeJS.WriteStream) {
  if (!stream) return;
  const rl = readline.createInterface({ input: stream, crlfDelay: Infinity });
  rl.on('line', (line) => to.write(`${tag} ${line}\n`));
}

function boxed(lines: string[]): string {
  // eslint-disable-next-line no-control-regex
  const visible = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '').length;
  const width = Math.max(...lines.map(visible)) + 2;
  const top = `┌${'─'.repeat(width)}┐`;
  const bottom = `└${'─'.repeat(width)}┘`;
  const body = lines.map((l) => `│ ${l}${' '.repeat(width - 1 - visible(l))}│`);
  return [top, ...body, bottom].join('\n');
}

// ---------------------------------------------------------------------------
// Children

type Child = {
  name: string;
  proc: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  done: boolean;
};

const children = new Set<Child>();

function startChild(name: string, tag: string, command: string, args: string[], env: NodeJS.ProcessEnv): Child {
  const proc = spawn(command, args, {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // own process group: we decide the order of shutdown
  });
  const child: Child = {
    name,
    proc,
    done: false,
    exited: new Promise((resolve) => {
      proc.once('error', (err) => {
        console.error(`${tag} failed to start: ${err.message}`);
        child.done = true;
        children.delete(child);
        resolve({ code: null, signal: null });
      });
      proc.once('exit', (code, signal) => {
        child.done = true;
        children.delete(child);
        resolve({ code, signal });
      });
    }),
  };
  pipeLines(proc.stdout, tag, process.stdout);
  pipeLines(proc.stderr, tag, process.stderr);
  children.add(child);
  return child;
}

function signalGroup(child: Child, signal: NodeJS.Signals) {
  if (child.done || child.proc.pid === undefined) return;
  try {
    process.kill(-child.proc.pid, signal);
  } catch {
    try {
      child.proc.kill(signal);
    } catch {
      // gone
    }
  }
}

function signalMain(child: Child, signal: NodeJS.Signals) {
  if (child.done) return;
  try {
    child.proc.kill(signal);
  } catch {
    // gone
  }
}

async function waitFor(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Sends `signal` (to the group, or only the main process), waits, then SIGKILLs the group. */
async function stopChild(child: Child | undefined, signal: NodeJS.Signals, timeoutMs: number, wholeGroup: boolean) {
  if (!child || child.done) return;
  if (wholeGroup) signalGroup(child, signal);
  else signalMain(child, signal);
  if (!(await waitFor(child.exited, timeoutMs))) {
    warn(`${child.name} did not stop within ${timeoutMs / 1000} s; killing it`);
    signalGroup(child, 'SIGKILL');
    await waitFor(child.exited, 5000);
  }
  // Leftovers of the group (e.g. a stage's shell) go too.
  signalGroup(child, 'SIGKILL');
}

// Last resort when this process exits: nothing survives us.
process.on('exit', () => {
  for (const child of children) signalGroup(child, 'SIGKILL');
});

// ---------------------------------------------------------------------------
// State and shutdown

let shuttingDown = false;
let temporal: DevServer | undefined;
let temporalStarting: Promise<unknown> | undefined;
let temporalSupervisor: Supervisor | undefined;
let next: Child | undefined;
let nextBuild: Child | undefined;
let worker: Child | undefined;
let workerRestartTimer: NodeJS.Timeout | undefined;
let wakeWorkerLoop: (() => void) | undefined;
let runner: Child | undefined;
let runnerRestartTimer: NodeJS.Timeout | undefined;
let wakeRunnerLoop: (() => void) | undefined;

async function shutdown(code: number, reason?: string): Promise<never> {
  if (shuttingDown) {
    // Already stopping (a second Ctrl-C goes to forceStop instead).
    return new Promise<never>(() => undefined);
  }
  shuttingDown = true;
  if (reason) (code === 0 ? info : fail)(reason);
  step('Stopping Pipewright (Ctrl-C again to force)…');
  if (workerRestartTimer) clearTimeout(workerRestartTimer);
  wakeWorkerLoop?.();
  if (runnerRestartTimer) clearTimeout(runnerRestartTimer);
  wakeRunnerLoop?.();
  temporalSupervisor?.wake();

  await stopChild(nextBuild, 'SIGTERM', 5000, true);
  if (next && !next.done) {
    info('stopping the web app…');
    await stopChild(next, 'SIGTERM', 10_000, true);
  }
  if (runner && !runner.done) {
    info('stopping the local runner (running stages are cancelled)…');
    await stopChild(runner, 'SIGINT', 15_000, false);
  }
  if (worker && !worker.done) {
    info('stopping the worker…');
    await stopChild(worker, 'SIGINT', 15_000, false);
  }
  if (temporalStarting) await waitFor(temporalStarting.catch(() => undefined), 70_000);
  if (temporal) {
    info('stopping the Temporal dev server…');
    await temporal.stop('SIGINT', 15_000);
  }
  info(code === 0 ? 'stopped.' : 'stopped after an error.');
  process.exit(code);
}

function forceStop() {
  fail('Forced stop: killing everything.');
  for (const child of children) signalGroup(child, 'SIGKILL');
  void temporal?.kill9();
  process.exit(130);
}

// A terminal's Ctrl-C reaches npm, tsx and this process together, and npm and tsx
// relay it too: signals within a second of the first one are that same Ctrl-C.
let firstSignalAt = 0;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    if (!firstSignalAt) {
      firstSignalAt = Date.now();
      if (process.stdout.isTTY) process.stdout.write('\n');
      void shutdown(0);
    } else if (Date.now() - firstSignalAt > 1000) {
      forceStop();
    }
  });
}

// ---------------------------------------------------------------------------
// Steps

/** Path relative to the repository when inside it, else absolute. */
function rel(p: string): string {
  const r = path.relative(REPO_ROOT, p);
  return r === '' ? '.' : r.startsWith('..') || path.isAbsolute(r) ? p : r;
}

function newestMtime(dir: string): number {
  let newest = 0;
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(full));
    else if (entry.isFile()) newest = Math.max(newest, fs.statSync(full).mtimeMs);
  }
  return newest;
}

function buildIsStale(): string | undefined {
  const buildId = path.join(REPO_ROOT, '.next', 'BUILD_ID');
  if (!fs.existsSync(buildId)) return 'no production build yet';
  const built = fs.statSync(buildId).mtimeMs;
  for (const dir of ['app', 'server', 'workflows', 'db', 'public', 'components', 'lib']) {
    if (newestMtime(path.join(REPO_ROOT, dir)) > built) return `${dir}/ changed since the last build`;
  }
  for (const file of fs.readdirSync(REPO_ROOT)) {
    if (/^(next\.config\.|postcss\.config\.|package\.json$|tsconfig\.json$)/.test(file) && fs.statSync(path.join(REPO_ROOT, file)).mtimeMs > built) {
      return `${file} changed since the last build`;
    }
  }
  return undefined;
}

async function importStep<T>(specifier: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if ((e.code === 'ERR_MODULE_NOT_FOUND' || e.code === 'MODULE_NOT_FOUND') && e.message.includes(specifier.replace('../', ''))) {
      throw new Error(`${specifier.replace('../', '')}.ts is missing: cannot prepare the database. (${e.message})`);
    }
    throw err;
  }
}

/**
 * The workers' egress allow-list: the admin's, plus this app's own port on
 * loopback. The seeded "Build and deploy" example smoke-tests the app's
 * /api/health, and the app is the one local service meant to be reached by
 * anybody (it signs people in itself); Temporal's ports and everything else on
 * loopback stay refused.
 */
function stageEgressAllow(env: ReturnType<typeof getEnv>): string {
  const own = [`localhost:${env.PORT}`, `127.0.0.1:${env.PORT}`, `[::1]:${env.PORT}`];
  return [env.PIPEWRIGHT_STAGE_EGRESS_ALLOW, ...own].filter(Boolean).join(',');
}

function superviseWorker(env: NodeJS.ProcessEnv) {
  let delay = 1000;
  const loop = async () => {
    while (!shuttingDown) {
      const started = Date.now();
      worker = startChild('the worker', TAGS.worker, process.execPath, ['--import', 'tsx', 'server/control-worker/worker.ts'], env);
      const { code, signal } = await worker.exited;
      if (shuttingDown) return;
      if (Date.now() - started > 60_000) delay = 1000;
      warn(
        `The worker exited unexpectedly (${signal ? `signal ${signal}` : `exit code ${code}`}); restarting it in ${delay / 1000} s.`,
      );
      await new Promise<void>((resolve) => {
        wakeWorkerLoop = resolve;
        workerRestartTimer = setTimeout(resolve, delay);
      });
      delay = Math.min(delay * 2, 30_000);
    }
  };
  void loop();
}

/** Exit code of a runner whose token was revoked (workflows/runner/main.ts): not restarted. */
const RUNNER_REVOKED = 3;

function superviseRunner(env: NodeJS.ProcessEnv, args: string[]) {
  let delay = 1000;
  const loop = async () => {
    while (!shuttingDown) {
      const started = Date.now();
      runner = startChild('the local runner', TAGS.runner, process.execPath, ['--import', 'tsx', 'workflows/runner/main.ts', ...args], env);
      const { code, signal } = await runner.exited;
      if (shuttingDown) return;
      if (code === RUNNER_REVOKED) {
        warn(`The local runner's token was revoked; delete ${'`runner-token`'} in the data folder and restart to register a new one.`);
        return;
      }
      if (Date.now() - started > 60_000) delay = 1000;
      warn(`The local runner exited unexpectedly (${signal ? `signal ${signal}` : `exit code ${code}`}); restarting it in ${delay / 1000} s.`);
      await new Promise<void>((resolve) => {
        wakeRunnerLoop = resolve;
        runnerRestartTimer = setTimeout(resolve, delay);
      });
      delay = Math.min(delay * 2, 30_000);
    }
  };
  void loop();
}

/**
 * What the local runner's process may see: no database URL, no keys, no auth
 * secrets — only what stage kinds need by name (the same list executors get,
 * workflows/stages/stage-env.ts: webhook signing keys, the egress policy's and
 * the sandbox's settings) and its own token.
 */
function runnerEnv(token: string, from: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const keep = ['USER', 'SHELL'];
  const env: Record<string, string> = { NODE_ENV: DEV ? 'development' : 'production', PIPEWRIGHT_RUNNER_TOKEN: token };
  for (const k of keep) if (from[k] !== undefined) env[k] = from[k]!;
  for (const [k, v] of Object.entries(stageEnvironment(from))) if (v !== undefined) env[k] = v;
  if (useColor) env.FORCE_COLOR = '1';
  return env as NodeJS.ProcessEnv;
}

async function waitForHttp(url: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !shuttingDown) {
    if (next?.done) return false;
    try {
      const res = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(30_000) });
      await res.body?.cancel();
      return true;
    } catch {
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  return false;
}

async function main() {
  process.chdir(REPO_ROOT);
  const envFile = path.join(REPO_ROOT, '.env');
  if (fs.existsSync(envFile)) {
    process.loadEnvFile(envFile); // variables already set win
  }
  (process.env as Record<string, string>).NODE_ENV = DEV ? 'development' : 'production';

  let env: ReturnType<typeof getEnv>;
  try {
    env = getEnv();
  } catch (err) {
    fail(err instanceof Error ? err.message : String(err));
    process.exit(1);
  }

  console.log(c.bold(`Pipewright — ${DEV ? 'development mode (next dev)' : 'production mode'}`));
  const dataDir = path.resolve(env.PIPEWRIGHT_DATA_DIR);
  fs.mkdirSync(path.join(dataDir, 'logs'), { recursive: true });

  // Command stages run pipeline authors' shell scripts: never without a sandbox unless told so.
  step('Checking the command-stage sandbox (bubblewrap)');
  let unsafeWarning: string | undefined;
  try {
    unsafeWarning = await assertSandboxAtStartup(process.env);
  } catch (err) {
    fail(err instanceof Error ? err.message : String(err));
    process.exit(1);
  }
  if (unsafeWarning) warn(`WARNING: ${unsafeWarning}`);
  else info('ok: commands run in a sandbox that sees only their run\'s workspace');

  // A database a newer Pipewright upgraded is refused before anything starts, and left as it is.
  step('Checking the app database version');
  try {
    const { checkDatabaseVersion } = await importStep('../db/migrate', () => import('../db/migrate'));
    const pending = await checkDatabaseVersion();
    info(pending.length ? `${pending.length} migration(s) to apply after an automatic backup: ${pending.join(', ')}` : 'ok: up to date');
  } catch (err) {
    fail(err instanceof Error ? err.message : String(err));
    process.exit(1);
  }

  if (!(await isPortFree(env.PORT, ['0.0.0.0']))) {
    fail(`Port ${env.PORT} (the web app) is already in use — is Pipewright already running? Stop it, or set PORT to another port.`);
    process.exit(1);
  }

  // (a) Temporal
  let temporalAddress: string;
  let temporalUiUrl = env.TEMPORAL_UI_URL;
  const embedded = !env.TEMPORAL_ADDRESS;
  if (!embedded) {
    temporalAddress = env.TEMPORAL_ADDRESS!;
    step(`Using the Temporal server at ${temporalAddress} (TEMPORAL_ADDRESS), namespace ${env.TEMPORAL_NAMESPACE}`);
  } else {
    step('Preparing the Temporal CLI (local Temporal server)');
    const bin = await ensureTemporalCli({ log: (line) => info(line) });
    info(`using ${rel(bin)}`);
    if (shuttingDown) return;

    const port = env.TEMPORAL_DEV_PORT;
    step(`Starting the Temporal dev server on 127.0.0.1:${port}`);
    if (!(await isPortFree(port))) {
      if (await isTemporalServer(`127.0.0.1:${port}`)) {
        fail(
          `A Temporal server is already running on 127.0.0.1:${port} (another "npm start"?).\n` +
            `  Stop it first, or use it: TEMPORAL_ADDRESS=127.0.0.1:${port} npm start,\n` +
            `  or start a second one on other ports: TEMPORAL_DEV_PORT=7333 TEMPORAL_DEV_HTTP_PORT=7343 TEMPORAL_DEV_UI_PORT=8333 npm start`,
        );
      } else {
        fail(`Port ${port} is used by another program. Set TEMPORAL_DEV_PORT to a free port (or TEMPORAL_ADDRESS to use an existing Temporal server).`);
      }
      process.exit(1);
    }
    // Off by default: the UI and HTTP API have no sign-in (see the file header).
    const uiPort = embeddedUiPort(env);
    if (uiPort && !(await isPortFree(uiPort))) {
      fail(`Port ${uiPort} (Temporal Web UI) is already in use. Set TEMPORAL_DEV_UI_PORT to a free port, or PIPEWRIGHT_TEMPORAL_UI=false for no UI.`);
      process.exit(1);
    }
    const httpPort = env.TEMPORAL_DEV_HTTP_PORT;
    if (!(await isPortFree(httpPort))) {
      fail(`Port ${httpPort} (Temporal HTTP API) is already in use. Set TEMPORAL_DEV_HTTP_PORT to a free port.`);
      process.exit(1);
    }
    const logFile = path.join(dataDir, 'logs', 'temporal.log');
    const dbFile = path.join(dataDir, 'temporal.db');
    const serverOptions = { bin, port, uiPort, httpPort, dbFile, namespace: env.TEMPORAL_NAMESPACE, logFile };
    const starting = startDevServer(serverOptions);
    temporalStarting = starting;
    temporal = await starting;
    temporalStarting = undefined;
    temporalAddress = temporal.address;
    if (uiPort) temporalUiUrl ??= `http://localhost:${uiPort}`;
    info(`${TAGS.temporal} ready at ${temporalAddress}${uiPort ? `, Web UI http://localhost:${uiPort}` : ''} (pid ${temporal.pid})`);
    info(`${TAGS.temporal} database ${rel(dbFile)}, log ${rel(logFile)}`);
    // Supervised like the worker: a crash is restarted with backoff on the same database, and the
    // worker, runner and web app reconnect by themselves (runs in flight carry on where they were).
    temporalSupervisor = supervise<DevServer>({
      first: temporal,
      stopping: () => shuttingDown,
      start: async () => {
        const again = startDevServer(serverOptions);
        temporalStarting = again;
        try {
          return await again;
        } finally {
          temporalStarting = undefined;
        }
      },
      onStarted: (server) => {
        temporal = server;
        info(`${TAGS.temporal} restarted (pid ${server.pid}); the worker, runner and web app reconnect by themselves`);
      },
      onExit: ({ code, signal }, delayMs) => {
        const tail = temporal?.logTail(15) ?? [];
        temporal = undefined;
        warn(
          `The Temporal dev server exited unexpectedly (${signal ? `signal ${signal}` : `exit code ${code}`}); restarting it in ${delayMs / 1000} s.` +
            (tail.length ? `\n  Last lines of ${rel(logFile)}:\n    ${tail.join('\n    ')}` : ''),
        );
      },
      onStartFailed: (err, delayMs) => {
        warn(`The Temporal dev server did not start again (${err instanceof Error ? err.message.split('\n')[0] : String(err)}); trying again in ${delayMs / 1000} s.`);
      },
    });
  }
  if (shuttingDown) return;

  // (b) Search attributes
  step(`Registering search attributes on namespace "${env.TEMPORAL_NAMESPACE}"`);
  try {
    const { temporalConnectionOptions } = await import('../server/temporal/connection-options');
    const { registerSearchAttributes } = await import('../server/temporal/search-attributes-registration');
    const opts = temporalConnectionOptions({ ...env, TEMPORAL_ADDRESS: temporalAddress });
    const connection = await Connection.connect({ address: opts.address, tls: opts.tls, apiKey: opts.apiKey, connectTimeout: 10_000 });
    try {
      const names = await registerSearchAttributes(connection, env.TEMPORAL_NAMESPACE);
      info(names.join(', '));
    } finally {
      await connection.close();
    }
  } catch (err) {
    warn(
      `Could not register search attributes (${err instanceof Error ? err.message.split('\n')[0] : String(err)}). ` +
        'Runs still work; filtering runs by status in the Temporal UI will not. Ask your Temporal admin to add them.',
    );
  }
  if (shuttingDown) return;

  // (c) Database
  step(`Migrating the app database (${env.databaseUrl})`);
  const { migrate } = await importStep('../db/migrate', () => import('../db/migrate'));
  const migrated = await migrate();
  if (migrated.backup) info(`backed up the database to ${rel(migrated.backup)} before migrating`);
  if (migrated.applied.length) info(`applied ${migrated.applied.join(', ')}`);
  let seedLines: string[] = [];
  if (env.PIPEWRIGHT_NO_SEED) {
    step('Seeding skipped (PIPEWRIGHT_NO_SEED); making sure the admin account exists');
    const { seedUsers } = await importStep('../server/auth/users', () => import('../server/auth/users'));
    seedLines = await seedUsers(); // skips the demo users itself under PIPEWRIGHT_NO_SEED
    for (const line of seedLines) info(line);
  } else {
    step('Seeding demo users and example pipelines (only what is missing)');
    const { seed } = await importStep('../db/seed', () => import('../db/seed'));
    seedLines = (await seed()).lines;
    for (const line of seedLines) info(line);
  }
  const { getDb } = await importStep('../db/client', () => import('../db/client'));
  const { ensureLocalRunner } = await importStep('../server/services/runners', () => import('../server/services/runners'));
  const local = await ensureLocalRunner(await getDb(), path.join(dataDir, 'runner-token'));
  step(local.created ? `Registered the local runner "${local.name}" (token in ${rel(path.join(dataDir, 'runner-token'))})` : `Using the local runner "${local.name}"`);
  if (shuttingDown) return;

  // The runner API on its own port beside the web app (server/runner-api/listener.ts): the local runner's calls skip Next's routing.
  const runnerApiPort = env.PIPEWRIGHT_RUNNER_API_PORT ?? (await getFreePort());
  if (env.PIPEWRIGHT_RUNNER_API_PORT && !(await isPortFree(runnerApiPort))) {
    fail(`Port ${runnerApiPort} (PIPEWRIGHT_RUNNER_API_PORT, the runner API) is already in use. Stop what uses it, or set another port.`);
    process.exit(1);
  }

  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    PIPEWRIGHT_RUNNER_API_PORT: String(runnerApiPort),
    PIPEWRIGHT_STAGE_EGRESS_ALLOW: stageEgressAllow(env),
    NODE_ENV: DEV ? 'development' : 'production',
    PORT: String(env.PORT),
    TEMPORAL_ADDRESS: temporalAddress,
    TEMPORAL_NAMESPACE: env.TEMPORAL_NAMESPACE,
    PIPEWRIGHT_DATA_DIR: dataDir,
    ...(temporalUiUrl ? { TEMPORAL_UI_URL: temporalUiUrl } : {}),
    ...(useColor ? { FORCE_COLOR: '1' } : {}),
    ...nextTelemetryEnv(process.env),
  };

  // (d) Worker
  step(`Starting the worker (task queue "${env.TEMPORAL_TASK_QUEUE}")`);
  info(`http-check and webhook stages may reach public addresses and this app (port ${env.PORT}); other internal targets need PIPEWRIGHT_STAGE_EGRESS_ALLOW`);
  superviseWorker(childEnv);

  // (e) Web app
  const nextBin = path.join(REPO_ROOT, 'node_modules', 'next', 'dist', 'bin', 'next');
  if (!DEV) {
    const stale = buildIsStale();
    if (stale) {
      step(`Building the web app (${stale}) — next build`);
      nextBuild = startChild('next build', TAGS.web, process.execPath, [nextBin, 'build'], childEnv);
      const { code, signal } = await nextBuild.exited;
      nextBuild = undefined;
      if (shuttingDown) return;
      if (code !== 0) {
        await shutdown(1, `next build failed (${signal ? `signal ${signal}` : `exit code ${code}`}); see the [web] lines above.`);
      }
    } else {
      step('Web app build is up to date');
    }
  }
  step(`Starting the web app on port ${env.PORT} — next ${DEV ? 'dev' : 'start'}`);
  next = startChild('the web app', TAGS.web, process.execPath, [nextBin, DEV ? 'dev' : 'start', '-p', String(env.PORT)], childEnv);
  const web = next;
  void web.exited.then(({ code, signal }) => {
    if (shuttingDown) return;
    void shutdown(1, `The web app (next ${DEV ? 'dev' : 'start'}) exited unexpectedly (${signal ? `signal ${signal}` : `exit code ${code}`}).`);
  });

  // (f) Ready
  const ok = await waitForHttp(`http://127.0.0.1:${env.PORT}/`, DEV ? 300_000 : 120_000);
  if (shuttingDown) return;

  // (g) The local runner: executes stages, reaching the app only over its runner API.
  step('Starting the local runner (default pool)');
  superviseRunner(runnerEnv(local.token, childEnv), [
    '--url',
    `http://${env.PIPEWRIGHT_RUNNER_API_HOST === '0.0.0.0' ? '127.0.0.1' : env.PIPEWRIGHT_RUNNER_API_HOST}:${runnerApiPort}`,
    '--temporal',
    temporalAddress,
    '--namespace',
    env.TEMPORAL_NAMESPACE,
    '--workspace',
    env.workspaceDir,
  ]);
  if (!ok) {
    if (await canConnect(env.PORT)) warn(`http://localhost:${env.PORT} accepts connections but has not answered yet; still starting?`);
    else warn(`http://localhost:${env.PORT} does not answer yet; see the [web] lines.`);
    return;
  }

  const lines = [
    c.bold(c.green('Pipewright is running')),
    '',
    `App          ${c.bold(env.publicUrl)}`,
    `Temporal UI  ${temporalUiUrl ? `${temporalUiUrl}${embedded ? ' (embedded dev server)' : ''}` : c.dim(embedded ? 'off (PIPEWRIGHT_TEMPORAL_UI=true npm start turns on the embedded UI; it has no sign-in, so only on a machine you alone use)' : 'none (set TEMPORAL_UI_URL)')}`,
    `Temporal     ${temporalAddress}, namespace ${env.TEMPORAL_NAMESPACE}${embedded ? ' (embedded)' : ''}`,
    `Runner       ${local.name} ${c.dim('(local, default pool; more under Admin → Runners)')}`,
    `Data         ${rel(dataDir)}/ ${c.dim(`(app DB ${env.databaseUrl}${embedded ? ', temporal.db' : ''}, logs/)`)}`,
  ];
  const signIn = seedLines.filter((l) => / \/ |already exists/.test(l));
  const warnings = seedLines.filter((l) => /^warning/i.test(l));
  const seeded = seedLines.filter((l) => !signIn.includes(l) && !warnings.includes(l));
  if (signIn.length) {
    lines.push('', 'Sign in');
    for (const line of signIn) lines.push(`  ${line}`);
  }
  if (seeded.length) {
    lines.push('', 'Seeded');
    for (const line of seeded) lines.push(`  ${line}`);
  }
  for (const line of warnings) lines.push('', c.yellow(line));
  if (unsafeWarning) lines.push('', c.bold(c.red('UNSAFE: command stages run without a sandbox')), c.red('(PIPEWRIGHT_UNSAFE_NO_SANDBOX=true)'));
  lines.push('', c.dim('Ctrl-C to stop'));
  console.log(`\n${boxed(lines)}\n`);
}

main().catch((err: unknown) => {
  if (shuttingDown) return;
  void shutdown(1, err instanceof Error ? err.message : String(err));
});
