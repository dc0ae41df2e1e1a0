'use client';
/**
 * The pipeline as YAML or JSON, editable and kept in sync both ways: canvas
 * edits rewrite the text; typed text that parses into a pipeline document is
 * applied to the canvas (one undo step per burst of typing), checked by the
 * same validator. Text that cannot be read is never applied — the canvas keeps
 * the last good document and the error says where the text is wrong. That text
 * is kept in the editor's store (not only in this component), so switching to
 * the canvas and back shows it again with its error, until the person fixes it
 * or discards it.
 */
import { useEffect, useRef, useState } from 'react';
import { cx } from '@/app/components/ui';
import type { PipelineSpec, ValidationIssue } from '@/workflows/model';
import { jsonEqual } from '@/workflows/model/diff';
import { useEditor, useEditorActions, useEditorStore } from './editor-context';
import { readSpecText, specToText, type TextFormat } from './spec-text';
import { canEdit, displayedSpec } from './store';

type Status = { state: 'synced' } | { state: 'pending' } | { state: 'applied'; issues: ValidationIssue[] } | { state: 'rejected'; error: string; line?: number; issues: ValidationIssue[] };

function statusOf(value: string, format: TextFormat): Status {
  const result = readSpecText(value, format);
  return result.ok ? { state: 'applied', issues: result.issues } : { state: 'rejected', error: result.error, line: result.line, issues: result.issues };
}

export function CodeView({ format }: { format: TextFormat }) {
  const spec = useEditor(displayedSpec);
  const editable = useEditor(canEdit);
  const actions = useEditorActions();
  const store = useEditorStore();
  // Text left with an error in this format the last time the code view was open comes back, error and all.
  const [kept] = useState(() => {
    const draft = store.getState().codeDraft;
    return draft && draft.format === format ? draft.text : null;
  });
  const [text, setText] = useState(() => kept ?? specToText(spec, format));
  const [status, setStatus] = useState<Status>(() => (kept !== null ? statusOf(kept, format) : { state: 'synced' }));
  const synced = useRef<{ spec: PipelineSpec; format: TextFormat }>({ spec, format });
  const gutter = useRef<HTMLDivElement>(null);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  /** Typed text not yet checked (the check waits for a pause in typing). */
  const unchecked = useRef<string | null>(null);
  const heldDraft = useEditor((s) => (s.codeDraft?.format === format ? s.codeDraft.text : null));

  // Canvas → text, unless this document came from the text itself, or the text holds unapplied work.
  useEffect(() => {
    if (synced.current.spec === spec && synced.current.format === format) return;
    synced.current = { spec, format };
    if (store.getState().codeDraft?.format === format) return;
    clearTimeout(timer.current);
    setText(specToText(spec, format));
    setStatus({ state: 'synced' });
  }, [spec, format, store]);

  const apply = (value: string) => {
    unchecked.current = null;
    const result = readSpecText(value, format);
    if (!result.ok) {
      setStatus({ state: 'rejected', error: result.error, line: result.line, issues: result.issues });
      actions.setCodeDraft({ format, text: value });
      return;
    }
    setStatus({ state: 'applied', issues: result.issues });
    if (store.getState().codeDraft) actions.setCodeDraft(null);
    const current = synced.current.spec;
    if (jsonEqual(current, result.spec)) return;
    synced.current = { spec: result.spec, format };
    actions.replaceSpec(result.spec, `Edit ${format.toUpperCase()}`, { coalesce: `code:${format}` });
  };
  const applyRef = useRef(apply);
  applyRef.current = apply;

  // Leaving the code view mid-typing checks what was typed rather than losing it.
  useEffect(
    () => () => {
      clearTimeout(timer.current);
      if (unchecked.current !== null) applyRef.current(unchecked.current);
    },
    [],
  );

  const schedule = (value: string) => {
    unchecked.current = value;
    clearTimeout(timer.current);
    timer.current = setTimeout(() => apply(value), 400);
  };

  const discard = () => {
    clearTimeout(timer.current);
    unchecked.current = null;
    actions.setCodeDraft(null);
    const current = displayedSpec(store.getState());
    synced.current = { spec: current, format };
    setText(specToText(current, format));
    setStatus({ state: 'synced' });
  };

  const lines = text.split('\n').length;
  const errors = status.state === 'applied' || status.state === 'rejected' ? status.issues.filter((i) => i.severity === 'error') : [];

  return (
    <div className="flex h-full min-h-0 flex-col bg-surface" data-testid="code-view">
      <div className="flex min-h-0 flex-1 overflow-hidden">
        <div ref={gutter} aria-hidden className="select-none overflow-hidden border-r border-line bg-subtle/60 px-2 py-3 text-right font-mono text-[12px] leading-5 text-muted/70">
          {Array.from({ length: lines }, (_, i) => (
            <div key={i} className={cx(status.state === 'rejected' && status.line === i + 1 && 'bg-red-500/20 text-red-600')}>
              {i + 1}
            </div>
          ))}
        </div>
        <textarea
          value={text}
          readOnly={!editable}
          spellCheck={false}
          autoCapitalize="off"
          autoCorrect="off"
          wrap="off"
          aria-label={`Pipeline as ${format.toUpperCase()}`}
          data-testid="code-editor"
          onScroll={(e) => {
            if (gutter.current) gutter.current.scrollTop = e.currentTarget.scrollTop;
          }}
          onKeyDown={(e) => {
            if (e.key === 'Tab' && !e.shiftKey && editable) {
              e.preventDefault();
              const el = e.currentTarget;
              const { selectionStart: s, selectionEnd: end } = el;
              const next = `${text.slice(0, s)}  ${text.slice(end)}`;
              setText(next);
              requestAnimationFrame(() => el.setSelectionRange(s + 2, s + 2));
              schedule(next);
            }
          }}
          onChange={(e) => {
            const value = e.target.value;
            setText(value);
            setStatus({ state: 'pending' });
            schedule(value);
          }}
          className="min-h-0 flex-1 resize-none bg-surface px-3 py-3 font-mono text-[12.5px] leading-5 text-fg outline-none"
        />
      </div>
      <div
        aria-live="polite"
        data-testid="code-status"
        data-state={status.state}
        className={cx(
          'border-t px-4 py-2 text-[12.5px]',
          status.state === 'rejected' ? 'border-red-200 bg-red-50 text-red-800 dark:border-red-500/30 dark:bg-red-500/10 dark:text-red-200' : 'border-line bg-subtle/50 text-muted',
        )}
      >
        {status.state === 'synced' && <span>✓ In sync with the canvas. Edit the {format.toUpperCase()} and the canvas follows.</span>}
        {status.state === 'pending' && <span>Checking…</span>}
        {status.state === 'applied' &&
          (errors.length === 0 ? <span className="text-emerald-700 dark:text-emerald-300">✓ Applied to the canvas.</span> : <span>Applied to the canvas with {errors.length} problem{errors.length === 1 ? '' : 's'} (see Problems).</span>)}
        {status.state === 'rejected' && (
          <div>
            <div className="flex items-start justify-between gap-3">
              <p className="font-medium">
                Not applied — the canvas keeps the last good version; your text stays here until you fix it or discard it. {status.error}
                {status.line ? ` (line ${status.line})` : ''}
              </p>
              {heldDraft !== null && editable && (
                <button
                  type="button"
                  onClick={discard}
                  data-testid="code-discard"
                  className="shrink-0 rounded-md border border-red-300 px-2 py-0.5 text-[12px] font-medium hover:bg-red-100 dark:border-red-500/40 dark:hover:bg-red-500/20"
                >
                  Discard my text
                </button>
              )}
            </div>
            {status.issues.length > 0 && (
              <ul className="mt-1 max-h-24 list-disc overflow-y-auto pl-5">
                {status.issues.slice(0, 20).map((i, n) => (
                  <li key={n}>{i.message}</li>
                ))}
              </ul>
            )}
          </div>
        )}
      </div>
    </div>
  );
}
