'use client';
/**
 * The canvas: React Flow over the derived view model. Moves, connections,
 * selection and deletions go to the editor store (one undo step each); the
 * store's document is the only source of truth.
 */
import {
  Background,
  BackgroundVariant,
  ControlButton,
  Controls,
  MiniMap,
  Panel,
  ReactFlow,
  useReactFlow,
  type Connection,
  type ReactFlowInstance,
  type Viewport,
  type EdgeChange,
  type EdgeTypes,
  type IsValidConnection,
  type NodeChange,
  type NodeTypes,
} from '@xyflow/react';
import { useCallback, useEffect, useMemo, useRef, useState, type MouseEvent as ReactMouseEvent } from 'react';
import { cx } from '@/app/components/ui';
import { getStageDefinition, type PipelineSpec } from '@/workflows/model';
import { CONDITION_STYLE, ConditionEdge, EdgeMarkers } from './condition-edge';
import { placeEdgeLabels, type LabelEdge } from './edge-labels';
import { useEditor, useEditorActions, useEditorStore } from './editor-context';
import { useEditorUi } from './editor-ui';
import { GRID, NODE_SIZE } from './layout';
import { StageNode } from './stage-node';
import { canEdit, displayedSpec } from './store';
import { createFlowCache, diffMaps, groupIssues, type ConditionFlowEdge, type StageFlowNode } from './view-model';

const nodeTypes = { stage: StageNode } satisfies NodeTypes;
const edgeTypes = { condition: ConditionEdge } satisfies EdgeTypes;

const MINIMAP_COLOUR: Record<string, string> = {
  build: '#6366f1',
  test: '#0ea5e9',
  deploy: '#10b981',
  gate: '#f59e0b',
  flow: '#94a3b8',
  notify: '#d946ef',
};

const ARIA_LABELS = {
  'node.a11yDescription.default': 'Press Enter or Space to select this stage, arrow keys to move it, C to connect it to another stage, Delete to remove it.',
  'node.a11yDescription.keyboardDisabled': 'Press Enter or Space to select this stage.',
  'edge.a11yDescription.default': 'Press Enter or Space to select this connection, Delete to remove it.',
  'controls.ariaLabel': 'Canvas controls',
  'controls.zoomIn.ariaLabel': 'Zoom in',
  'controls.zoomOut.ariaLabel': 'Zoom out',
  'controls.fitView.ariaLabel': 'Fit the pipeline in view',
  'minimap.ariaLabel': 'Overview map',
  'handle.ariaLabel': 'Connection point',
};

/**
 * The viewport that shows the whole pipeline when it fits at a readable size,
 * else its left end (where runs start) at a readable zoom, centred vertically.
 */
export function readableViewport(bounds: { x: number; y: number; width: number; height: number }, pane: { width: number; height: number }): Viewport | 'fit' {
  const fit = Math.min((pane.width - 96) / Math.max(1, bounds.width), (pane.height - 96) / Math.max(1, bounds.height));
  if (fit >= 0.6) return 'fit';
  const zoom = 0.8;
  return { x: 64 - bounds.x * zoom, y: pane.height / 2 - (bounds.y + bounds.height / 2) * zoom, zoom };
}

export function showReadable(flow: Pick<ReactFlowInstance<StageFlowNode, ConditionFlowEdge>, 'getNodes' | 'getNodesBounds' | 'fitView' | 'setViewport'>, duration = 250) {
  const nodes = flow.getNodes();
  const pane = document.querySelector('.pw-canvas .react-flow')?.getBoundingClientRect();
  if (!pane || nodes.length === 0) return;
  const view = readableViewport(flow.getNodesBounds(nodes), pane);
  if (view === 'fit') void flow.fitView({ padding: 0.2, maxZoom: 1.1, duration });
  else void flow.setViewport(view, { duration });
}

/** The first viewport, before React Flow has measured anything (so a large pipeline renders only what is in view from the start). */
function initialViewport(spec: { nodes: readonly { position: { x: number; y: number } }[] }): Viewport | undefined {
  if (typeof window === 'undefined' || spec.nodes.length === 0) return undefined;
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const { position: p } of spec.nodes) {
    minX = Math.min(minX, p.x);
    minY = Math.min(minY, p.y);
    maxX = Math.max(maxX, p.x + NODE_SIZE.width);
    maxY = Math.max(maxY, p.y + NODE_SIZE.height);
  }
  const pane = document.querySelector('[data-canvas-host]')?.getBoundingClientRect() ?? { width: window.innerWidth - 640, height: window.innerHeight - 56 };
  const view = readableViewport({ x: minX, y: minY, width: maxX - minX, height: maxY - minY }, pane);
  return view === 'fit' ? undefined : view;
}

type Menu = { x: number; y: number; kind: 'node' | 'pane'; flow: { x: number; y: number } } | null;

/**
 * Where each condition label sits along its connection, so labels of crossing connections do not cover
 * each other (edge-labels.ts). The boxes are the labels' drawn sizes: a plain success connection shows a
 * small ✓, the others their condition in words.
 */
function labelPositions(
  spec: PipelineSpec,
  measured: ReadonlyMap<string, { width: number; height: number }>,
  selectedEdges: ReadonlySet<string>,
  issuesByEdge: ReadonlyMap<string, { errors: number }>,
  diffByEdge: ReadonlyMap<string, unknown> | undefined,
): Map<string, number> {
  const boxes = new Map(spec.nodes.map((n) => [n.id, { ...n.position, ...(measured.get(n.id) ?? NODE_SIZE) }]));
  const items: LabelEdge[] = [];
  for (const e of spec.edges) {
    const a = boxes.get(e.from);
    const b = boxes.get(e.to);
    if (!a || !b) continue;
    const compact = e.on === 'success' && !selectedEdges.has(e.id) && !diffByEdge?.has(e.id) && !(issuesByEdge.get(e.id)?.errors ?? 0);
    const words = CONDITION_STYLE[e.on].label;
    items.push({
      id: e.id,
      source: { x: a.x + a.width, y: a.y + a.height / 2 },
      target: { x: b.x, y: b.y + b.height / 2 },
      width: compact ? 18 : 30 + words.length * 6.2,
      height: compact ? 18 : 22,
    });
  }
  const out = new Map<string, number>();
  for (const [id, place] of placeEdgeLabels(items)) out.set(id, place.t);
  return out;
}

export function Canvas() {
  const store = useEditorStore();
  const actions = useEditorActions();
  const ui = useEditorUi();
  const flow = useReactFlow<StageFlowNode, ConditionFlowEdge>();

  const spec = useEditor(displayedSpec);
  const mode = useEditor((s) => s.mode);
  const editable = useEditor(canEdit);
  const selectedNodes = useEditor((s) => s.selectedNodes);
  const selectedEdges = useEditor((s) => s.selectedEdges);
  const measured = useEditor((s) => s.measured);
  const issues = useEditor((s) => s.issues);
  const run = useEditor((s) => s.run);

  const [defaultViewport] = useState(() => initialViewport(spec));
  const [snap, setSnap] = useState(true);
  const [minimap, setMinimap] = useState(true);
  const [menu, setMenu] = useState<Menu>(null);

  const cacheRef = useRef<ReturnType<typeof createFlowCache> | null>(null);
  cacheRef.current ??= createFlowCache();
  const cache = cacheRef.current;

  const grouped = useMemo(() => groupIssues(mode.kind === 'compare' ? [] : issues), [issues, mode.kind]);
  const diff = useMemo(() => (mode.kind === 'compare' ? diffMaps(mode.diff, mode.spec) : null), [mode]);
  const statusByNode = run?.stages;

  const labelAt = useMemo(() => labelPositions(spec, measured, selectedEdges, grouped.byEdge, diff?.edges), [spec, measured, selectedEdges, grouped.byEdge, diff]);

  const overlays = useMemo(
    () => ({
      labelAt,
      selectedNodes,
      selectedEdges,
      measured,
      issuesByNode: grouped.byNode,
      issuesByEdge: grouped.byEdge,
      diffByNode: diff?.nodes,
      diffByEdge: diff?.edges,
      statusByNode: mode.kind === 'edit' ? statusByNode : undefined,
      readOnly: !editable,
    }),
    [labelAt, selectedNodes, selectedEdges, measured, grouped, diff, statusByNode, editable, mode.kind],
  );
  const nodes = useMemo(() => cache.flowNodes(spec, overlays), [cache, spec, overlays]);
  const edges = useMemo(() => cache.flowEdges(spec, overlays), [cache, spec, overlays]);

  const onNodesChange = useCallback(
    (changes: NodeChange<StageFlowNode>[]) => {
      const moves: { id: string; position: { x: number; y: number } }[] = [];
      const sizes: { id: string; size: { width: number; height: number } }[] = [];
      let selection: Set<string> | null = null;
      for (const c of changes) {
        if (c.type === 'position' && c.position) moves.push({ id: c.id, position: { x: Math.round(c.position.x), y: Math.round(c.position.y) } });
        else if (c.type === 'dimensions' && c.dimensions) sizes.push({ id: c.id, size: { width: Math.round(c.dimensions.width), height: Math.round(c.dimensions.height) } });
        else if (c.type === 'select') {
          selection ??= new Set(store.getState().selectedNodes);
          if (c.selected) selection.add(c.id);
          else selection.delete(c.id);
        }
      }
      if (sizes.length) actions.setMeasured(sizes);
      if (moves.length) actions.moveNodes(moves);
      if (selection) actions.setSelection(selection, store.getState().selectedEdges);
    },
    [actions, store],
  );

  const onEdgesChange = useCallback(
    (changes: EdgeChange<ConditionFlowEdge>[]) => {
      let selection: Set<string> | null = null;
      for (const c of changes) {
        if (c.type === 'select') {
          selection ??= new Set(store.getState().selectedEdges);
          if (c.selected) selection.add(c.id);
          else selection.delete(c.id);
        }
      }
      if (selection) actions.setSelection(store.getState().selectedNodes, selection);
    },
    [actions, store],
  );

  const onConnect = useCallback(
    (c: Connection) => {
      const res = actions.connect(c.source, c.target);
      if (!res.ok) ui.notify(res.reason, 'error');
    },
    [actions, ui],
  );

  const isValidConnection: IsValidConnection<ConditionFlowEdge> = useCallback(
    (c) => c.source !== c.target && !store.getState().spec.edges.some((e) => e.from === c.source && e.to === c.target),
    [store],
  );

  const openMenu = useCallback(
    (e: ReactMouseEvent | MouseEvent, kind: 'node' | 'pane') => {
      e.preventDefault();
      const bounds = (e.currentTarget as HTMLElement | null)?.closest?.('.pw-canvas')?.getBoundingClientRect();
      const root = document.querySelector('.pw-canvas')?.getBoundingClientRect() ?? bounds;
      setMenu({
        x: e.clientX - (root?.left ?? 0),
        y: e.clientY - (root?.top ?? 0),
        kind,
        flow: flow.screenToFlowPosition({ x: e.clientX, y: e.clientY }),
      });
    },
    [flow],
  );

  // Entering or leaving a comparison or an old version shows a different graph (and the palette comes or goes): fit it.
  const shownKey = mode.kind === 'edit' ? null : mode.spec;
  const shown = useRef<unknown>(undefined);
  useEffect(() => {
    if (shown.current === undefined || shown.current === shownKey) return; // the first view is set by onInit
    shown.current = shownKey;
    const id = requestAnimationFrame(() => showReadable(flow, 250));
    return () => cancelAnimationFrame(id);
  }, [shownKey, flow]);

  const selectionCount = selectedNodes.size + selectedEdges.size;
  const oneNode = selectedNodes.size === 1 ? [...selectedNodes][0]! : null;

  return (
    <div className="pw-canvas relative h-full w-full" onClick={() => menu && setMenu(null)}>
      <EdgeMarkers />
      <ReactFlow<StageFlowNode, ConditionFlowEdge>
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        edgeTypes={edgeTypes}
        onInit={(instance) => {
          shown.current = shownKey;
          showReadable(instance, 0);
          performance.mark('pw-editor-canvas-ready');
        }}
        defaultViewport={defaultViewport}
        onNodesChange={onNodesChange}
        onEdgesChange={onEdgesChange}
        onConnect={onConnect}
        isValidConnection={isValidConnection}
        onNodeDragStart={() => actions.beginDrag()}
        onNodeDragStop={() => actions.endDrag()}
        onSelectionDragStart={() => actions.beginDrag()}
        onSelectionDragStop={() => actions.endDrag()}
        onPaneClick={() => {
          actions.clearSelection();
          setMenu(null);
        }}
        onNodeContextMenu={(e, node) => {
          if (!store.getState().selectedNodes.has(node.id)) actions.setSelection([node.id]);
          openMenu(e, 'node');
        }}
        onSelectionContextMenu={(e) => openMenu(e, 'node')}
        onPaneContextMenu={(e) => openMenu(e, 'pane')}
        onNodeDoubleClick={(_, node) => ui.jumpTo({ nodeId: node.id })}
        nodesDraggable={editable}
        nodesConnectable={editable}
        nodesFocusable
        edgesFocusable
        elementsSelectable
        deleteKeyCode={null}
        selectionKeyCode="Shift"
        multiSelectionKeyCode={['Shift', 'Meta', 'Control']}
        snapToGrid={snap}
        snapGrid={[GRID, GRID]}
        minZoom={0.08}
        maxZoom={2}
        colorMode="system"
        onlyRenderVisibleElements={nodes.length > 150}
        ariaLabelConfig={ARIA_LABELS}
        connectionRadius={28}
        aria-label={`Pipeline canvas: ${spec.nodes.length} stages, ${spec.edges.length} connections`}
        data-testid="canvas"
      >
        <Background variant={BackgroundVariant.Dots} gap={GRID} size={1.3} color="var(--pw-canvas-dot)" />
        <Controls position="bottom-left" showInteractive={false} fitViewOptions={{ padding: 0.2, duration: 250 }}>
          {editable && (
            <ControlButton onClick={() => ui.autoLayout()} title="Tidy up: arrange stages automatically (Shift+L)" aria-label="Auto-layout">
              <svg viewBox="0 0 20 20" aria-hidden className="!fill-none" stroke="currentColor" strokeWidth="1.7" strokeLinecap="round">
                <rect x="2.5" y="3" width="5" height="4" rx="1" />
                <rect x="12.5" y="3" width="5" height="4" rx="1" />
                <rect x="12.5" y="13" width="5" height="4" rx="1" />
                <path d="M7.5 5h5M10 5v10h2.5" />
              </svg>
            </ControlButton>
          )}
          <ControlButton
            onClick={() => setSnap((v) => !v)}
            title={snap ? 'Snap to grid is on' : 'Snap to grid is off'}
            aria-label="Snap to grid"
            aria-pressed={snap}
            className={cx(snap && '!text-accent')}
          >
            <svg viewBox="0 0 20 20" aria-hidden className="!fill-current">
              {[4, 10, 16].flatMap((x) => [4, 10, 16].map((y) => <circle key={`${x}-${y}`} cx={x} cy={y} r="1.6" />))}
            </svg>
          </ControlButton>
          <ControlButton onClick={() => setMinimap((v) => !v)} title={minimap ? 'Hide the overview map' : 'Show the overview map'} aria-label="Overview map" aria-pressed={minimap}>
            <svg viewBox="0 0 20 20" aria-hidden className="!fill-none" stroke="currentColor" strokeWidth="1.6">
              <rect x="2.5" y="4" width="15" height="12" rx="1.5" />
              <rect x="10" y="9.5" width="5" height="4" rx="0.8" className="fill-current" />
            </svg>
          </ControlButton>
        </Controls>
        {minimap && (
          <MiniMap<StageFlowNode>
            position="bottom-right"
            pannable
            zoomable
            nodeBorderRadius={8}
            nodeColor={(n) => {
              if (n.data.diff === 'added') return '#10b981';
              if (n.data.diff === 'removed') return '#ef4444';
              if (n.data.diff === 'changed') return '#f59e0b';
              if (n.data.issues?.errors) return '#ef4444';
              return MINIMAP_COLOUR[getStageDefinition(n.data.node.kind)?.category ?? 'flow'] ?? '#94a3b8';
            }}
            ariaLabel="Overview map"
            style={{ width: 180, height: 120 }}
          />
        )}
        {editable && selectionCount > 0 && (
          <Panel position="top-center">
            <div role="toolbar" aria-label="Selection" className="flex items-center gap-0.5 rounded-lg border border-line bg-surface/95 p-1 text-[13px] shadow-lg backdrop-blur">
              <span className="px-2 text-xs text-muted">
                {selectedNodes.size > 0 && `${selectedNodes.size} stage${selectedNodes.size === 1 ? '' : 's'}`}
                {selectedNodes.size > 0 && selectedEdges.size > 0 && ', '}
                {selectedEdges.size > 0 && `${selectedEdges.size} connection${selectedEdges.size === 1 ? '' : 's'}`}
              </span>
              {oneNode && (
                <ToolbarButton onClick={() => ui.openConnect(oneNode)} title="Connect to another stage (C)">
                  Connect to…
                </ToolbarButton>
              )}
              {selectedNodes.size > 0 && (
                <>
                  <ToolbarButton onClick={() => ui.copy()} title="Copy (Ctrl+C)">
                    Copy
                  </ToolbarButton>
                  <ToolbarButton onClick={() => ui.duplicate()} title="Duplicate (Ctrl+D)">
                    Duplicate
                  </ToolbarButton>
                </>
              )}
              <ToolbarButton onClick={() => actions.removeSelection()} title="Delete (Delete or Backspace)" danger>
                Delete
              </ToolbarButton>
            </div>
          </Panel>
        )}
        {spec.nodes.length === 0 && (
          <Panel position="top-center" className="!pointer-events-none !mt-[22vh]">
            <div className="rounded-xl border border-dashed border-line-strong bg-surface/80 px-6 py-5 text-center shadow-sm backdrop-blur">
              <p className="font-medium text-fg">{editable ? 'Drag a stage here to start' : 'This pipeline has no stages'}</p>
              {editable && <p className="mt-1 text-sm text-muted">Or pick one in the palette and press Enter. Paste stages with Ctrl+V.</p>}
            </div>
          </Panel>
        )}
      </ReactFlow>

      {menu && (
        <div
          role="menu"
          aria-label={menu.kind === 'node' ? 'Stage actions' : 'Canvas actions'}
          className="absolute z-50 min-w-44 overflow-hidden rounded-lg border border-line bg-surface py-1 text-sm shadow-xl"
          style={{ left: menu.x, top: menu.y }}
          onClick={(e) => e.stopPropagation()}
        >
          {menu.kind === 'node' ? (
            <>
              {oneNode && editable && <MenuItem onClick={() => (setMenu(null), ui.openConnect(oneNode))} label="Connect to…" hint="C" />}
              <MenuItem onClick={() => (setMenu(null), ui.copy())} label="Copy" hint="Ctrl+C" />
              {editable && <MenuItem onClick={() => (setMenu(null), ui.cut())} label="Cut" hint="Ctrl+X" />}
              {editable && <MenuItem onClick={() => (setMenu(null), ui.duplicate())} label="Duplicate" hint="Ctrl+D" />}
              {editable && <MenuItem onClick={() => (setMenu(null), actions.removeSelection())} label="Delete" hint="Del" danger />}
            </>
          ) : (
            <>
              {editable && <MenuItem onClick={() => (setMenu(null), ui.paste(menu.flow))} label="Paste here" hint="Ctrl+V" />}
              <MenuItem onClick={() => (setMenu(null), actions.selectAll())} label="Select all" hint="Ctrl+A" />
              {editable && <MenuItem onClick={() => (setMenu(null), ui.autoLayout())} label="Tidy up layout" hint="Shift+L" />}
              <MenuItem onClick={() => (setMenu(null), void flow.fitView({ padding: 0.2, duration: 250 }))} label="Fit view" hint="Shift+1" />
            </>
          )}
        </div>
      )}
    </div>
  );
}

function ToolbarButton({ children, onClick, title, danger }: { children: React.ReactNode; onClick: () => void; title: string; danger?: boolean }) {
  return (
    <button
      type="button"
      onClick={onClick}
      title={title}
      className={cx(
        'rounded-md px-2 py-1 font-medium transition-colors focus:outline-none focus-visible:ring-2 focus-visible:ring-accent',
        danger ? 'text-red-600 hover:bg-red-50 dark:text-red-400 dark:hover:bg-red-500/10' : 'text-fg hover:bg-subtle',
      )}
    >
      {children}
    </button>
  );
}

function MenuItem({ label, hint, onClick, danger }: { label: string; hint?: string; onClick: () => void; danger?: boolean }) {
  return (
    <button
      type="button"
      role="menuitem"
      onClick={onClick}
      className={cx('flex w-full items-center justify-between gap-6 px-3 py-1.5 text-left hover:bg-subtle focus:bg-subtle focus:outline-none', danger ? 'text-red-600 dark:text-red-400' : 'text-fg')}
    >
      {label}
      {hint && <kbd className="font-sans text-xs text-muted">{hint}</kbd>}
    </button>
  );
}
