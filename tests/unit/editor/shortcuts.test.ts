import { describe, expect, it } from 'vitest';
import { createShortcutScope } from '@/app/editor/shortcut-scope';
import { createEditorStore } from '@/app/editor/store';
import type { PipelineSpec } from '@/workflows/model';

describe('single-key shortcuts in the editor', () => {
  it('never fire while typing', () => {
    const scope = createShortcutScope();
    expect(scope.allowsSingleKey({ isText: true, inCanvas: true })).toBe(false);
  });

  it('do not fire after work in a side panel, even once focus fell to the page, until the canvas is used again', () => {
    const scope = createShortcutScope();
    expect(scope.allowsSingleKey({ isText: false, inCanvas: false })).toBe(true);
    scope.interaction('elsewhere'); // a chip removed in the inspector: focus falls to <body>
    expect(scope.allowsSingleKey({ isText: false, inCanvas: false })).toBe(false);
    scope.interaction('canvas');
    expect(scope.allowsSingleKey({ isText: false, inCanvas: false })).toBe(true);
    scope.interaction('elsewhere');
    expect(scope.allowsSingleKey({ isText: false, inCanvas: true })).toBe(true); // the key press itself comes from the canvas
  });
});

describe('connecting stages', () => {
  const spec: PipelineSpec = {
    schemaVersion: 1,
    name: 'p',
    nodes: ['a', 'b', 'c'].map((id, i) => ({ id, kind: 'command', name: id.toUpperCase(), config: { command: 'true' }, position: { x: i * 300, y: 0 } })),
    edges: [
      { id: 'a-b', from: 'a', to: 'b', on: 'success' },
      { id: 'b-c', from: 'b', to: 'c', on: 'success' },
    ],
    parameters: [],
    settings: { concurrency: 1, defaultRetry: {}, stageTimeoutSeconds: 3600, runTimeoutSeconds: 0 },
  };

  it('refuses a connection that would close a loop, says why, and changes nothing', () => {
    const store = createEditorStore(spec);
    const res = store.getState().actions.connect('c', 'a');
    expect(res).toEqual({ ok: false, reason: expect.stringContaining('would make a loop') });
    expect(store.getState().spec.edges).toHaveLength(2);
    expect(store.getState().actions.connect('a', 'c').ok).toBe(true);
  });
});
