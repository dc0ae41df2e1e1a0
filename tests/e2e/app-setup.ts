/**
 * Global setup of the `e2e` project: the whole product, for a real browser.
 *
 * Runs after tests/setup/global-setup.ts (a Temporal dev server, provided as
 * `temporalAddress`), then:
 * 1. a temporary data folder and an environment of its own (database, task
 *    queue, free port, public URL, auth secret);
 * 2. migrations and the seed (demo users, example pipelines) in a child process;
 * 3. `next build` only when `.next/BUILD_ID` is missing or older than a source
 *    file, so repeated runs stay fast;
 * 4. the worker (`node --import tsx server/control-worker/worker.ts`), the web app
 *    (`next start`) and a runner (`workflows/runner/main.ts`, with only its
 *    token and addresses in its environment) as child processes, each in its
 *    own process group, with their output in test-results/e2e-logs/;
 * 5. waits for `/api/health`, for the worker and the runner to poll, and
 *    provides `appUrl` and the seeded admin's password (`adminPassword`).
 * Teardown stops the web app, the runner and the worker (whole process
 * groups) and removes the data folder.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { getFreePort } from '../../scripts/ports';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Base URL of the e2e web app, e.g. `http://127.0.0.1:41234`. */
    appUrl: string;
    /** Password of the seeded `admin` account. */
    adminPassword: string;
    /** A folder the tests and the app's sandboxed command stages share (PIPEWRIGHT_SANDBOX_SHARED_DIRS). */
    sharedDir: string;
    /** The web app's runner-API port (PIPEWRIGHT_RUNNER_API_PORT), where the runner calls it, e.g. `http://127.0.0.1:41235`. */
    runnerApiUrl: string;
  }
}

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const LOG_DIR = path.join(ROOT, 'test-results', 'e2e-logs');
const NEXT_BIN = path.join(ROOT, 'node_modules', 'next', 'dist', 'bin', 'next');
const SOURCE_DIRS = ['app', 'server', 'workflows', 'db', 'public'];
const SOURCE_FILES = /^(next\.config\.|proxy\.|postcss\.config\.|package\.json$|package-lock\.json$|tsconfig\.json$)/;

function log(line: string) {
  process.stderr.write(`[e2e] ${line}\n`);
}

function newestMtime(dir: string): number {
  let newest = 0;
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
    const full = path.join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestMtime(full));
    else if (e.isFile()) newest = Math.max(newest, fs.statSync(full).mtimeMs);
  }
  return newest;
}

/** Why the production build must be redone, or undefined when `.next` is up to date. */
function staleBuild(): string | undefined {
  const buildId = path.join(ROOT, '.next', 'BUILD_ID');
  if (!fs.existsSync(buildId)) return 'no build yet';
  const built = fs.statSync(buildId).mtimeMs;
  for (const dir of SOURCE_DIRS) if (newestMtime(path.join(ROOT, dir)) > built) return `${dir}/ changed`;
  for (const f of fs.readdirSync(ROOT)) {
    if (SOURCE_FILES.test(f) && fs.statSync(path.join(ROOT, f)).mtimeMs > built) return `${f} changed`;
  }
  return undefined;
}

type Child = { name: string; proc: ChildProcess; exited: Promise<number | null>; output: string[] };

function start(name: string, args: string[], env: NodeJS.ProcessEnv): Child {
  fs.mkdirSync(LOG_DIR, { recursive: true });
  const file = fs.createWriteStream(path.join(LOG_DIR, `${name}.log`));
  const proc = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const output: string[] = [];
  const onData = (buf: Buffer) => {
    file.write(buf);
    for (const line of buf.toString('utf8').split('\n')) if (line.trim()) output.push(line);
    if (output.length > 400) output.splice(0, output.length - 400);
  };
  proc.stdout?.on('data', onData);
  proc.stderr?.on('data', onData);
  const exited = new Promise<number | null>((resolve) => {
    proc.once('error', () => resolve(null));
    proc.once('exit', (code) => {
      file.end();
      resolve(code);
    });
  });
  return { name, proc, exited, output };
}

function tail(c: Child, n = 30) {
  return c.output.slice(-n).join('\n  ');
}

async function stop(c: Child | undefined, signal: NodeJS.Signals, graceMs: number) {
  if (!c || c.proc.exitCode !== null || c.proc.signalCode !== null) return;
  const kill = (sig: NodeJS.Signals) => {
    try {
      if (c.proc.pid) process.kill(-c.proc.pid, sig);
    } catch {
      // already gone
    }
  };
  kill(signal);
  if (!(await exitedWithin(c, graceMs))) log(`${c.name} did not stop in ${graceMs / 1000} s; killing it`);
  kill('SIGKILL'); // the group: leftovers (a stage's shell) go too
  await exitedWithin(c, 5000);
}

/** Whether the child exits within `ms` (the timer never keeps this process alive). */
async function exitedWithin(c: Child, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((r) => {
    timer = setTimeout(() => r(false), ms);
    timer.unref();
  });
  try {
    return await Promise.race([c.exited.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function run(name: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number) {
  const c = start(name, args, env);
  const timer = setTimeout(() => void stop(c, 'SIGKILL', 1000), timeoutMs);
  const code = await c.exited;
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${name} failed (exit ${code}):\n  ${tail(c, 40)}`);
  return c;
}

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number, dead: () => string | undefined) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const died = dead();
    if (died) throw new Error(`${what}: ${died}`);
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
}

export default async function setup(project: TestProject) {
  const started = Date.now();
  const temporalAddress = project.getProvidedContext().temporalAddress ?? process.env.TEMPORAL_ADDRESS;
  if (!temporalAddress) throw new Error('tests/setup/global-setup.ts must run first (no temporalAddress)');
  const namespace = project.getProvidedContext().temporalNamespace ?? 'default';

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pipewright-e2e-'));
  // Command stages see only their workspace; tests exchange marks with them here.
  const sharedDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pipewright-e2e-shared-'));
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
    TEMPORAL_ADDRESS: temporalAddress,
    TEMPORAL_NAMESPACE: namespace,
    TEMPORAL_TASK_QUEUE: `e2e-${randomBytes(4).toString('hex')}`,
    BETTER_AUTH_SECRET: randomBytes(32).toString('base64url'),
    PIPEWRIGHT_ADMIN_PASSWORD: randomBytes(12).toString('base64url'),
    PIPEWRIGHT_DEMO_USERS: 'true',
    PIPEWRIGHT_NO_SEED: 'false',
    PIPEWRIGHT_HEARTBEAT_TIMEOUT_S: '5',
    // The seeded example's smoke test checks this app's /api/health: stages may reach exactly it on loopback.
    PIPEWRIGHT_STAGE_EGRESS_ALLOW: `127.0.0.1:${port}`,
    PIPEWRIGHT_SANDBOX_SHARED_DIRS: sharedDir,
    // The e2e files sign the same demo people in many times a minute; the limit itself has unit tests.
    PIPEWRIGHT_SIGN_IN_LIMIT: '1000',
  };
  for (const k of ['PIPEWRIGHT_OIDC_ISSUER', 'PIPEWRIGHT_OIDC_CLIENT_ID', 'PIPEWRIGHT_OIDC_CLIENT_SECRET', 'PIPEWRIGHT_AUTH_SECRET', 'PIPEWRIGHT_WORKSPACE_DIR']) {
    delete env[k];
  }

  let worker: Child | undefined;
  let web: Child | undefined;
  let runner: Child | undefined;
  const teardown = async () => {
    const t = Date.now();
    await Promise.all([stop(web, 'SIGTERM', 10_000), stop(worker, 'SIGINT', 15_000), stop(runner, 'SIGINT', 15_000)]);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(sharedDir, { recursive: true, force: true });
    log(`web app and worker stopped in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  };

  try {
    // The build and the database do not depend on each other.
    const stale = staleBuild();
    const building = stale
      ? (log(`next build (${stale})…`), run('next-build', [NEXT_BIN, 'build'], env, 600_000).then(() => log(`next build done after ${((Date.now() - started) / 1000).toFixed(1)} s`)))
      : (log('reusing the production build in .next'), Promise.resolve());
    building.catch(() => undefined); // awaited below; do not report it as unhandled meanwhile
    await run('prepare-db', ['--import', 'tsx', 'tests/e2e/prepare-db.ts'], env, 120_000);

    worker = start('worker', ['--import', 'tsx', 'server/control-worker/worker.ts'], env);
    await building;
    web = start('web', [NEXT_BIN, 'start', '-p', String(port), '-H', '127.0.0.1'], env);

    // The runner reaches the app only over its API; it retries until the app answers.
    const runnerToken = fs.readFileSync(path.join(dir, 'runner-token'), 'utf8').trim();
    runner = start(
      'runner',
      ['--import', 'tsx', 'workflows/runner/main.ts', '--url', runnerApiUrl, '--temporal', temporalAddress, '--namespace', namespace, '--workspace', path.join(dir, 'workspaces')],
      {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        NODE_ENV: 'production',
        PIPEWRIGHT_RUNNER_TOKEN: runnerToken,
        PIPEWRIGHT_RUNNER_HEARTBEAT_MS: '2000',
        // What stages need by name, as `npm start` hands its local runner: the smoke test may reach this app, and the
        // tests exchange marks with sandboxed commands through the shared folder.
        PIPEWRIGHT_STAGE_EGRESS_ALLOW: `127.0.0.1:${port}`,
        PIPEWRIGHT_SANDBOX_SHARED_DIRS: sharedDir,
        PIPEWRIGHT_DATA_DIR: dir,
      } as unknown as NodeJS.ProcessEnv,
    );

    const dead = () =>
      web && web.proc.exitCode !== null
        ? `the web app exited (${web.proc.exitCode}):\n  ${tail(web)}`
        : worker && worker.proc.exitCode !== null
          ? `the worker exited (${worker.proc.exitCode}):\n  ${tail(worker)}`
          : runner && runner.proc.exitCode !== null
            ? `the runner exited (${runner.proc.exitCode}):\n  ${tail(runner)}`
            : undefined;
    await waitUntil(
      `${appUrl}/api/health`,
      async () => {
        const res = await fetch(`${appUrl}/api/health`, { signal: AbortSignal.timeout(5000) });
        return res.ok;
      },
      90_000,
      dead,
    );
    await waitUntil('the worker to poll', async () => worker!.output.some((l) => l.includes('Worker polling task queue')), 90_000, dead);
    await waitUntil('the runner to poll', async () => runner!.output.some((l) => l.includes('polling')), 90_000, dead);
  } catch (err) {
    await teardown();
    throw err;
  }

  log(`app ready at ${appUrl} after ${((Date.now() - started) / 1000).toFixed(1)} s (logs in test-results/e2e-logs/)`);
  project.provide('appUrl', appUrl);
  project.provide('adminPassword', env.PIPEWRIGHT_ADMIN_PASSWORD!);
  project.provide('sharedDir', sharedDir);
  project.provide('runnerApiUrl', runnerApiUrl);
  return teardown;
}
