/**
 * Runner pools in the pure model: queue names from labels, the queues a runner
 * polls, which runner may take which stage, the compiled plan, and the
 * validator's warning when no registered runner can run a stage.
 */
import { describe, expect, it } from 'vitest';
import { compilePipeline, labelsSatisfy, runnerQueue, runnerQueues, validatePipeline, type PipelineSpecInput } from '@/workflows/model';

const spec = (runsOn?: string[]): PipelineSpecInput => ({
  schemaVersion: 1,
  name: 'p',
  nodes: [
    { id: 'build', kind: 'command', name: 'Build', config: { command: 'make' }, ...(runsOn ? { runsOn } : {}) },
    { id: 'qa', kind: 'approval', name: 'QA', config: { groups: ['qa'] } },
  ],
  edges: [{ id: 'e', from: 'build', to: 'qa' }],
});

describe('runner pools', () => {
  it('names a queue by its sorted, de-duplicated labels; no labels is the default pool', () => {
    expect(runnerQueue('pipewright-runner', [])).toBe('pipewright-runner');
    expect(runnerQueue('pipewright-runner', ['linux', 'k8s', 'linux'])).toBe('pipewright-runner:k8s,linux');
  });

  it('a runner polls the queue of every subset of its labels, and refuses more than 4 labels', () => {
    expect(runnerQueues('q', ['b', 'a']).sort()).toEqual(['q', 'q:a', 'q:a,b', 'q:b']);
    expect(() => runnerQueues('q', ['a', 'b', 'c', 'd', 'e'])).toThrow(/at most 4 labels/);
  });

  it('a runner may run a stage only when it has all the labels the stage asks for', () => {
    expect(labelsSatisfy(['linux', 'k8s'], ['k8s'])).toBe(true);
    expect(labelsSatisfy(['linux'], ['linux', 'k8s'])).toBe(false);
    expect(labelsSatisfy([], undefined)).toBe(true);
  });

  it('compiles runsOn into the plan of executing stages only, and leaves plans without it unchanged', () => {
    const plan = compilePipeline(spec(['linux', 'big', 'linux']));
    expect(plan.nodes.find((n) => n.id === 'build')!.runsOn).toEqual(['big', 'linux']);
    expect(compilePipeline(spec()).nodes.find((n) => n.id === 'build')).not.toHaveProperty('runsOn');
    expect(compilePipeline(spec([])).hash).toBe(compilePipeline(spec()).hash);
  });

  it('refuses bad labels with a clear message', () => {
    const { ok, issues } = validatePipeline(spec(['Linux!']));
    expect(ok).toBe(false);
    expect(issues.map((i) => i.message).join(' ')).toMatch(/lowercase letters/);
  });

  it('warns when no registered runner has the labels a stage needs (only when the runners are known)', () => {
    const runners = { runners: [{ labels: ['linux'], online: true }] };
    const warned = validatePipeline(spec(['gpu']), { runners });
    expect(warned.ok).toBe(true);
    expect(warned.issues).toEqual([
      expect.objectContaining({ code: 'no-runner', severity: 'warning', nodeId: 'build', message: expect.stringContaining('no registered runner has the labels gpu') }),
    ]);
    expect(validatePipeline(spec(['linux']), { runners }).issues).toEqual([]);
    expect(validatePipeline(spec(['gpu'])).issues).toEqual([]);
  });
});
