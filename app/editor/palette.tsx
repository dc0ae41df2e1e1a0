'use client';
/**
 * The palette: every stage kind of the registry (icon, name, one sentence),
 * grouped by category. Drag one onto the canvas (pointer events: mouse, pen
 * and touch), or focus it and press Enter to add it after the selected stage.
 */
import { useReactFlow } from '@xyflow/react';
import { useMemo, useRef, useState, type PointerEvent as ReactPointerEvent } from 'react';
import { KindIcon } from '@/app/components/kind-icon';
import { cx, inputClass } from '@/app/components/ui';
import { STAGE_DEFINITIONS, type StageCategory, type StageDefinition } from '@/workflows/model';
import { useEditor, useEditorActions, useEditorStore } from './editor-context';
import { useEditorUi } from './editor-ui';
import { GRID, NODE_SIZE } from './layout';
import { CATEGORY_STYLE } from './stage-node';
import { canEdit } from './store';

const ORDER: StageCategory[] = ['build', 'test', 'deploy', 'gate', 'flow', 'notify'];

type Drag = { kind: string; label: string; x: number; y: number; over: boolean };

export function Palette() {
  const actions = useEditorActions();
  const store = useEditorStore();
  const ui = useEditorUi();
  const flow = useReactFlow();
  const editable = useEditor(canEdit);
  const [query, setQuery] = useState('');
  const [drag, setDrag] = useState<Drag | null>(null);
  const start = useRef<{ x: number; y: number; kind: string; label: string; id: number } | null>(null);

  const groups = useMemo(() => {
    const q = query.trim().toLowerCase();
    const all = STAGE_DEFINITIONS as readonly StageDefinition[];
    // Names first: only when no kind's name matches are descriptions searched too.
    const byName = all.filter((d) => !q || d.label.toLowerCase().includes(q) || d.kind.includes(q));
    const defs = byName.length > 0 ? byName : all.filter((d) => d.description.toLowerCase().includes(q));
    return ORDER.map((cat) => ({ cat, defs: defs.filter((d) => d.category === cat) })).filter((g) => g.defs.length > 0);
  }, [query]);

  const overCanvas = (x: number, y: number) => Boolean(document.elementFromPoint(x, y)?.closest('.react-flow__pane, .react-flow__node, .react-flow__edge'));

  /** Adds a stage where it was dropped (centred on the pointer), snapped to the grid. */
  const dropAt = (kind: string, clientX: number, clientY: number) => {
    const p = flow.screenToFlowPosition({ x: clientX, y: clientY });
    const snap = (v: number) => Math.round(v / GRID) * GRID;
    const id = actions.addNode(kind, { x: snap(p.x - NODE_SIZE.width / 2), y: snap(p.y - NODE_SIZE.height / 2) });
    if (id) ui.notify(`Added ${id}`, 'success');
  };

  /** Keyboard/click: after the selected stage (connected from it), else in the middle of the view. */
  const addNext = (kind: string) => {
    const s = store.getState();
    const from = s.selectedNodes.size === 1 ? [...s.selectedNodes][0]! : undefined;
    const source = from ? s.spec.nodes.find((n) => n.id === from) : undefined;
    let position: { x: number; y: number };
    if (source) {
      position = { x: source.position.x + NODE_SIZE.width + 80, y: source.position.y };
      while (s.spec.nodes.some((n) => Math.abs(n.position.x - position.x) < 40 && Math.abs(n.position.y - position.y) < 40)) position = { ...position, y: position.y + NODE_SIZE.height + 40 };
    } else {
      const pane = document.querySelector('.react-flow')?.getBoundingClientRect();
      const c = pane ? flow.screenToFlowPosition({ x: pane.left + pane.width / 2, y: pane.top + pane.height / 2 }) : { x: 0, y: 0 };
      position = { x: Math.round((c.x - NODE_SIZE.width / 2) / GRID) * GRID, y: Math.round((c.y - NODE_SIZE.height / 2) / GRID) * GRID };
    }
    const id = actions.addNode(kind, position, { connectFrom: source?.id });
    if (id) {
      ui.notify(source ? `Added ${id} after ${source.id}` : `Added ${id}`, 'success');
      void flow.setCenter(position.x + NODE_SIZE.width / 2, position.y + NODE_SIZE.height / 2, { zoom: flow.getZoom(), duration: 200 });
      requestAnimationFrame(() => (document.querySelector(`.react-flow__node[data-id="${CSS.escape(id)}"]`) as HTMLElement | null)?.focus());
    }
  };

  const onPointerDown = (e: ReactPointerEvent<HTMLElement>, def: StageDefinition) => {
    if (!editable || e.button !== 0) return;
    start.current = { x: e.clientX, y: e.clientY, kind: def.kind, label: def.label, id: e.pointerId };
    e.currentTarget.setPointerCapture(e.pointerId);
  };
  const onPointerMove = (e: ReactPointerEvent<HTMLElement>) => {
    const s = start.current;
    if (!s || s.id !== e.pointerId) return;
    if (!drag && Math.hypot(e.clientX - s.x, e.clientY - s.y) < 4) return;
    setDrag({ kind: s.kind, label: s.label, x: e.clientX, y: e.clientY, over: overCanvas(e.clientX, e.clientY) });
  };
  const onPointerUp = (e: ReactPointerEvent<HTMLElement>) => {
    const s = start.current;
    start.current = null;
    if (!s || s.id !== e.pointerId) return;
    e.currentTarget.releasePointerCapture(e.pointerId);
    if (drag) {
      setDrag(null);
      if (overCanvas(e.clientX, e.clientY)) dropAt(s.kind, e.clientX, e.clientY);
    } else {
      addNext(s.kind);
    }
  };

  return (
    <aside aria-label="Stage palette" className="flex h-full w-64 shrink-0 flex-col border-r border-line bg-surface">
      <div className="border-b border-line p-3">
        <h2 className="mb-2 text-xs font-semibold uppercase tracking-wide text-muted">Stages</h2>
        <input
          type="search"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          placeholder="Search stages…"
          aria-label="Search stages"
          className={cx(inputClass, 'py-1.5 text-[13px]')}
          data-palette-search
        />
      </div>
      <div className="min-h-0 flex-1 overflow-y-auto p-2">
        {groups.map(({ cat, defs }) => (
          <section key={cat} className="mb-3">
            <h3 className="mb-1 flex items-center gap-1.5 px-2 text-[11px] font-semibold uppercase tracking-wide text-muted">
              <span aria-hidden className={cx('h-2 w-2 rounded-full', CATEGORY_STYLE[cat].bar)} />
              {CATEGORY_STYLE[cat].label}
            </h3>
            <ul className="space-y-1">
              {defs.map((def) => (
                <li key={def.kind}>
                  <div
                    role="button"
                    tabIndex={editable ? 0 : -1}
                    aria-disabled={!editable}
                    aria-label={`Add ${def.label} stage`}
                    title={editable ? 'Drag onto the canvas, or press Enter to add it after the selected stage' : undefined}
                    data-testid="palette-item"
                    data-kind={def.kind}
                    onPointerDown={(e) => onPointerDown(e, def)}
                    onPointerMove={onPointerMove}
                    onPointerUp={onPointerUp}
                    onPointerCancel={() => {
                      start.current = null;
                      setDrag(null);
                    }}
                    onKeyDown={(e) => {
                      if (editable && (e.key === 'Enter' || e.key === ' ')) {
                        e.preventDefault();
                        addNext(def.kind);
                      }
                    }}
                    className={cx(
                      'group flex touch-none select-none items-start gap-2.5 rounded-lg border border-transparent px-2 py-2 transition-colors focus:outline-none focus-visible:ring-2 focus-visible:ring-accent',
                      editable ? 'cursor-grab hover:border-line hover:bg-subtle active:cursor-grabbing' : 'cursor-not-allowed opacity-60',
                    )}
                  >
                    <KindIcon kind={def.kind} className={cx('mt-0.5 h-8 w-8 rounded-lg', CATEGORY_STYLE[def.category].icon)} />
                    <span className="min-w-0">
                      <span className="block text-[13px] font-medium text-fg">{def.label}</span>
                      <span className="line-clamp-2 block text-[11.5px] leading-snug text-muted">{def.description}</span>
                    </span>
                  </div>
                </li>
              ))}
            </ul>
          </section>
        ))}
        {groups.length === 0 && <p className="px-2 py-6 text-center text-sm text-muted">No stage kind matches “{query}”.</p>}
      </div>
      {drag && (
        <div
          aria-hidden
          className={cx(
            'pointer-events-none fixed z-[100] flex w-[220px] -translate-x-1/2 -translate-y-1/2 items-center gap-2 rounded-xl border bg-surface px-3 py-2.5 text-sm font-medium text-fg shadow-2xl',
            drag.over ? 'border-accent ring-2 ring-accent/30' : 'border-line-strong opacity-80',
          )}
          style={{ left: drag.x, top: drag.y }}
        >
          <KindIcon kind={drag.kind} />
          {drag.label}
        </div>
      )}
    </aside>
  );
}
