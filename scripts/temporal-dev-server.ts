/**
 * Starts a Temporal dev server (`temporal server start-dev`) as a child process.
 *
 * 1. Bound to 127.0.0.1 on the given port; SQLite file (WAL) or in memory;
 *    headless or with the Web UI; log level warn; search attributes passed with
 *    `--search-attribute` (they only apply when a namespace is first created — on
 *    an existing DB call `registerSearchAttributes` as well).
 * 2. Its output goes to `logFile` (appended), or to this process's console
 *    (`inheritOutput`), or else into a small in-memory tail used in error messages.
 * 3. Resolves only when the server really serves: a client connects and
 *    `describeNamespace` answers for the namespace (up to `readyTimeoutMs`, 60 s).
 * 4. Never leaves a server behind: on failure it is killed and awaited; when this
 *    process exits, remaining servers get SIGKILL. It runs in its own process
 *    group so a terminal Ctrl-C reaches only the parent, which stops it in order.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { CLI_SEARCH_ATTRIBUTE_TYPE, type SearchAttributeDef } from '../server/temporal/search-attributes-registration';
import { SEARCH_ATTRIBUTES } from '../workflows/search-attributes';
import { canConnect } from './ports';

export { registerSearchAttributes } from '../server/temporal/search-attributes-registration';

export interface DevServerOptions {
  /** Path of the temporal CLI (see `ensureTemporalCli`). */
  bin: string;
  /** Frontend gRPC port. */
  port: number;
  /** Web UI port; 0 or undefined = headless. */
  uiPort?: number;
  /** HTTP API port; undefined = a random free one (fine for tests; `npm start` fixes it so stages can be kept away from it). */
  httpPort?: number;
  /** SQLite file; undefined = everything in memory. Its folder is created. */
  dbFile?: string;
  /** Namespace to create (besides `default`) and wait for. */
  namespace: string;
  /** Append the server's stdout/stderr to this file (folder is created). */
  logFile?: string;
  /** Let the server write to this process's stdout/stderr (ignored when `logFile` is set). */
  inheritOutput?: boolean;
  /** Search attributes to create with new namespaces. Default: Pipewright's `SEARCH_ATTRIBUTES`. */
  searchAttributes?: readonly SearchAttributeDef[];
  /** Extra `--dynamic-config-value KEY=JSON` settings (override `LOW_LATENCY_DYNAMIC_CONFIG`). */
  dynamicConfig?: Record<string, unknown>;
  /**
   * Start with the server's own defaults instead of `LOW_LATENCY_DYNAMIC_CONFIG`
   * (the benchmarks' bare baseline is measured on a default server).
   */
  defaultConfig?: boolean;
  /**
   * SQLite's `synchronous` for the server's file. Default: SQLite's own (FULL: every commit reaches the disk).
   * NORMAL is faster (bench:engine `--temporal-sync=normal`) but may lose the last commits on a power loss, so it is
   * never the default (docs/benchmarks.md, lever 21).
   */
  sqliteSynchronous?: 'NORMAL' | 'FULL';
  /** Server log level. Default `warn`. */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** How long to wait for the server to serve. Default 60 s. */
  readyTimeoutMs?: number;
  /** Extra environment for the server process. */
  env?: NodeJS.ProcessEnv;
}

export interface DevServer {
  /** `127.0.0.1:PORT`, for `Connection.connect({ address })` and TEMPORAL_ADDRESS. */
  address: string;
  /** Web UI URL, when not headless. */
  uiUrl?: string;
  pid: number;
  /** Resolves when the process has exited (for whatever reason). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends `signal` (default SIGTERM), waits up to `timeoutMs` (default 15 s), then SIGKILL. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<void>;
  /** SIGKILL and wait for the exit (simulates a crash). */
  kill9(): Promise<void>;
  /** Last lines of the server's output (from the log file or the in-memory tail). */
  logTail(lines?: number): string[];
}

/**
 * Dynamic config of the embedded dev server, for latency (measured with
 * `npm run bench:engine`; see docs/benchmarks.md, "Temporal dev server"):
 *
 * - `history.transferProcessorMaxPollRPS` (default 20): the history service reads
 *   its transfer queue (where "dispatch this workflow task / activity task to
 *   matching" waits) at most 20 times a second per shard, and the dev server has
 *   one shard. Every sequential step of a workflow passes through that queue
 *   twice (the activity task, then the workflow task that follows its result),
 *   so a step waited up to 2 × 50 ms for the rate limiter: the "~30 ms between
 *   workflow task scheduled and started" and most of the 100 ms floor.
 * - `matching.numTaskqueue{Read,Write}Partitions` (default 4): with four
 *   partitions a task written to one partition while the poller waits on
 *   another is forwarded between them; one partition is plenty for one machine.
 * - `system.enableActivityEagerExecution`: a workflow task completion that
 *   schedules an activity on the worker's own task queue gets the activity back
 *   in the same response (the control worker's bookkeeping activities; stages on
 *   runners use other queues, so they still go through matching).
 *
 * A production cluster sets the same keys in its dynamic config file (the
 * partition counts per task queue, the poll rate with many shards in mind:
 * the limit is per shard and per host, `history.transferProcessorMaxPollHostRPS`).
 */
export const LOW_LATENCY_DYNAMIC_CONFIG: Readonly<Record<string, unknown>> = {
  'history.transferProcessorMaxPollRPS': 10_000,
  'matching.numTaskqueueReadPartitions': 1,
  'matching.numTaskqueueWritePartitions': 1,
  'system.enableActivityEagerExecution': true,
};

const running = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook() {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of running) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Port of the embedded Web UI for `npm start`, or undefined for none: only with
 * `PIPEWRIGHT_TEMPORAL_UI=true`, because the UI (and its HTTP API) let anything
 * that reaches them act on runs without signing in.
 */
export function embeddedUiPort(env: { PIPEWRIGHT_TEMPORAL_UI: boolean; TEMPORAL_DEV_UI_PORT: number }): number | undefined {
  return (env.PIPEWRIGHT_TEMPORAL_UI && env.TEMPORAL_DEV_UI_PORT) || undefined;
}

export function devServerArgs(opts: DevServerOptions): string[] {
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(opts.port)];
  if (opts.dbFile) args.push('--db-filename', opts.dbFile, '--sqlite-pragma', 'journal_mode=WAL');
  if (opts.dbFile && opts.sqliteSynchronous) args.push('--sqlite-pragma', `synchronous=${opts.sqliteSynchronous}`);
  if (opts.uiPort) args.push('--ui-port', String(opts.uiPort));
  else args.push('--headless');
  if (opts.httpPort) args.push('--http-port', String(opts.httpPort));
  // "default" is always created; naming it twice is pointless.
  if (opts.namespace !== 'default') args.push('--namespace', opts.namespace);
  for (const sa of opts.searchAttributes ?? SEARCH_ATTRIBUTES) {
    args.push('--search-attribute', `${sa.name}=${CLI_SEARCH_ATTRIBUTE_TYPE[sa.type]}`);
  }
  const dynamicConfig = { ...(opts.defaultConfig ? {} : LOW_LATENCY_DYNAMIC_CONFIG), ...opts.dynamicConfig };
  for (const [key, value] of Object.entries(dynamicConfig)) {
    args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);
  }
  args.push('--log-level', opts.logLevel ?? 'warn');
  return args;
}

export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  const address = `127.0.0.1:${opts.port}`;
  const args = devServerArgs(opts);
  if (opts.dbFile) fs.mkdirSync(path.dirname(path.resolve(opts.dbFile)), { recursive: true });

  // Output: log file (appended), inherited, or an in-memory tail.
  const memoryTail: string[] = [];
  let logFd: number | undefined;
  let logStart = 0;
  let stdio: 'inherit' | ['ignore', number | 'pipe', number | 'pipe'];
  if (opts.logFile) {
    fs.mkdirSync(path.dirname(path.resolve(opts.logFile)), { recursive: true });
    logFd = fs.openSync(opts.logFile, 'a');
    logStart = fs.fstatSync(logFd).size;
    fs.writeSync(logFd, `\n=== ${new Date().toISOString()} ${opts.bin} ${args.join(' ')}\n`);
    stdio = ['ignore', logFd, logFd];
  } else if (opts.inheritOutput) {
    stdio = 'inherit';
  } else {
    stdio = ['ignore', 'pipe', 'pipe'];
  }

  let child: ChildProcess;
  try {
    child = spawn(opts.bin, args, { stdio, detached: true, env: { ...process.env, ...opts.env } });
  } finally {
    if (logFd !== undefined) fs.closeSync(logFd); // the child holds its own copy
  }
  const onData = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      memoryTail.push(line);
      if (memoryTail.length > 200) memoryTail.shift();
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);

  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: Error | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('error', (err) => {
      spawnError = err;
      exitInfo ??= { code: null, signal: null };
      running.delete(child);
      resolve(exitInfo);
    });
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      running.delete(child);
      resolve(exitInfo);
    });
  });
  running.add(child);
  installExitHook();

  const logTail = (lines = 30): string[] => {
    if (opts.logFile) {
      try {
        const text = fs.readFileSync(opts.logFile).subarray(logStart).toString('utf8');
        return text.split('\n').filter((l) => l.trim()).slice(-lines);
      } catch {
        return [];
      }
    }
    return memoryTail.slice(-lines);
  };

  const waitExit = async (ms: number) => {
    if (exitInfo) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    });
    try {
      return await Promise.race([exited.then(() => true), timeout]);
    } finally {
      clearTimeout(timer);
    }
  };
  const kill9 = async () => {
    if (exitInfo) return;
    try {
      child.kill('SIGKILL');
    } catch {
      // gone
    }
    await exited;
  };
  const stop = async (signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15_000) => {
    if (exitInfo) return;
    try {
      child.kill(signal);
    } catch {
      // gone
    }
    if (!(await waitExit(timeoutMs))) await kill9();
  };

  // Wait until it really serves.
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
  let lastError = 'not listening yet';
  for (;;) {
    if (exitInfo || spawnError) {
      const how = spawnError
        ? spawnError.message
        : exitInfo?.signal
          ? `killed by ${exitInfo.signal}`
          : `exit code ${exitInfo?.code}`;
      const tail = logTail(20);
      throw new Error(
        `The Temporal dev server (${opts.bin}) stopped while starting (${how}).` +
          (tail.length ? `\nLast lines of its output${opts.logFile ? ` (${opts.logFile})` : ''}:\n  ${tail.join('\n  ')}` : ''),
      );
    }
    if (Date.now() >= deadline) {
      await kill9();
      const tail = logTail(20);
      throw new Error(
        `The Temporal dev server did not become ready on ${address} within ${Math.round((opts.readyTimeoutMs ?? 60_000) / 1000)} s (${lastError}).` +
          (tail.length ? `\nLast lines of its output:\n  ${tail.join('\n  ')}` : ''),
      );
    }
    if (await canConnect(opts.port, '127.0.0.1', 1000)) {
      let connection: Connection | undefined;
      try {
        connection = await Connection.connect({ address, connectTimeout: 3000 });
        const conn = connection;
        await conn.withDeadline(Date.now() + 5000, () => conn.workflowService.describeNamespace({ namespace: opts.namespace }));
        break;
      } catch (err) {
        lastError = err instanceof Error ? err.message : String(err);
      } finally {
        await connection?.close().catch(() => undefined);
      }
    }
    await sleep(300);
  }

  return {
    address,
    uiUrl: opts.uiPort ? `http://127.0.0.1:${opts.uiPort}` : undefined,
    pid: child.pid!,
    exited,
    stop,
    kill9,
    logTail,
  };
}

/**
 * True when something at `address` answers as a Temporal frontend
 * (`getSystemInfo`). Used to explain "port already taken".
 */
export async function isTemporalServer(address: string, timeoutMs = 3000): Promise<boolean> {
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address, connectTimeout: timeoutMs });
    const conn = connection;
    await conn.withDeadline(Date.now() + timeoutMs, () => conn.workflowService.getSystemInfo({}));
    return true;
  } catch {
    return false;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}
