import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostPidOf, processGone, uniqueSleep } from '../unit/executors/fake-context';
import { cmd, spec, startHarness, type Harness } from './harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

describe('running pipelines on a real Temporal server', () => {
  it('runs stages in order, passes outputs and parameters, and stores logs', async () => {
    const runId = await h.run(
      spec(
        'sequential',
        [
          cmd('build', 'echo "building ${{ params.version }}"; echo "image=app:${{ params.version }}" >> "$PIPEWRIGHT_OUTPUT"'),
          cmd('deploy', 'echo "deploying ${{ stages.build.outputs.image }}"'),
        ],
        [['build', 'deploy']],
        { parameters: [{ name: 'version', type: 'string', required: true }] },
      ),
      { version: '1.2.3' },
    );
    const r = await h.waitForEnd(runId);
    expect(r.status).toBe('succeeded');
    expect(h.stageOf(r, 'build').outputs).toEqual({ image: 'app:1.2.3' });
    const build = h.stageOf(r, 'build');
    const deploy = h.stageOf(r, 'deploy');
    expect(deploy.startedAt!.getTime()).toBeGreaterThanOrEqual(build.endedAt!.getTime() - 50);
    const logs = await h.as(h.users.viewer).runs.logs({ runId, nodeId: 'deploy' });
    expect(logs.text).toContain('deploying app:1.2.3');
    expect(logs.complete).toBe(true);
    // Reading from an offset returns only what follows it.
    const tail = await h.as(h.users.viewer).runs.logs({ runId, nodeId: 'deploy', afterOffset: 10 });
    expect(tail.text).toBe(logs.text.slice(10));
    // The runner's reports are pushed to the pages following the run once written: each stage's start and end.
    const pushed = (await h.stageChanges()).filter((c) => c.runId === runId);
    for (const node of ['build', 'deploy']) {
      expect(pushed.filter((c) => c.nodeId === node).map((c) => c.status), node).toEqual(expect.arrayContaining(['running', 'succeeded']));
    }
  });

  it('runs independent branches in parallel and joins them', async () => {
    const marks = join(h.shared, 'parallel-marks');
    const runId = await h.run(
      spec(
        'parallel',
        [
          cmd('start', 'true'),
          cmd('a', `echo a-start >> ${marks}; sleep 1.5; echo a-end >> ${marks}`),
          cmd('b', `echo b-start >> ${marks}; sleep 1.5; echo b-end >> ${marks}`),
          cmd('join', `echo join >> ${marks}`),
        ],
        [
          ['start', 'a'],
          ['start', 'b'],
          ['a', 'join'],
          ['b', 'join'],
        ],
      ),
    );
    const r = await h.waitForEnd(runId);
    expect(r.status).toBe('succeeded');
    const lines = readFileSync(marks, 'utf8').trim().split('\n');
    // Both branches started before either ended, and the join ran last.
    expect(lines.slice(0, 2).sort()).toEqual(['a-start', 'b-start']);
    expect(lines.at(-1)).toBe('join');
  });

  it('retries a failing stage with backoff and then succeeds', async () => {
    const counter = join(h.shared, 'retry-counter');
    const runId = await h.run(
      spec('retry', [
        cmd('flaky', `n=$(cat ${counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${counter}; echo "try $n"; [ $n -ge 3 ]`, {
          retry: { maxAttempts: 3, initialIntervalSeconds: 0.2, backoffCoefficient: 2 },
        }),
      ]),
    );
    const r = await h.waitForEnd(runId);
    expect(r.status).toBe('succeeded');
    expect(h.stageOf(r, 'flaky').attempt).toBe(3);
    expect(readFileSync(counter, 'utf8').trim()).toBe('3');
    const logs = await h.as(h.users.viewer).runs.logs({ runId, nodeId: 'flaky' });
    expect(logs.text).toMatch(/try 1[\s\S]*attempt 2[\s\S]*try 2[\s\S]*attempt 3[\s\S]*try 3/);
  });

  it('does not retry a failing command unless the stage asks for it', async () => {
    const counter = join(h.shared, 'no-retry-counter');
    const runId = await h.run(spec('no retry', [cmd('fail', `echo x >> ${counter}; exit 3`)]));
    const r = await h.waitForEnd(runId);
    expect(r.status).toBe('failed');
    expect(h.stageOf(r, 'fail').error).toContain('code 3');
    expect(readFileSync(counter, 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('stops the line: a failure cancels running siblings and skips everything downstream', async () => {
    const slow = uniqueSleep();
    const runId = await h.run(
      spec(
        'stop the line',
        [
          cmd('start', 'true'),
          cmd('slow', slow.command),
          cmd('broken', 'sleep 0.5; echo boom >&2; exit 1'),
          cmd('after', 'echo never'),
          cmd('afterSlow', 'echo never'),
        ],
        [
          ['start', 'slow'],
          ['start', 'broken'],
          ['broken', 'after'],
          ['slow', 'afterSlow'],
        ],
      ),
    );
    // Commands have their own PID namespace: find the sleep by its arguments on this machine.
    const pid = await hostPidOf(slow.argv, 30_000);
    const r = await h.waitForEnd(runId, 30_000);
    expect(r.status).toBe('failed');
    expect(h.stageOf(r, 'broken').status).toBe('failed');
    expect(h.stageOf(r, 'slow').status).toBe('cancelled');
    expect(h.stageOf(r, 'after').status).toBe('skipped');
    expect(h.stageOf(r, 'afterSlow').status).toBe('skipped');
    expect(r.error).toContain('broken');
    // The sibling's process is really gone.
    expect(processGone(pid)).toBe(true);
  });

  it('follows failure and always edges instead of stopping the line (rollback)', async () => {
    const runId = await h.run(
      spec(
        'rollback',
        [cmd('deploy', 'exit 1'), cmd('rollback', 'echo rolling back'), cmd('notify', 'echo notify'), cmd('announce', 'echo live')],
        [
          ['deploy', 'rollback', 'failure'],
          ['deploy', 'notify', 'always'],
          ['deploy', 'announce', 'success'],
        ],
      ),
    );
    const r = await h.waitForEnd(runId);
    expect(h.stageOf(r, 'deploy').status).toBe('failed');
    expect(h.stageOf(r, 'rollback').status).toBe('succeeded');
    expect(h.stageOf(r, 'notify').status).toBe('succeeded');
    expect(h.stageOf(r, 'announce').status).toBe('skipped');
    // The deploy failed, so the run did too, but only after the rollback ran.
    expect(r.status).toBe('failed');
  });

  it('cancels a run: kills the running process and records who did it', async () => {
    const long = uniqueSleep();
    const runId = await h.run(spec('cancel me', [cmd('long', long.command), cmd('next', 'true')], [['long', 'next']]));
    await h.waitForStage(runId, 'long', 'running');
    // Commands have their own PID namespace: find the sleep by its arguments on this machine.
    const pid = await hostPidOf(long.argv, 30_000);
    await h.as(h.users.author).runs.cancel({ runId, reason: 'wrong branch' });
    const r = await h.waitForEnd(runId, 30_000);
    expect(r.status).toBe('cancelled');
    expect(r.cancelledBy).toBe('ada');
    expect(h.stageOf(r, 'long').status).toBe('cancelled');
    expect(h.stageOf(r, 'next').status).toBe('cancelled');
    expect(processGone(pid)).toBe(true);
    // A second cancel is refused clearly.
    await expect(h.as(h.users.author).runs.cancel({ runId })).rejects.toThrow(/already ended/);
  });

  it('refuses to run a pipeline with errors and lists the problems', async () => {
    const pipelineId = await h.createPipeline(spec('broken', [{ id: 'x', kind: 'nope', name: 'x', config: {} }]));
    const err = await h.as(h.users.author).runs.start({ pipelineId }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'BAD_REQUEST' });
    expect(String((err as Error).message)).toMatch(/problem/);
  });

  it('refuses people without the right role, with 401/403', async () => {
    const pipelineId = await h.createPipeline(spec('roles', [cmd('a', 'true')]));
    await expect(h.as(null).runs.start({ pipelineId })).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    await expect(h.as(h.users.viewer).runs.start({ pipelineId })).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });
});
