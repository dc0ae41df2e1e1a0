import { describe, expect, it } from 'vitest';
import { mergeSpecs } from '../../../workflows/model/merge';
import type { PipelineSpec } from '../../../workflows/model/spec';

const base: PipelineSpec = {
  schemaVersion: 1,
  name: 'Release',
  parameters: [{ name: 'version', type: 'string', required: true }],
  settings: { concurrency: 1, defaultRetry: {}, stageTimeoutSeconds: 3600, runTimeoutSeconds: 0 },
  nodes: [
    { id: 'build', kind: 'command', name: 'Build', config: { command: 'make' }, position: { x: 0, y: 0 } },
    { id: 'deploy', kind: 'command', name: 'Deploy', config: { command: './deploy.sh' }, position: { x: 300, y: 0 } },
  ],
  edges: [{ id: 'build-deploy', from: 'build', to: 'deploy', on: 'success' }],
} as PipelineSpec;

const node = (spec: PipelineSpec, id: string) => spec.nodes.find((n) => n.id === id)!;
const withNode = (spec: PipelineSpec, id: string, patch: Partial<PipelineSpec['nodes'][number]>): PipelineSpec => ({
  ...spec,
  nodes: spec.nodes.map((n) => (n.id === id ? { ...n, ...patch } : n)),
});

describe('three-way merge of pipeline versions', () => {
  it('keeps both renames when one person renamed Build and the other Deploy (issue 16, item 3)', () => {
    const theirs = withNode(base, 'build', { name: 'Compile' });
    const mine = withNode(base, 'deploy', { name: 'Ship' });
    const r = mergeSpecs(base, mine, theirs);
    expect(r.conflicts).toEqual([]);
    expect(node(r.spec, 'build').name).toBe('Compile');
    expect(node(r.spec, 'deploy').name).toBe('Ship');
    expect(r.fromTheirs).toContainEqual(['nodes', 'build']);
  });

  it('merges different fields of the same stage, and added stages, connections and parameters from both', () => {
    const theirs: PipelineSpec = {
      ...withNode(base, 'deploy', { config: { command: './deploy.sh --prod' } }),
      nodes: [...withNode(base, 'deploy', { config: { command: './deploy.sh --prod' } }).nodes, { id: 'smoke', kind: 'command', name: 'Smoke', config: { command: 'curl x' }, position: { x: 600, y: 0 } }],
      edges: [...base.edges, { id: 'deploy-smoke', from: 'deploy', to: 'smoke', on: 'success' }],
    } as PipelineSpec;
    const mine: PipelineSpec = {
      ...withNode(base, 'deploy', { description: 'to production' }),
      parameters: [...base.parameters, { name: 'region', type: 'string', required: false }],
    } as PipelineSpec;
    const r = mergeSpecs(base, mine, theirs);
    expect(r.conflicts).toEqual([]);
    expect(node(r.spec, 'deploy')).toMatchObject({ description: 'to production', config: { command: './deploy.sh --prod' } });
    expect(r.spec.nodes.map((n) => n.id)).toEqual(['build', 'deploy', 'smoke']);
    expect(r.spec.edges.map((e) => e.id)).toEqual(['build-deploy', 'deploy-smoke']);
    expect(r.spec.parameters.map((p) => p.name)).toEqual(['version', 'region']);
  });

  it('keeps a deletion by one side when the other did not touch the stage', () => {
    const theirs: PipelineSpec = { ...base, nodes: base.nodes.filter((n) => n.id !== 'deploy'), edges: [] };
    const mine = { ...base, name: 'Release train' };
    const r = mergeSpecs(base, mine, theirs);
    expect(r.conflicts).toEqual([]);
    expect(r.spec.nodes.map((n) => n.id)).toEqual(['build']);
    expect(r.spec.edges).toEqual([]);
    expect(r.spec.name).toBe('Release train');
  });

  it('lists a value both changed differently as a conflict, with both sides, decided per conflict', () => {
    const theirs = withNode(base, 'build', { name: 'Compile' });
    const mine = withNode(base, 'build', { name: 'Make' });
    const r = mergeSpecs(base, mine, theirs);
    expect(r.conflicts).toEqual([{ key: JSON.stringify(['nodes', 'build', 'name']), path: ['nodes', 'build', 'name'], base: 'Build', mine: 'Make', theirs: 'Compile' }]);
    expect(r.unresolved).toEqual([r.conflicts[0]!.key]);
    expect(node(mergeSpecs(base, mine, theirs, { [r.conflicts[0]!.key]: 'theirs' }).spec, 'build').name).toBe('Compile');
    const mineChosen = mergeSpecs(base, mine, theirs, { [r.conflicts[0]!.key]: 'mine' });
    expect(node(mineChosen.spec, 'build').name).toBe('Make');
    expect(mineChosen.unresolved).toEqual([]);
  });

  it('a stage one side deleted and the other changed is a conflict, not a silent loss', () => {
    const theirs: PipelineSpec = { ...base, nodes: base.nodes.filter((n) => n.id !== 'deploy'), edges: [] };
    const mine = withNode(base, 'deploy', { name: 'Ship' });
    const r = mergeSpecs(base, mine, theirs);
    expect(r.conflicts.map((c) => c.path)).toEqual([['nodes', 'deploy']]);
    expect(r.conflicts[0]!.theirs).toBeUndefined();
    expect(node(r.spec, 'deploy').name).toBe('Ship');
    const deleted = mergeSpecs(base, mine, theirs, { [r.conflicts[0]!.key]: 'theirs' });
    expect(deleted.spec.nodes.map((n) => n.id)).toEqual(['build']);
  });

  it('both moving a stage is not a question: yours stays, and the merge says so', () => {
    const theirs = withNode(base, 'build', { position: { x: 10, y: 10 } });
    const mine = withNode(base, 'build', { position: { x: 50, y: 90 } });
    const r = mergeSpecs(base, mine, theirs);
    expect(r.conflicts).toEqual([]);
    expect(node(r.spec, 'build').position).toEqual({ x: 50, y: 90 });
    expect(r.notes).toEqual(['Both of you moved stage "Build": it stays where you put it.']);
  });
});
