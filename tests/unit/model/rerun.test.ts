import { describe, expect, it } from 'vitest';
import { planRerunFromFailed, type RerunNode } from '../../../workflows/model/rerun';

const chain = (ids: string[], gates: string[] = []): RerunNode[] =>
  ids.map((id, i) => ({ id, needs: i === 0 ? [] : [{ from: ids[i - 1]! }], isGate: gates.includes(id) }));
const statuses = (m: Record<string, string>) => (id: string) => m[id];

describe('re-run from the failed stage', () => {
  it('reuses what succeeded and runs the failed stage and everything it skipped', () => {
    const plan = planRerunFromFailed(chain(['a', 'b', 'c', 'd']), statuses({ a: 'succeeded', b: 'succeeded', c: 'failed', d: 'skipped' }));
    expect(plan).toEqual({ reuse: ['a', 'b'], rerun: ['c', 'd'], reaskedGates: [] });
  });

  it('reuses a succeeded parallel branch and runs a cancelled sibling again', () => {
    const nodes: RerunNode[] = [
      { id: 'start', needs: [], isGate: false },
      { id: 'a', needs: [{ from: 'start' }], isGate: false },
      { id: 'b', needs: [{ from: 'start' }], isGate: false },
      { id: 'join', needs: [{ from: 'a' }, { from: 'b' }], isGate: false },
    ];
    const plan = planRerunFromFailed(nodes, statuses({ start: 'succeeded', a: 'succeeded', b: 'cancelled', join: 'skipped' }));
    expect(plan.reuse).toEqual(['start', 'a']);
    expect(plan.rerun).toEqual(['b', 'join']);
  });

  it('asks again an approved gate that guards something running again, and runs everything after it', () => {
    const plan = planRerunFromFailed(
      chain(['build', 'approve', 'deploy', 'smoke'], ['approve']),
      statuses({ build: 'succeeded', approve: 'succeeded', deploy: 'succeeded', smoke: 'failed' }),
    );
    expect(plan).toEqual({ reuse: ['build'], rerun: ['approve', 'deploy', 'smoke'], reaskedGates: ['approve'] });
  });

  it('keeps an approved gate whose downstream all succeeded', () => {
    const nodes: RerunNode[] = [
      { id: 'build', needs: [], isGate: false },
      { id: 'approve', needs: [{ from: 'build' }], isGate: true },
      { id: 'docs', needs: [{ from: 'approve' }], isGate: false },
      { id: 'test', needs: [{ from: 'build' }], isGate: false },
    ];
    const plan = planRerunFromFailed(nodes, statuses({ build: 'succeeded', approve: 'succeeded', docs: 'succeeded', test: 'failed' }));
    expect(plan).toEqual({ reuse: ['build', 'approve', 'docs'], rerun: ['test'], reaskedGates: [] });
  });

  it('a rejected gate is asked again (it did not succeed)', () => {
    const plan = planRerunFromFailed(chain(['build', 'approve', 'deploy'], ['approve']), statuses({ build: 'succeeded', approve: 'failed', deploy: 'skipped' }));
    expect(plan).toEqual({ reuse: ['build'], rerun: ['approve', 'deploy'], reaskedGates: [] });
  });
});
