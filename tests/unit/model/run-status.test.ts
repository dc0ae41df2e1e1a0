import { describe, expect, it } from 'vitest';
import { describeRunStatus, RUNNER_WAIT_NOTICE_MS, runWaits, settleDecidedGates, type ExecutionPlan } from '@/workflows/model';

const gate = { users: ['alan'], groups: ['approvers'], quorum: 1, allowTriggerer: false, instructions: '', timeoutMs: 0, onTimeout: 'reject' as const };
const node = (id: string, runtime: 'activity' | 'timer' | 'gate', more: Record<string, unknown> = {}) =>
  ({ id, kind: runtime === 'gate' ? 'approval' : 'command', name: id.toUpperCase(), runtime, config: {}, needs: [], failureHandled: false, retry: { maxAttempts: 1, initialIntervalMs: 0, backoffCoefficient: 1, maxIntervalMs: 0 }, timeoutMs: 1000, ...more }) as ExecutionPlan['nodes'][number];
const plan = { nodes: [node('build', 'activity', { runsOn: ['gpu', 'linux'] }), node('qa', 'gate', { gate }), node('deploy', 'activity')] };

describe('a run status in words, the same on every page', () => {
  it('says a run at a gate waits for approval, and from whom', () => {
    const d = describeRunStatus('running', runWaits(plan, [{ nodeId: 'build', status: 'succeeded', runnerId: 'r1' }, { nodeId: 'qa', status: 'waiting' }]));
    expect(d).toMatchObject({ key: 'waiting', label: 'Waiting for approval', detail: 'alan, group approvers', text: 'Waiting for approval — alan, group approvers' });
  });

  it('says a stage no runner has picked up waits for a runner with its labels', () => {
    const d = describeRunStatus('running', runWaits(plan, [{ nodeId: 'build', status: 'running', runnerId: null }]));
    expect(d.text).toBe('Waiting for a runner with labels gpu, linux');
    expect(describeRunStatus('running', runWaits(plan, [{ nodeId: 'deploy', status: 'running', runnerId: null }])).text).toBe('Waiting for a runner');
  });

  it('says running once a runner runs the stage, and the final status when the run ended', () => {
    expect(describeRunStatus('running', runWaits(plan, [{ nodeId: 'build', status: 'running', runnerId: 'r1' }])).text).toBe('Running');
    expect(describeRunStatus('failed', runWaits(plan, [{ nodeId: 'qa', status: 'waiting' }])).text).toBe('Failed');
  });

  it('puts people before runners when a run waits for both', () => {
    const d = describeRunStatus('running', runWaits(plan, [{ nodeId: 'build', status: 'running' }, { nodeId: 'qa', status: 'waiting' }]));
    expect(d.label).toBe('Waiting for approval');
    expect(d.waits.map((w) => w.kind)).toEqual(['runner', 'approval']); // plan order
  });
});

describe('a gate behind a stage that has begun reads decided', () => {
  const chain = {
    nodes: [
      node('qa', 'gate', { gate }),
      node('deploy', 'activity', { needs: [{ from: 'qa', on: 'success' }] }),
      node('rollback', 'activity', { needs: [{ from: 'qa', on: 'failure' }] }),
      node('notify', 'activity', { needs: [{ from: 'qa', on: 'always' }] }),
    ],
  };

  it('reads approved once the stage after it on success runs, and the run no longer waits for approval', () => {
    const rows = [
      { nodeId: 'qa', status: 'waiting' },
      { nodeId: 'deploy', status: 'running', runnerId: 'r1' },
    ];
    const settled = settleDecidedGates(chain, rows);
    expect(settled.find((s) => s.nodeId === 'qa')?.status).toBe('succeeded');
    expect(describeRunStatus('running', runWaits(chain, settled)).text).toBe('Running');
    expect(rows[0]!.status).toBe('waiting'); // the input is not changed
  });

  it('reads rejected once its failure handler runs; an `always` follower proves no outcome', () => {
    expect(settleDecidedGates(chain, [{ nodeId: 'qa', status: 'waiting' }, { nodeId: 'rollback', status: 'succeeded' }])[0]!.status).toBe('failed');
    expect(settleDecidedGates(chain, [{ nodeId: 'qa', status: 'waiting' }, { nodeId: 'notify', status: 'running' }])[0]!.status).toBe('waiting');
  });

  it('leaves a gate that still waits alone (its followers pending or skipped)', () => {
    const rows = [
      { nodeId: 'qa', status: 'waiting' },
      { nodeId: 'deploy', status: 'pending' },
      { nodeId: 'rollback', status: 'skipped' },
    ];
    expect(settleDecidedGates(chain, rows)).toBe(rows);
  });
});

describe('a ready stage no runner has begun reads waiting for a runner (the interpreter records nothing for it)', () => {
  const created = Date.UTC(2026, 11, 5, 9, 0, 0);
  const retry = (maxAttempts: number, initialIntervalMs = 0) => ({ maxAttempts, initialIntervalMs, backoffCoefficient: 2, maxIntervalMs: 60_000 });
  const flow = {
    nodes: [
      node('build', 'activity', { retry: retry(3, 2000) }),
      node('deploy', 'activity', { runsOn: ['prod'], needs: [{ from: 'build', on: 'success' }] }),
      node('cleanup', 'activity', { needs: [{ from: 'build', on: 'always' }] }),
    ],
  };
  const at = (ms: number) => ({ now: created + ms, runCreatedAt: new Date(created) });
  const runnerWaits = (rows: Parameters<typeof runWaits>[1], ms: number, plan: Pick<ExecutionPlan, 'nodes'> = flow) =>
    runWaits(plan, rows, at(ms))
      .filter((w) => w.kind === 'runner')
      .map((w) => w.stageId);

  it('a first stage, once the run has waited a moment', () => {
    expect(runnerWaits([], RUNNER_WAIT_NOTICE_MS - 1)).toEqual([]);
    expect(runnerWaits([], RUNNER_WAIT_NOTICE_MS)).toEqual(['build']);
    expect(describeRunStatus('queued', runWaits(flow, [], at(5000))).text).toBe('Waiting for a runner');
  });

  it('the next stages, a moment after their needs were met, with their labels; not before (a chain never shows it)', () => {
    const built = [{ nodeId: 'build', status: 'succeeded', runnerId: 'r1', attempt: 1, endedAt: new Date(created + 60_000) }];
    expect(runnerWaits(built, 60_000 + RUNNER_WAIT_NOTICE_MS - 1)).toEqual([]);
    expect(runnerWaits(built, 60_000 + RUNNER_WAIT_NOTICE_MS)).toEqual(['deploy', 'cleanup']);
    const cleaning = [...built, { nodeId: 'cleanup', status: 'running', runnerId: 'r1', attempt: 1, endedAt: null }];
    expect(describeRunStatus('running', runWaits(flow, cleaning, at(70_000))).text).toBe('Waiting for a runner with labels prod');
    // Begun: running on a runner, not waiting.
    expect(runnerWaits([...built, { nodeId: 'deploy', status: 'running', runnerId: 'r2', attempt: 1, endedAt: null }], 70_000)).toEqual(['cleanup']);
  });

  it('not while a need is still running, and never for stages of a line that stopped', () => {
    expect(runnerWaits([{ nodeId: 'build', status: 'running', runnerId: 'r1', attempt: 1 }], 60_000)).toEqual([]);
    const failed = [{ nodeId: 'build', status: 'failed', runnerId: 'r1', attempt: 3, endedAt: new Date(created + 1000) }];
    expect(runnerWaits(failed, 60_000)).toEqual([]); // build failed for good and nothing handles it: the rest is skipped
    const handled = { nodes: flow.nodes.map((n) => (n.id === 'build' ? { ...n, failureHandled: true } : n)) };
    expect(runnerWaits(failed, 60_000, handled)).toEqual(['cleanup']); // an always connection runs after a failure
    expect(runnerWaits([{ nodeId: 'cleanup', status: 'cancelled' }], 60_000)).toEqual([]);
  });

  it('a failed attempt with attempts left, a moment after its retry was due', () => {
    const firstTry = [{ nodeId: 'build', status: 'failed', runnerId: 'r1', attempt: 1, endedAt: new Date(created + 10_000) }];
    expect(runnerWaits(firstTry, 10_000 + 2000 + RUNNER_WAIT_NOTICE_MS - 1)).toEqual([]);
    expect(runnerWaits(firstTry, 10_000 + 2000 + RUNNER_WAIT_NOTICE_MS)).toEqual(['build']);
    const secondTry = [{ nodeId: 'build', status: 'failed', runnerId: 'r1', attempt: 2, endedAt: new Date(created + 10_000) }];
    expect(runnerWaits(secondTry, 10_000 + 4000 + RUNNER_WAIT_NOTICE_MS - 1)).toEqual([]); // backoff doubled
  });

  it('without the time of reading, only the stages recorded as running with no runner (earlier interpreters)', () => {
    expect(runWaits(flow, []).length).toBe(0);
    expect(runWaits(flow, [{ nodeId: 'build', status: 'running', runnerId: null }]).map((w) => w.stageId)).toEqual(['build']);
  });
});
