import { describe, expect, it } from 'vitest';
import { planRerunFromFailed, type RerunNode } from '../../../workflows/model/rerun';

const chain = (ids: string[], gates: string[] = []): RerunNode[] =>
  ids.map((id, i) => ({ id, needs: i === 0 ? [] : [{ from: ids[i - 1]! }], isGate: gates.includes(id) }));
const statuses = (m: Record<string, string>) => (id: string) => m[id];

describe('re-run from the failed stage', () => {
  it('reuses what succeeded and runs the failed stage and everything it skipped', () => {
    const plan = planRerunFromFailed(chain(['a', 'b', 'c', 'd']), statuses({ a: 'succeeded', b: 'succeeded', c: 'failed', d: 'skipped' }));
    expect(plan).toMatchObject({ reuse: ['a', 'b'], rerun: ['c', 'd'], reaskedGates: [] });
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
    expect(plan).toMatchObject({ reuse: ['build'], rerun: ['approve', 'deploy', 'smoke'], reaskedGates: ['approve'] });
  });

  it('keeps an approved gate whose downstream all succeeded', () => {
    const nodes: RerunNode[] = [
      { id: 'build', needs: [], isGate: false },
      { id: 'approve', needs: [{ from: 'build' }], isGate: true },
      { id: 'docs', needs: [{ from: 'approve' }], isGate: false },
      { id: 'test', needs: [{ from: 'build' }], isGate: false },
    ];
    const plan = planRerunFromFailed(nodes, statuses({ build: 'succeeded', approve: 'succeeded', docs: 'succeeded', test: 'failed' }));
    expect(plan).toMatchObject({ reuse: ['build', 'approve', 'docs'], rerun: ['test'], reaskedGates: [] });
  });

  it('a rejected gate is asked again (it did not succeed)', () => {
    const plan = planRerunFromFailed(chain(['build', 'approve', 'deploy'], ['approve']), statuses({ build: 'succeeded', approve: 'failed', deploy: 'skipped' }));
    expect(plan).toMatchObject({ reuse: ['build'], rerun: ['approve', 'deploy'], reaskedGates: [] });
  });

  describe('rollbacks', () => {
    // Deploy → Smoke test; on failure Roll back, on success Announce.
    const deployPipeline: RerunNode[] = [
      { id: 'build', needs: [], isGate: false, kind: 'command' },
      { id: 'approve', needs: [{ from: 'build', on: 'success' }], isGate: true, kind: 'approval' },
      { id: 'deploy', needs: [{ from: 'approve', on: 'success' }], isGate: false, kind: 'command' },
      { id: 'smoke', needs: [{ from: 'deploy', on: 'success' }], isGate: false, kind: 'http-check' },
      { id: 'rollback', needs: [{ from: 'smoke', on: 'failure' }], isGate: false, kind: 'command' },
      { id: 'announce', needs: [{ from: 'smoke', on: 'success' }], isGate: false, kind: 'webhook' },
    ];

    it('runs again a deploy its rollback undid, and never reuses the rollback', () => {
      const plan = planRerunFromFailed(
        deployPipeline,
        statuses({ build: 'succeeded', approve: 'succeeded', deploy: 'succeeded', smoke: 'failed', rollback: 'succeeded', announce: 'skipped' }),
      );
      expect(plan.reuse).not.toContain('deploy');
      expect(plan.reuse).not.toContain('rollback');
      expect(plan.undone).toEqual([{ id: 'deploy', by: 'rollback' }]);
      expect(plan.rollbacks).toEqual(['rollback']);
      // The gate approved the deploy that runs again: it is asked again; the build before it is kept.
      expect(plan).toMatchObject({ reuse: ['build'], rerun: ['approve', 'deploy', 'smoke', 'rollback', 'announce'], reaskedGates: ['approve'] });
    });

    it('also reruns what ran after the undone stage, and treats k8s-rollback as a rollback wherever it is drawn', () => {
      const nodes: RerunNode[] = [
        { id: 'deploy', needs: [], isGate: false, kind: 'k8s-deploy' },
        { id: 'smoke', needs: [{ from: 'deploy', on: 'success' }], isGate: false, kind: 'http-check' },
        { id: 'verify', needs: [{ from: 'smoke', on: 'success' }], isGate: false, kind: 'command' },
        { id: 'undo', needs: [{ from: 'verify', on: 'always' }], isGate: false, kind: 'k8s-rollback' },
      ];
      const plan = planRerunFromFailed(nodes, statuses({ deploy: 'succeeded', smoke: 'succeeded', verify: 'failed', undo: 'succeeded' }));
      expect(plan.reuse).toEqual([]);
      expect(plan.undone.map((u) => u.id)).toEqual(['deploy', 'smoke']);
    });

    it('reuses stages of a run whose rollback never ran', () => {
      const plan = planRerunFromFailed(
        deployPipeline,
        statuses({ build: 'succeeded', approve: 'succeeded', deploy: 'succeeded', smoke: 'cancelled', rollback: 'skipped', announce: 'skipped' }),
      );
      expect(plan.undone).toEqual([]);
      expect(plan.rollbacks).toEqual([]);
      expect(plan.reuse).toEqual(['build']);
      expect(plan.reaskedGates).toEqual(['approve']);
    });
  });
});
