/**
 * The Temporal CLI (which carries the dev server), built once from source.
 *
 * 1. `PIPEWRIGHT_TEMPORAL_BIN` set: that binary is used as is (it must run).
 * 2. Else `tools/bin/temporal` is reused when it is the CLI v1.5.1.
 * 3. Else `go install github.com/temporalio/cli/cmd/temporal@v1.5.1` with
 *    GOBIN=<repo>/tools/bin, showing progress all the time (elapsed time, modules
 *    downloaded, packages compiled). v1.5.1 is the last release `go install` can
 *    build (later ones carry a replace directive). Nothing is downloaded from
 *    anywhere but Go's own module proxy.
 * 4. A lock file (tools/.temporal-build.lock) keeps two processes from building
 *    at once: the second one waits for the first.
 *
 * Run directly (`npx tsx scripts/temporal-cli.ts`, `npm run temporal:install`)
 * it ensures the binary and prints its path on stdout.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const TEMPORAL_CLI_VERSION = '1.5.1';
export const TEMPORAL_CLI_PACKAGE = 'github.com/temporalio/cli/cmd/temporal';
const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli';
/** The server version embedded in CLI v1.5.1; `go install` builds report `0.0.0-DEV (Server 1.29.1, …)`. */
const EMBEDDED_SERVER_VERSION = '1.29.1';
const MIN_GO = [1, 25] as const;

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface EnsureTemporalCliOptions {
  /** Repository root; `tools/bin/temporal` lives under it. Default: the folder above scripts/. */
  repoRoot?: string;
  /** Where progress lines go. Default: stderr (so stdout stays the path when run directly). */
  log?: (line: string) => void;
  /** Build even when a good binary exists. */
  force?: boolean;
  /** Seconds between progress lines. Default 5. */
  progressIntervalS?: number;
  /** Environment to read `PIPEWRIGHT_TEMPORAL_BIN` and Go's settings from. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
}

export function temporalBinPath(repoRoot = REPO_ROOT): string {
  return path.join(repoRoot, 'tools', 'bin', process.platform === 'win32' ? 'temporal.exe' : 'temporal');
}

const defaultLog = (line: string) => process.stderr.write(`${line}\n`);

/** Returns the path of a usable Temporal CLI, building it when needed. */
export async function ensureTemporalCli(opts: EnsureTemporalCliOptions = {}): Promise<string> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? defaultLog;
  const repoRoot = opts.repoRoot ?? REPO_ROOT;

  const override = env.PIPEWRIGHT_TEMPORAL_BIN?.trim();
  if (override) {
    const bin = path.resolve(override);
    const version = readVersion(bin);
    if (!version.ok) {
      throw new Error(`PIPEWRIGHT_TEMPORAL_BIN=${override} does not run: ${version.error}`);
    }
    if (!isWantedVersion(bin, version.output, env)) {
      log(`Note: PIPEWRIGHT_TEMPORAL_BIN reports "${version.output}"; Pipewright is tested with the Temporal CLI v${TEMPORAL_CLI_VERSION}.`);
    }
    return bin;
  }

  const bin = temporalBinPath(repoRoot);
  if (!opts.force && isGoodBinary(bin, env)) return bin;

  const lockFile = path.join(repoRoot, 'tools', '.temporal-build.lock');
  fs.mkdirSync(path.dirname(bin), { recursive: true });
  const release = await acquireLock(lockFile, log);
  try {
    // Another process may have finished the build while we waited for the lock.
    if (!opts.force && isGoodBinary(bin, env)) return bin;
    await goInstall({ bin, env, log, intervalMs: (opts.progressIntervalS ?? 5) * 1000 });
    if (!fs.existsSync(bin)) throw new Error(`go install finished but ${bin} is missing`);
    const version = readVersion(bin);
    if (!version.ok) throw new Error(`The freshly built ${bin} does not run: ${version.error}`);
    log(`Temporal CLI ready: ${bin} (${version.output})`);
    return bin;
  } finally {
    release();
  }
}

// ---------------------------------------------------------------------------
// Version checks

function readVersion(bin: string): { ok: true; output: string } | { ok: false; error: string } {
  if (!fs.existsSync(bin)) return { ok: false, error: 'file not found' };
  const res = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  if (res.error) return { ok: false, error: res.error.message };
  if (res.status !== 0) return { ok: false, error: `exit code ${res.status}: ${(res.stderr || res.stdout).trim()}` };
  return { ok: true, output: res.stdout.trim() };
}

function isWantedVersion(bin: string, versionOutput: string, env: NodeJS.ProcessEnv): boolean {
  // Release builds say "temporal version 1.5.1 (Server …)".
  if (new RegExp(`version v?${TEMPORAL_CLI_VERSION.replace(/\./g, '\\.')}\\b`).test(versionOutput)) return true;
  // `go install` builds say "temporal version 0.0.0-DEV (Server 1.29.1, UI …)": ask Go's build info.
  const go = findGo(env);
  if (go) {
    const res = spawnSync(go, ['version', '-m', bin], { encoding: 'utf8', timeout: 30_000, env });
    if (res.status === 0) {
      const line = res.stdout.split('\n').find((l) => /^\s*mod\s/.test(l));
      return line !== undefined && line.includes(TEMPORAL_CLI_MODULE) && line.includes(`v${TEMPORAL_CLI_VERSION}`);
    }
  }
  return versionOutput.includes('0.0.0-DEV') && versionOutput.includes(`Server ${EMBEDDED_SERVER_VERSION}`);
}

function isGoodBinary(bin: string, env: NodeJS.ProcessEnv): boolean {
  const version = readVersion(bin);
  return version.ok && isWantedVersion(bin, version.output, env);
}

// ---------------------------------------------------------------------------
// Go

function findGo(env: NodeJS.ProcessEnv): string | undefined {
  const exe = process.platform === 'win32' ? 'go.exe' : 'go';
  const dirs = (env.PATH ?? '').split(path.delimiter).filter(Boolean);
  const candidates = [
    ...(env.GOROOT ? [path.join(env.GOROOT, 'bin', exe)] : []),
    ...dirs.map((d) => path.join(d, exe)),
    '/usr/local/go/bin/go',
    '/usr/lib/go/bin/go',
  ];
  for (const candidate of candidates) {
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

const HOW_TO_INSTALL_GO =
  `Install Go ${MIN_GO.join('.')} or newer from https://go.dev/dl/ (e.g. unpack it into /usr/local/go and add /usr/local/go/bin to PATH; ` +
  `Debian 12's golang-go package is too old), or set PIPEWRIGHT_TEMPORAL_BIN to an existing Temporal CLI binary, ` +
  `or set TEMPORAL_ADDRESS to use a Temporal server you already run.`;

function goVersion(go: string, env: NodeJS.ProcessEnv): [number, number] | undefined {
  const res = spawnSync(go, ['env', 'GOVERSION'], { encoding: 'utf8', timeout: 30_000, env });
  const m = /go(\d+)\.(\d+)/.exec(res.stdout ?? '');
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

function formatElapsed(ms: number): string {
  const s = Math.floor(ms / 1000);
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

async function goInstall(args: { bin: string; env: NodeJS.ProcessEnv; log: (line: string) => void; intervalMs: number }) {
  const { bin, env, log, intervalMs } = args;
  const go = findGo(env);
  if (!go) {
    throw new Error(`Cannot build the Temporal CLI: Go is not installed (no "go" on PATH). ${HOW_TO_INSTALL_GO}`);
  }
  const version = goVersion(go, env);
  if (version && (version[0] < MIN_GO[0] || (version[0] === MIN_GO[0] && version[1] < MIN_GO[1]))) {
    log(
      `Warning: ${go} is Go ${version.join('.')}; the Temporal CLI v${TEMPORAL_CLI_VERSION} needs Go ${MIN_GO.join('.')}+. ` +
        `Go will try to fetch a newer toolchain itself (GOTOOLCHAIN); if that fails: ${HOW_TO_INSTALL_GO}`,
    );
  }

  const target = `${TEMPORAL_CLI_PACKAGE}@v${TEMPORAL_CLI_VERSION}`;
  log(
    `Building the Temporal CLI v${TEMPORAL_CLI_VERSION} (the local Temporal server) with ${go}. ` +
      `This happens once and takes several minutes; it is installed into ${path.dirname(bin)}.`,
  );

  const started = Date.now();
  let downloaded = 0;
  let compiled = 0;
  const tail: string[] = [];
  const remember = (line: string) => {
    tail.push(line);
    if (tail.length > 40) tail.shift();
  };

  const isTty = Boolean(process.stderr.isTTY) && log === defaultLog;
  const status = () =>
    `  … building Temporal CLI: ${formatElapsed(Date.now() - started)} elapsed, ` +
    `${downloaded} modules downloaded, ${compiled} packages compiled`;
  const showStatus = () => {
    if (isTty) process.stderr.write(`\r\x1b[2K${status()}`);
    else log(status());
  };

  const child = spawn(go, ['install', '-v', target], {
    cwd: path.dirname(bin), // outside the repo: no go.mod here, so `go install pkg@version` works in module mode
    env: { ...env, GOBIN: path.dirname(bin), GOFLAGS: [env.GOFLAGS, '-buildvcs=false'].filter(Boolean).join(' ') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });

  const onData = (chunk: Buffer) => {
    for (const raw of chunk.toString('utf8').split('\n')) {
      const line = raw.trimEnd();
      if (!line) continue;
      remember(line);
      if (line.startsWith('go: downloading ')) downloaded++;
      else if (!line.startsWith('go: ') && !line.startsWith('#') && !/\s/.test(line)) compiled++; // -v prints one package path per line
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);

  const timer = setInterval(showStatus, intervalMs);
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
  const onSigint = forward('SIGINT');
  const onSigterm = forward('SIGTERM');
  process.once('SIGINT', onSigint);
  process.once('SIGTERM', onSigterm);

  let result: { code: number | null; signal: NodeJS.Signals | null; error?: Error };
  try {
    result = await new Promise((resolve) => {
      child.once('error', (error) => resolve({ code: null, signal: null, error }));
      child.once('close', (code, signal) => resolve({ code, signal }));
    });
  } finally {
    clearInterval(timer);
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
    if (isTty) process.stderr.write('\r\x1b[2K');
  }

  const elapsed = formatElapsed(Date.now() - started);
  if (result.error || result.code !== 0) {
    const why = result.error
      ? result.error.message
      : result.signal
        ? `killed by ${result.signal}`
        : `exit code ${result.code}`;
    log(`go install failed after ${elapsed} (${why}). Last lines of its output:`);
    for (const line of tail.slice(-25)) log(`  | ${line}`);
    const hint = tail.some((l) => /requires go >=|toolchain/i.test(l))
      ? ` Your Go is too old. ${HOW_TO_INSTALL_GO}`
      : tail.some((l) => /dial tcp|proxy\.golang\.org|i\/o timeout|no such host/i.test(l))
        ? ' Go could not reach its module proxy (proxy.golang.org): check the network or GOPROXY.'
        : '';
    throw new Error(`Building the Temporal CLI with "go install ${target}" failed (${why}).${hint}`);
  }
  log(`Built the Temporal CLI in ${elapsed} (${downloaded} modules downloaded, ${compiled} packages compiled).`);
}

// ---------------------------------------------------------------------------
// Lock so that two processes (npm start and a test run) do not build at once.

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function acquireLock(lockFile: string, log: (line: string) => void): Promise<() => void> {
  const started = Date.now();
  let lastNote = 0;
  for (;;) {
    try {
      const fd = fs.openSync(lockFile, 'wx');
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      return () => fs.rmSync(lockFile, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = Number.parseInt(fs.readFileSync(lockFile, 'utf8').trim(), 10);
    if (!Number.isFinite(owner) || owner === process.pid || !pidAlive(owner)) {
      fs.rmSync(lockFile, { force: true }); // stale
      continue;
    }
    if (Date.now() - lastNote >= 5000) {
      lastNote = Date.now();
      log(`  … another process (pid ${owner}) is building the Temporal CLI; waiting (${formatElapsed(Date.now() - started)})`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

// ---------------------------------------------------------------------------

const invokedDirectly = process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  ensureTemporalCli({ force: process.argv.includes('--force') }).then(
    (bin) => {
      process.stdout.write(`${bin}\n`);
    },
    (err: unknown) => {
      process.stderr.write(`\n${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
