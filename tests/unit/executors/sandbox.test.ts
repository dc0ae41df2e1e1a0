/**
 * Escape attempts from a command stage, each on its own, against the real
 * executor, real processes and the real bubblewrap sandbox. The layout is the
 * production one: `<data>/secret-key`, `<data>/auth-secret`,
 * `<data>/pipewright.db(-wal)`, `<data>/workspaces/<run>`; this test process
 * plays the control plane.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDiskStore, materialise, storeFile } from '@/server/artifacts/store';
import { commandStage } from '@/workflows/stages/command/definition';
import { executeCommand } from '@/workflows/stages/command/executor';
import { assertSandboxAtStartup, sandboxedShell, sandboxInitPid, UNSAFE_WARNING } from '@/workflows/stages/command/sandbox';
import { StageFailure, type ExecutorContext, type StageArtifacts } from '@/workflows/stages/executor-types';
import { fakeContext, type FakeContext } from './fake-context';

const parse = (c: Record<string, unknown>) => commandStage.configSchema.parse(c);

let data: string;
let workspaces: string;
let runDir: string;
const secrets: Record<string, string> = {};
const contexts: FakeContext[] = [];

beforeAll(() => {
  data = mkdtempSync(path.join(tmpdir(), 'pipewright-sandbox-data-'));
  workspaces = path.join(data, 'workspaces');
  runDir = path.join(workspaces, 'run-1');
  mkdirSync(runDir, { recursive: true });
  mkdirSync(path.join(workspaces, 'run-other'), { recursive: true });
  for (const [file, value] of Object.entries({
    'secret-key': randomBytes(32).toString('base64'),
    'auth-secret': randomBytes(32).toString('base64'),
    'pipewright.db': `SQLite format 3 ${randomBytes(16).toString('hex')}`,
    'pipewright.db-wal': `wal ${randomBytes(16).toString('hex')}`,
    'workspaces/run-other/build-token': `token-${randomBytes(16).toString('hex')}`,
  })) {
    writeFileSync(path.join(data, file), value, { mode: 0o600 });
    secrets[file] = value;
  }
});
afterAll(() => {
  for (const c of contexts.splice(0)) c.cleanup();
  rmSync(data, { recursive: true, force: true });
});

function context(overrides: Partial<ExecutorContext> = {}) {
  // Always sandboxed, even in a shell that sets the unsafe override (these commands write to /etc).
  const env = { ...process.env, PIPEWRIGHT_UNSAFE_NO_SANDBOX: undefined };
  const c = fakeContext({ workspaceDir: workspaces, runId: 'run-1', env, ...overrides });
  contexts.push(c);
  return c;
}

/** Runs `command` as a stage: its outcome and everything it logged. */
async function attempt(command: string, overrides: Partial<ExecutorContext> = {}) {
  const { ctx, log } = context(overrides);
  const error = await executeCommand(parse({ command }), ctx).then(
    () => undefined,
    (e: unknown) => e,
  );
  return { error, text: log.text() };
}

/** What would show that a read succeeded: the first bytes, as the exploit printed them. */
const head = (s: string) => s.slice(0, 6);

describe('the command sandbox', () => {
  it('still runs ordinary builds: workspace and /tmp writable, system tools available, not root, no capabilities', async () => {
    const { ctx, log } = context();
    writeFileSync(path.join(runDir, 'mine.txt'), 'my own file\n');
    const result = await executeCommand(
      parse({
        command: [
          'cat mine.txt',
          'echo built > out.txt && cat out.txt',
          'echo scratch > /tmp/x && cat /tmp/x',
          'node -e "console.log(\'node\', 6 * 7)"',
          'git --version >/dev/null && echo git ok',
          'echo "uid=$(id -u)"',
          'grep CapEff /proc/self/status',
          'if mount -t tmpfs none /tmp 2>/dev/null; then echo mount-worked; else echo mount-refused; fi',
          'echo "home=$HOME"',
          'echo "v=1" >> "$PIPEWRIGHT_OUTPUT"',
        ].join('\n'),
      }),
      ctx,
    );
    const out = log.text('stdout');
    expect(out).toContain('my own file\nbuilt\nscratch\nnode 42\ngit ok\n');
    expect(out).not.toContain('uid=0');
    expect(out).toMatch(/CapEff:\s+0+\n/);
    expect(out).toContain('mount-refused');
    expect(out).toContain('home=/tmp');
    expect(result.outputs).toEqual({ v: '1' });
    // Files the command wrote are the worker's on the host.
    expect(readFileSync(path.join(runDir, 'out.txt'), 'utf8')).toBe('built\n');
  });

  describe('cannot read', () => {
    const reads: [string, () => string, () => string][] = [
      ['the master key <data>/secret-key', () => path.join(data, 'secret-key'), () => secrets['secret-key']!],
      ['the session secret <data>/auth-secret', () => path.join(data, 'auth-secret'), () => secrets['auth-secret']!],
      ['the database <data>/pipewright.db', () => path.join(data, 'pipewright.db'), () => secrets['pipewright.db']!],
      ['the database WAL <data>/pipewright.db-wal', () => path.join(data, 'pipewright.db-wal'), () => secrets['pipewright.db-wal']!],
      ["another run's workspace", () => path.join(workspaces, 'run-other', 'build-token'), () => secrets['workspaces/run-other/build-token']!],
      ["the control plane's /proc/<pid>/environ", () => `/proc/${process.pid}/environ`, () => readFileSync(`/proc/${process.pid}/environ`, 'utf8').split('\0')[0]!],
      ["the control plane's /proc/<pid>/cmdline", () => `/proc/${process.pid}/cmdline`, () => readFileSync(`/proc/${process.pid}/cmdline`, 'utf8').split('\0').filter(Boolean).at(-1)!],
      ["the checkout's files outside the workspace", () => path.join(process.cwd(), 'package.json'), () => '"name"'],
      ['password hashes in /etc/shadow', () => '/etc/shadow', () => 'root:'],
    ];
    for (const [what, file, secret] of reads) {
      it(what, async () => {
        // The host can read it: the sandbox is what stops the command.
        expect(readFileSync(file(), 'utf8')).toContain(secret());
        const { error, text } = await attempt(`cat '${file()}'`);
        expect(error).toBeInstanceOf(StageFailure);
        expect((error as StageFailure).message).toBe('exited with code 1');
        expect(text).not.toContain(secret());
        expect(text).toMatch(/No such file or directory|Permission denied/);
      });
    }

    it('the keys by the exploit of the report: head -c 6 ../../secret-key; head -c 6 ../../auth-secret', async () => {
      const { error, text } = await attempt('head -c 6 ../../secret-key; head -c 6 ../../auth-secret');
      expect(error).toBeInstanceOf(StageFailure);
      expect(text).not.toContain(head(secrets['secret-key']!));
      expect(text).not.toContain(head(secrets['auth-secret']!));
      expect(text).toContain('No such file or directory');
    });

    it('the keys by making the worker read them as its outputs file', async () => {
      const { error, text } = await attempt(`ln -sf '${path.join(data, 'secret-key')}' "$PIPEWRIGHT_OUTPUT"`);
      expect(error).toBeInstanceOf(StageFailure);
      expect((error as StageFailure).message).toBe('$PIPEWRIGHT_OUTPUT was replaced by a symlink; append to the file instead');
      expect(JSON.stringify((error as StageFailure).outputs ?? {})).not.toContain(head(secrets['secret-key']!));
      expect(text).not.toContain(head(secrets['secret-key']!));
    });

    it('other runs by listing the workspace root', async () => {
      const { ctx, log } = context();
      await executeCommand(parse({ command: 'ls -a ..; ls -a ../..' }), ctx);
      expect(log.text('stdout')).not.toContain('run-other');
      expect(log.text('stdout')).not.toContain('secret-key');
    });
  });

  describe('cannot write outside its workspace and /tmp', () => {
    const writes: [string, () => string][] = [
      ['into the data directory', () => path.join(data, 'pwned')],
      ["into another run's workspace", () => path.join(workspaces, 'run-other', 'pwned')],
      ['into the checkout', () => path.join(process.cwd(), `pwned-${randomBytes(4).toString('hex')}`)],
      ['into /etc', () => '/etc/pwned-by-a-stage'],
      ['into /usr', () => '/usr/pwned-by-a-stage'],
    ];
    for (const [what, target] of writes) {
      it(what, async () => {
        const file = target();
        try {
          const { text } = await attempt(`echo trying; echo pwned > '${file}'; cat '${file}'`);
          expect(text).toContain('trying');
          // Refused, or at most written to the sandbox's own throw-away view: never to the host.
          expect(existsSync(file)).toBe(false);
        } finally {
          rmSync(file, { force: true });
        }
      });
    }
  });

  describe('working directory', () => {
    it('an absolute cwd is refused before anything runs, by the validator and by the executor', async () => {
      const check = (c: Record<string, unknown>) => commandStage.check!(parse({ command: 'x', ...c }));
      expect(check({ cwd: data })).toEqual([{ path: 'cwd', message: expect.stringContaining('not an absolute path') }]);
      expect(check({ cwd: '../run-other' })).toEqual([{ path: 'cwd', message: expect.stringContaining('no "..")') }]);
      expect(check({ cwd: 'services/api' })).toEqual([]);

      for (const cwd of [data, '/', '../run-other', 'a/../../run-other']) {
        const { ctx, log } = context();
        const err = await executeCommand(parse({ command: 'ls; echo ran', cwd }), ctx).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(StageFailure);
        expect((err as StageFailure).type).toBe('InvalidConfig');
        expect(log.text('stdout')).toBe('');
      }
    });

    it('a symlink an earlier stage planted cannot lead the worker out of the workspace', async () => {
      await attempt(`ln -s '${data}' escape`);
      const { ctx, log } = context();
      const err = await executeCommand(parse({ command: 'echo ran', cwd: 'escape/made-by-worker' }), ctx).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StageFailure);
      expect((err as StageFailure).message).toContain('symlink');
      expect(log.text('stdout')).toBe('');
      expect(existsSync(path.join(data, 'made-by-worker'))).toBe(false);
    });
  });

  describe('artifacts', () => {
    function artifacts() {
      const store = createDiskStore(mkdtempSync(path.join(tmpdir(), 'pipewright-sandbox-store-')));
      const rows = new Map<string, string>();
      const api: StageArtifacts = {
        async publish(name, file) {
          const stored = await storeFile(store, file);
          rows.set(`build.${name}`, stored.digest);
          return stored;
        },
        async materialise(ref, dest) {
          const digest = rows.get(ref);
          if (!digest) throw new StageFailure(`no artifact ${ref}`, 'InvalidConfig');
          const { size } = await materialise(store, digest, dest);
          return { stage: 'build', name: ref.split('.')[1]!, digest, size };
        },
      };
      return { api, rows, store };
    }

    it('a symlinked artifact is refused and nothing it points to is stored', async () => {
      const { api, rows } = artifacts();
      const { ctx } = context({ artifacts: api, runId: 'run-art-1' });
      const err = await executeCommand(
        parse({ command: `ln -s '${path.join(data, 'secret-key')}' key.txt`, artifacts: [{ name: 'key', path: 'key.txt' }] }),
        ctx,
      ).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StageFailure);
      expect((err as StageFailure).message).toBe('artifact "key": key.txt is a symlink; store the file itself');
      expect(rows.size).toBe(0);
    });

    it('an artifact behind a symlinked folder that leads out of the working directory is refused', async () => {
      const { api, rows } = artifacts();
      const { ctx } = context({ artifacts: api, runId: 'run-art-2' });
      const err = await executeCommand(parse({ command: `ln -s '${data}' d`, artifacts: [{ name: 'key', path: 'd/secret-key' }] }), ctx).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StageFailure);
      expect((err as StageFailure).message).toBe('artifact "key": d/secret-key leads outside the working directory');
      expect(rows.size).toBe(0);
    });

    it('an input is not written through a symlink an earlier stage planted', async () => {
      const { api } = artifacts();
      const build = context({ artifacts: api, runId: 'run-art-3' });
      await executeCommand(parse({ command: 'echo app > app.txt', artifacts: [{ name: 'app', path: 'app.txt' }] }), build.ctx);
      // A later stage of the same run plants links to places only the worker can write.
      await attempt(`ln -s '${path.join(data, 'planted-file')}' in.txt; ln -s '${data}' dir`, { runId: 'run-art-3' });

      for (const [dest, message] of [
        ['in.txt', 'input path "in.txt" is a symlink; the artifact is not written through it'],
        ['dir/planted-file', 'input path "dir/planted-file": dir is a symlink; it must be a folder inside the run\'s workspace'],
      ] as const) {
        const { ctx, log } = context({ artifacts: api, runId: 'run-art-3' });
        const err = await executeCommand(parse({ command: 'echo ran', inputs: [{ artifact: 'build.app', path: dest }] }), ctx).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(StageFailure);
        expect((err as StageFailure).message).toBe(message);
        expect(log.text('stdout')).toBe('');
      }
      expect(existsSync(path.join(data, 'planted-file'))).toBe(false);
    });
  });

  describe('start-up check', () => {
    it('passes where bubblewrap works, and the unsafe override is reported as a warning', async () => {
      expect(await assertSandboxAtStartup({})).toBeUndefined();
      expect(await assertSandboxAtStartup({ PIPEWRIGHT_UNSAFE_NO_SANDBOX: 'true' })).toBe(UNSAFE_WARNING);
    });

    it('refuses shared folders that would show commands the data directory, and lets commands use a proper one', async () => {
      const withShared = (dirs: string) => ({ PIPEWRIGHT_DATA_DIR: data, PIPEWRIGHT_SANDBOX_SHARED_DIRS: dirs });
      await expect(assertSandboxAtStartup(withShared(workspaces))).rejects.toThrow(/would show command stages the data directory/);
      await expect(assertSandboxAtStartup(withShared(path.dirname(data)))).rejects.toThrow(/would show command stages the data directory/);
      await expect(assertSandboxAtStartup(withShared('cache'))).rejects.toThrow(/not an absolute path to an existing folder/);

      const cache = mkdtempSync(path.join(tmpdir(), 'pipewright-sandbox-cache-'));
      try {
        await expect(assertSandboxAtStartup(withShared(cache))).resolves.toBeUndefined();
        const { error } = await attempt(`echo cached > '${cache}/pkg'`, { env: { ...process.env, ...withShared(cache), PIPEWRIGHT_UNSAFE_NO_SANDBOX: undefined } });
        expect(error).toBeUndefined();
        expect(readFileSync(path.join(cache, 'pkg'), 'utf8')).toBe('cached\n');
        // A stage of a worker configured badly fails clearly instead of running with the data directory visible.
        const bad = await attempt('echo ran', { env: { ...process.env, ...withShared(data), PIPEWRIGHT_UNSAFE_NO_SANDBOX: undefined } });
        expect(bad.error).toBeInstanceOf(StageFailure);
        expect((bad.error as StageFailure).message).toMatch(/would show command stages the data directory/);
        expect(bad.text).not.toContain('ran');
      } finally {
        rmSync(cache, { recursive: true, force: true });
      }
    });

    it('with the unsafe override, commands really run unsandboxed (what the warning is about)', async () => {
      const { error, text } = await attempt(`cat '${path.join(data, 'secret-key')}'`, {
        env: { ...process.env, PIPEWRIGHT_UNSAFE_NO_SANDBOX: 'true' },
      });
      expect(error).toBeUndefined();
      expect(text).toContain(secrets['secret-key']);
    });
  });
});

describe("the sandbox's init pid (so the end of a command is checked on one process, not by scanning all)", () => {
  it('is read from what bwrap writes on its info fd, and is the init of the command that ran', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pipewright-info-fd-'));
    try {
      const { spawn } = await import('node:child_process');
      const program = sandboxedShell('echo inside', { workspace: dir, cwd: dir }, { infoFd: 3 });
      const child = spawn(program.file, program.args, { stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
      let info = '';
      let out = '';
      child.stdio[3]!.on('data', (d: Buffer) => (info += d.toString()));
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      await new Promise((resolve) => child.once('close', resolve));
      const pid = sandboxInitPid(info);
      expect(out).toBe('inside\n');
      // The init is bwrap's child: another process than bwrap itself.
      expect(pid).toBeGreaterThan(1);
      expect(pid).not.toBe(child.pid);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is undefined for anything else written there', () => {
    expect(sandboxInitPid('{"child-pid": 4242, "mnt-namespace": 1}')).toBe(4242);
    for (const junk of ['', 'null', '{"child-pid": -3}', '{"child-pid": 1}', '{"child-pid": "12"}', `{"child-pid": ${'9'.repeat(30)}}`]) {
      expect(sandboxInitPid(junk)).toBeUndefined();
    }
  });
});
