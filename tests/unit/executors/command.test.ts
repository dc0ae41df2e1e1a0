import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { executeCommand, parseOutputs } from '@/workflows/stages/command/executor';
import { commandConfigSchema } from '@/workflows/stages/command/definition';
import { StageFailure, type ExecutorContext } from '@/workflows/stages/executor-types';
import { fakeContext, hostPidOf, processGone, uniqueSleep, waitFor, type FakeContext } from './fake-context';

const contexts: FakeContext[] = [];
function context(overrides: Partial<ExecutorContext> = {}): FakeContext {
  const c = fakeContext(overrides);
  contexts.push(c);
  return c;
}
afterEach(() => {
  for (const c of contexts.splice(0)) c.cleanup();
});

const config = (c: Record<string, unknown>) => commandConfigSchema.parse(c);

async function failure(p: Promise<unknown>): Promise<StageFailure> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StageFailure);
  return err as StageFailure;
}

describe('command executor', () => {
  it('runs the command and streams stdout and stderr', async () => {
    const { ctx, log, heartbeats } = context();
    const result = await executeCommand(config({ command: 'echo out1; echo err1 >&2; echo out2' }), ctx);
    expect(result.summary).toMatch(/^exited 0 in \d+\.\d s$/);
    expect(result.outputs).toEqual({});
    expect(log.text('stdout')).toBe('out1\nout2\n');
    expect(log.text('stderr')).toBe('err1\n');
    // Done within a second: no heartbeat (each one is a write on the Temporal server).
    expect(heartbeats).toEqual([]);
    expect(log.flushes).toBeGreaterThanOrEqual(1);
  });

  it('heartbeats every second while the command runs, with how much log it wrote', async () => {
    const { ctx, heartbeats } = context();
    await executeCommand(config({ command: 'echo started; sleep 1.5' }), ctx);
    expect(heartbeats.length).toBeGreaterThanOrEqual(1);
    expect(heartbeats[0]).toEqual({ logOffset: 'started\n'.length });
  });

  it('decodes UTF-8 split across chunks', async () => {
    const { ctx, log } = context();
    await executeCommand(config({ command: "printf '\\303'; sleep 0.1; printf '\\251\\n'" }), ctx);
    expect(log.text('stdout')).toBe('é\n');
  });

  it('returns outputs written to PIPEWRIGHT_OUTPUT (single and multi-line)', async () => {
    const { ctx } = context();
    const command = [
      'echo "version=1.2.3" >> "$PIPEWRIGHT_OUTPUT"',
      'echo "url=http://x/?a=b" >> "$PIPEWRIGHT_OUTPUT"',
      '{ echo "notes<<EOF"; echo "line 1"; echo "line 2"; echo "EOF"; } >> "$PIPEWRIGHT_OUTPUT"',
    ].join('\n');
    const result = await executeCommand(config({ command }), ctx);
    expect(result.outputs).toEqual({ version: '1.2.3', url: 'http://x/?a=b', notes: 'line 1\nline 2' });
  });

  it('passes the PIPEWRIGHT_* variables and config.env', async () => {
    const { ctx, log } = context({ runId: 'run-42', nodeId: 'deploy', attempt: 3 });
    await executeCommand(
      config({ command: 'echo "$PIPEWRIGHT_RUN_ID $PIPEWRIGHT_STAGE_ID $PIPEWRIGHT_ATTEMPT $GREETING"', env: { GREETING: 'hi' } }),
      ctx,
    );
    expect(log.text('stdout')).toBe('run-42 deploy 3 hi\n');
  });

  it('does not leak the worker environment', async () => {
    process.env.SECRET_TEST = 'x';
    try {
      const { ctx, log } = context();
      await executeCommand(config({ command: 'echo "secret=[${SECRET_TEST:-}]"; env' }), ctx);
      const out = log.text('stdout');
      expect(out).toContain('secret=[]');
      expect(out).not.toContain('SECRET_TEST');
      const names = out
        .split('\n')
        .slice(1)
        .filter((l) => l.includes('='))
        .map((l) => l.slice(0, l.indexOf('=')));
      const allowed = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'USER', 'SHELL', 'TERM', 'PWD', 'OLDPWD', 'SHLVL', '_'];
      for (const name of names) expect(allowed.includes(name) || name.startsWith('PIPEWRIGHT_')).toBe(true);
    } finally {
      delete process.env.SECRET_TEST;
    }
  });

  it('fails with the exit code', async () => {
    const { ctx, log } = context();
    const err = await failure(executeCommand(config({ command: 'echo partial; exit 3' }), ctx));
    expect(err.message).toBe('exited with code 3');
    expect(err.type).toBe('StageFailed');
    expect(log.text('stdout')).toBe('partial\n');
  });

  it('keeps outputs written before a failure', async () => {
    const { ctx } = context();
    const err = await failure(executeCommand(config({ command: 'echo "report=r.xml" >> "$PIPEWRIGHT_OUTPUT"; exit 1' }), ctx));
    expect(err.outputs).toEqual({ report: 'r.xml' });
  });

  it('reports a process killed by a signal', async () => {
    const { ctx } = context();
    const err = await failure(executeCommand(config({ command: 'kill -9 $$' }), ctx));
    expect(err.message).toBe('killed by signal SIGKILL');
  });

  it('rejects invalid or oversized outputs', async () => {
    const bad = context();
    const err = await failure(executeCommand(config({ command: 'echo "1bad=x" >> "$PIPEWRIGHT_OUTPUT"' }), bad.ctx));
    expect(err.message).toContain('"1bad" is not a valid output name');

    const big = context();
    const err2 = await failure(
      executeCommand(config({ command: 'printf "big=" >> "$PIPEWRIGHT_OUTPUT"; head -c 70000 /dev/zero | tr "\\0" a >> "$PIPEWRIGHT_OUTPUT"' }), big.ctx),
    );
    expect(err2.message).toContain('64 KiB');
  });

  it('times out and kills the whole process group', async () => {
    const { ctx, log } = context({ timeoutMs: 1000 });
    const bg = uniqueSleep();
    // The foreground sleep outlasts the test's timeout: only the stage's own 1 s limit ends it.
    const running = failure(executeCommand(config({ command: `${bg.command} & sleep 600` }), ctx));
    const pid = await hostPidOf(bg.argv);
    const err = await running;
    expect(err.type).toBe('StageTimeout');
    expect(err.message).toBe('timed out after 1s');
    expect(processGone(pid)).toBe(true);
    expect(log.text('system')).toContain('timed out');
  });

  it('sends SIGKILL to processes that ignore SIGTERM after the grace period', async () => {
    const { ctx } = context({ timeoutMs: 1000 });
    const bg = uniqueSleep();
    const started = Date.now();
    const running = failure(executeCommand(config({ command: `trap '' TERM; ${bg.command} & wait` }), ctx));
    const pid = await hostPidOf(bg.argv);
    const err = await running;
    expect(err.type).toBe('StageTimeout');
    // SIGTERM was ignored, so it ended only with the SIGKILL after the grace period (a lower bound, never flaky).
    expect(Date.now() - started).toBeGreaterThanOrEqual(4000);
    expect(processGone(pid)).toBe(true);
  }, 12_000);

  it('kills the process group when cancelled', async () => {
    const { ctx, log, controller } = context();
    const bg = uniqueSleep();
    // The foreground sleep outlasts the test's timeout: only the cancellation ends it.
    const running = executeCommand(config({ command: `${bg.command} & sleep 600` }), ctx);
    const pid = await hostPidOf(bg.argv);
    controller.abort();
    const err = await running.then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.name).toBe('AbortError');
    expect(processGone(pid)).toBe(true);
    expect(log.text('system')).toContain('cancelled');
  });

  it('kills processes that left the process group (setsid) when the stage is cancelled', async () => {
    const { ctx, controller } = context();
    const bg = uniqueSleep();
    const running = executeCommand(config({ command: `setsid ${bg.command} & sleep 30` }), ctx);
    const pid = await hostPidOf(bg.argv);
    controller.abort();
    await running.catch(() => undefined);
    await waitFor(() => (processGone(pid) ? true : undefined), 8000);
    expect(processGone(pid)).toBe(true);
  }, 12_000);

  it('throws the abort reason and does not start when already cancelled', async () => {
    const { ctx, controller, log } = context();
    const reason = new Error('run cancelled by alice');
    controller.abort(reason);
    await expect(executeCommand(config({ command: 'echo should-not-run' }), ctx)).rejects.toBe(reason);
    expect(log.text()).not.toContain('should-not-run');
  });

  it('stops background processes left running after the command exits', async () => {
    const { ctx, log } = context();
    const bg = uniqueSleep();
    // The command waits until the test has seen its background process.
    const seen = path.join(ctx.workspaceDir, ctx.runId, 'seen');
    const running = executeCommand(config({ command: `${bg.command} & while [ ! -e seen ]; do sleep 0.05; done; echo done` }), ctx);
    const pid = await hostPidOf(bg.argv);
    writeFileSync(seen, '');
    const result = await running;
    expect(result.summary).toMatch(/^exited 0/);
    expect(processGone(pid)).toBe(true);
    expect(log.text('system')).toContain('background');
  });

  it('stops a process that left the group (setsid) and outlived the command', async () => {
    const { ctx, log } = context();
    const bg = uniqueSleep();
    const seen = path.join(ctx.workspaceDir, ctx.runId, 'seen-setsid');
    const running = executeCommand(config({ command: `setsid ${bg.command} & while [ ! -e seen-setsid ]; do sleep 0.05; done; echo done` }), ctx);
    const pid = await hostPidOf(bg.argv);
    writeFileSync(seen, '');
    const result = await running;
    expect(result.summary).toMatch(/^exited 0/);
    expect(processGone(pid)).toBe(true);
    expect(log.text('system')).toContain('background');
  }, 12_000);

  it('does not report background processes when the command left none', async () => {
    for (let i = 0; i < 20; i++) {
      const { ctx, log } = context();
      await executeCommand(config({ command: 'echo hi' }), ctx);
      expect(log.text('system')).toBe('');
    }
  }, 30_000);

  it('resolves a relative cwd under <workspace>/<runId> and creates it', async () => {
    const { ctx, log } = context();
    await executeCommand(config({ command: 'pwd', cwd: 'sub/dir' }), ctx);
    expect(log.text('stdout').trim()).toBe(path.join(ctx.workspaceDir, ctx.runId, 'sub', 'dir'));
  });

  it('refuses an absolute cwd', async () => {
    const { ctx, log } = context();
    const err = await failure(executeCommand(config({ command: 'pwd', cwd: ctx.workspaceDir }), ctx));
    expect(err.type).toBe('InvalidConfig');
    expect(err.message).toContain('must be a path relative to the run');
    expect(log.text('stdout')).toBe('');
  });

  it('refuses a cwd that escapes the run workspace', async () => {
    const { ctx } = context();
    for (const cwd of ['..', '../other-run', 'a/../../..']) {
      const err = await failure(executeCommand(config({ command: 'pwd', cwd }), ctx));
      expect(err.type).toBe('InvalidConfig');
    }
  });
});

describe('parseOutputs', () => {
  it('parses name=value lines and heredoc blocks', () => {
    expect(parseOutputs('a=1\r\nb=x=y\n\nc<<END\nl1\r\n\nl3\nEND\nd=\n')).toEqual({ a: '1', b: 'x=y', c: 'l1\n\nl3', d: '' });
  });

  it('rejects malformed files', () => {
    expect(() => parseOutputs('novalue\n')).toThrow(StageFailure);
    expect(() => parseOutputs('x<<END\nnever closed\n')).toThrow(/never appears/);
    expect(() => parseOutputs('bad name=1\n')).toThrow(/not a valid output name/);
  });
});
