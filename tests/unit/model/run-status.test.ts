import { describe, expect, it } from 'vitest';
import { describeRunStatus, runWaits, type ExecutionPlan } from '@/workflows/model';

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
