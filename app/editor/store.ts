/**
 * The editor's one store (zustand, vanilla so unit tests need no React).
 *
 * 1. `spec` is the document being edited — the same `PipelineSpec` the server
 *    saves and runs. Everything the canvas shows is derived from it (and from
 *    overlays: selection, issues, a diff, a run's status) and never stored in it.
 * 2. Every edit goes through `commit`, which pushes the previous document onto
 *    `past`: undo/redo covers every edit, including moves, layout, pasted
 *    stages, code-view edits and restored versions. Typing in one field is
 *    coalesced into one step (same `coalesce` key within a second); a drag is
 *    one step however many frames it has.
 * 3. `revision` changes whenever something other than positions changes, so
 *    live validation can skip work while a stage is being dragged.
 * 4. `saved` is the document as last loaded or saved: `spec !== saved` means
 *    unsaved changes (history keeps the same objects, so undoing back to the
 *    saved state is clean again).
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import {
  getStageDefinition,
  type EdgeCondition,
  type PipelineEdge,
  type PipelineNode,
  type PipelineParameter,
  type PipelineSettings,
  type PipelineSpec,
} from '@/workflows/model';
import type { RunStatusDescription, ValidationIssue } from '@/workflows/model';
import type { SpecDiff } from '@/workflows/model/diff';
import { mergeSpecs } from '@/workflows/model/merge';
import { copyPayload, pastePayload, remapOutputRefs, type ClipboardPayload } from './clipboard';
import { edgeIdFor, slugify, uniqueId } from './ids';

/** How many steps undo goes back. */
export const HISTORY_LIMIT = 200;
/** Edits with the same coalesce key closer together than this are one undo step. */
export const COALESCE_MS = 1000;

export type HistoryEntry = { spec: PipelineSpec; label: string };

/** What the canvas shows: the working copy, an older version (read-only), or a comparison (read-only). */
export type EditorMode =
  | { kind: 'edit' }
  | { kind: 'version'; version: number; spec: PipelineSpec; label: string }
  | { kind: 'compare'; from: number | 'draft'; to: number | 'draft'; fromLabel: string; toLabel: string; spec: PipelineSpec; diff: SpecDiff };

export type Size = { width: number; height: number };

/** A run being watched from the editor: its stages' statuses are painted on the canvas. */
export type RunOverlay = {
  id: string;
  number: number;
  status: string;
  stages: ReadonlyMap<string, string>;
  /** The status in words (describeRunStatus), once the run is loaded. */
  display?: RunStatusDescription;
};

/** A request to show one field of the config panel (from the problems list). */
export type FocusRequest = { nodeId: string | null; edgeId?: string | null; path?: string; seq: number };

/** Code-view text that is not applied to the document, in the format it was typed in. */
export type CodeDraft = { format: 'yaml' | 'json'; text: string };

export type EditorActions = {
  /** Replaces everything with a freshly loaded document (clears history). */
  load(spec: PipelineSpec, opts?: { readOnly?: boolean }): void;
  /** The document that was just saved (or the current one) is now the clean state. */
  markSaved(spec?: PipelineSpec): void;
  setReadOnly(readOnly: boolean): void;
  setMode(mode: EditorMode): void;

  addNode(kind: string, position: { x: number; y: number }, opts?: { connectFrom?: string; name?: string }): string | null;
  updateNode(id: string, patch: Partial<Omit<PipelineNode, 'id'>>, coalesce?: string): void;
  setNodeConfig(id: string, config: Record<string, unknown>, coalesce?: string): void;
  renameNodeId(id: string, next: string): string | null;
  moveNodes(moves: { id: string; position: { x: number; y: number } }[], coalesce?: string): void;
  beginDrag(): void;
  endDrag(): void;
  connect(from: string, to: string, on?: EdgeCondition): { ok: true; id: string } | { ok: false; reason: string };
  setEdgeCondition(id: string, on: EdgeCondition): void;
  remove(nodeIds: Iterable<string>, edgeIds: Iterable<string>): void;
  removeSelection(): void;

  setSelection(nodeIds: Iterable<string>, edgeIds?: Iterable<string>): void;
  selectAll(): void;
  clearSelection(): void;

  copySelection(): ClipboardPayload | null;
  cutSelection(): ClipboardPayload | null;
  paste(payload: ClipboardPayload, at?: { x: number; y: number }): string[];
  duplicateSelection(): string[];

  setParameters(parameters: PipelineParameter[], coalesce?: string): void;
  setSettings(settings: PipelineSettings, coalesce?: string): void;
  setMeta(meta: { name?: string; description?: string }, coalesce?: string): void;
  replaceSpec(spec: PipelineSpec, label: string, opts?: { positionsOnly?: boolean; coalesce?: string }): void;
  applyPositions(positions: ReadonlyMap<string, { x: number; y: number }>, label: string): void;

  setMeasured(sizes: { id: string; size: Size }[]): void;
  setValidation(issues: ValidationIssue[], revision: number): void;
  setRun(run: RunOverlay | null): void;
  /** Keeps (or, with null, drops) code-view text that could not be applied, so it outlives the code view. */
  setCodeDraft(draft: CodeDraft | null): void;
  requestFocus(target: Omit<FocusRequest, 'seq'>): void;
  undo(): void;
  redo(): void;
  /**
   * Undoes exactly one earlier edit (`before` → `after`), as a toast's Undo button does: the plain undo while it
   * is still the last edit; after later edits, those are kept and only this one is taken back (a three-way merge),
   * unless later edits changed the same things — then nothing changes and the reason is returned.
   */
  undoEdit(before: PipelineSpec, after: PipelineSpec, label: string): { ok: true } | { ok: false; reason: string };
};

export type EditorState = {
  spec: PipelineSpec;
  saved: PipelineSpec;
  revision: number;
  past: HistoryEntry[];
  future: HistoryEntry[];
  lastEdit: { key: string; at: number } | null;
  /** The document when the current drag started (one undo step per drag). */
  dragStart: PipelineSpec | null;
  selectedNodes: ReadonlySet<string>;
  selectedEdges: ReadonlySet<string>;
  /** Rendered sizes of stages, reported by the canvas (not part of the document). */
  measured: ReadonlyMap<string, Size>;
  mode: EditorMode;
  readOnly: boolean;
  /** Live validation of the displayed document (same validator as the server). */
  issues: ValidationIssue[];
  /** The `revision` the issues were computed for. */
  issuesRevision: number;
  run: RunOverlay | null;
  focus: FocusRequest | null;
  /** Text typed in the code view that cannot be applied (a syntax error): kept until fixed or discarded. */
  codeDraft: CodeDraft | null;
  actions: EditorActions;
};

export type EditorStore = StoreApi<EditorState>;

const EMPTY = new Set<string>();

export function isDirty(s: Pick<EditorState, 'spec' | 'saved'>): boolean {
  return s.spec !== s.saved;
}

/** The document on the canvas: the working copy, or what the current mode shows. */
export function displayedSpec(s: Pick<EditorState, 'spec' | 'mode'>): PipelineSpec {
  return s.mode.kind === 'edit' ? s.spec : s.mode.spec;
}

export function canEdit(s: Pick<EditorState, 'readOnly' | 'mode'>): boolean {
  return !s.readOnly && s.mode.kind === 'edit';
}

function keep(ids: ReadonlySet<string>, exists: ReadonlySet<string>): ReadonlySet<string> {
  if (ids.size === 0) return ids;
  let all = true;
  for (const id of ids) if (!exists.has(id)) all = false;
  return all ? ids : new Set([...ids].filter((id) => exists.has(id)));
}

/** Whether `to` can be reached from `from` along the edges (so an edge to → from would close a cycle). */
export function reaches(edges: readonly { from: string; to: string }[], from: string, to: string): boolean {
  const next = new Map<string, string[]>();
  for (const e of edges) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  const seen = new Set<string>([from]);
  const stack = [from];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (id === to) return true;
    for (const n of next.get(id) ?? []) {
      if (seen.has(n)) continue;
      seen.add(n);
      stack.push(n);
    }
  }
  return false;
}

export function createEditorStore(initial: PipelineSpec, opts: { readOnly?: boolean; now?: () => number } = {}): EditorStore {
  const now = opts.now ?? Date.now;

  return createStore<EditorState>()((set, get) => {
    /** Records one edit; `positionsOnly` keeps `revision` (nothing to re-validate). */
    const commit = (next: PipelineSpec, label: string, o: { coalesce?: string; positionsOnly?: boolean } = {}) => {
      const s = get();
      if (!canEdit(s) || next === s.spec) return;
      const t = now();
      const merge = o.coalesce !== undefined && s.lastEdit?.key === o.coalesce && t - s.lastEdit.at < COALESCE_MS && s.past.length > 0;
      const past = merge ? s.past : [...s.past, { spec: s.spec, label }].slice(-HISTORY_LIMIT);
      set({
        spec: next,
        past,
        future: [],
        lastEdit: o.coalesce !== undefined ? { key: o.coalesce, at: t } : null,
        revision: o.positionsOnly ? s.revision : s.revision + 1,
      });
    };

    const mapNodes = (spec: PipelineSpec, fn: (n: PipelineNode) => PipelineNode): PipelineSpec => {
      let changed = false;
      const nodes = spec.nodes.map((n) => {
        const m = fn(n);
        if (m !== n) changed = true;
        return m;
      });
      return changed ? { ...spec, nodes } : spec;
    };

    /** Applies a history entry, leaving the selection on what still exists. */
    const travel = (from: 'past' | 'future') => {
      const s = get();
      if (!canEdit(s)) return;
      const stack = s[from];
      const entry = stack[stack.length - 1];
      if (!entry) return;
      const rest = stack.slice(0, -1);
      const back: HistoryEntry = { spec: s.spec, label: entry.label };
      const nodeIds = new Set(entry.spec.nodes.map((n) => n.id));
      const edgeIds = new Set(entry.spec.edges.map((e) => e.id));
      set({
        spec: entry.spec,
        past: from === 'past' ? rest : [...s.past, back],
        future: from === 'future' ? rest : [...s.future, back],
        lastEdit: null,
        revision: s.revision + 1,
        selectedNodes: keep(s.selectedNodes, nodeIds),
        selectedEdges: keep(s.selectedEdges, edgeIds),
      });
    };

    const actions: EditorActions = {
      load(spec, o) {
        set({
          spec,
          saved: spec,
          revision: get().revision + 1,
          past: [],
          future: [],
          lastEdit: null,
          dragStart: null,
          selectedNodes: EMPTY,
          selectedEdges: EMPTY,
          mode: { kind: 'edit' },
          readOnly: o?.readOnly ?? get().readOnly,
        });
      },
      markSaved(spec) {
        set({ saved: spec ?? get().spec });
      },
      setReadOnly(readOnly) {
        set({ readOnly });
      },
      setMode(mode) {
        set({ mode, selectedNodes: EMPTY, selectedEdges: EMPTY, dragStart: null, revision: get().revision + 1 });
      },

      addNode(kind, position, o = {}) {
        const s = get();
        const def = getStageDefinition(kind);
        if (!def || !canEdit(s)) return null;
        const taken = new Set(s.spec.nodes.map((n) => n.id));
        const id = uniqueId(slugify(o.name ?? kind), taken);
        const node: PipelineNode = {
          id,
          kind,
          name: o.name ?? def.label,
          config: structuredClone(def.defaults) as Record<string, unknown>,
          position: { x: Math.round(position.x), y: Math.round(position.y) },
        };
        let edges = s.spec.edges;
        if (o.connectFrom && taken.has(o.connectFrom)) {
          const edgeTaken = new Set(edges.map((e) => e.id));
          edges = [...edges, { id: edgeIdFor(o.connectFrom, id, edgeTaken), from: o.connectFrom, to: id, on: 'success' }];
        }
        commit({ ...s.spec, nodes: [...s.spec.nodes, node], edges }, `Add ${def.label}`);
        set({ selectedNodes: new Set([id]), selectedEdges: EMPTY });
        return id;
      },

      updateNode(id, patch, coalesce) {
        const s = get();
        const next = mapNodes(s.spec, (n) => (n.id === id ? { ...n, ...patch } : n));
        const field = Object.keys(patch)[0] ?? 'stage';
        commit(next, `Edit ${field}`, { coalesce: coalesce ?? `node:${id}:${Object.keys(patch).join(',')}` });
      },

      setNodeConfig(id, config, coalesce) {
        const s = get();
        const next = mapNodes(s.spec, (n) => (n.id === id ? { ...n, config } : n));
        commit(next, 'Edit configuration', { coalesce: coalesce ?? `config:${id}` });
      },

      renameNodeId(id, nextId) {
        const s = get();
        if (!canEdit(s) || id === nextId) return id === nextId ? id : null;
        if (s.spec.nodes.some((n) => n.id === nextId)) return null;
        const ids = new Map([[id, nextId]]);
        const nodes = s.spec.nodes.map((n) => (n.id === id ? { ...n, id: nextId } : n)).map((n) => {
          const config = remapOutputRefs(n.config, ids);
          return JSON.stringify(config) === JSON.stringify(n.config) ? n : { ...n, config };
        });
        const edges = s.spec.edges.map((e) => (e.from === id || e.to === id ? { ...e, from: e.from === id ? nextId : e.from, to: e.to === id ? nextId : e.to } : e));
        commit({ ...s.spec, nodes, edges }, 'Rename stage id');
        set({ selectedNodes: new Set([...get().selectedNodes].map((n) => (n === id ? nextId : n))) });
        return nextId;
      },

      moveNodes(moves, coalesce) {
        const s = get();
        if (!canEdit(s) || moves.length === 0) return;
        const at = new Map(moves.map((m) => [m.id, m.position]));
        const next = mapNodes(s.spec, (n) => {
          const p = at.get(n.id);
          return p && (p.x !== n.position.x || p.y !== n.position.y) ? { ...n, position: { x: p.x, y: p.y } } : n;
        });
        if (s.dragStart) {
          // Mid-drag: follow the pointer; `endDrag` records one step.
          if (next !== s.spec) set({ spec: next });
          return;
        }
        commit(next, moves.length === 1 ? 'Move stage' : `Move ${moves.length} stages`, { positionsOnly: true, coalesce: coalesce ?? 'move-keys' });
      },
      beginDrag() {
        const s = get();
        if (canEdit(s) && !s.dragStart) set({ dragStart: s.spec });
      },
      endDrag() {
        const s = get();
        const start = s.dragStart;
        if (!start) return;
        set({ dragStart: null });
        if (start === s.spec) return;
        const moved = s.spec.nodes.filter((n, i) => start.nodes[i] !== n).length;
        set({
          past: [...s.past, { spec: start, label: moved === 1 ? 'Move stage' : `Move ${moved} stages` }].slice(-HISTORY_LIMIT),
          future: [],
          lastEdit: null,
        });
      },

      connect(from, to, on = 'success') {
        const s = get();
        if (!canEdit(s)) return { ok: false, reason: 'This pipeline is read-only here.' };
        if (from === to) return { ok: false, reason: 'A stage cannot depend on itself.' };
        const ids = new Set(s.spec.nodes.map((n) => n.id));
        if (!ids.has(from) || !ids.has(to)) return { ok: false, reason: 'Both stages must exist.' };
        if (s.spec.edges.some((e) => e.from === from && e.to === to)) return { ok: false, reason: 'These stages are already connected.' };
        // A connection back to an earlier stage would make a loop the pipeline can never run: refused, with the reason.
        if (reaches(s.spec.edges, to, from)) {
          const name = (id: string) => s.spec.nodes.find((n) => n.id === id)?.name ?? id;
          return { ok: false, reason: `Not connected: “${name(to)}” already leads to “${name(from)}”, so ${name(from)} → ${name(to)} would make a loop.` };
        }
        const id = edgeIdFor(from, to, new Set(s.spec.edges.map((e) => e.id)));
        const edge: PipelineEdge = { id, from, to, on };
        commit({ ...s.spec, edges: [...s.spec.edges, edge] }, 'Connect stages');
        set({ selectedNodes: EMPTY, selectedEdges: new Set([id]) });
        return { ok: true, id };
      },

      setEdgeCondition(id, on) {
        const s = get();
        let changed = false;
        const edges = s.spec.edges.map((e) => {
          if (e.id !== id || e.on === on) return e;
          changed = true;
          return { ...e, on };
        });
        if (changed) commit({ ...s.spec, edges }, `Run on ${on}`);
      },

      remove(nodeIds, edgeIds) {
        const s = get();
        const nodes = new Set(nodeIds);
        const edges = new Set(edgeIds);
        if (nodes.size === 0 && edges.size === 0) return;
        const next: PipelineSpec = {
          ...s.spec,
          nodes: s.spec.nodes.filter((n) => !nodes.has(n.id)),
          edges: s.spec.edges.filter((e) => !edges.has(e.id) && !nodes.has(e.from) && !nodes.has(e.to)),
        };
        if (next.nodes.length === s.spec.nodes.length && next.edges.length === s.spec.edges.length) return;
        const what = nodes.size > 0 ? `Delete ${nodes.size === 1 ? 'stage' : `${nodes.size} stages`}` : `Delete ${edges.size === 1 ? 'connection' : `${edges.size} connections`}`;
        commit(next, what);
        if (canEdit(s)) set({ selectedNodes: EMPTY, selectedEdges: EMPTY });
      },
      removeSelection() {
        const s = get();
        actions.remove(s.selectedNodes, s.selectedEdges);
      },

      setSelection(nodeIds, edgeIds = []) {
        const nodes = new Set(nodeIds);
        const edges = new Set(edgeIds);
        const s = get();
        const same = (a: ReadonlySet<string>, b: Set<string>) => a.size === b.size && [...b].every((id) => a.has(id));
        if (same(s.selectedNodes, nodes) && same(s.selectedEdges, edges)) return;
        set({ selectedNodes: nodes.size ? nodes : EMPTY, selectedEdges: edges.size ? edges : EMPTY });
      },
      selectAll() {
        const spec = displayedSpec(get());
        set({ selectedNodes: new Set(spec.nodes.map((n) => n.id)), selectedEdges: new Set(spec.edges.map((e) => e.id)) });
      },
      clearSelection() {
        const s = get();
        if (s.selectedNodes.size || s.selectedEdges.size) set({ selectedNodes: EMPTY, selectedEdges: EMPTY });
      },

      copySelection() {
        const s = get();
        return copyPayload(displayedSpec(s), s.selectedNodes);
      },
      cutSelection() {
        const s = get();
        if (!canEdit(s)) return null;
        const payload = copyPayload(s.spec, s.selectedNodes);
        if (payload) actions.remove(s.selectedNodes, []);
        return payload;
      },
      paste(payload, at) {
        const s = get();
        if (!canEdit(s)) return [];
        const result = pastePayload(s.spec, payload, at);
        commit(result.spec, result.nodeIds.length === 1 ? 'Paste stage' : `Paste ${result.nodeIds.length} stages`);
        set({ selectedNodes: new Set(result.nodeIds), selectedEdges: new Set(result.edgeIds) });
        return result.nodeIds;
      },
      duplicateSelection() {
        const payload = actions.copySelection();
        return payload ? actions.paste(payload) : [];
      },

      setParameters(parameters, coalesce) {
        const s = get();
        commit({ ...s.spec, parameters }, 'Edit parameters', { coalesce: coalesce ?? 'parameters' });
      },
      setSettings(settings, coalesce) {
        const s = get();
        commit({ ...s.spec, settings }, 'Edit settings', { coalesce: coalesce ?? 'settings' });
      },
      setMeta(meta, coalesce) {
        const s = get();
        const next = { ...s.spec, ...meta };
        if (meta.description === '') delete next.description;
        commit(next, 'Edit pipeline', { coalesce: coalesce ?? `meta:${Object.keys(meta).join(',')}` });
      },
      replaceSpec(spec, label, o = {}) {
        commit(spec, label, o);
        const s = get();
        set({
          selectedNodes: keep(s.selectedNodes, new Set(s.spec.nodes.map((n) => n.id))),
          selectedEdges: keep(s.selectedEdges, new Set(s.spec.edges.map((e) => e.id))),
        });
      },
      applyPositions(positions, label) {
        const s = get();
        const next = mapNodes(s.spec, (n) => {
          const p = positions.get(n.id);
          return p && (p.x !== n.position.x || p.y !== n.position.y) ? { ...n, position: p } : n;
        });
        commit(next, label, { positionsOnly: true });
      },

      setMeasured(sizes) {
        const s = get();
        let changed = false;
        const next = new Map(s.measured);
        for (const { id, size } of sizes) {
          const old = next.get(id);
          if (!old || old.width !== size.width || old.height !== size.height) {
            next.set(id, size);
            changed = true;
          }
        }
        if (changed) set({ measured: next });
      },
      setValidation(issues, revision) {
        set({ issues, issuesRevision: revision });
      },
      setRun(run) {
        set({ run });
      },
      setCodeDraft(codeDraft) {
        set({ codeDraft });
      },
      requestFocus(target) {
        set({ focus: { ...target, seq: (get().focus?.seq ?? 0) + 1 } });
      },
      undoEdit(before, after, label) {
        const s = get();
        if (!canEdit(s)) return { ok: false, reason: 'This pipeline cannot be edited now.' };
        if (s.spec === before) return { ok: true };
        if (s.spec === after && s.past.at(-1)?.spec === before) {
          travel('past');
          return { ok: true };
        }
        const merged = mergeSpecs(after, s.spec, before);
        if (merged.conflicts.length > 0) return { ok: false, reason: `Cannot undo “${label}”: later edits changed the same stages. Use Ctrl+Z to step back.` };
        commit(merged.spec, `Undo ${label}`);
        return { ok: true };
      },
      undo() {
        travel('past');
      },
      redo() {
        travel('future');
      },
    };

    return {
      spec: initial,
      saved: initial,
      revision: 0,
      past: [],
      future: [],
      lastEdit: null,
      dragStart: null,
      selectedNodes: EMPTY,
      selectedEdges: EMPTY,
      measured: new Map(),
      mode: { kind: 'edit' },
      readOnly: opts.readOnly ?? false,
      issues: [],
      issuesRevision: -1,
      run: null,
      focus: null,
      codeDraft: null,
      actions,
    };
  });
}
