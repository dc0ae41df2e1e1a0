/**
 * Executor of the `command` stage (Node only): runs `/bin/sh -c <command>` in
 * its own process group, inside the sandbox (./sandbox.ts), and reports its
 * output, exit status and outputs.
 *
 * 1. The command sees only its run's workspace (`<workspaceDir>/<runId>`), the
 *    system read-only and a private /tmp; its working directory is a relative
 *    path inside that workspace, and artifacts it stores or receives never
 *    follow symlinks out of it (it could plant them for the worker to follow).
 * 2. The process gets a small allow-listed environment (never the worker's
 *    whole environment, which holds secrets), plus `config.env` and the
 *    `PIPEWRIGHT_*` variables.
 * 3. On timeout or cancellation the whole process group is stopped (SIGTERM,
 *    then SIGKILL after a grace period); background processes the command left
 *    running after it exits are stopped the same way, so nothing outlives the
 *    stage.
 * 4. Outputs are read from the file named by `PIPEWRIGHT_OUTPUT`: `name=value`
 *    lines and GitHub-style `name<<DELIM` … `DELIM` blocks.
 */
import { closeSync, constants as fsConstants, fstatSync, lstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { lstat, mkdir, open, readdir, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { constants as osConstants, tmpdir } from 'node:os';
import path from 'node:path';
import { artifactOutputNames } from '../../model/template';
import type { CommandConfig } from './definition';
import { sandboxDisabled, sandboxedShell, SandboxUnavailable, startProcess, type SandboxProcess, type SandboxSpec } from './sandbox';
import { handOffPossible, prestartSandbox, takeWarmSandbox, type WarmSandbox } from './warm-sandbox';
import { StageFailure, type ExecutorContext, type StageExecutor } from '../executor-types';

/** Variables of the worker's environment a command may see. */
export const ENV_ALLOW_LIST = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'USER', 'SHELL', 'TERM'] as const;
/** Largest total size of a command's outputs (names and values, UTF-8 bytes). */
export const MAX_OUTPUTS_BYTES = 64 * 1024;
/** Time between SIGTERM and SIGKILL when stopping a process group. */
export const KILL_GRACE_MS = 3000;

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const OUTPUT_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const HEARTBEAT_MS = 1000;
/** After the group is gone, how long to wait for pipes held by escaped processes. */
const STDIO_CLOSE_CAP_MS = 2000;
/** How long the sandbox's init may take to exit after the command when nothing is left running. */
const SANDBOX_INIT_EXIT_MS = 500;
/** How long the sandbox's init is watched by its pid before every process is scanned instead (`cmd &` left something). */
const INIT_EXIT_WATCH_MS = 20;
/** Largest timer Node accepts (about 24.8 days); a longer limit is no limit in practice. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export const executeCommand: StageExecutor<CommandConfig> = async (config, ctx) => {
  const { log } = ctx;
  try {
    return await run(config, ctx);
  } finally {
    await log.flush();
  }
};

async function run(config: CommandConfig, ctx: ExecutorContext) {
  throwIfAborted(ctx.signal);
  const { root, cwd } = await resolveCwd(config.cwd, ctx);
  await placeInputs(config, cwd, ctx);
  const sandbox: SandboxSpec | undefined = sandboxDisabled(ctx.env)
    ? undefined
    : { workspace: root, env: ctx.env, cwd, hide: [ctx.env.TEMPORAL_TLS_KEY_PATH] };
  // A sandbox pre-started for this workspace after the previous command (warm-sandbox.ts) comes with its outputs folder.
  let warm = sandbox ? takeWarmSandbox(sandbox) : undefined;
  // Small synchronous file-system calls: each awaited one is a thread-pool round trip, which a busy machine makes cost milliseconds.
  const outputDir = warm?.outputDir ?? mkdtempSync(path.join(tmpdir(), 'pipewright-output-'));
  const outputFile = path.join(outputDir, 'outputs');
  try {
    if (!warm) writeFileSync(outputFile, '', { mode: 0o600 });
    if (sandbox) sandbox.writable = [outputDir];
    const env = buildEnv(config, ctx, outputFile, sandbox !== undefined);
    if (warm && !handOffPossible(config.command, cwd, env)) {
      // Not expressible through the pipe (a NUL byte); a cold start reports it as spawn does.
      warm.discard();
      warm = undefined;
    }
    const started = Date.now();
    const end = await runProcess(config.command, cwd, env, ctx, sandbox, warm);
    const took = formatSeconds(Date.now() - started);

    if (end.reason === 'aborted') {
      ctx.log.write('system', 'cancelled: the process group was stopped\n');
      throw abortReason(ctx.signal);
    }
    if (end.reason === 'timeout') {
      const msg = `timed out after ${trimNumber(ctx.timeoutMs / 1000)}s`;
      ctx.log.write('system', `${msg}: the process group was stopped\n`);
      throw new StageFailure(msg, 'StageTimeout');
    }
    if (end.reason === 'spawn-error') {
      const kind = end.error instanceof SandboxUnavailable ? 'InvalidConfig' : undefined;
      throw new StageFailure(`could not start the command: ${end.error.message}`, kind);
    }
    if (end.leftovers) {
      ctx.log.write('system', 'stopped background processes the command left running\n');
    }
    if (end.code !== 0) {
      // Outputs written before the failure are still useful (e.g. a report path).
      let outputs: Record<string, string> = {};
      try {
        outputs = readOutputs(outputFile);
      } catch {
        // unreadable outputs do not change why the stage failed
      }
      const msg = end.code === null ? `killed by signal ${end.signal ?? 'unknown'}` : `exited with code ${end.code}`;
      throw new StageFailure(msg, 'StageFailed', outputs);
    }
    const outputs = readOutputs(outputFile);
    const stored = await storeArtifacts(config, cwd, ctx);
    Object.assign(outputs, stored.outputs);
    return { outputs, summary: `exited 0 in ${took}${stored.count > 0 ? `; stored ${stored.count} artifact${stored.count === 1 ? '' : 's'}` : ''}` };
  } finally {
    try {
      rmSync(outputDir, { recursive: true, force: true });
    } catch {
      // a temporary folder; nothing to tell the stage
    }
    // The next command of this run most likely comes next: have its sandbox ready, once this stage's
    // result is on its way (spawning is synchronous work for this process).
    if (sandbox) {
      const prestart = () => prestartSandbox({ ...sandbox, writable: undefined, cwd: root });
      if (ctx.afterReport) ctx.afterReport(prestart);
      else setTimeout(prestart, 0);
    }
  }
}

// ---------------------------------------------------------------------------
// Working directory and environment

/**
 * The run's workspace (`<workspaceDir>/<runId>`, real path) and the working
 * directory inside it, created if missing. `cwd` must be relative and may not
 * leave the workspace, by `..` or by a symlink an earlier stage left there.
 */
async function resolveCwd(cwd: string | undefined, ctx: ExecutorContext): Promise<{ root: string; cwd: string }> {
  if (cwd && path.isAbsolute(cwd)) {
    throw new StageFailure(`working directory "${cwd}" must be a path relative to the run's workspace, not an absolute one`, 'InvalidConfig');
  }
  const rootPath = path.resolve(ctx.workspaceDir, ctx.runId);
  const resolved = path.resolve(rootPath, cwd ?? '.');
  const rel = path.relative(rootPath, resolved);
  if (rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) {
    throw new StageFailure(`working directory "${cwd}" is outside the run's workspace`, 'InvalidConfig');
  }
  mkdirSync(rootPath, { recursive: true });
  const root = realpathSync(rootPath);
  return { root, cwd: await ensureDirInside(root, rel, `working directory "${cwd}"`) };
}

/**
 * Creates `rel` under `root` one folder at a time, refusing any part that is a
 * symlink or not a folder, and returns its path (checked again with realpath).
 */
async function ensureDirInside(root: string, rel: string, what: string): Promise<string> {
  let dir = root;
  for (const part of rel.split(path.sep).filter((p) => p !== '' && p !== '.')) {
    dir = path.join(dir, part);
    let info = lstatSync(dir, { throwIfNoEntry: false });
    if (!info) {
      try {
        mkdirSync(dir);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      info = lstatSync(dir);
    }
    if (info.isSymbolicLink()) throw new StageFailure(`${what}: ${path.relative(root, dir)} is a symlink; it must be a folder inside the run's workspace`, 'InvalidConfig');
    if (!info.isDirectory()) throw new StageFailure(`${what}: ${path.relative(root, dir)} is not a folder`, 'InvalidConfig');
  }
  if (!isInside(root, realpathSync(dir))) throw new StageFailure(`${what} is outside the run's workspace`, 'InvalidConfig');
  return dir;
}

/** Whether `p` is `root` or below it (both real, absolute paths). */
function isInside(root: string, p: string): boolean {
  const r = path.relative(root, p);
  return r === '' || (r !== '..' && !r.startsWith(`..${path.sep}`) && !path.isAbsolute(r));
}

function buildEnv(config: CommandConfig, ctx: ExecutorContext, outputFile: string, sandboxed: boolean): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ENV_ALLOW_LIST) {
    const value = ctx.env[name];
    if (value !== undefined) env[name] = value;
  }
  env.PATH ??= DEFAULT_PATH;
  if (sandboxed) {
    // The worker's home and temp folders do not exist in the sandbox; its private /tmp does.
    env.HOME = '/tmp';
    env.TMPDIR = '/tmp';
  }
  Object.assign(env, config.env);
  env.PIPEWRIGHT_RUN_ID = ctx.runId;
  env.PIPEWRIGHT_STAGE_ID = ctx.nodeId;
  env.PIPEWRIGHT_ATTEMPT = String(ctx.attempt);
  env.PIPEWRIGHT_OUTPUT = outputFile;
  return env;
}

// ---------------------------------------------------------------------------
// Artifacts

/** `rel` inside `dir` by its name alone, or a StageFailure (an artifact path may not leave the working directory). */
function inside(dir: string, rel: string, what: string): string {
  const resolved = path.resolve(dir, rel);
  if (path.isAbsolute(rel) || resolved === dir || !isInside(dir, resolved)) {
    throw new StageFailure(`${what} "${rel}" must be a file inside the working directory`, 'InvalidConfig');
  }
  return resolved;
}

function needStore(ctx: ExecutorContext) {
  if (!ctx.artifacts) throw new StageFailure('this worker has no artifact store', 'InvalidConfig');
  return ctx.artifacts;
}

/**
 * Places the artifacts the stage asks for, each checked against its sha256
 * digest, before the command runs. The worker writes them, so neither the
 * folders on the way nor the file itself may be a symlink (an earlier stage
 * could have planted one pointing anywhere on the worker's machine).
 */
async function placeInputs(config: CommandConfig, cwd: string, ctx: ExecutorContext) {
  const inputs = config.inputs ?? [];
  if (inputs.length === 0) return;
  const store = needStore(ctx);
  for (const input of inputs) {
    const what = `input path "${input.path}"`;
    const dest = inside(cwd, input.path, 'input path');
    await ensureDirInside(cwd, path.relative(cwd, path.dirname(dest)), what);
    const existing = await lstat(dest).catch(() => undefined);
    if (existing?.isSymbolicLink()) throw new StageFailure(`${what} is a symlink; the artifact is not written through it`, 'InvalidConfig');
    if (existing?.isDirectory()) throw new StageFailure(`${what} is a folder`, 'InvalidConfig');
    const got = await store.materialise(input.artifact.trim(), dest);
    ctx.log.write('system', `artifact ${got.stage}.${got.name} → ${input.path} (${got.size} bytes, ${got.digest} verified)\n`);
  }
}

/**
 * Stores the files the stage declares (once per digest) and returns them as
 * outputs. Each is opened without following a symlink and stored through that
 * open file, whose real path must lie inside the working directory: a command
 * cannot make the worker publish a file it could not read itself.
 */
async function storeArtifacts(config: CommandConfig, cwd: string, ctx: ExecutorContext) {
  const declared = config.artifacts ?? [];
  const outputs: Record<string, string> = {};
  if (declared.length === 0) return { outputs, count: 0 };
  const store = needStore(ctx);
  const realCwd = await realpath(cwd);
  for (const a of declared) {
    const file = inside(cwd, a.path, `artifact "${a.name}" path`);
    const handle = await openArtifact(file, a.name, a.path);
    try {
      const opened = await realpath(`/proc/self/fd/${handle.fd}`).catch(() => realpath(file));
      if (!isInside(realCwd, opened)) {
        throw new StageFailure(`artifact "${a.name}": ${a.path} leads outside the working directory`, 'InvalidConfig');
      }
      // Read through the open file (Linux), so the file checked is the file stored.
      const source = process.platform === 'linux' ? `/proc/self/fd/${handle.fd}` : opened;
      const stored = await store.publish(a.name, source, path.basename(a.path));
      const names = artifactOutputNames(a.name);
      outputs[names.digest] = stored.digest;
      outputs[names.size] = String(stored.size);
      ctx.log.write('system', `stored artifact ${a.name}: ${a.path} (${stored.size} bytes, ${stored.digest}${stored.written ? '' : ', already in the store'})\n`);
    } finally {
      await handle.close();
    }
  }
  return { outputs, count: declared.length };
}

/** Opens an artifact's file read-only without following a symlink; a StageFailure when it is not a regular file. */
async function openArtifact(file: string, name: string, rel: string) {
  const handle = await open(file, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK).catch(async (err: NodeJS.ErrnoException) => {
    if (err.code === 'ELOOP' || (await lstat(file).catch(() => undefined))?.isSymbolicLink()) {
      throw new StageFailure(`artifact "${name}": ${rel} is a symlink; store the file itself`, 'InvalidConfig');
    }
    throw new StageFailure(`artifact "${name}": the command produced no file ${rel}`);
  });
  const info = await handle.stat();
  if (!info.isFile()) {
    await handle.close();
    throw new StageFailure(`artifact "${name}": the command produced no file ${rel}`);
  }
  return handle;
}

// ---------------------------------------------------------------------------
// The process

type ProcessEnd =
  | { reason: 'exit'; code: number | null; signal: NodeJS.Signals | null; leftovers: boolean }
  | { reason: 'timeout' }
  | { reason: 'aborted' }
  | { reason: 'spawn-error'; error: Error };

async function runProcess(
  command: string,
  cwd: string,
  env: Record<string, string>,
  ctx: ExecutorContext,
  sandbox: SandboxSpec | undefined,
  warm: WarmSandbox | undefined,
): Promise<ProcessEnd> {
  let started: SandboxProcess;
  try {
    if (warm) {
      // Pre-started for this workspace (warm-sandbox.ts): the command goes in through its pipe.
      warm.start(command, cwd, env);
      started = warm;
    } else if (sandbox) {
      const program = sandboxedShell(command, sandbox, { infoFd: 3 });
      started = startProcess(program.file, program.args, { env, cwd, stdin: 'ignore', info: true });
    } else {
      started = startProcess('/bin/sh', ['-c', command], { env, cwd, stdin: 'ignore', info: false });
    }
  } catch (error) {
    return { reason: 'spawn-error', error: error as Error };
  }
  const { child, initPid, closed } = started;

  // setEncoding decodes UTF-8 safely across chunk boundaries.
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stdout!.on('data', (text: string) => ctx.log.write('stdout', text));
  child.stderr!.on('data', (text: string) => ctx.log.write('stderr', text));

  const exited: Promise<ProcessEnd> = started.exited.then((end) =>
    'error' in end
      ? { reason: 'spawn-error', error: end.error }
      : { reason: 'exit', ...(sandbox ? unwrapSandboxStatus(end.code, end.signal) : end), leftovers: false },
  );

  const pgid = child.pid;
  if (pgid === undefined) {
    // Spawning failed synchronously; the 'error' event carries the reason.
    return exited;
  }
  const registration = registerGroup(ctx.workspaceDir, pgid, ctx);

  let stopReason: 'timeout' | 'aborted' | undefined;
  let stopping: Promise<void> | undefined;
  /** The sandbox's init has ended, so nothing of the command is left: no scan of the machine's processes needed. */
  let sandboxEmpty = false;
  const stop = (reason: 'timeout' | 'aborted') => {
    if (stopping) return;
    stopReason = reason;
    stopping = terminateGroup(pgid);
  };

  // Every second while it runs, not at once: a command done within a second sends none (each heartbeat is a write
  // on the Temporal server, and most build steps of a chain are short).
  const heartbeat = () => ctx.heartbeat({ logOffset: ctx.log.offset });
  const heartbeatTimer = setInterval(heartbeat, HEARTBEAT_MS);
  const timeoutTimer =
    ctx.timeoutMs > 0 && ctx.timeoutMs <= MAX_TIMER_MS ? setTimeout(() => stop('timeout'), ctx.timeoutMs) : undefined;
  const onAbort = () => stop('aborted');
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  if (ctx.signal.aborted) onAbort();

  const stopTimers = () => {
    clearInterval(heartbeatTimer);
    if (timeoutTimer) clearTimeout(timeoutTimer);
    ctx.signal.removeEventListener('abort', onAbort);
  };

  try {
    const end = await exited;
    // Once the shell has exited, a late timeout or cancellation no longer changes the outcome.
    stopTimers();
    if (end.reason === 'spawn-error') return end;
    sandboxEmpty = sandbox !== undefined && !stopping && (await initEnds(pgid, await initPid));
    // The shell is gone; anything still in its group was left behind by it (`cmd &`).
    if (!stopping && !sandboxEmpty && groupAlive(pgid) && !(sandbox && (await sandboxInitLeaves(pgid)))) {
      if (end.reason === 'exit') end.leftovers = true;
      stopping = terminateGroup(pgid);
    }
    await stopping;
    // Read everything the processes wrote; a process that escaped the group
    // (setsid) may still hold the pipes, so do not wait for it forever.
    await Promise.race([closed, delay(STDIO_CLOSE_CAP_MS)]);
    child.stdout!.destroy();
    child.stderr!.destroy();
    return stopReason ? { reason: stopReason } : end;
  } finally {
    stopTimers();
    // Never leave processes behind, whatever went wrong above.
    if (!sandboxEmpty && groupAlive(pgid)) await terminateGroup(pgid);
    // The group's record goes once the group is gone, off the stage's path (one a crash leaves in between
    // names a group that is gone: the sweep only removes it).
    void registration.then((file) => (file ? rm(file, { force: true }) : undefined)).catch(() => undefined);
  }
}

/**
 * Whether the sandbox's init (host pid `initPid`, in group `pgid`) has ended:
 * gone, a zombie, or its pid now someone else's. The kernel ends every process
 * of a pid namespace with its init, so then nothing the command started runs on.
 * False when unknown (the caller falls back to scanning the group).
 */
function initEnded(pgid: number, initPid: number | undefined): boolean {
  if (initPid === undefined || process.platform !== 'linux') return false;
  let stat: string;
  try {
    stat = readFileSync(`/proc/${initPid}/stat`, 'utf8');
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[0] === 'Z' || fields[0] === 'X' || Number(fields[2]) !== pgid;
}

/**
 * Whether the sandbox's init ends by itself within a moment of the command. bwrap's monitor exits with the
 * command's status as soon as its init reports it, so the init is often still exiting when the monitor's exit
 * is seen: watching its one /proc entry for a few milliseconds costs far less than scanning every process.
 */
function initEnds(pgid: number, initPid: number | undefined): Promise<boolean> {
  return initPid === undefined ? Promise.resolve(false) : pollUntil(() => initEnded(pgid, initPid), INIT_EXIT_WATCH_MS, 1);
}

/**
 * In the sandbox, bwrap's init (in the group too) exits a moment after the
 * command; it stays only while something the command started still runs,
 * in the group or (setsid) outside it. True when it left by itself.
 */
async function sandboxInitLeaves(pgid: number): Promise<boolean> {
  if (groupAlive(pgid, 'bwrap')) return false;
  return waitGroupGone(pgid, SANDBOX_INIT_EXIT_MS);
}

/**
 * The sandbox's init reports a command killed by signal N as exit code 128+N
 * (as a shell does); turn that back into the signal so the stage says
 * "killed by signal SIGKILL" like an unsandboxed one.
 */
function unwrapSandboxStatus(code: number | null, signal: NodeJS.Signals | null): { code: number | null; signal: NodeJS.Signals | null } {
  if (code === null || code <= 128) return { code, signal };
  const name = Object.entries(osConstants.signals).find(([, n]) => n === code - 128)?.[0];
  return name ? { code: null, signal: name as NodeJS.Signals } : { code, signal };
}

/**
 * Process groups are recorded under `<workspace>/.processes/` while they run,
 * with the pid of the worker that owns them. A worker killed with -9 cannot
 * kill its commands; the next worker on the machine does (`sweepOrphanedCommands`).
 */
const processesDir = (workspaceDir: string) => path.join(workspaceDir, '.processes');

async function registerGroup(workspaceDir: string, pgid: number, ctx: ExecutorContext): Promise<string | undefined> {
  try {
    const dir = processesDir(workspaceDir);
    await mkdir(dir, { recursive: true });
    const file = path.join(dir, `${pgid}.json`);
    await writeFile(file, JSON.stringify({ pgid, workerPid: process.pid, runId: ctx.runId, nodeId: ctx.nodeId }));
    return file;
  } catch {
    return undefined;
  }
}

/** Kills command process groups left behind by workers that died; returns how many. */
export async function sweepOrphanedCommands(workspaceDir: string): Promise<number> {
  const dir = processesDir(workspaceDir);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  let killed = 0;
  for (const name of names) {
    const file = path.join(dir, name);
    try {
      const rec = JSON.parse(await readFile(file, 'utf8')) as { pgid: number; workerPid: number };
      if (isAlive(rec.workerPid)) continue;
      if (groupAlive(rec.pgid)) {
        signalGroup(rec.pgid, 'SIGKILL');
        killed++;
      }
      await rm(file, { force: true });
    } catch {
      await rm(file, { force: true }).catch(() => undefined);
    }
  }
  return killed;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** SIGTERM the group, wait up to the grace period, then SIGKILL what is left. */
async function terminateGroup(pgid: number): Promise<void> {
  signalGroup(pgid, 'SIGTERM');
  if (await waitGroupGone(pgid, KILL_GRACE_MS)) return;
  signalGroup(pgid, 'SIGKILL');
  await waitGroupGone(pgid, 2000);
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

function waitGroupGone(pgid: number, ms: number): Promise<boolean> {
  return pollUntil(() => !groupAlive(pgid), ms, 25);
}

/** Whether `done()` holds within `ms`, checked every `everyMs`. */
async function pollUntil(done: () => boolean, ms: number, everyMs: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (!done()) {
    if (Date.now() >= until) return false;
    await delay(everyMs);
  }
  return true;
}

/**
 * Whether any live process is in the group (other than those running
 * `exceptCommand`). Zombies (dead, not yet reaped by
 * their new parent) count as gone: they hold no resources and cannot run.
 */
function groupAlive(pgid: number, exceptCommand?: string): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (process.platform !== 'linux') return true;
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return true;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // "pid (comm) state ppid pgrp …"; comm may contain spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (exceptCommand !== undefined && stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) === exceptCommand) continue;
    if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') return true;
  }
  return false;
}

// ---------------------------------------------------------------------------
// Outputs

/**
 * Reads the outputs file without following a symlink: the command can replace
 * it, and must not make the worker read (and echo back) a file it cannot see.
 */
function readOutputs(file: string): Record<string, string> {
  // Synchronous: a small file, and each awaited call would be a thread-pool round trip on the stage's path.
  let fd: number;
  try {
    fd = openSync(file, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw new StageFailure('$PIPEWRIGHT_OUTPUT was replaced by a symlink; append to the file instead');
    throw err;
  }
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) throw new StageFailure('$PIPEWRIGHT_OUTPUT is no longer a regular file; append to it instead');
    // The file also holds names, `=` and delimiters; allow some slack before reading it at all.
    if (info.size > MAX_OUTPUTS_BYTES * 2) throw outputsTooLarge();
    return parseOutputs(readFileSync(fd, 'utf8'));
  } finally {
    closeSync(fd);
  }
}

function outputsTooLarge() {
  return new StageFailure(
    `outputs are larger than ${MAX_OUTPUTS_BYTES / 1024} KiB; write large results to a file and output its path instead`,
  );
}

/** Parses the `PIPEWRIGHT_OUTPUT` file (`name=value` lines and `name<<DELIM` blocks). */
export function parseOutputs(text: string): Record<string, string> {
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (lines.at(-1) === '') lines.pop();
  const outputs: Record<string, string> = {};
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const eq = line.indexOf('=');
    const heredoc = line.indexOf('<<');
    let name: string;
    let value: string;
    if (heredoc > 0 && (eq < 0 || heredoc < eq)) {
      name = line.slice(0, heredoc);
      const delimiter = line.slice(heredoc + 2);
      if (delimiter === '') throw new StageFailure(`outputs file line ${i + 1}: missing delimiter after "<<"`);
      const body: string[] = [];
      const start = i;
      for (i++; i < lines.length && lines[i] !== delimiter; i++) body.push(lines[i]!);
      if (i >= lines.length) {
        throw new StageFailure(`outputs file line ${start + 1}: delimiter "${delimiter}" for output "${name}" never appears`);
      }
      value = body.join('\n');
    } else if (eq > 0) {
      name = line.slice(0, eq);
      value = line.slice(eq + 1);
    } else {
      throw new StageFailure(`outputs file line ${i + 1}: expected "name=value" or "name<<DELIMITER"`);
    }
    if (!OUTPUT_NAME.test(name)) throw new StageFailure(`outputs file line ${i + 1}: "${name}" is not a valid output name`);
    outputs[name] = value;
  }
  let size = 0;
  for (const [name, value] of Object.entries(outputs)) size += Buffer.byteLength(name) + Buffer.byteLength(value);
  if (size > MAX_OUTPUTS_BYTES) throw outputsTooLarge();
  return outputs;
}

// ---------------------------------------------------------------------------
// Small helpers

function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw abortReason(signal);
}

function abortReason(signal: AbortSignal): unknown {
  if (signal.reason !== undefined) return signal.reason;
  const err = new Error('the stage was cancelled');
  err.name = 'AbortError';
  return err;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function trimNumber(n: number): string {
  return String(Math.round(n * 10) / 10);
}

function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

