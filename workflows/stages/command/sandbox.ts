/**
 * The sandbox of command stages (Node only): every command runs inside
 * bubblewrap (`bwrap`, Debian package `bubblewrap`), so a pipeline author's
 * shell cannot read what the worker can (the data directory with its keys and
 * database, the checkout, other runs' workspaces, the worker's `/proc`).
 *
 * 1. What the command sees: the system read-only (`/usr`, the `/bin`, `/lib*`,
 *    `/sbin` links or folders as the host has them, `/etc` with password
 *    hashes, host keys and Pipewright's own config masked), its run's
 *    workspace read-write at its real path (so paths in logs, outputs and
 *    artifacts mean the same inside and out), the stage's outputs folder, a
 *    private `/tmp`, its own `/proc` and a minimal `/dev`. Nothing else of the
 *    host's filesystem exists inside; `/` itself is read-only.
 * 2. Who it is: an unprivileged user (uid 1000 when the worker is root, else
 *    the worker's own uid) in a new user namespace, with every capability
 *    dropped and no nested user namespaces, so it cannot mount, remount or
 *    unshare its way out. Files it writes belong to the worker's user on the host.
 * 3. Namespaces: PID (its `/proc` shows only its own processes), IPC, UTS and
 *    cgroup are new; the network is shared (builds fetch dependencies).
 * 4. Process control stays with the executor: bwrap is started in the
 *    executor's process group and no `--new-session` is used, so the group
 *    signal reaches every process; the namespace's init (bwrap) stays in the
 *    group while anything inside is alive, and when it is killed the kernel
 *    kills everything in the namespace, even processes that left the group.
 * 5. `PIPEWRIGHT_SANDBOX_SHARED_DIRS` adds folders an operator chooses (a
 *    shared package cache) read-write; never one that holds the data directory.
 * 6. Without a working sandbox the worker refuses to start
 *    (`assertSandboxAtStartup`) unless `PIPEWRIGHT_UNSAFE_NO_SANDBOX=true`,
 *    which is then announced on every start and in the app.
 * 7. The next command's sandbox is started ahead of it, with exactly these
 *    mounts and nothing of any stage until the command is handed over
 *    (./warm-sandbox.ts).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readlinkSync, realpathSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';

/** The variable that lets commands run without the sandbox (never on a shared instance). */
export const UNSAFE_NO_SANDBOX_VAR = 'PIPEWRIGHT_UNSAFE_NO_SANDBOX';

/** What to tell a person whose machine has no working sandbox. */
export const SANDBOX_INSTALL_HINT =
  'Install bubblewrap (Debian/Ubuntu: `apt-get install bubblewrap`; Fedora: `dnf install bubblewrap`). ' +
  `Only on a machine where every pipeline author is trusted with the worker's secrets, ${UNSAFE_NO_SANDBOX_VAR}=true runs commands without it.`;

/** Printed on every start and shown in the app while the sandbox is off. */
export const UNSAFE_WARNING =
  `${UNSAFE_NO_SANDBOX_VAR} is set: command stages run WITHOUT a sandbox and can read the data directory ` +
  '(encryption keys, sessions, the database) and everything else the worker can. Use it only where every pipeline author is trusted.';

/** Whether the sandbox is switched off (`PIPEWRIGHT_UNSAFE_NO_SANDBOX=true` or `1`). */
export function sandboxDisabled(env: Readonly<Record<string, string | undefined>>): boolean {
  const v = env[UNSAFE_NO_SANDBOX_VAR];
  return v === 'true' || v === '1';
}

/**
 * The folders of `PIPEWRIGHT_SANDBOX_SHARED_DIRS` (real paths); a SandboxUnavailable when one
 * is not an absolute path to an existing folder, or would expose the data directory.
 */
export function sharedDirs(env: Readonly<Record<string, string | undefined>>): string[] {
  const list = (env.PIPEWRIGHT_SANDBOX_SHARED_DIRS ?? '').split(':').filter((d) => d.trim() !== '');
  const data = safeRealpath(path.resolve(env.PIPEWRIGHT_DATA_DIR ?? 'data')) ?? path.resolve(env.PIPEWRIGHT_DATA_DIR ?? 'data');
  return list.map((dir) => {
    const real = path.isAbsolute(dir) ? safeRealpath(dir) : undefined;
    if (!real || !isDir(real)) throw new SandboxUnavailable(`PIPEWRIGHT_SANDBOX_SHARED_DIRS: ${dir} is not an absolute path to an existing folder`);
    const overlaps = (a: string, b: string) => a === b || a.startsWith(`${b}/`) || b === '/';
    if (overlaps(real, data) || overlaps(data, real)) {
      throw new SandboxUnavailable(`PIPEWRIGHT_SANDBOX_SHARED_DIRS: ${dir} would show command stages the data directory (${data})`);
    }
    return real;
  });
}

/** Unprivileged user the command runs as when the worker is root. */
const SANDBOX_UID = 1000;

/** Files of `/etc` a command has no business reading (hidden behind an unreadable device node). */
const MASKED_ETC_FILES = ['shadow', 'shadow-', 'gshadow', 'gshadow-', 'sudoers'];
/** Folders of `/etc` replaced by an empty one: private TLS keys, Pipewright's own configuration. */
const MASKED_ETC_DIRS = ['ssl/private', 'pipewright', 'sudoers.d'];

export type SandboxSpec = {
  /** The run's workspace (bound read-write at its real path). */
  workspace: string;
  /** Further folders the command may write (the outputs folder); bound at their real paths. */
  writable?: string[];
  /** Working directory, inside `workspace`. */
  cwd: string;
  /** The worker's environment, for `PIPEWRIGHT_SANDBOX_SHARED_DIRS`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Secret files of the worker to hide should they lie in the system folders (e.g. a TLS key under /etc). */
  hide?: (string | undefined)[];
};

let bwrapPath: string | undefined;

/** Absolute path of `bwrap`: the system's first (not one a checkout's PATH entry could shadow), else on PATH; or undefined. */
export function findBwrap(): string | undefined {
  if (bwrapPath && existsSync(bwrapPath)) return bwrapPath;
  const dirs = ['/usr/bin', '/usr/local/bin', '/bin', ...(process.env.PATH ?? '').split(':')];
  for (const dir of dirs) {
    if (!path.isAbsolute(dir)) continue;
    const candidate = path.join(dir, 'bwrap');
    try {
      if (statSync(candidate).isFile()) return (bwrapPath = candidate);
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The `bwrap` arguments (before the command) for one command. */
export function sandboxArgs(spec: SandboxSpec): string[] {
  const uid = process.getuid?.() ?? SANDBOX_UID;
  const gid = process.getgid?.() ?? SANDBOX_UID;
  const args = [
    '--unshare-user',
    '--uid', String(uid === 0 ? SANDBOX_UID : uid),
    '--gid', String(uid === 0 ? SANDBOX_UID : gid),
    '--disable-userns',
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-cgroup-try',
    '--cap-drop', 'ALL',
    '--hostname', 'pipewright-sandbox',
  ];
  args.push(...systemMounts());
  args.push(...etcMounts(spec.hide ?? []));
  args.push('--tmpfs', '/tmp', '--tmpfs', '/var/tmp', '--proc', '/proc', '--dev', '/dev');
  // After /tmp: a workspace or outputs folder under the host's /tmp is bound into the private one.
  for (const dir of [spec.workspace, ...(spec.writable ?? [])]) {
    const real = realpathSync(dir);
    args.push('--bind', real, real);
  }
  for (const dir of sharedDirs(spec.env ?? {})) args.push('--bind', dir, dir);
  args.push('--remount-ro', '/', '--chdir', realpathSync(spec.cwd));
  return args;
}

/** `/usr` read-only, and `/bin`, `/sbin`, `/lib*` as the host has them (links into /usr, or folders). */
function systemMounts(): string[] {
  const args = ['--ro-bind', '/usr', '/usr'];
  let top: string[];
  try {
    top = readdirSync('/');
  } catch {
    top = [];
  }
  for (const name of top) {
    if (!['bin', 'sbin'].includes(name) && !/^lib(32|64|x32)?$/.test(name)) continue;
    const p = `/${name}`;
    const info = lstatSync(p);
    if (info.isSymbolicLink()) args.push('--symlink', readlinkSync(p), p);
    else if (info.isDirectory()) args.push('--ro-bind', p, p);
  }
  // Node installed outside /usr (a tarball under /opt, nvm): its install folder, read-only.
  const node = realpathSync(process.execPath);
  if (!node.startsWith('/usr/')) {
    const prefix = path.dirname(path.dirname(node));
    if (prefix !== '/' && !isSensitiveRoot(prefix)) args.push('--ro-bind', prefix, prefix);
  }
  return args;
}

/** A folder that must never be bound whole (it holds far more than one program). */
function isSensitiveRoot(dir: string): boolean {
  return ['/', '/root', '/home', '/opt', '/var', '/srv', '/tmp', '/etc'].includes(dir) || dir === process.cwd();
}

/** `/etc` read-only with secrets masked; a resolv.conf that points elsewhere (systemd-resolved) is bound too. */
function etcMounts(hide: (string | undefined)[]): string[] {
  const args = ['--ro-bind', '/etc', '/etc'];
  for (const name of MASKED_ETC_FILES) {
    if (isFile(`/etc/${name}`)) args.push('--ro-bind', '/dev/null', `/etc/${name}`);
  }
  for (const name of safeReaddir('/etc/ssh')) {
    if (/^ssh_host_.*_key$/.test(name)) args.push('--ro-bind', '/dev/null', `/etc/ssh/${name}`);
  }
  for (const name of MASKED_ETC_DIRS) {
    if (isDir(`/etc/${name}`)) args.push('--tmpfs', `/etc/${name}`);
  }
  for (const file of hide) {
    if (!file || !path.isAbsolute(file)) continue;
    const real = safeRealpath(file);
    if (real && (real.startsWith('/etc/') || real.startsWith('/usr/')) && isFile(real)) args.push('--ro-bind', '/dev/null', real);
  }
  const resolv = safeRealpath('/etc/resolv.conf');
  if (resolv && !resolv.startsWith('/etc/') && !resolv.startsWith('/usr/') && isFile(resolv)) args.push('--ro-bind', resolv, resolv);
  return args;
}

/**
 * The program and arguments that run `/bin/sh -c <command>` in the sandbox.
 * With `infoFd`, bwrap writes `{"child-pid": N, …}` to that file descriptor as
 * the sandbox starts: N is the host pid of the namespace's init, whose end
 * means nothing is left inside (the executor checks that one process instead
 * of scanning every process of the machine). bwrap closes it before the command runs.
 */
export function sandboxedShell(command: string, spec: SandboxSpec, opts: { infoFd?: number } = {}): { file: string; args: string[] } {
  const bwrap = findBwrap();
  if (!bwrap) throw new SandboxUnavailable(`bwrap was not found on PATH. ${SANDBOX_INSTALL_HINT}`);
  const info = opts.infoFd === undefined ? [] : ['--info-fd', String(opts.infoFd)];
  return { file: bwrap, args: [...sandboxArgs(spec), ...info, '/bin/sh', '-c', command] };
}

/** The namespace init's pid from what bwrap wrote to its info fd (undefined when absent or unreadable). */
export function sandboxInitPid(info: string): number | undefined {
  const match = /"child-pid"\s*:\s*(\d+)/.exec(info.slice(0, 4096));
  const pid = match ? Number(match[1]) : NaN;
  return Number.isSafeInteger(pid) && pid > 1 ? pid : undefined;
}

/** A command's process as the executor follows it, whether bwrap started it just now or ahead of time (./warm-sandbox.ts). */
export type SandboxProcess = {
  child: ChildProcess;
  /** The namespace init's host pid (from bwrap's info pipe; undefined without one). */
  initPid: Promise<number | undefined>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null } | { error: Error }>;
  closed: Promise<void>;
};

/**
 * Spawns `file` in a new process group (and session) it leads, which timeouts and cancellation kill whole, with
 * stdout and stderr piped; with `info`, bwrap's info pipe on fd 3 (`--info-fd 3` among its arguments).
 */
export function startProcess(file: string, args: string[], o: { env: Record<string, string>; cwd?: string; stdin: 'ignore' | 'pipe'; info: boolean }): SandboxProcess {
  const child = spawn(file, args, {
    cwd: o.cwd,
    env: o.env as NodeJS.ProcessEnv,
    detached: true,
    stdio: o.info ? [o.stdin, 'pipe', 'pipe', 'pipe'] : [o.stdin, 'pipe', 'pipe'],
  });
  const initPid = o.info ? readSandboxInfo(child.stdio[3] as Readable | null) : Promise.resolve(undefined);
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null } | { error: Error }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', (error) => resolve({ error }));
  });
  return { child, initPid, exited, closed };
}

/** The pid bwrap reports on its info pipe (read until bwrap closes it, which it does before the program runs). */
function readSandboxInfo(stream: Readable | null): Promise<number | undefined> {
  if (!stream) return Promise.resolve(undefined);
  let text = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    if (text.length < 4096) text += chunk;
  });
  return new Promise((resolve) => {
    stream.once('close', () => resolve(sandboxInitPid(text)));
    stream.once('error', () => resolve(undefined));
  });
}

export class SandboxUnavailable extends Error {
  override name = 'SandboxUnavailable';
}

/**
 * Runs `true` in a sandbox like a command's once: undefined when it works, else
 * why not (bwrap missing, user namespaces disabled, …).
 */
export async function probeSandbox(): Promise<string | undefined> {
  const bwrap = findBwrap();
  if (!bwrap) return 'bwrap (bubblewrap) is not installed or not on PATH';
  const dir = mkdtempSync(path.join(tmpdir(), 'pipewright-sandbox-check-'));
  try {
    // The same mounts as a command's; the workspace must be writable inside.
    const args = [...sandboxArgs({ workspace: dir, cwd: dir }), '/bin/sh', '-c', 'test -w .'];
    const env: Record<string, string> = { PATH: '/usr/bin:/bin' };
    return await new Promise<string | undefined>((resolve) => {
      execFile(bwrap, args, { timeout: 15_000, env: env as NodeJS.ProcessEnv }, (err, _stdout, stderr) => {
        if (!err) return resolve(undefined);
        const detail = stderr.trim().split('\n').slice(-2).join(' ') || err.message;
        resolve(`${bwrap} could not start a sandbox: ${detail}`);
      });
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The worker's start-up check. Throws (with how to fix it) when commands could
 * not run sandboxed and the unsafe override is not set; returns the warning to
 * print when the override is set, or undefined when all is well.
 */
export async function assertSandboxAtStartup(env: Readonly<Record<string, string | undefined>>): Promise<string | undefined> {
  if (sandboxDisabled(env)) return UNSAFE_WARNING;
  sharedDirs(env);
  const problem = await probeSandbox();
  if (problem) {
    throw new SandboxUnavailable(`Command stages must run in a sandbox, and none is available here: ${problem}.\n${SANDBOX_INSTALL_HINT}`);
  }
  return undefined;
}

export function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function safeReaddir(p: string): string[] {
  try {
    return readdirSync(p);
  } catch {
    return [];
  }
}

function safeRealpath(p: string): string | undefined {
  try {
    return realpathSync(p);
  } catch {
    return undefined;
  }
}
