/**
 * Pre-started sandboxes (workflows/stages/command/warm-sandbox.ts) against the
 * real executor, real processes and the real bubblewrap sandbox: a command
 * handed to a warm sandbox behaves exactly as one started cold, a warm sandbox
 * is only ever used for the workspace it was made for, and nothing of a stage
 * (command, environment) is visible on a command line.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { commandStage } from '@/workflows/stages/command/definition';
import { executeCommand } from '@/workflows/stages/command/executor';
import { discardWarmSandbox, WARM_MAX, warmSandbox, warmSandboxCounts } from '@/workflows/stages/command/warm-sandbox';
import { StageFailure, type ExecutorContext } from '@/workflows/stages/executor-types';
import { fakeContext, type FakeContext } from './fake-context';

const parse = (c: Record<string, unknown>) => commandStage.configSchema.parse(c);

let workspaces: string;
const contexts: FakeContext[] = [];

beforeAll(() => {
  workspaces = mkdtempSync(path.join(tmpdir(), 'pipewright-warm-'));
});
afterAll(() => {
  discardWarmSandbox();
  for (const c of contexts.splice(0)) c.cleanup();
  rmSync(workspaces, { recursive: true, force: true });
});
beforeEach(async () => {
  // The previous test's last stage starts its warm sandbox on a timer of its own, queued before this one.
  await new Promise((resolve) => setTimeout(resolve, 1));
  discardWarmSandbox();
});

function context(overrides: Partial<ExecutorContext> = {}) {
  const env = { ...process.env, PIPEWRIGHT_UNSAFE_NO_SANDBOX: undefined, PIPEWRIGHT_SANDBOX_PRESTART: undefined };
  const c = fakeContext({ workspaceDir: workspaces, runId: 'run-a', env, ...overrides });
  contexts.push(c);
  return c;
}

/** Runs one command stage; its result or error, its log, and whether a pre-started sandbox ran it. */
async function stage(config: Record<string, unknown>, overrides: Partial<ExecutorContext> = {}) {
  const { ctx, log } = context(overrides);
  const before = warmSandboxCounts().handedOver;
  const outcome = await executeCommand(parse(config), ctx).then(
    (result) => ({ result, error: undefined }),
    (error: unknown) => ({ result: undefined, error }),
  );
  return { ...outcome, log: log.text(), warm: warmSandboxCounts().handedOver > before };
}

/** Resolves once the warm sandbox for `workspace` is waiting (it is started in the background). */
async function warmFor(runId: string) {
  const dir = path.join(workspaces, runId);
  await expect.poll(() => warmSandbox(dir)?.pid, { timeout: 10_000 }).toBeGreaterThan(0);
  return warmSandbox(dir)!;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('pre-started sandboxes', () => {
  it('run the next command of the same run, with its exact environment, working directory, exit code and outputs', async () => {
    const first = await stage({ command: 'echo first > first.txt' });
    expect(first.error).toBeUndefined();
    expect(first.warm).toBe(false);
    await warmFor('run-a');

    const tricky = 'a=b "quoted" \'single\' $(touch /tmp/pwned) `id` ; \\ \n second line\ttab ünï';
    mkdirSync(path.join(workspaces, 'run-a', 'sub'), { recursive: true });
    const second = await stage({
      command: 'cat ../first.txt; pwd; printf "v<<END\\n%s\\nEND\\n" "$TRICKY" >> "$PIPEWRIGHT_OUTPUT"; echo "empty=[$EMPTY]"; cat; test ! -e /tmp/pwned && echo clean',
      cwd: 'sub',
      env: { TRICKY: tricky, EMPTY: '' },
    });
    expect(second.error).toBeUndefined();
    expect(second.warm).toBe(true);
    expect(second.result?.outputs.v).toBe(tricky);
    expect(second.log).toContain('first\n');
    expect(second.log).toContain(`${path.join(workspaces, 'run-a', 'sub')}\n`);
    expect(second.log).toContain('empty=[]\n');
    expect(second.log).toContain('clean\n');

    await warmFor('run-a');
    const failing = await stage({ command: 'echo partial=yes >> "$PIPEWRIGHT_OUTPUT"; exit 3' });
    expect(failing.warm).toBe(true);
    expect(failing.error).toBeInstanceOf(StageFailure);
    expect((failing.error as StageFailure).message).toBe('exited with code 3');
    expect((failing.error as StageFailure).outputs).toEqual({ partial: 'yes' });

    await warmFor('run-a');
    const killed = await stage({ command: 'kill -9 $$' });
    expect(killed.warm).toBe(true);
    expect((killed.error as StageFailure).message).toBe('killed by signal SIGKILL');
  });

  it('give a command the same environment names as a cold start, and none of the runner process', async () => {
    process.env.PIPEWRIGHT_TEST_RUNNER_SECRET = 'runner-only-value';
    try {
      const names = (log: string) => log.split('\n').filter((l) => /^[A-Z_]+$/.test(l)).sort();
      const cold = await stage({ command: "env | cut -d= -f1 | grep -v '^PWD$\\|^SHLVL$\\|^_$'" }, { runId: 'run-env' });
      expect(cold.warm).toBe(false);
      await warmFor('run-env');
      const warm = await stage({ command: "env | cut -d= -f1 | grep -v '^PWD$\\|^SHLVL$\\|^_$'" }, { runId: 'run-env' });
      expect(warm.warm).toBe(true);
      expect(names(warm.log)).toEqual(names(cold.log));
      expect(names(warm.log)).toContain('PIPEWRIGHT_OUTPUT');
      expect(warm.log).not.toContain('PIPEWRIGHT_TEST_RUNNER_SECRET');
    } finally {
      delete process.env.PIPEWRIGHT_TEST_RUNNER_SECRET;
    }
  });

  it('are never used for another run: that run starts cold and cannot see the first run’s workspace', async () => {
    await stage({ command: 'echo mine > private.txt' }, { runId: 'run-one' });
    const one = await warmFor('run-one');
    const other = await stage({ command: `cat ${path.join(workspaces, 'run-one', 'private.txt')} || echo unseen` }, { runId: 'run-two' });
    expect(other.warm).toBe(false);
    expect(other.log).toContain('unseen');
    expect(other.log).not.toContain('mine');
    // Each run keeps its own: run-one's is still waiting for run-one.
    expect(warmSandbox(path.join(workspaces, 'run-one'))?.pid).toBe(one.pid);
    expect((await warmFor('run-two')).pid).not.toBe(one.pid);
    const back = await stage({ command: 'cat private.txt' }, { runId: 'run-one' });
    expect(back.warm).toBe(true);
    expect(back.log).toBe('mine\n');
  });

  it(`keep at most ${WARM_MAX} waiting: further runs start cold, the waiting ones stay`, async () => {
    const runIds = Array.from({ length: WARM_MAX + 1 }, (_, i) => `run-many-${i}`);
    for (const runId of runIds.slice(0, WARM_MAX)) {
      const r = await stage({ command: 'true' }, { runId });
      expect(r.error).toBeUndefined();
      await warmFor(runId);
    }
    const last = runIds.at(-1)!;
    const prestarted = warmSandboxCounts().prestarted;
    await stage({ command: 'true' }, { runId: last });
    const again = await stage({ command: 'true' }, { runId: last });
    expect(again.warm).toBe(false);
    expect(warmSandboxCounts().prestarted).toBe(prestarted);
    expect(runIds.slice(0, WARM_MAX).every((runId) => warmSandbox(path.join(workspaces, runId)) !== undefined)).toBe(true);
    discardWarmSandbox();
    expect(runIds.some((runId) => warmSandbox(path.join(workspaces, runId)) !== undefined)).toBe(false);
  });

  it('are not used when the workspace was removed and made again (they would see the old folder)', async () => {
    await stage({ command: 'echo old > marker' }, { runId: 'run-remade' });
    await warmFor('run-remade');
    const dir = path.join(workspaces, 'run-remade');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'marker'), 'new\n');
    const next = await stage({ command: 'cat marker' }, { runId: 'run-remade' });
    expect(next.warm).toBe(false);
    expect(next.log).toBe('new\n');
  });

  it('never put a stage’s command or values on a command line other users could read', async () => {
    await stage({ command: 'true' }, { runId: 'run-ps' });
    await warmFor('run-ps');
    const secret = `s3cr3t-${Date.now()}`;
    const { ctx } = context({ runId: 'run-ps' });
    const handedOver = warmSandboxCounts().handedOver;
    const running = executeCommand(parse({ command: `sleep 30 # ${secret.slice(0, 4)}`, env: { TOKEN: secret } }), ctx);
    const sleeping = () => readdirSync('/proc').some((p) => /^\d+$/.test(p) && readCmdline(p).includes('sleep 30'));
    await expect.poll(sleeping, { timeout: 10_000 }).toBe(true);
    // The command went through the warm sandbox's pipe (a cold start would pass this check too).
    expect(warmSandboxCounts().handedOver).toBe(handedOver + 1);
    const lines = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map(readCmdline);
    expect(lines.some((l) => l.includes(secret))).toBe(false);
    contexts.at(-1)!.controller.abort();
    await expect(running).rejects.toBeTruthy();
  });

  it('are closed when discarded, and not started at all with PIPEWRIGHT_SANDBOX_PRESTART=false', async () => {
    await stage({ command: 'true' }, { runId: 'run-close' });
    const { pid } = await warmFor('run-close');
    expect(pid && alive(pid)).toBe(true);
    discardWarmSandbox();
    await expect.poll(() => alive(pid!), { timeout: 10_000 }).toBe(false);

    const env = { ...process.env, PIPEWRIGHT_UNSAFE_NO_SANDBOX: undefined, PIPEWRIGHT_SANDBOX_PRESTART: 'false' };
    const prestarted = warmSandboxCounts().prestarted;
    const off = await stage({ command: 'true' }, { runId: 'run-off', env });
    expect(off.error).toBeUndefined();
    const again = await stage({ command: 'true' }, { runId: 'run-off', env });
    expect(again.warm).toBe(false);
    expect(warmSandboxCounts().prestarted).toBe(prestarted);
    expect(existsSync(path.join(workspaces, 'run-off'))).toBe(true);
  });
});

function readCmdline(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}
