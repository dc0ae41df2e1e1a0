import { describe, expect, it } from 'vitest';
import type { PipelineSpec } from '../../../workflows/model';
import { diffSpecs, fieldChanges, formatValue, jsonEqual } from '../../../workflows/model/diff';

function spec(over: Partial<PipelineSpec> = {}): PipelineSpec {
  return {
    schemaVersion: 1,
    name: 'P',
    nodes: [
      { id: 'build', kind: 'command', name: 'Build', config: { command: 'make', env: { A: '1' } }, position: { x: 0, y: 0 } },
      { id: 'test', kind: 'command', name: 'Test', config: { command: 'make test' }, position: { x: 300, y: 0 } },
      { id: 'qa', kind: 'approval', name: 'QA', config: { groups: ['qa'] }, position: { x: 600, y: 0 } },
    ],
    edges: [
      { id: 'build-test', from: 'build', to: 'test', on: 'success' },
      { id: 'test-qa', from: 'test', to: 'qa', on: 'success' },
    ],
    parameters: [{ name: 'version', type: 'string', required: true, default: '1.0' }],
    settings: { concurrency: 1, defaultRetry: {}, stageTimeoutSeconds: 3600, runTimeoutSeconds: 0 },
    ...over,
  };
}

describe('diffSpecs', () => {
  it('finds nothing between equal specs (key order does not matter)', () => {
    const a = spec();
    const b = structuredClone(a);
    b.nodes[0]!.config = { env: { A: '1' }, command: 'make' };
    const d = diffSpecs(a, b);
    expect(d.empty).toBe(true);
    expect(d.sameBehaviour).toBe(true);
  });

  it('reports added, removed and changed stages with their changed fields', () => {
    const a = spec();
    const b = structuredClone(a);
    b.nodes = b.nodes.filter((n) => n.id !== 'qa');
    b.nodes[0]!.config = { command: 'make all', env: { A: '1', B: '2' } };
    b.nodes[1]!.retry = { maxAttempts: 3 };
    b.nodes.push({ id: 'deploy', kind: 'command', name: 'Deploy', config: { command: 'deploy' }, position: { x: 600, y: 0 } });
    const d = diffSpecs(a, b);
    const byId = Object.fromEntries(d.nodes.map((n) => [n.id, n]));
    expect(byId.deploy?.status).toBe('added');
    expect(byId.qa?.status).toBe('removed');
    expect(byId.build?.status).toBe('changed');
    expect(byId.build?.changes).toEqual([
      { path: 'config.command', before: 'make', after: 'make all' },
      { path: 'config.env.B', before: undefined, after: '2' },
    ]);
    expect(byId.test?.changes).toEqual([{ path: 'retry', before: undefined, after: { maxAttempts: 3 } }]);
    expect(d.empty).toBe(false);
    expect(d.sameBehaviour).toBe(false);
  });

  it('calls a stage that only moved "moved", and that keeps behaviour the same', () => {
    const a = spec();
    const b = structuredClone(a);
    b.nodes[2]!.position = { x: 640, y: 80 };
    const d = diffSpecs(a, b);
    expect(d.nodes).toEqual([expect.objectContaining({ id: 'qa', status: 'moved' })]);
    expect(d.sameBehaviour).toBe(true);
    expect(d.empty).toBe(false);
  });

  it('matches connections by id, then by their ends, and reports condition changes', () => {
    const a = spec();
    const b = structuredClone(a);
    b.edges[0] = { id: 'e-new-id', from: 'build', to: 'test', on: 'always' }; // redrawn, same ends
    b.edges[1] = { id: 'test-qa', from: 'build', to: 'qa', on: 'success' }; // same id, other ends
    const d = diffSpecs(a, b);
    expect(d.edges).toContainEqual(
      expect.objectContaining({ id: 'e-new-id', status: 'changed', changes: [{ path: 'on', before: 'success', after: 'always' }] }),
    );
    expect(d.edges).toContainEqual(expect.objectContaining({ id: 'test-qa', status: 'added', after: b.edges[1] }));
    expect(d.edges).toContainEqual(expect.objectContaining({ id: 'test-qa', status: 'removed', before: a.edges[1] }));
    expect(d.edges).toHaveLength(3);
  });

  it('reports parameters, the name and settings', () => {
    const a = spec();
    const b = spec({
      name: 'Q',
      parameters: [
        { name: 'version', type: 'string', required: false, default: '1.0' },
        { name: 'env', type: 'string', required: false },
      ],
      settings: { concurrency: 2, defaultRetry: {}, stageTimeoutSeconds: 3600, runTimeoutSeconds: 0 },
    });
    const d = diffSpecs(a, b);
    expect(d.parameters).toEqual([
      { name: 'version', status: 'changed', changes: [{ path: 'required', before: true, after: false }] },
      { name: 'env', status: 'added', changes: [] },
    ]);
    expect(d.pipeline).toEqual([
      { path: 'name', before: 'P', after: 'Q' },
      { path: 'settings.concurrency', before: 1, after: 2 },
    ]);
  });
});

describe('helpers', () => {
  it('jsonEqual ignores key order and undefined keys, compares arrays in order', () => {
    expect(jsonEqual({ a: 1, b: undefined }, { a: 1 })).toBe(true);
    expect(jsonEqual([1, 2], [2, 1])).toBe(false);
    expect(jsonEqual({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toBe(true);
  });
  it('fieldChanges treats arrays as leaves', () => {
    expect(fieldChanges({ users: ['a'] }, { users: ['a', 'b'] })).toEqual([{ path: 'users', before: ['a'], after: ['a', 'b'] }]);
  });
  it('formatValue shortens long values', () => {
    expect(formatValue('x'.repeat(100), 10)).toHaveLength(10);
    expect(formatValue(undefined)).toBe('—');
  });
});
