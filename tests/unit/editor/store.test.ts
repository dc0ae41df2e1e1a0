import { describe, expect, it } from 'vitest';
import { validatePipeline, type PipelineSpec } from '@/workflows/model';
import { copyPayload, parsePayload, pastePayload, serializePayload } from '@/app/editor/clipboard';
import { COALESCE_MS, createEditorStore, displayedSpec, HISTORY_LIMIT, isDirty } from '@/app/editor/store';

function spec(): PipelineSpec {
  return {
    schemaVersion: 1,
    name: 'Demo',
    nodes: [
      { id: 'build', kind: 'command', name: 'Build', config: { command: 'echo "artifact=a.tgz" >> "$PIPEWRIGHT_OUTPUT"' }, position: { x: 0, y: 0 } },
      { id: 'deploy', kind: 'command', name: 'Deploy', config: { command: 'echo ${{ stages.build.outputs.artifact }} ${{ params.env }}' }, position: { x: 300, y: 0 } },
    ],
    edges: [{ id: 'build-deploy', from: 'build', to: 'deploy', on: 'success' }],
    parameters: [{ name: 'env', type: 'string', required: false, default: 'staging' }],
    settings: { concurrency: 1, defaultRetry: {}, stageTimeoutSeconds: 3600, runTimeoutSeconds: 0 },
  };
}

function setup() {
  let t = 0;
  const clock = { advance: (ms: number) => (t += ms) };
  const store = createEditorStore(spec(), { now: () => t });
  return { store, a: store.getState().actions, clock };
}

describe('editor store: edits and undo/redo', () => {
  it('adds a stage from the registry with its defaults, a readable id, connected from the selected stage', () => {
    const { store, a } = setup();
    const id = a.addNode('command', { x: 600.4, y: 10 }, { connectFrom: 'deploy' });
    const s = store.getState();
    expect(id).toBe('command');
    expect(s.spec.nodes.at(-1)).toMatchObject({ id: 'command', kind: 'command', name: 'Command', position: { x: 600, y: 10 }, config: { command: 'echo "hello from Pipewright"' } });
    expect(s.spec.edges.at(-1)).toEqual({ id: 'deploy-command', from: 'deploy', to: 'command', on: 'success' });
    expect([...s.selectedNodes]).toEqual(['command']);
    expect(a.addNode('command', { x: 0, y: 0 })).toBe('command-2');
    expect(a.addNode('no-such-kind', { x: 0, y: 0 })).toBeNull();
  });

  it('undoes and redoes every kind of edit, one step each, and knows when it is back at the saved state', () => {
    const { store, a, clock } = setup();
    const original = store.getState().spec;
    const steps: [string, () => void][] = [
      ['add', () => a.addNode('wait', { x: 0, y: 200 })],
      ['connect', () => a.connect('deploy', 'wait')],
      ['condition', () => a.setEdgeCondition('deploy-wait', 'failure')],
      ['config', () => a.setNodeConfig('wait', { seconds: 5 })],
      ['rename', () => a.updateNode('wait', { name: 'Bake' })],
      ['move', () => a.moveNodes([{ id: 'wait', position: { x: 40, y: 240 } }])],
      ['params', () => a.setParameters([])],
      ['settings', () => a.setSettings({ ...store.getState().spec.settings, concurrency: 3 })],
      ['meta', () => a.setMeta({ name: 'Renamed' })],
      ['delete', () => a.remove(['build'], [])],
    ];
    const snapshots = [store.getState().spec];
    for (const [, run] of steps) {
      clock.advance(COALESCE_MS + 1);
      run();
      snapshots.push(store.getState().spec);
    }
    expect(new Set(snapshots).size).toBe(steps.length + 1);
    expect(store.getState().past).toHaveLength(steps.length);
    expect(isDirty(store.getState())).toBe(true);

    for (let i = steps.length - 1; i >= 0; i--) {
      a.undo();
      expect(store.getState().spec).toBe(snapshots[i]);
    }
    expect(store.getState().spec).toBe(original);
    expect(isDirty(store.getState())).toBe(false);
    a.undo(); // nothing left: no-op
    expect(store.getState().spec).toBe(original);

    for (let i = 1; i <= steps.length; i++) {
      a.redo();
      expect(store.getState().spec).toBe(snapshots[i]);
    }
    // A new edit after undo drops the redo stack.
    a.undo();
    a.addNode('command', { x: 0, y: 0 });
    expect(store.getState().future).toHaveLength(0);
  });

  it('coalesces typing in one field into one step, but not across fields or after a pause', () => {
    const { store, a, clock } = setup();
    for (const text of ['e', 'ec', 'ech', 'echo']) {
      clock.advance(100);
      a.setNodeConfig('build', { command: text }, 'config:build:command');
    }
    expect(store.getState().past).toHaveLength(1);
    clock.advance(100);
    a.setNodeConfig('build', { command: 'echo', cwd: '/' }, 'config:build:cwd');
    expect(store.getState().past).toHaveLength(2);
    clock.advance(COALESCE_MS + 1);
    a.setNodeConfig('build', { command: 'echo', cwd: '/tmp' }, 'config:build:cwd');
    expect(store.getState().past).toHaveLength(3);
    a.undo();
    a.undo();
    a.undo();
    expect(store.getState().spec.nodes[0]!.config.command).toContain('PIPEWRIGHT_OUTPUT');
  });

  it('records a drag as one step and does not bump the validation revision for moves', () => {
    const { store, a } = setup();
    const before = store.getState();
    a.beginDrag();
    for (let x = 1; x <= 30; x++) a.moveNodes([{ id: 'build', position: { x, y: x } }]);
    a.endDrag();
    const s = store.getState();
    expect(s.past).toHaveLength(1);
    expect(s.past[0]!.label).toBe('Move stage');
    expect(s.spec.nodes[0]!.position).toEqual({ x: 30, y: 30 });
    expect(s.revision).toBe(before.revision);
    a.undo();
    expect(store.getState().spec).toBe(before.spec);
  });

  it('refuses self-loops and duplicate connections, deletes connections with their stages', () => {
    const { store, a } = setup();
    expect(a.connect('build', 'build')).toEqual({ ok: false, reason: 'A stage cannot depend on itself.' });
    expect(a.connect('build', 'deploy')).toMatchObject({ ok: false });
    a.remove(['deploy'], []);
    expect(store.getState().spec.edges).toEqual([]);
  });

  it('select-all selects every stage and connection; deleting the selection is one step', () => {
    const { store, a } = setup();
    a.selectAll();
    expect(store.getState().selectedNodes.size).toBe(2);
    expect(store.getState().selectedEdges.size).toBe(1);
    a.removeSelection();
    expect(store.getState().spec.nodes).toEqual([]);
    expect(store.getState().selectedNodes.size).toBe(0);
    a.undo();
    expect(store.getState().spec.nodes).toHaveLength(2);
  });

  it('renaming an id follows connections and output references', () => {
    const { store, a } = setup();
    expect(a.renameNodeId('build', 'compile')).toBe('compile');
    const s = store.getState().spec;
    expect(s.edges[0]).toMatchObject({ from: 'compile', to: 'deploy' });
    expect(s.nodes[1]!.config.command).toBe('echo ${{ stages.compile.outputs.artifact }} ${{ params.env }}');
    expect(a.renameNodeId('compile', 'deploy')).toBeNull();
    // Only the advice to read the values as $PW_… variables; no broken reference.
    expect(validatePipeline(s).issues.filter((i) => i.code !== 'template-in-command')).toEqual([]);
  });

  it('keeps at most HISTORY_LIMIT steps', () => {
    const { store, a, clock } = setup();
    for (let i = 0; i < HISTORY_LIMIT + 20; i++) {
      clock.advance(COALESCE_MS + 1);
      a.setMeta({ name: `n${i}` });
    }
    expect(store.getState().past).toHaveLength(HISTORY_LIMIT);
  });

  it('is read-only for viewers and while showing another version', () => {
    const store = createEditorStore(spec(), { readOnly: true });
    const a = store.getState().actions;
    expect(a.addNode('command', { x: 0, y: 0 })).toBeNull();
    a.remove(['build'], []);
    expect(store.getState().spec.nodes).toHaveLength(2);

    const { store: s2, a: a2 } = setup();
    const other = { ...spec(), name: 'Old' };
    a2.setMode({ kind: 'version', version: 1, spec: other, label: 'v1' });
    expect(displayedSpec(s2.getState())).toBe(other);
    a2.setMeta({ name: 'x' });
    expect(s2.getState().spec.name).toBe('Demo');
    a2.setMode({ kind: 'edit' });
    a2.setMeta({ name: 'x' });
    expect(s2.getState().spec.name).toBe('x');
  });
});

describe('copy, paste and duplicate', () => {
  it('copies the stages, the connections among them and the parameters they use', () => {
    const payload = copyPayload(spec(), ['deploy'])!;
    expect(payload.nodes.map((n) => n.id)).toEqual(['deploy']);
    expect(payload.edges).toEqual([]);
    expect(payload.parameters.map((p) => p.name)).toEqual(['env']);
    const both = copyPayload(spec(), ['build', 'deploy'])!;
    expect(both.edges).toHaveLength(1);
    expect(copyPayload(spec(), [])).toBeNull();
  });

  it('pastes with fresh ids, remapped connections and references, offset so nothing overlaps', () => {
    const s = spec();
    const payload = parsePayload(serializePayload(copyPayload(s, ['build', 'deploy'])!))!;
    const r = pastePayload(s, payload);
    expect(r.nodeIds).toEqual(['build-2', 'deploy-2']);
    expect(r.edgeIds).toEqual(['build-2-deploy-2']);
    const pasted = r.spec.nodes.find((n) => n.id === 'deploy-2')!;
    expect(pasted.config.command).toBe('echo ${{ stages.build-2.outputs.artifact }} ${{ params.env }}');
    expect(pasted.position).toEqual({ x: 340, y: 40 });
    expect(r.spec.edges.at(-1)).toEqual({ id: 'build-2-deploy-2', from: 'build-2', to: 'deploy-2', on: 'success' });
    expect(validatePipeline(r.spec).issues.filter((i) => i.severity === 'error')).toEqual([]);
    // Pasting again steps further so it does not land on the first copy.
    const again = pastePayload(r.spec, payload);
    expect(again.spec.nodes.find((n) => n.id === 'build-3')!.position).toEqual({ x: 80, y: 80 });
  });

  it('keeps a reference to a stage that was not copied as it is, and pastes at a given point', () => {
    const s = spec();
    const r = pastePayload(s, copyPayload(s, ['deploy'])!, { x: 1000, y: 500 });
    const pasted = r.spec.nodes.find((n) => n.id === 'deploy-2')!;
    expect(pasted.config.command).toContain('stages.build.outputs.artifact');
    expect(pasted.position).toEqual({ x: 1000, y: 500 });
  });

  it('brings the parameters a stage uses into another pipeline', () => {
    const target: PipelineSpec = { ...spec(), nodes: [], edges: [], parameters: [] };
    const r = pastePayload(target, copyPayload(spec(), ['deploy'])!);
    expect(r.addedParameters).toEqual(['env']);
    expect(r.spec.nodes.map((n) => n.id)).toEqual(['deploy']);
  });

  it('reads our own format and whole pipeline documents; ignores anything else', () => {
    expect(parsePayload('not json')).toBeNull();
    expect(parsePayload('{"hello": 1}')).toBeNull();
    expect(parsePayload(JSON.stringify({ format: 'pipewright/stages', version: 1, nodes: [{ id: '1bad', kind: 'x', name: 'y' }] }))).toBeNull();
    const doc = parsePayload(JSON.stringify(spec()))!;
    expect(doc.nodes).toHaveLength(2);
    expect(doc.edges).toHaveLength(1);
  });

  it('duplicate and cut through the store select the result and are undoable', () => {
    const { store, a } = setup();
    a.setSelection(['build', 'deploy']);
    const ids = a.duplicateSelection();
    expect(ids).toEqual(['build-2', 'deploy-2']);
    expect([...store.getState().selectedNodes]).toEqual(ids);
    expect(store.getState().spec.nodes).toHaveLength(4);
    a.setSelection(['build-2']);
    const cut = a.cutSelection();
    expect(cut?.nodes.map((n) => n.id)).toEqual(['build-2']);
    expect(store.getState().spec.nodes).toHaveLength(3);
    a.undo();
    a.undo();
    expect(store.getState().spec.nodes).toHaveLength(2);
  });
});

describe('editor store: a toast’s Undo takes back exactly its edit', () => {
  it('is the plain undo while the edit is the last one', () => {
    const { store, a } = setup();
    const before = store.getState().spec;
    a.remove(['deploy'], []);
    const after = store.getState().spec;
    expect(a.undoEdit(before, after, 'delete stage “Deploy”')).toEqual({ ok: true });
    expect(store.getState().spec).toBe(before);
    expect(store.getState().future).toHaveLength(1);
  });

  it('after later edits, brings back only the deleted stage and keeps the later edits', () => {
    const { store, a, clock } = setup();
    const before = store.getState().spec;
    a.remove(['deploy'], []);
    const after = store.getState().spec;
    clock.advance(5000);
    a.updateNode('build', { name: 'Compile' });
    const id = a.addNode('wait', { x: 0, y: 200 });
    expect(a.undoEdit(before, after, 'delete stage “Deploy”')).toEqual({ ok: true });
    const s = store.getState().spec;
    expect(s.nodes.map((n) => n.id).sort()).toEqual(['build', 'deploy', id].sort());
    expect(s.nodes.find((n) => n.id === 'build')?.name).toBe('Compile');
    expect(s.edges).toEqual([{ id: 'build-deploy', from: 'build', to: 'deploy', on: 'success' }]);
    // The undo is itself one step.
    expect(store.getState().past.at(-1)?.label).toBe('Undo delete stage “Deploy”');
  });

  it('takes back a connection added from the keyboard, not the edits after it', () => {
    const { store, a, clock } = setup();
    const id = a.addNode('wait', { x: 600, y: 0 });
    const before = store.getState().spec;
    expect(a.connect('deploy', id!, 'always').ok).toBe(true);
    const after = store.getState().spec;
    clock.advance(5000);
    a.updateNode('deploy', { name: 'Ship' });
    expect(a.undoEdit(before, after, 'connect')).toEqual({ ok: true });
    const s = store.getState().spec;
    expect(s.edges.some((e) => e.to === id)).toBe(false);
    expect(s.nodes.find((n) => n.id === 'deploy')?.name).toBe('Ship');
  });

  it('refuses, changing nothing, when later edits changed what it would bring back', () => {
    const { store, a, clock } = setup();
    const before = store.getState().spec;
    a.updateNode('deploy', { name: 'Release' });
    const after = store.getState().spec;
    clock.advance(5000);
    a.updateNode('deploy', { name: 'Ship' });
    const current = store.getState().spec;
    const res = a.undoEdit(before, after, 'rename');
    expect(res.ok).toBe(false);
    expect(store.getState().spec).toBe(current);
  });
});
