/**
 * Executor of the `command` stage (Node only): runs `/bin/sh -c <command>` in
 * its own process group and reports its output, exit status and outputs.
 *
 * 1. The process gets a small allow-listed environment (never the worker's
 *    whole environment, which holds secrets), plus `config.env` and the
 *    `PIPEWRIGHT_*` variables.
 * 2. On timeout or cancellation the whole process group is stopped (SIGTERM,
 *    then SIGKILL after a grace period); background processes the command left
 *    running after it exits are stopped the same way, so nothing outlives the
 *    stage.
 * 3. Outputs are read from the file named by `PIPEWRIGHT_OUTPUT`: `name=value`
 *    lines and GitHub-style `name<<DELIM` … `DELIM` blocks.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { artifactOutputNames } from '../../model/template';
import type { CommandConfig } from './definition';
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
  const cwd = await resolveCwd(config.cwd, ctx);
  await placeInputs(config, cwd, ctx);
  const outputDir = await mkdtemp(path.join(tmpdir(), 'pipewright-output-'));
  const outputFile = path.join(outputDir, 'outputs');
  try {
    await writeFile(outputFile, '', { mode: 0o600 });
    const env = buildEnv(config, ctx, outputFile);
    const started = Date.now();
    const end = await runProcess(config.command, cwd, env, ctx);
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
      throw new StageFailure(`could not start the command: ${end.error.message}`);
    }
    if (end.leftovers) {
      ctx.log.write('system', 'stopped background processes the command left running\n');
    }
    if (end.code !== 0) {
      // Outputs written before the failure are still useful (e.g. a report path).
      const outputs = await readOutputs(outputFile).catch(() => ({}));
      const msg = end.code === null ? `killed by signal ${end.signal ?? 'unknown'}` : `exited with code ${end.code}`;
      throw new StageFailure(msg, 'StageFailed', outputs);
    }
    const outputs = await readOutputs(outputFile);
    const stored = await storeArtifacts(config, cwd, ctx);
    Object.assign(outputs, stored.outputs);
    return { outputs, summary: `exited 0 in ${took}${stored.count > 0 ? `; stored ${stored.count} artifact${stored.count === 1 ? '' : 's'}` : ''}` };
  } finally {
    await rm(outputDir, { recursive: true, force: true }).catch(() => {});
  }
}

// ---------------------------------------------------------------------------
// Working directory and environment

async function resolveCwd(cwd: string | undefined, ctx: ExecutorContext): Promise<string> {
  if (cwd && path.isAbsolute(cwd)) {
    const info = await stat(cwd).catch(() => undefined);
    if (!info?.isDirectory()) throw new StageFailure(`working directory ${cwd} does not exist`, 'InvalidConfig');
    return cwd;
  }
  const root = path.resolve(ctx.workspaceDir, ctx.runId);
  const resolved = path.resolve(root, cwd ?? '.');
  const rel = path.relative(root, resolved);
  if (rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) {
    throw new StageFailure(`working directory "${cwd}" is outside the run's workspace`, 'InvalidConfig');
  }
  await mkdir(resolved, { recursive: true });
  return resolved;
}

function buildEnv(config: CommandConfig, ctx: ExecutorContext, outputFile: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ENV_ALLOW_LIST) {
    const value = ctx.env[name];
    if (value !== undefined) env[name] = value;
  }
  env.PATH ??= DEFAULT_PATH;
  Object.assign(env, config.env);
  env.PIPEWRIGHT_RUN_ID = ctx.runId;
  env.PIPEWRIGHT_STAGE_ID = ctx.nodeId;
  env.PIPEWRIGHT_ATTEMPT = String(ctx.attempt);
  env.PIPEWRIGHT_OUTPUT = outputFile;
  return env;
}

// ---------------------------------------------------------------------------
// Artifacts

/** `rel` inside `dir`, or a StageFailure (an artifact path may not leave the working directory). */
function inside(dir: string, rel: string, what: string): string {
  const resolved = path.resolve(dir, rel);
  const r = path.relative(dir, resolved);
  if (r === '' || r === '..' || r.startsWith(`..${path.sep}`) || path.isAbsolute(r)) {
    throw new StageFailure(`${what} "${rel}" must be a file inside the working directory`, 'InvalidConfig');
  }
  return resolved;
}

function needStore(ctx: ExecutorContext) {
  if (!ctx.artifacts) throw new StageFailure('this worker has no artifact store', 'InvalidConfig');
  return ctx.artifacts;
}

/** Places the artifacts the stage asks for, each checked against its sha256 digest, before the command runs. */
async function placeInputs(config: CommandConfig, cwd: string, ctx: ExecutorContext) {
  const inputs = config.inputs ?? [];
  if (inputs.length === 0) return;
  const store = needStore(ctx);
  for (const input of inputs) {
    const dest = inside(cwd, input.path, 'input path');
    const got = await store.materialise(input.artifact.trim(), dest);
    ctx.log.write('system', `artifact ${got.stage}.${got.name} → ${input.path} (${got.size} bytes, ${got.digest} verified)\n`);
  }
}

/** Stores the files the stage declares (once per digest) and returns them as outputs. */
async function storeArtifacts(config: CommandConfig, cwd: string, ctx: ExecutorContext) {
  const declared = config.artifacts ?? [];
  const outputs: Record<string, string> = {};
  if (declared.length === 0) return { outputs, count: 0 };
  const store = needStore(ctx);
  for (const a of declared) {
    const file = inside(cwd, a.path, `artifact "${a.name}" path`);
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) throw new StageFailure(`artifact "${a.name}": the command produced no file ${a.path}`);
    const stored = await store.publish(a.name, file);
    const names = artifactOutputNames(a.name);
    outputs[names.digest] = stored.digest;
    outputs[names.size] = String(stored.size);
    ctx.log.write('system', `stored artifact ${a.name}: ${a.path} (${stored.size} bytes, ${stored.digest}${stored.written ? '' : ', already in the store'})\n`);
  }
  return { outputs, count: declared.length };
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
): Promise<ProcessEnd> {
  const child = spawn('/bin/sh', ['-c', command], { cwd, env: env as NodeJS.ProcessEnv, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });

  // setEncoding decodes UTF-8 safely across chunk boundaries.
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (text: string) => ctx.log.write('stdout', text));
  child.stderr.on('data', (text: string) => ctx.log.write('stderr', text));

  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const exited = new Promise<ProcessEnd>((resolve) => {
    child.once('exit', (code, signal) => resolve({ reason: 'exit', code, signal, leftovers: false }));
    child.once('error', (error) => resolve({ reason: 'spawn-error', error }));
  });

  const pgid = child.pid;
  if (pgid === undefined) {
    // Spawning failed synchronously; the 'error' event carries the reason.
    return exited;
  }
  const registration = registerGroup(ctx.workspaceDir, pgid, ctx);

  let stopReason: 'timeout' | 'aborted' | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (reason: 'timeout' | 'aborted') => {
    if (stopping) return;
    stopReason = reason;
    stopping = terminateGroup(pgid);
  };

  const heartbeat = () => ctx.heartbeat({ logOffset: ctx.log.offset });
  heartbeat();
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
    // The shell is gone; anything still in its group was left behind by it (`cmd &`).
    if (!stopping && groupAlive(pgid)) {
      if (end.reason === 'exit') end.leftovers = true;
      stopping = terminateGroup(pgid);
    }
    await stopping;
    // Read everything the processes wrote; a process that escaped the group
    // (setsid) may still hold the pipes, so do not wait for it forever.
    await Promise.race([closed, delay(STDIO_CLOSE_CAP_MS)]);
    child.stdout.destroy();
    child.stderr.destroy();
    return stopReason ? { reason: stopReason } : end;
  } finally {
    stopTimers();
    // Never leave processes behind, whatever went wrong above.
    if (groupAlive(pgid)) await terminateGroup(pgid);
    await registration.then((file) => (file ? rm(file, { force: true }) : undefined)).catch(() => undefined);
  }
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

async function waitGroupGone(pgid: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (groupAlive(pgid)) {
    if (Date.now() >= until) return false;
    await delay(25);
  }
  return true;
}

/**
 * Whether any live process is in the group. Zombies (dead, not yet reaped by
 * their new parent) count as gone: they hold no resources and cannot run.
 */
function groupAlive(pgid: number): boolean {
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
    if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') return true;
  }
  return false;
}

// ---------------------------------------------------------------------------
// Outputs

async function readOutputs(file: string): Promise<Record<string, string>> {
  const info = await stat(file).catch(() => undefined);
  if (!info) return {};
  // The file also holds names, `=` and delimiters; allow some slack before reading it at all.
  if (info.size > MAX_OUTPUTS_BYTES * 2) throw outputsTooLarge();
  return parseOutputs(await readFile(file, 'utf8'));
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

