import { describe, expect, it } from 'vitest';
import { describeRunStatus, runWaits, settleDecidedGates, type ExecutionPlan } from '@/workflows/model';

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
