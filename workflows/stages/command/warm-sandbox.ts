/**
 * Pre-started sandboxes (Node only): after a sandboxed command, the executor
 * starts the next stage's sandbox for the same run's workspace in the
 * background, so the next command of that run does not wait for bubblewrap to
 * build its namespaces and mounts (15 ms at rest, 30–50 ms on a busy machine;
 * most of what a short stage costs on the runner).
 *
 * 1. A warm sandbox is bwrap with exactly the mounts a command of that
 *    workspace gets (`sandboxArgs`), plus its own fresh outputs folder, running
 *    a small Perl stub that waits on a pipe. It holds nothing of any stage:
 *    no command, no environment (bwrap and the stub start with an empty one),
 *    no secret. Debian's `perl` (essential, always in /usr) runs the stub;
 *    without it every command starts cold.
 * 2. A stage takes it only when its sandbox would be identical: the same
 *    bwrap arguments (workspace, shared folders, hidden files, outputs folder)
 *    and the same workspace folder (held open since: a workspace removed and
 *    made again is a different folder, which the warm sandbox cannot see).
 *    Anything else, and a sandbox that died meanwhile, is discarded and the
 *    stage starts cold, exactly as before.
 * 3. The hand-off writes the working directory, the command and the
 *    environment to the pipe as NUL-separated fields and closes it; the stub
 *    clears its environment, sets the given one, points stdin at /dev/null,
 *    changes directory and `exec`s `/bin/sh -c <command>`. Values never pass
 *    through a shell's parser and never appear on a command line (which any
 *    user of the host can read in /proc); a field with a NUL byte (which no
 *    environment can hold) makes the stage start cold, where spawn refuses it.
 * 4. One sandbox is kept warm per run's workspace, for up to `WARM_MAX` runs
 *    (a runner running several runs at once; more runs than that start cold);
 *    idle for `WARM_IDLE_MS` it is closed. When the runner dies, the pipe closes, the stub reads
 *    end-of-file and exits.
 * 5. `PIPEWRIGHT_SANDBOX_PRESTART=false` turns it off.
 */
import { closeSync, constants as fsConstants, fstatSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { findBwrap, isFile, sandboxArgs, startProcess, type SandboxProcess, type SandboxSpec } from './sandbox';

/** The variable that turns pre-started sandboxes off (`false` or `0`). */
export const PRESTART_VAR = 'PIPEWRIGHT_SANDBOX_PRESTART';

/** How long a warm sandbox waits for a command before it is closed. */
export const WARM_IDLE_MS = 15_000;
/**
 * How many wait at most (one per run's workspace; when all are taken, further runs start cold). Each is
 * three small idle processes (bwrap, its init, perl: ≈ 4.3 MB of memory of their own together).
 */
export const WARM_MAX = 32;

const PERL = '/usr/bin/perl';

/**
 * The stub: reads `cwd\0command\0NAME=value\0…` until end-of-file, then runs the
 * command as a cold sandbox would. End-of-file with nothing read (the sandbox was
 * discarded) exits quietly. Exit 126 with a message when it cannot hand over.
 */
const STUB = [
  'binmode STDIN; local $/; my $in = <STDIN>; exit 0 unless defined $in && length $in;',
  'my @f = split /\\0/, $in, -1; pop @f if @f && $f[-1] eq "";',
  'if (@f < 2) { print STDERR "pipewright sandbox: incomplete hand-off\\n"; exit 126 }',
  'my ($cwd, $cmd) = splice @f, 0, 2; %ENV = ();',
  'for (@f) { my ($k, $v) = split /=/, $_, 2; $ENV{$k} = $v if defined $v && length $k }',
  'open STDIN, "<", "/dev/null" or do { print STDERR "pipewright sandbox: stdin: $!\\n"; exit 126 };',
  'chdir $cwd or do { print STDERR "pipewright sandbox: cd $cwd: $!\\n"; exit 126 };',
  'exec { "/bin/sh" } "sh", "-c", $cmd; print STDERR "pipewright sandbox: /bin/sh: $!\\n"; exit 126;',
].join(' ');

export type WarmSandbox = SandboxProcess & {
  /** The outputs folder bound into it (the stage writes `outputs` there). */
  outputDir: string;
  /** Hands the command over; the sandbox runs it at once. */
  start(command: string, cwd: string, env: Record<string, string>): void;
  /** Closes it unused (its outputs folder stays, for the caller to remove). */
  discard(): void;
};

type Slot = SandboxProcess & {
  key: string;
  workspace: string;
  /** The workspace folder, held open (see sameFolder). */
  workspaceFd: number;
  outputDir: string;
  idle: NodeJS.Timeout;
};

/** Warm sandboxes by workspace. */
const pool = new Map<string, Slot>();
let perlPresent: boolean | undefined;
const counts = { prestarted: 0, handedOver: 0, discarded: 0 };

/** How many sandboxes this process pre-started, handed a command, and closed unused (what the tests observe). */
export function warmSandboxCounts(): Readonly<typeof counts> {
  return { ...counts };
}

/** The bwrap pid of the sandbox waiting for `workspace`'s next command, if one is. */
export function warmSandbox(workspace: string): { pid: number | undefined } | undefined {
  const s = pool.get(workspace);
  return s ? { pid: s.child.pid } : undefined;
}

/** Whether sandboxes may be pre-started in this environment. */
export function prestartEnabled(env: Readonly<Record<string, string | undefined>>): boolean {
  const v = env[PRESTART_VAR];
  if (v === 'false' || v === '0') return false;
  perlPresent ??= isFile(PERL);
  return perlPresent && findBwrap() !== undefined;
}

/**
 * Whether `dir` is still the folder open as `fd`: not removed (a removed folder has no links, and its
 * mounts in other namespaces are dropped), and the path not taken by another folder since. Holding
 * the folder open keeps its inode number from being given to a new folder made at the same path.
 */
function sameFolder(fd: number, dir: string): boolean {
  try {
    const held = fstatSync(fd);
    const now = statSync(dir);
    return held.nlink > 0 && now.isDirectory() && held.dev === now.dev && held.ino === now.ino;
  } catch {
    return false;
  }
}

/** The key two sandboxes must share to be interchangeable: their bwrap arguments (working directory at the workspace). */
function keyOf(spec: SandboxSpec, outputDir: string): string {
  return sandboxArgs({ ...spec, writable: [outputDir], cwd: spec.workspace }).join('\0');
}

/**
 * The warm sandbox for `spec` if there is one that is exactly what a cold start
 * would give (see 2. above), taken out of the pool; otherwise undefined (and a
 * mismatching one is closed).
 */
export function takeWarmSandbox(spec: SandboxSpec): WarmSandbox | undefined {
  const s = pool.get(spec.workspace);
  if (!s) return undefined;
  pool.delete(spec.workspace);
  clearTimeout(s.idle);
  const alive = s.child.exitCode === null && s.child.signalCode === null && !s.child.killed;
  let same = false;
  try {
    same = alive && sameFolder(s.workspaceFd, spec.workspace) && keyOf(spec, s.outputDir) === s.key;
  } catch {
    same = false;
  }
  if (!same) {
    close(s);
    return undefined;
  }
  closeFd(s);
  for (const stream of [s.child.stdin, s.child.stdout, s.child.stderr]) (stream as { ref?: () => void } | null)?.ref?.();
  s.child.ref();
  return {
    child: s.child,
    initPid: s.initPid,
    exited: s.exited,
    closed: s.closed,
    outputDir: s.outputDir,
    start(command, cwd, env) {
      counts.handedOver++;
      const fields = [cwd, command, ...Object.entries(env).map(([k, v]) => `${k}=${v}`)];
      s.child.stdin!.on('error', () => undefined);
      s.child.stdin!.end(Buffer.from(`${fields.join('\0')}\0`, 'utf8'));
    },
    discard: () => close(s, { keepOutputs: true }),
  };
}

/** Whether a command and its environment can go through the hand-off (no NUL bytes, names without `=`). */
export function handOffPossible(command: string, cwd: string, env: Record<string, string>): boolean {
  if (command.includes('\0') || cwd.includes('\0')) return false;
  for (const [k, v] of Object.entries(env)) {
    if (k === '' || k.includes('=') || k.includes('\0') || v.includes('\0')) return false;
  }
  return true;
}

/**
 * Starts a sandbox for the next command of `spec.workspace` in the background,
 * replacing any warm one. Does nothing when pre-starting is off or bwrap fails
 * to start (the next command then starts cold).
 */
export function prestartSandbox(spec: SandboxSpec): void {
  if (!prestartEnabled(spec.env ?? {})) return;
  discardWarmSandbox(spec.workspace);
  // Full: the waiting ones stay (closing one for another would waste both when more runs take turns than fit).
  if (pool.size >= WARM_MAX) return;
  let outputDir: string | undefined;
  let workspaceFd: number | undefined;
  try {
    workspaceFd = openSync(spec.workspace, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
    outputDir = mkdtempSync(path.join(tmpdir(), 'pipewright-output-'));
    writeFileSync(path.join(outputDir, 'outputs'), '', { mode: 0o600 });
    const key = keyOf(spec, outputDir);
    const args = [...key.split('\0'), '--info-fd', '3', PERL, '-e', STUB];
    const started = startProcess(findBwrap()!, args, { env: {}, stdin: 'pipe', info: true });
    const { child } = started;
    child.stdin!.on('error', () => undefined);
    // A warm sandbox keeps neither the runner process nor its event loop alive.
    child.unref();
    for (const stream of [child.stdin, child.stdout, child.stderr, child.stdio[3]]) (stream as { unref?: () => void } | null)?.unref?.();
    const s: Slot = {
      ...started,
      key,
      workspace: spec.workspace,
      workspaceFd,
      outputDir,
      idle: setTimeout(() => {
        if (pool.get(s.workspace) === s) discardWarmSandbox(s.workspace);
      }, WARM_IDLE_MS),
    };
    s.idle.unref();
    pool.set(spec.workspace, s);
    counts.prestarted++;
    // Died before it was needed (bwrap refused, killed): forget it.
    void started.exited.then(() => {
      if (pool.get(s.workspace) === s) discardWarmSandbox(s.workspace);
    });
  } catch {
    if (outputDir) rmSync(outputDir, { recursive: true, force: true });
    if (workspaceFd !== undefined) closeSync(workspaceFd);
  }
}

/** Closes the warm sandbox of `workspace` (or all of them), if any: its stub reads end-of-file and exits; its outputs folder is removed. */
export function discardWarmSandbox(workspace?: string): void {
  for (const s of workspace === undefined ? [...pool.values()] : [pool.get(workspace)]) {
    if (!s) continue;
    pool.delete(s.workspace);
    close(s);
  }
}

function closeFd(s: Slot): void {
  if (s.workspaceFd < 0) return;
  try {
    closeSync(s.workspaceFd);
  } catch {
    // already closed
  }
  s.workspaceFd = -1;
}

function close(s: Slot, o: { keepOutputs?: boolean } = {}): void {
  clearTimeout(s.idle);
  closeFd(s);
  counts.discarded++;
  s.child.stdin?.end();
  // The stub exits at end-of-file; should it not (stopped), the group goes with it.
  const kill = setTimeout(() => {
    try {
      if (s.child.pid) process.kill(-s.child.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }, 2000);
  kill.unref();
  void s.exited.then(() => clearTimeout(kill));
  if (!o.keepOutputs) rmSync(s.outputDir, { recursive: true, force: true });
}

