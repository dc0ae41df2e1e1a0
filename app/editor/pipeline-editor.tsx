'use client';
/**
 * The pipeline editor: palette, canvas (or YAML/JSON), and a side panel
 * (inspect, problems, history) around one editor store.
 *
 * 1. Loads the newest version and edits on top of it (`baseVersion`). Saving
 *    sends `baseVersion`; when someone saved in between, the server refuses
 *    (CONFLICT) and the editor says who and offers to see their change.
 * 2. Live validation: the same `validatePipeline` as the server, re-run when
 *    the document changes (not while stages are merely dragged).
 * 3. Run starts the saved version and paints that run's stage statuses on the
 *    canvas, live (painted on, never saved into the spec).
 * 4. Leaving with unsaved changes asks first (tab close, reload, links).
 */
import '@xyflow/react/dist/style.css';
import './editor.css';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { ReactFlowProvider, useReactFlow } from '@xyflow/react';
import dynamic from 'next/dynamic';
import Link from 'next/link';
import { useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { RunButton } from '@/app/components/run-button';
import { FINISHED_RUN, RunStatusChip, StatusChip } from '@/app/components/status';
import { Button, cx, ErrorBox, Spinner } from '@/app/components/ui';
import { describeError } from '@/app/lib/errors';
import { useTRPC } from '@/app/trpc/react';
import { validatePipeline, type PipelineSpec } from '@/workflows/model';
import { diffSpecs } from '@/workflows/model/diff';
import { mergeSpecs, type MergeChoice } from '@/workflows/model/merge';
import { MergeDialog, type PendingMerge } from './merge-dialog';
import { Canvas, showReadable } from './canvas';
import { parsePayload, serializePayload } from './clipboard';
import { ConnectDialog, ImportDialog, SaveDialog, ShortcutsDialog, type ImportProblem } from './dialogs';
import { EditorStoreContext, useEditor, useEditorActions, useEditorStore } from './editor-context';
import { EditorUiContext, isTextTarget, readSystemClipboard, recalledClipboard, rememberClipboard, writeSystemClipboard, type EditorUi, type JumpTarget } from './editor-ui';
import { slugify } from './ids';
import { createShortcutScope } from './shortcut-scope';
import { Inspector } from './inspector';
import { layoutPositions, needsLayout } from './layout';
import { Palette } from './palette';
import { ChangesPanel, HistoryPanel, ProblemsPanel } from './panels';
import type { TextFormat } from './spec-text';
import { canEdit, createEditorStore, displayedSpec, isDirty, type EditorStore } from './store';
import { comparisonSpec, type ConditionFlowEdge, type StageFlowNode } from './view-model';

// The YAML parser and the code view load when first needed, not with the canvas.
const CodeView = dynamic(() => import('./code-view').then((m) => m.CodeView), {
  ssr: false,
  loading: () => (
    <div className="flex h-full items-center justify-center gap-2 text-sm text-muted">
      <Spinner /> Loading the code view…
    </div>
  ),
});
const specText = () => import('./spec-text');

type View = 'canvas' | 'yaml' | 'json';
type Tab = 'inspect' | 'problems' | 'history';
type Toast = { id: number; message: string; tone: 'info' | 'error' | 'success'; action?: ToastAction };
/** A button on a toast (Undo). */
type ToastAction = { label: string; run: () => void };
type Conflict = { message: string; latest: number | null };

/** “Deploy” or 3 stages: what a toast names. */
function stagesText(nodes: readonly { name: string }[]): string {
  return nodes.length === 1 ? `stage “${nodes[0]!.name}”` : `${nodes.length} stages`;
}

/** What deleting the selection takes away, in words: stage “Deploy” and 2 connections. */
function deletionText(spec: PipelineSpec, nodeIds: ReadonlySet<string>, edgeIds: ReadonlySet<string>): string {
  const stages = spec.nodes.filter((n) => nodeIds.has(n.id));
  const edges = edgeIds.size;
  return [stages.length ? stagesText(stages) : '', edges ? `${edges} connection${edges === 1 ? '' : 's'}` : ''].filter(Boolean).join(' and ');
}

export function PipelineEditor({ id, canEdit: mayEdit, canRun }: { id: string; canEdit: boolean; canRun: boolean }) {
  const trpc = useTRPC();
  const pipeline = useQuery(trpc.pipelines.get.queryOptions({ id }, { staleTime: Infinity, refetchOnWindowFocus: false }));
  if (pipeline.isPending) {
    return (
      <div className="flex h-screen items-center justify-center gap-2 text-sm text-muted">
        <Spinner /> Opening the editor…
      </div>
    );
  }
  if (pipeline.isError) {
    return (
      <div className="mx-auto max-w-xl p-10">
        <ErrorBox error={pipeline.error} title="Could not open this pipeline" />
        <Link href="/" className="mt-4 inline-block text-sm text-accent hover:underline">
          ← All pipelines
        </Link>
      </div>
    );
  }
  return (
    <ReactFlowProvider>
      <LoadedEditor id={id} initial={pipeline.data.version.spec} version={pipeline.data.version.version} mayEdit={mayEdit} canRun={canRun} />
    </ReactFlowProvider>
  );
}

function LoadedEditor({ id, initial, version, mayEdit, canRun }: { id: string; initial: PipelineSpec; version: number; mayEdit: boolean; canRun: boolean }) {
  const [store] = useState<EditorStore>(() => createEditorStore(initial, { readOnly: !mayEdit }));
  const [baseVersion, setBaseVersion] = useState(version);
  // The workspace's environments, so a stage bound to one that does not exist is flagged while drawing.
  const trpc = useTRPC();
  const environments = useQuery(trpc.environments.list.queryOptions(undefined, { staleTime: 60_000, refetchOnWindowFocus: false }));
  // Registered runners' labels, so a stage no runner can run is flagged (a warning) while drawing.
  const runnerFacts = useQuery(trpc.runners.facts.queryOptions(undefined, { staleTime: 60_000, refetchOnWindowFocus: false }));
  // People and groups, so a gate nobody may decide is an error while drawing (authors and admins only).
  const approverFacts = useQuery(trpc.pipelines.approverFacts.queryOptions(undefined, { enabled: mayEdit, staleTime: 60_000, refetchOnWindowFocus: false }));
  const validationOptions = useMemo(
    () => ({
      ...(environments.data
        ? {
            environments: environments.data.map((e) => e.name),
            protection: environments.data.map((e) => ({ name: e.name, requireGate: e.requireGate, clusterConnection: e.clusterConnection, namespace: e.namespace })),
          }
        : {}),
      ...(runnerFacts.data ? { runners: runnerFacts.data } : {}),
      ...(approverFacts.data ? { approvers: approverFacts.data } : {}),
    }),
    [environments.data, runnerFacts.data, approverFacts.data],
  );

  // A document written by hand has no positions: lay it out once, as the clean state.
  useEffect(() => {
    performance.mark('pw-editor-mounted');
    const spec = store.getState().spec;
    if (!needsLayout(spec)) return;
    void layoutPositions(spec).then((positions) => {
      if (store.getState().spec !== spec) return;
      const laidOut = { ...spec, nodes: spec.nodes.map((n) => ({ ...n, position: positions.get(n.id) ?? n.position })) };
      store.getState().actions.load(laidOut);
    });
  }, [store]);

  // Live validation of what is shown, after each change that is not just a move.
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = () => {
      const s = store.getState();
      s.actions.setValidation(validatePipeline(displayedSpec(s), validationOptions).issues, s.revision);
    };
    run();
    const unsubscribe = store.subscribe((s, prev) => {
      if (s.revision === prev.revision) return;
      clearTimeout(timer);
      timer = setTimeout(run, s.spec.nodes.length > 300 ? 150 : 0);
    });
    return () => {
      unsubscribe();
      clearTimeout(timer);
    };
  }, [store, validationOptions]);

  return (
    <EditorStoreContext.Provider value={store}>
      <EditorFrame id={id} baseVersion={baseVersion} setBaseVersion={setBaseVersion} canRun={canRun} />
    </EditorStoreContext.Provider>
  );
}

function download(name: string, text: string, type: string) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function EditorFrame({ id, baseVersion, setBaseVersion, canRun }: { id: string; baseVersion: number; setBaseVersion: (v: number) => void; canRun: boolean }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const store = useEditorStore();
  const actions = useEditorActions();
  const flow = useReactFlow<StageFlowNode, ConditionFlowEdge>();

  const mode = useEditor((s) => s.mode);
  const readOnly = useEditor((s) => s.readOnly);
  const editable = useEditor(canEdit);
  const dirty = useEditor(isDirty);
  const issues = useEditor((s) => s.issues);
  const name = useEditor((s) => s.spec.name);
  const canUndo = useEditor((s) => s.past.length > 0);
  const canRedo = useEditor((s) => s.future.length > 0);
  const undoLabel = useEditor((s) => s.past.at(-1)?.label);
  const redoLabel = useEditor((s) => s.future.at(-1)?.label);
  const runOverlay = useEditor((s) => s.run);

  const [view, setView] = useState<View>('canvas');
  const codeDraftFormat = useEditor((s) => s.codeDraft?.format ?? null);
  // The canvas renders in the browser only: it needs the window's size for its first view.
  const [mounted, setMounted] = useState(false);
  useEffect(() => setMounted(true), []);
  const [tab, setTab] = useState<Tab>('inspect');
  const [toasts, setToasts] = useState<Toast[]>([]);
  const [saveOpen, setSaveOpen] = useState(false);
  const [runAfterSave, setRunAfterSave] = useState(false);
  const [connectFrom, setConnectFrom] = useState<string | null>(null);
  const [shortcuts, setShortcuts] = useState(false);
  const [importProblem, setImportProblem] = useState<ImportProblem | null>(null);
  const [conflict, setConflict] = useState<Conflict | null>(null);
  const [runId, setRunId] = useState<string | null>(null);
  const [menuOpen, setMenuOpen] = useState(false);
  const fileInput = useRef<HTMLInputElement>(null);
  const toastSeq = useRef(0);

  const errors = issues.filter((i) => i.severity === 'error').length;
  const warnings = issues.length - errors;

  const dismissToast = useCallback((toastId: number) => setToasts((t) => t.filter((x) => x.id !== toastId)), []);
  const notify = useCallback(
    (message: string, tone: Toast['tone'] = 'info', action?: ToastAction) => {
      const toastId = ++toastSeq.current;
      setToasts((t) => [...t.slice(-3), { id: toastId, message, tone, action }]);
      // A toast with a button stays long enough to reach it.
      setTimeout(() => dismissToast(toastId), action ? 10_000 : tone === 'error' ? 6000 : 3500);
    },
    [dismissToast],
  );

  /**
   * Announces a structural edit (a delete, paste, connection, cut, duplicate or layout — from the keyboard
   * as well as from menus) with a toast whose Undo takes back exactly that edit, even after later ones.
   */
  const notifyUndoable = useCallback(
    (message: string, label: string, before: PipelineSpec) => {
      const after = store.getState().spec;
      if (after === before) return;
      notify(message, 'success', {
        label: 'Undo',
        run: () => {
          const res = actions.undoEdit(before, after, label);
          notify(res.ok ? `Undone: ${label}` : res.reason, res.ok ? 'info' : 'error');
        },
      });
    },
    [actions, notify, store],
  );

  // ---- commands -----------------------------------------------------------

  const jumpTo = useCallback(
    (target: JumpTarget) => {
      setView('canvas');
      setTab('inspect');
      const s = store.getState();
      const spec = displayedSpec(s);
      if (target.nodeId && spec.nodes.some((n) => n.id === target.nodeId)) {
        actions.setSelection([target.nodeId]);
        actions.requestFocus({ nodeId: target.nodeId, path: target.path });
        requestAnimationFrame(() => void flow.fitView({ nodes: [{ id: target.nodeId! }], duration: 300, maxZoom: 1.1, padding: 0.6 }));
      } else if (target.edgeId) {
        const edge = spec.edges.find((e) => e.id === target.edgeId);
        if (!edge) return;
        actions.setSelection([], [edge.id]);
        requestAnimationFrame(() => void flow.fitView({ nodes: [{ id: edge.from }, { id: edge.to }], duration: 300, maxZoom: 1.1, padding: 0.4 }));
      }
    },
    [actions, flow, store],
  );

  const copy = useCallback(() => {
    const payload = actions.copySelection();
    if (!payload) return notify('Select stages to copy first.');
    void writeSystemClipboard(serializePayload(payload));
    notify(`Copied ${payload.nodes.length} stage${payload.nodes.length === 1 ? '' : 's'}`);
  }, [actions, notify]);

  const cut = useCallback(() => {
    const before = store.getState().spec;
    const payload = actions.cutSelection();
    if (!payload) return;
    void writeSystemClipboard(serializePayload(payload));
    notifyUndoable(`Cut ${stagesText(payload.nodes)}`, `cut ${stagesText(payload.nodes)}`, before);
  }, [actions, notifyUndoable, store]);

  const pasteText = useCallback(
    (text: string | null, at?: { x: number; y: number }) => {
      const payload = (text && parsePayload(text)) || parsePayload(recalledClipboard() ?? '');
      if (!payload) return notify('Nothing to paste: copy stages first (from this or another pipeline).', 'error');
      const before = store.getState().spec;
      const ids = actions.paste(payload, at);
      const pasted = store.getState().spec.nodes.filter((n) => ids.includes(n.id));
      if (ids.length) notifyUndoable(`Pasted ${stagesText(pasted)}`, `paste ${stagesText(pasted)}`, before);
    },
    [actions, notify, notifyUndoable, store],
  );

  const paste = useCallback((at?: { x: number; y: number }) => void readSystemClipboard().then((t) => pasteText(t, at)), [pasteText]);

  const duplicate = useCallback(() => {
    const before = store.getState().spec;
    const ids = actions.duplicateSelection();
    const copies = store.getState().spec.nodes.filter((n) => ids.includes(n.id));
    if (ids.length) notifyUndoable(`Duplicated ${stagesText(copies)}`, `duplicate ${stagesText(copies)}`, before);
  }, [actions, notifyUndoable, store]);

  const autoLayout = useCallback(() => {
    const s = store.getState();
    if (!canEdit(s)) return;
    void layoutPositions(s.spec, s.measured).then((positions) => {
      const before = store.getState().spec;
      actions.applyPositions(positions, 'Tidy up layout');
      requestAnimationFrame(() => showReadable(flow, 300));
      notifyUndoable('Layout tidied up', 'tidy up layout', before);
    });
  }, [actions, flow, notifyUndoable, store]);

  const ui = useMemo<EditorUi>(
    () => ({ openConnect: setConnectFrom, jumpTo, copy, cut, paste, duplicate, autoLayout, notify, openShortcuts: () => setShortcuts(true) }),
    [jumpTo, copy, cut, paste, duplicate, autoLayout, notify],
  );

  // ---- save, conflicts, run -----------------------------------------------

  const saving = useRef<PipelineSpec | null>(null);
  const save = useMutation(
    trpc.pipelines.save.mutationOptions({
      onSuccess: async (res) => {
        actions.markSaved(saving.current ?? undefined);
        setBaseVersion(res.version);
        setSaveOpen(false);
        setConflict(null);
        notify(res.valid ? `Saved version ${res.version}` : `Saved version ${res.version} as a draft (${res.issues.filter((i) => i.severity === 'error').length} problems to fix before it can run)`, 'success');
        await Promise.all([
          queryClient.invalidateQueries(trpc.pipelines.versions.queryFilter({ id })),
          queryClient.invalidateQueries(trpc.pipelines.list.queryFilter()),
          queryClient.invalidateQueries({ queryKey: trpc.pipelines.get.queryKey({ id }) }),
        ]);
        if (runAfterSave) {
          setRunAfterSave(false);
          requestAnimationFrame(() => document.querySelector<HTMLButtonElement>('[data-testid="run-button"]')?.click());
        }
      },
      onError: async (err) => {
        const shown = describeError(err);
        setSaveOpen(false);
        if ((err as { data?: { code?: string } }).data?.code === 'CONFLICT') {
          // The newest version now (never the cached one this editor opened with).
          const latest = await queryClient.fetchQuery({ ...trpc.pipelines.get.queryOptions({ id }), staleTime: 0 }).catch(() => null);
          setConflict({ message: shown.message, latest: latest?.version.version ?? null });
        } else {
          notify(`Not saved: ${shown.message}`, 'error');
        }
      },
    }),
  );

  const doSave = (message: string) => {
    const spec = store.getState().spec;
    saving.current = spec;
    save.mutate({ id, baseVersion, spec, message: message || undefined });
  };

  const openSave = useCallback(() => {
    if (!canEdit(store.getState())) return;
    setSaveOpen(true);
  }, [store]);

  // ---- merge with the version someone else saved ---------------------------
  // A three-way merge (base: the version this draft started from): non-conflicting changes of both are kept;
  // true conflicts are decided one by one in the merge dialog; nothing either side saved is dropped silently.
  const [pendingMerge, setPendingMerge] = useState<PendingMerge | null>(null);
  const applyMerge = (m: Omit<PendingMerge, 'conflicts'>, choices: Record<string, MergeChoice>) => {
    const result = mergeSpecs(m.base, m.mine, m.theirs, choices);
    actions.setMode({ kind: 'edit' });
    actions.replaceSpec(result.spec, `Merge with version ${m.latest}`);
    setBaseVersion(m.latest);
    setConflict(null);
    setPendingMerge(null);
    const kept = result.fromTheirs.length;
    const decided = result.conflicts.length;
    notify(
      [
        `Merged version ${m.latest} with your changes: ${kept} of their change${kept === 1 ? '' : 's'} kept${decided > 0 ? `, ${decided} conflict${decided === 1 ? '' : 's'} decided` : ''}.`,
        ...result.notes,
        'Save to keep the result.',
      ].join(' '),
      'success',
    );
  };
  const startMerge = async (latest: number) => {
    try {
      const specOf = async (v: number) => (await queryClient.fetchQuery({ ...trpc.pipelines.get.queryOptions({ id, version: v }), staleTime: 0 })).version.spec;
      const [base, theirs] = await Promise.all([specOf(baseVersion), specOf(latest)]);
      const mine = store.getState().spec;
      const first = mergeSpecs(base, mine, theirs);
      if (first.conflicts.length === 0) applyMerge({ latest, base, mine, theirs }, {});
      else setPendingMerge({ latest, base, mine, theirs, conflicts: first.conflicts });
    } catch (err) {
      notify(`Could not merge: ${describeError(err).message}`, 'error');
    }
  };

  const compareVersions = async (from: number | 'draft', to: number | 'draft') => {
    const specOf = async (v: number | 'draft') => (v === 'draft' ? store.getState().spec : (await queryClient.fetchQuery(trpc.pipelines.get.queryOptions({ id, version: v }))).version.spec);
    const [a, b] = await Promise.all([specOf(from), specOf(to)]);
    const diff = diffSpecs(a, b);
    const label = (v: number | 'draft') => (v === 'draft' ? 'your draft' : `version ${v}`);
    actions.setMode({ kind: 'compare', from, to, fromLabel: label(from), toLabel: label(to), spec: comparisonSpec(a, b, diff), diff });
    setView('canvas');
    setTab('inspect');
  };

  const run = useQuery(
    trpc.runs.get.queryOptions(
      { id: runId ?? '' },
      { enabled: runId !== null, refetchInterval: (q) => (q.state.data && FINISHED_RUN.has(q.state.data.status) ? false : 1000) },
    ),
  );
  useEffect(() => {
    if (!run.data || run.data.id !== runId) return;
    actions.setRun({ id: run.data.id, number: run.data.number, status: run.data.status, display: run.data.display, stages: new Map(run.data.stages.map((s) => [s.id, s.status])) });
  }, [run.data, runId, actions]);

  // ---- import / export ------------------------------------------------------

  const exportAs = async (format: TextFormat) => {
    const { specToText } = await specText();
    const spec = displayedSpec(store.getState());
    download(`${slugify(spec.name, 'pipeline')}.pipeline.${format === 'yaml' ? 'yaml' : 'json'}`, specToText(spec, format), format === 'yaml' ? 'application/yaml' : 'application/json');
    setMenuOpen(false);
  };

  const importFile = async (file: File) => {
    const text = await file.text();
    const format: TextFormat = /\.json$/i.test(file.name) ? 'json' : /\.ya?ml$/i.test(file.name) ? 'yaml' : text.trimStart().startsWith('{') ? 'json' : 'yaml';
    const { readSpecText } = await specText();
    const result = readSpecText(text, format);
    if (!result.ok) {
      setImportProblem({ id: ++toastSeq.current, fileName: file.name, error: result.error + (result.line ? ` (line ${result.line})` : ''), issues: result.issues, canImport: false });
      return;
    }
    const apply = async () => {
      setImportProblem(null);
      // The pipeline keeps the name its people gave it: a file brings stages, connections, parameters and
      // settings, not a new identity (importing an example would otherwise leave two pipelines with its name).
      const keptName = store.getState().spec.name;
      const fileName = result.spec.name;
      let spec = { ...result.spec, name: keptName };
      if (needsLayout(spec)) {
        const positions = await layoutPositions(spec);
        spec = { ...spec, nodes: spec.nodes.map((n) => ({ ...n, position: positions.get(n.id) ?? n.position })) };
      }
      actions.setMode({ kind: 'edit' });
      actions.replaceSpec(spec, `Import ${file.name}`);
      setView('canvas');
      requestAnimationFrame(() => showReadable(flow, 300));
      notify(
        fileName !== keptName
          ? `Imported ${file.name} as unsaved changes. The pipeline keeps its name "${keptName}" (the file calls it "${fileName}").`
          : `Imported ${file.name} as unsaved changes`,
        'success',
      );
    };
    const errs = result.issues.filter((i) => i.severity === 'error');
    if (errs.length > 0) setImportProblem({ id: ++toastSeq.current, fileName: file.name, issues: result.issues, canImport: true, onImport: () => void apply() });
    else await apply();
  };

  // ---- keyboard, clipboard, leaving ---------------------------------------

  const pasteEventSeen = useRef(false);
  const [shortcutScope] = useState(createShortcutScope);
  useEffect(() => {
    const inCanvas = (t: EventTarget | null) => t instanceof Element && t.closest('.react-flow') !== null;
    const onInteraction = (e: Event) => shortcutScope.interaction(inCanvas(e.target) ? 'canvas' : 'elsewhere');
    document.addEventListener('pointerdown', onInteraction, true);
    document.addEventListener('focusin', onInteraction, true);
    return () => {
      document.removeEventListener('pointerdown', onInteraction, true);
      document.removeEventListener('focusin', onInteraction, true);
    };
  }, [shortcutScope]);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const mod = e.ctrlKey || e.metaKey;
      const key = e.key.toLowerCase();
      const inCode = (e.target as HTMLElement | null)?.dataset?.testid === 'code-editor';
      if (mod && key === 's') {
        e.preventDefault();
        openSave();
        return;
      }
      if (document.querySelector('dialog[open]')) return;
      if (mod && key === 'z' && !inCode) {
        e.preventDefault();
        if (e.shiftKey) actions.redo();
        else actions.undo();
        return;
      }
      if (mod && key === 'y' && !inCode) {
        e.preventDefault();
        actions.redo();
        return;
      }
      if (isTextTarget(e.target)) return;
      // Single keys act only while the person works on the canvas, not just after a side panel or a form (focus may have fallen to the page).
      if (!mod && e.key !== 'Escape' && !shortcutScope.allowsSingleKey({ isText: false, inCanvas: e.target instanceof Element && e.target.closest('.react-flow') !== null })) return;
      const s = store.getState();
      if (mod && key === 'a') {
        e.preventDefault();
        actions.selectAll();
      } else if (mod && key === 'd') {
        e.preventDefault();
        if (canEdit(s)) duplicate();
      } else if (mod && key === 'v') {
        // The paste event brings the system clipboard; without it (no permission), use our own copy.
        pasteEventSeen.current = false;
        setTimeout(() => {
          if (!pasteEventSeen.current && canEdit(store.getState())) pasteText(null);
        }, 80);
      } else if (mod && (key === '=' || key === '+')) {
        e.preventDefault();
        void flow.zoomIn({ duration: 150 });
      } else if (mod && key === '-') {
        e.preventDefault();
        void flow.zoomOut({ duration: 150 });
      } else if (!mod && (e.key === 'Delete' || e.key === 'Backspace')) {
        if (canEdit(s) && (s.selectedNodes.size || s.selectedEdges.size)) {
          e.preventDefault();
          const what = deletionText(s.spec, s.selectedNodes, s.selectedEdges);
          actions.removeSelection();
          notifyUndoable(`Deleted ${what}`, `delete ${what}`, s.spec);
        }
      } else if (!mod && !e.altKey && key === 'c' && !e.shiftKey) {
        if (canEdit(s) && s.selectedNodes.size === 1) {
          e.preventDefault();
          setConnectFrom([...s.selectedNodes][0]!);
        }
      } else if (e.shiftKey && key === 'l' && !mod) {
        e.preventDefault();
        autoLayout();
      } else if (e.shiftKey && (e.key === '!' || e.code === 'Digit1') && !mod) {
        e.preventDefault();
        void flow.fitView({ padding: 0.2, duration: 250 });
      } else if (e.key === '?') {
        setShortcuts(true);
      } else if (e.key === '/') {
        e.preventDefault();
        document.querySelector<HTMLInputElement>('[data-palette-search]')?.focus();
      } else if (e.key === 'Escape') {
        if (s.selectedNodes.size || s.selectedEdges.size) actions.clearSelection();
        else if (s.mode.kind !== 'edit') actions.setMode({ kind: 'edit' });
      }
    };
    const onCopy = (e: ClipboardEvent) => {
      if (isTextTarget(e.target) || window.getSelection()?.toString()) return;
      const payload = actions.copySelection();
      if (!payload) return;
      const text = serializePayload(payload);
      e.clipboardData?.setData('text/plain', text);
      e.preventDefault();
      rememberClipboard(text);
      notify(`Copied ${payload.nodes.length} stage${payload.nodes.length === 1 ? '' : 's'}`);
    };
    const onCut = (e: ClipboardEvent) => {
      if (isTextTarget(e.target) || window.getSelection()?.toString() || !canEdit(store.getState())) return;
      const before = store.getState().spec;
      const payload = actions.cutSelection();
      if (!payload) return;
      const text = serializePayload(payload);
      e.clipboardData?.setData('text/plain', text);
      e.preventDefault();
      rememberClipboard(text);
      notifyUndoable(`Cut ${stagesText(payload.nodes)}`, `cut ${stagesText(payload.nodes)}`, before);
    };
    const onPaste = (e: ClipboardEvent) => {
      pasteEventSeen.current = true;
      if (isTextTarget(e.target) || !canEdit(store.getState())) return;
      e.preventDefault();
      pasteText(e.clipboardData?.getData('text/plain') ?? null);
    };
    window.addEventListener('keydown', onKey);
    document.addEventListener('copy', onCopy);
    document.addEventListener('cut', onCut);
    document.addEventListener('paste', onPaste);
    return () => {
      window.removeEventListener('keydown', onKey);
      document.removeEventListener('copy', onCopy);
      document.removeEventListener('cut', onCut);
      document.removeEventListener('paste', onPaste);
    };
  }, [actions, autoLayout, duplicate, flow, notify, notifyUndoable, openSave, pasteText, store]);

  useEffect(() => {
    const onBeforeUnload = (e: BeforeUnloadEvent) => {
      if (!isDirty(store.getState())) return;
      e.preventDefault();
      e.returnValue = '';
    };
    const onClick = (e: MouseEvent) => {
      if (!isDirty(store.getState()) || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
      const a = (e.target as HTMLElement | null)?.closest?.('a[href]') as HTMLAnchorElement | null;
      if (!a || a.target === '_blank' || a.hasAttribute('download')) return;
      const url = new URL(a.href, window.location.href);
      if (url.origin !== window.location.origin || url.pathname === window.location.pathname) return;
      if (!window.confirm('You have unsaved changes. Leave the editor and lose them?')) {
        e.preventDefault();
        e.stopPropagation();
      }
    };
    window.addEventListener('beforeunload', onBeforeUnload);
    document.addEventListener('click', onClick, true);
    return () => {
      window.removeEventListener('beforeunload', onBeforeUnload);
      document.removeEventListener('click', onClick, true);
    };
  }, [store]);

  useEffect(() => {
    document.title = `${dirty ? '● ' : ''}Edit ${name} · Pipewright`;
  }, [dirty, name]);

  // ---- layout ------------------------------------------------------------------

  const stateLabel = readOnly ? 'Read-only' : dirty ? 'Unsaved changes' : 'All changes saved';

  return (
    <EditorUiContext.Provider value={ui}>
      <div className="pw-editor flex h-screen flex-col overflow-hidden bg-canvas text-fg">
        <header className="z-30 flex h-14 shrink-0 items-center gap-3 border-b border-line bg-surface px-3">
          <Link href="/" className="flex items-center gap-2 rounded-md pr-1 focus:outline-none focus-visible:ring-2 focus-visible:ring-accent" aria-label="Pipewright: all pipelines">
            <span aria-hidden className="flex h-7 w-7 items-center justify-center rounded-lg bg-accent text-accent-fg shadow-sm">
              <svg viewBox="0 0 24 24" className="h-4 w-4" fill="none" stroke="currentColor" strokeWidth="2.4" strokeLinecap="round" strokeLinejoin="round">
                <path d="M4 7h6l4 10h6" />
                <circle cx="4" cy="7" r="1.2" fill="currentColor" />
                <circle cx="20" cy="17" r="1.2" fill="currentColor" />
              </svg>
            </span>
          </Link>
          <nav aria-label="Breadcrumb" className="flex min-w-0 items-center gap-1.5 text-sm">
            <Link href="/" className="text-muted hover:text-fg hover:underline">
              Pipelines
            </Link>
            <span aria-hidden className="text-line-strong">
              /
            </span>
            <Link href={`/pipelines/${id}`} className="max-w-[16rem] truncate font-semibold text-fg hover:underline" title="Open the pipeline page" data-testid="pipeline-name">
              {name}
            </Link>
          </nav>
          <span className="rounded-md border border-line bg-subtle px-1.5 py-0.5 font-mono text-xs text-muted" title={`Editing on top of version ${baseVersion}`} data-testid="base-version">
            v{baseVersion}
          </span>
          <span className={cx('flex items-center gap-1.5 text-xs', dirty ? 'text-amber-700 dark:text-amber-300' : 'text-muted')} data-testid="save-state" aria-live="polite">
            <span aria-hidden className={cx('h-1.5 w-1.5 rounded-full', dirty ? 'bg-amber-500' : readOnly ? 'bg-slate-400' : 'bg-emerald-500')} />
            {stateLabel}
          </span>

          <div role="tablist" aria-label="View" className="mx-auto flex rounded-lg border border-line bg-subtle p-0.5 text-[13px]">
            {(
              [
                ['canvas', 'Canvas'],
                ['yaml', 'YAML'],
                ['json', 'JSON'],
              ] as const
            ).map(([v, label]) => (
              <button
                key={v}
                type="button"
                role="tab"
                aria-selected={view === v}
                onClick={() => setView(v)}
                className={cx('rounded-md px-3 py-1 font-medium transition-colors focus:outline-none focus-visible:ring-2 focus-visible:ring-accent', view === v ? 'bg-surface text-fg shadow-sm' : 'text-muted hover:text-fg')}
              >
                {label}
                {codeDraftFormat === v && (
                  <span className="ml-1.5 inline-block h-2 w-2 rounded-full bg-red-500 align-middle" data-testid="code-draft-mark" title={`Your ${label} has an error and is not applied yet`}>
                    <span className="sr-only"> (not applied: has an error)</span>
                  </span>
                )}
              </button>
            ))}
          </div>

          <div className="flex items-center gap-1">
            <IconButton label={undoLabel ? `Undo: ${undoLabel} (Ctrl+Z)` : 'Undo (Ctrl+Z)'} onClick={() => actions.undo()} disabled={!canUndo || !editable}>
              <path d="M7.5 5 4 8.5 7.5 12M4.5 8.5h7a4 4 0 0 1 0 8H9" />
            </IconButton>
            <IconButton label={redoLabel ? `Redo: ${redoLabel} (Ctrl+Shift+Z)` : 'Redo (Ctrl+Shift+Z)'} onClick={() => actions.redo()} disabled={!canRedo || !editable}>
              <path d="M12.5 5 16 8.5 12.5 12M15.5 8.5h-7a4 4 0 0 0 0 8H11" />
            </IconButton>
            <span aria-hidden className="mx-1 h-5 w-px bg-line" />
            <div className="relative">
              <Button variant="ghost" onClick={() => setMenuOpen((o) => !o)} aria-haspopup="menu" aria-expanded={menuOpen} data-testid="file-menu">
                File
                <svg aria-hidden viewBox="0 0 12 12" className="h-3 w-3" fill="currentColor">
                  <path d="M2.5 4.5 6 8l3.5-3.5z" />
                </svg>
              </Button>
              {menuOpen && (
                <div role="menu" className="absolute right-0 top-full z-50 mt-1 w-56 overflow-hidden rounded-lg border border-line bg-surface py-1 text-sm shadow-xl" onMouseLeave={() => setMenuOpen(false)}>
                  {editable && (
                    <MenuButton
                      onClick={() => {
                        setMenuOpen(false);
                        fileInput.current?.click();
                      }}
                    >
                      Import from file…
                    </MenuButton>
                  )}
                  <MenuButton onClick={() => void exportAs('yaml')}>Export as YAML</MenuButton>
                  <MenuButton onClick={() => void exportAs('json')}>Export as JSON</MenuButton>
                  <div className="my-1 h-px bg-line" />
                  <MenuButton onClick={() => (setMenuOpen(false), copyAll())}>Copy all stages</MenuButton>
                  {editable && <MenuButton onClick={() => (setMenuOpen(false), paste())}>Paste stages</MenuButton>}
                  <MenuButton onClick={() => (setMenuOpen(false), setShortcuts(true))}>Keyboard shortcuts</MenuButton>
                </div>
              )}
            </div>
            <input
              ref={fileInput}
              type="file"
              accept=".yaml,.yml,.json,application/json,application/yaml,text/yaml"
              className="hidden"
              data-testid="import-input"
              aria-label="Import a pipeline file"
              onChange={(e) => {
                const file = e.target.files?.[0];
                e.target.value = '';
                if (file) void importFile(file);
              }}
            />
            {!readOnly && (
              <Button variant={dirty ? 'primary' : 'secondary'} onClick={openSave} disabled={mode.kind !== 'edit'} data-testid="save-button" title="Save a new version (Ctrl+S)">
                Save
              </Button>
            )}
            {canRun &&
              (dirty ? (
                <Button
                  variant="secondary"
                  onClick={() => {
                    setRunAfterSave(true);
                    setSaveOpen(true);
                  }}
                  title="Save your changes, then run"
                  data-testid="save-and-run"
                >
                  <svg aria-hidden viewBox="0 0 16 16" className="h-3.5 w-3.5" fill="currentColor">
                    <path d="M4.5 2.8v10.4a.6.6 0 0 0 .9.5l8.3-5.2a.6.6 0 0 0 0-1L5.4 2.3a.6.6 0 0 0-.9.5Z" />
                  </svg>
                  Run
                </Button>
              ) : (
                <RunButton
                  pipelineId={id}
                  pipelineName={name}
                  version={baseVersion}
                  variant="secondary"
                  onStarted={(r) => {
                    setRunId(r.id);
                    actions.setRun({ id: r.id, number: r.number, status: 'running', stages: new Map() });
                    notify(`Run #${r.number} started`, 'success');
                  }}
                />
              ))}
          </div>
        </header>

        {mode.kind === 'version' && (
          <Banner tone="info" testId="version-banner">
            <span>
              Viewing <strong>{mode.label}</strong> — read-only.
            </span>
            {!readOnly && (
              <BannerButton
                onClick={() => {
                  actions.setMode({ kind: 'edit' });
                  actions.replaceSpec(mode.spec, `Restore ${mode.label}`);
                  notify(`Restored ${mode.label} as unsaved changes`, 'success');
                }}
              >
                Restore this version
              </BannerButton>
            )}
            <BannerButton onClick={() => void compareVersions(mode.version, 'draft')}>Compare with your draft</BannerButton>
            <BannerButton onClick={() => actions.setMode({ kind: 'edit' })}>Back to editing</BannerButton>
          </Banner>
        )}
        {mode.kind === 'compare' && (
          <Banner tone="info" testId="compare-banner">
            <span>
              Comparing <strong>{mode.fromLabel}</strong> → <strong>{mode.toLabel}</strong>: <Legend colour="bg-emerald-500">added</Legend> <Legend colour="bg-red-500">removed</Legend>{' '}
              <Legend colour="bg-amber-500">changed</Legend> <Legend colour="bg-sky-500">moved</Legend>
            </span>
            <BannerButton onClick={() => actions.setMode({ kind: 'edit' })}>Back to editing</BannerButton>
          </Banner>
        )}
        {conflict && (
          <Banner tone="error" testId="conflict-banner">
            <span className="min-w-0">
              <strong>Not saved — someone else saved first.</strong> {conflict.message}
            </span>
            {conflict.latest !== null && (
              <>
                <BannerButton onClick={() => void compareVersions(baseVersion, conflict.latest!)}>See their change</BannerButton>
                <BannerButton onClick={() => void compareVersions(conflict.latest!, 'draft')}>Compare with yours</BannerButton>
                <BannerButton onClick={() => void startMerge(conflict.latest!)}>Merge with v{conflict.latest}</BannerButton>
              </>
            )}
            <BannerButton onClick={() => setConflict(null)}>Dismiss</BannerButton>
          </Banner>
        )}
        {runOverlay && mode.kind === 'edit' && (
          <Banner tone="neutral" testId="run-banner">
            <span className="flex items-center gap-2">
              Run <strong>#{runOverlay.number}</strong> of v{baseVersion} {runOverlay.display ? <RunStatusChip display={runOverlay.display} /> : <StatusChip status={runOverlay.status} />} — its stages are painted on the canvas.
            </span>
            <Link href={`/pipelines/${id}/runs/${runOverlay.id}`} className="font-medium text-accent hover:underline">
              Open the run page →
            </Link>
            <BannerButton
              onClick={() => {
                setRunId(null);
                actions.setRun(null);
              }}
            >
              Hide
            </BannerButton>
          </Banner>
        )}
        {readOnly && mode.kind === 'edit' && (
          <Banner tone="neutral">
            <span>You can look at this pipeline but not change it (your role may not edit).</span>
          </Banner>
        )}

        <div className="flex min-h-0 flex-1">
          {view === 'canvas' && editable && <Palette />}
          <main data-canvas-host className="relative min-w-0 flex-1" aria-label={view === 'canvas' ? 'Canvas' : `${view.toUpperCase()} code`}>
            {view !== 'canvas' ? <CodeView key={view} format={view} /> : mounted ? <Canvas /> : null}
          </main>
          <aside aria-label="Details" className="flex w-[380px] shrink-0 flex-col border-l border-line bg-surface">
            <div role="tablist" aria-label="Panels" className="flex shrink-0 border-b border-line px-2">
              {(
                [
                  ['inspect', mode.kind === 'compare' ? 'Changes' : 'Inspect'],
                  ['problems', 'Problems'],
                  ['history', 'History'],
                ] as const
              ).map(([t, label]) => (
                <button
                  key={t}
                  type="button"
                  role="tab"
                  aria-selected={tab === t}
                  onClick={() => setTab(t)}
                  data-testid={`tab-${t}`}
                  className={cx(
                    '-mb-px flex items-center gap-1.5 border-b-2 px-3 py-2.5 text-[13px] font-medium transition-colors focus:outline-none focus-visible:ring-2 focus-visible:ring-inset focus-visible:ring-accent',
                    tab === t ? 'border-accent text-fg' : 'border-transparent text-muted hover:text-fg',
                  )}
                >
                  {label}
                  {t === 'problems' && mode.kind !== 'compare' && (errors > 0 || warnings > 0) && (
                    <span
                      className={cx('rounded-full px-1.5 text-[11px] font-semibold', errors > 0 ? 'bg-red-500 text-white' : 'bg-amber-400 text-amber-950')}
                      data-testid="problem-count"
                    >
                      {errors > 0 ? errors : warnings}
                    </span>
                  )}
                </button>
              ))}
            </div>
            <div className="min-h-0 flex-1 overflow-y-auto">
              {tab === 'inspect' && (mode.kind === 'compare' ? <ChangesPanel pipelineId={id} from={mode.from} to={mode.to} diff={mode.diff} fromLabel={mode.fromLabel} toLabel={mode.toLabel} /> : <Inspector />)}
              {tab === 'problems' && <ProblemsPanel />}
              {tab === 'history' && <HistoryPanel pipelineId={id} currentVersion={baseVersion} onCompared={() => setTab('inspect')} />}
            </div>
            <StatusLine errors={errors} warnings={warnings} onOpen={() => setTab('problems')} />
          </aside>
        </div>

        <div aria-live="polite" className="pointer-events-none fixed bottom-14 left-1/2 z-[60] flex -translate-x-1/2 flex-col items-center gap-2">
          {toasts.map((t) => (
            <div
              key={t.id}
              role={t.tone === 'error' ? 'alert' : 'status'}
              data-testid="toast"
              className={cx(
                'pointer-events-auto rounded-lg px-3.5 py-2 text-sm font-medium shadow-lg ring-1',
                t.tone === 'error' ? 'bg-red-600 text-white ring-red-700' : t.tone === 'success' ? 'bg-fg text-canvas ring-black/10' : 'bg-fg text-canvas ring-black/10',
              )}
            >
              {t.message}
              {t.action && (
                <button
                  type="button"
                  data-testid="toast-action"
                  className="ml-3 rounded px-1.5 py-0.5 font-semibold underline underline-offset-2 hover:bg-white/15 focus-visible:outline focus-visible:outline-2"
                  onClick={() => {
                    dismissToast(t.id);
                    t.action!.run();
                  }}
                >
                  {t.action.label}
                </button>
              )}
            </div>
          ))}
        </div>

        <SaveDialog
          open={saveOpen}
          onClose={() => {
            setSaveOpen(false);
            setRunAfterSave(false);
          }}
          onSave={doSave}
          saving={save.isPending}
          nextVersion={baseVersion + 1}
          errors={errors}
        />
        <ConnectDialog
          fromId={connectFrom}
          onClose={() => setConnectFrom(null)}
          onConnected={(m, ok, before) => (ok ? notifyUndoable(m, m.replace(/^Connected/, 'connect'), before) : notify(m, 'error'))}
        />
        <ImportDialog problem={importProblem} onClose={() => setImportProblem(null)} />
        <MergeDialog key={pendingMerge ? `${pendingMerge.latest}` : 'none'} merge={pendingMerge} onApply={(choices) => pendingMerge && applyMerge(pendingMerge, choices)} onClose={() => setPendingMerge(null)} />
        <ShortcutsDialog open={shortcuts} onClose={() => setShortcuts(false)} />
      </div>
    </EditorUiContext.Provider>
  );

  function copyAll() {
    const s = store.getState();
    actions.selectAll();
    const payload = actions.copySelection();
    actions.setSelection(s.selectedNodes, s.selectedEdges);
    if (payload) {
      void writeSystemClipboard(serializePayload(payload));
      notify(`Copied all ${payload.nodes.length} stages`);
    }
  }
}

function StatusLine({ errors, warnings, onOpen }: { errors: number; warnings: number; onOpen: () => void }) {
  const mode = useEditor((s) => s.mode.kind);
  if (mode === 'compare') return null;
  return (
    <button type="button" onClick={onOpen} className="flex shrink-0 items-center gap-2 border-t border-line px-4 py-2 text-left text-xs text-muted hover:bg-subtle" data-testid="status-line">
      {errors === 0 && warnings === 0 ? (
        <span className="text-emerald-700 dark:text-emerald-300">✓ No problems — ready to run</span>
      ) : (
        <span>
          {errors > 0 && <span className="font-medium text-red-600 dark:text-red-400">{errors} error{errors === 1 ? '' : 's'}</span>}
          {errors > 0 && warnings > 0 && ' · '}
          {warnings > 0 && <span className="text-amber-700 dark:text-amber-300">{warnings} warning{warnings === 1 ? '' : 's'}</span>}
          {errors > 0 && ' — can be saved as a draft, not run'}
        </span>
      )}
    </button>
  );
}

function IconButton({ label, onClick, disabled, children }: { label: string; onClick: () => void; disabled?: boolean; children: ReactNode }) {
  return (
    <button
      type="button"
      onClick={onClick}
      disabled={disabled}
      aria-label={label}
      title={label}
      className="rounded-md p-1.5 text-muted transition-colors hover:bg-subtle hover:text-fg focus:outline-none focus-visible:ring-2 focus-visible:ring-accent disabled:opacity-35 disabled:hover:bg-transparent"
    >
      <svg aria-hidden viewBox="0 0 20 20" className="h-[18px] w-[18px]" fill="none" stroke="currentColor" strokeWidth="1.7" strokeLinecap="round" strokeLinejoin="round">
        {children}
      </svg>
    </button>
  );
}

function MenuButton({ children, onClick }: { children: ReactNode; onClick: () => void }) {
  return (
    <button type="button" role="menuitem" onClick={onClick} className="block w-full px-3 py-1.5 text-left text-fg hover:bg-subtle focus:bg-subtle focus:outline-none">
      {children}
    </button>
  );
}

function Banner({ tone, children, testId }: { tone: 'info' | 'error' | 'neutral'; children: ReactNode; testId?: string }) {
  return (
    <div
      role={tone === 'error' ? 'alert' : 'status'}
      data-testid={testId}
      className={cx(
        'flex shrink-0 flex-wrap items-center gap-x-4 gap-y-1 border-b px-4 py-2 text-[13px]',
        tone === 'info' && 'border-sky-200 bg-sky-50 text-sky-950 dark:border-sky-500/30 dark:bg-sky-500/10 dark:text-sky-100',
        tone === 'error' && 'border-red-200 bg-red-50 text-red-900 dark:border-red-500/30 dark:bg-red-500/10 dark:text-red-100',
        tone === 'neutral' && 'border-line bg-subtle text-fg',
      )}
    >
      {children}
    </div>
  );
}

function BannerButton({ children, onClick }: { children: ReactNode; onClick: () => void }) {
  return (
    <button type="button" onClick={onClick} className="font-medium underline decoration-current/40 underline-offset-2 hover:decoration-current">
      {children}
    </button>
  );
}

function Legend({ colour, children }: { colour: string; children: ReactNode }) {
  return (
    <span className="inline-flex items-center gap-1">
      <span aria-hidden className={cx('inline-block h-2 w-2 rounded-full', colour)} />
      {children}
    </span>
  );
}
