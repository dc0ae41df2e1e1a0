'use client';
/** The editor's dialogs: save a version, connect to…, import problems, keyboard shortcuts. */
import { useEffect, useMemo, useRef, useState, type FormEvent, type RefObject } from 'react';
import { KindIcon } from '@/app/components/kind-icon';
import { Modal } from '@/app/components/modal';
import { Button, cx, inputClass, Spinner } from '@/app/components/ui';
import type { EdgeCondition, PipelineSpec, ValidationIssue } from '@/workflows/model';
import { CONDITION_STYLE } from './condition-edge';
import { useEditor, useEditorActions } from './editor-context';

/** `<dialog>.showModal()` focuses its first button; move focus to the field that matters once it is open. */
function useFocusWhenOpen(open: boolean, ref: RefObject<HTMLInputElement | null>) {
  useEffect(() => {
    if (!open) return;
    const id = requestAnimationFrame(() => ref.current?.focus());
    return () => cancelAnimationFrame(id);
  }, [open, ref]);
}

export function SaveDialog({
  open,
  onClose,
  onSave,
  saving,
  nextVersion,
  errors,
}: {
  open: boolean;
  onClose: () => void;
  onSave: (message: string) => void;
  saving: boolean;
  nextVersion: number;
  errors: number;
}) {
  const [message, setMessage] = useState('');
  const input = useRef<HTMLInputElement>(null);
  useFocusWhenOpen(open, input);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!saving) onSave(message.trim());
  };
  return (
    <Modal open={open} onClose={onClose} title={`Save version ${nextVersion}`} description="Every save is a new version; earlier versions and the runs that used them stay as they were.">
      <form onSubmit={submit} className="space-y-4" data-testid="save-dialog">
        <div>
          <label htmlFor="save-message" className="mb-1 block text-sm font-medium text-fg">
            What changed?
          </label>
          <input
            ref={input}
            id="save-message"
            value={message}
            onChange={(e) => setMessage(e.target.value)}
            maxLength={500}
            placeholder="e.g. Add a smoke test after the staging deploy"
            className={inputClass}
          />
        </div>
        {errors > 0 && (
          <p className="rounded-lg border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-900 dark:border-amber-500/30 dark:bg-amber-500/10 dark:text-amber-100">
            This version has {errors} problem{errors === 1 ? '' : 's'}. It is saved as a <strong>draft</strong>: it cannot run until they are fixed.
          </p>
        )}
        <div className="flex justify-end gap-2">
          <Button variant="ghost" onClick={onClose} disabled={saving}>
            Cancel
          </Button>
          <Button type="submit" variant="primary" disabled={saving} data-testid="confirm-save">
            {saving ? (
              <>
                <Spinner /> Saving…
              </>
            ) : errors > 0 ? (
              'Save as draft'
            ) : (
              `Save version ${nextVersion}`
            )}
          </Button>
        </div>
      </form>
    </Modal>
  );
}

export function ConnectDialog({
  fromId,
  onClose,
  onConnected,
}: {
  fromId: string | null;
  onClose: () => void;
  /** After connecting (or failing to): what happened, and the document before it (so the toast can undo it). */
  onConnected: (message: string, ok: boolean, before: PipelineSpec) => void;
}) {
  const before = useEditor((s) => s.spec);
  const nodes = useEditor((s) => s.spec.nodes);
  const edges = useEditor((s) => s.spec.edges);
  const actions = useEditorActions();
  const [query, setQuery] = useState('');
  const [active, setActive] = useState(0);
  const [on, setOn] = useState<EdgeCondition>('success');
  const input = useRef<HTMLInputElement>(null);
  useFocusWhenOpen(fromId !== null, input);
  const from = nodes.find((n) => n.id === fromId);
  const targets = useMemo(() => {
    const q = query.trim().toLowerCase();
    return nodes.filter((n) => n.id !== fromId && !edges.some((e) => e.from === fromId && e.to === n.id) && (!q || n.name.toLowerCase().includes(q) || n.id.toLowerCase().includes(q)));
  }, [nodes, edges, fromId, query]);
  const current = Math.min(active, Math.max(0, targets.length - 1));

  const connect = (to: string) => {
    if (!fromId) return;
    const res = actions.connect(fromId, to, on);
    const name = (id: string) => `“${nodes.find((n) => n.id === id)?.name ?? id}”`;
    onConnected(res.ok ? `Connected ${name(fromId)} → ${name(to)} (${CONDITION_STYLE[on].label})` : res.reason, res.ok, before);
    onClose();
  };

  return (
    <Modal open={fromId !== null} onClose={onClose} title="Connect to…" description={from ? `Choose the stage that runs after “${from.name}”.` : undefined}>
      <div className="space-y-3" data-testid="connect-dialog">
        <input
          ref={input}
          value={query}
          onChange={(e) => {
            setQuery(e.target.value);
            setActive(0);
          }}
          onKeyDown={(e) => {
            if (e.key === 'ArrowDown') {
              e.preventDefault();
              setActive((current + 1) % Math.max(1, targets.length));
            } else if (e.key === 'ArrowUp') {
              e.preventDefault();
              setActive((current - 1 + targets.length) % Math.max(1, targets.length));
            } else if (e.key === 'Enter') {
              e.preventDefault();
              const t = targets[current];
              if (t) connect(t.id);
            }
          }}
          role="combobox"
          aria-expanded
          aria-controls="connect-targets"
          aria-activedescendant={targets[current] ? `connect-${targets[current]!.id}` : undefined}
          aria-label="Find a stage"
          placeholder="Type to find a stage…"
          className={inputClass}
        />
        <fieldset className="flex gap-1.5">
          <legend className="sr-only">Condition</legend>
          {(['success', 'failure', 'always'] as EdgeCondition[]).map((c) => (
            <label key={c} className={cx('flex-1 cursor-pointer rounded-md border px-2 py-1 text-center text-[12.5px] font-medium', on === c ? 'border-accent bg-accent/10 text-fg' : 'border-line text-muted hover:bg-subtle')}>
              <input type="radio" name="connect-on" value={c} checked={on === c} onChange={() => setOn(c)} className="sr-only" />
              {CONDITION_STYLE[c].glyph} {CONDITION_STYLE[c].label}
            </label>
          ))}
        </fieldset>
        <ul id="connect-targets" role="listbox" aria-label="Stages" className="max-h-72 overflow-y-auto rounded-lg border border-line">
          {targets.length === 0 && <li className="px-3 py-4 text-center text-sm text-muted">No other stage to connect to.</li>}
          {targets.map((n, i) => (
            <li
              key={n.id}
              id={`connect-${n.id}`}
              role="option"
              aria-selected={i === current}
              onMouseEnter={() => setActive(i)}
              onClick={() => connect(n.id)}
              className={cx('flex cursor-pointer items-center gap-2.5 px-3 py-2', i === current ? 'bg-accent/10' : 'hover:bg-subtle')}
            >
              <KindIcon kind={n.kind} />
              <span className="min-w-0 flex-1">
                <span className="block truncate text-sm font-medium text-fg">{n.name}</span>
                <span className="block truncate font-mono text-[11px] text-muted">{n.id}</span>
              </span>
            </li>
          ))}
        </ul>
      </div>
    </Modal>
  );
}

export type ImportProblem = { id: number; fileName: string; error?: string; issues: ValidationIssue[]; canImport: boolean; onImport?: () => void };

export function ImportDialog({ problem, onClose }: { problem: ImportProblem | null; onClose: () => void }) {
  return (
    // A dialog element per problem: closing one (its close event comes later) never closes the next.
    <Modal key={problem?.id ?? 'none'} open={problem !== null} onClose={onClose} title={problem?.canImport ? 'This file has problems' : 'This file cannot be imported'} description={problem?.fileName}>
      {problem && (
        <div className="space-y-4" data-testid="import-dialog">
          <p className="text-sm text-fg">
            {problem.canImport
              ? 'It reads as a pipeline, but the validator found problems. You can import it as unsaved changes and fix them, or cancel.'
              : 'Nothing was changed. Fix the file and import it again.'}
          </p>
          {problem.error && <p className="rounded-md bg-red-50 px-3 py-2 font-mono text-[12.5px] text-red-800 dark:bg-red-500/10 dark:text-red-200">{problem.error}</p>}
          {problem.issues.length > 0 && (
            <ul className="max-h-64 space-y-1 overflow-y-auto rounded-md border border-line p-2 text-[13px]" data-testid="import-issues">
              {problem.issues.slice(0, 100).map((i, n) => (
                <li key={n} className="flex gap-2">
                  <span className={cx('shrink-0 text-[10px] font-semibold uppercase', i.severity === 'error' ? 'text-red-600' : 'text-amber-600')}>{i.severity}</span>
                  <span className="text-fg">{i.message}</span>
                </li>
              ))}
            </ul>
          )}
          <div className="flex justify-end gap-2">
            <Button variant={problem.canImport ? 'ghost' : 'primary'} onClick={onClose}>
              {problem.canImport ? 'Cancel' : 'Close'}
            </Button>
            {problem.canImport && problem.onImport && (
              <Button variant="primary" onClick={problem.onImport}>
                Import anyway
              </Button>
            )}
          </div>
        </div>
      )}
    </Modal>
  );
}

const SHORTCUTS: [string, string][] = [
  ['Drag from the palette', 'Add a stage where you drop it'],
  ['Enter on a palette item', 'Add it after the selected stage'],
  ['Tab / Shift+Tab', 'Move between stages and connections'],
  ['Enter or Space', 'Select the focused stage or connection'],
  ['Arrow keys', 'Move the selected stages'],
  ['C', 'Connect the selected stage to…'],
  ['Delete / Backspace', 'Delete the selection'],
  ['Shift+click, Shift+drag', 'Add to the selection, select a box'],
  ['Ctrl/⌘+A', 'Select everything'],
  ['Ctrl/⌘+C, X, V', 'Copy, cut, paste (also into another pipeline)'],
  ['Ctrl/⌘+D', 'Duplicate the selection'],
  ['Ctrl/⌘+Z', 'Undo'],
  ['Ctrl/⌘+Shift+Z, Ctrl+Y', 'Redo'],
  ['Ctrl/⌘+S', 'Save a new version'],
  ['Shift+L', 'Tidy up the layout'],
  ['Shift+1', 'Fit the pipeline in view'],
  ['Ctrl/⌘ + / −', 'Zoom in / out'],
  ['/', 'Search the palette'],
  ['${{ in a field', 'Insert a parameter or an output'],
  ['Escape', 'Clear the selection, leave a comparison'],
];

export function ShortcutsDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  return (
    <Modal open={open} onClose={onClose} title="Keyboard and mouse" description="Everything on the canvas works from the keyboard too.">
      <dl className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-1.5 text-sm">
        {SHORTCUTS.map(([k, v]) => (
          <div key={k} className="contents">
            <dt>
              <kbd className="rounded border border-line-strong bg-subtle px-1.5 py-0.5 font-sans text-xs text-fg">{k}</kbd>
            </dt>
            <dd className="text-muted">{v}</dd>
          </div>
        ))}
      </dl>
    </Modal>
  );
}
