'use client';
/**
 * The pipeline as YAML or JSON, editable and kept in sync both ways: canvas
 * edits rewrite the text; typed text that parses into a pipeline document is
 * applied to the canvas (one undo step per burst of typing), checked by the
 * same validator. Text that cannot be read is never applied — the canvas keeps
 * the last good document and the error says where the text is wrong.
 */
import { useEffect, useRef, useState } from 'react';
import { cx } from '@/app/components/ui';
import type { PipelineSpec, ValidationIssue } from '@/workflows/model';
import { jsonEqual } from '@/workflows/model/diff';
import { useEditor, useEditorActions } from './editor-context';
import { readSpecText, specToText, type TextFormat } from './spec-text';
import { canEdit, displayedSpec } from './store';

type Status = { state: 'synced' } | { state: 'pending' } | { state: 'applied'; issues: ValidationIssue[] } | { state: 'rejected'; error: string; line?: number; issues: ValidationIssue[] };

export function CodeView({ format }: { format: TextFormat }) {
  const spec = useEditor(displayedSpec);
  const editable = useEditor(canEdit);
  const actions = useEditorActions();
  const [text, setText] = useState(() => specToText(spec, format));
  const [status, setStatus] = useState<Status>({ state: 'synced' });
  const synced = useRef<{ spec: PipelineSpec; format: TextFormat }>({ spec, format });
  const gutter = useRef<HTMLDivElement>(null);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  // Canvas → text, unless this document came from the text itself.
  useEffect(() => {
    if (synced.current.spec === spec && synced.current.format === format) return;
    synced.current = { spec, format };
    clearTimeout(timer.current);
    setText(specToText(spec, format));
    setStatus({ state: 'synced' });
  }, [spec, format]);

  useEffect(() => () => clearTimeout(timer.current), []);

  const apply = (value: string) => {
    const result = readSpecText(value, format);
    if (!result.ok) {
      setStatus({ state: 'rejected', error: result.error, line: result.line, issues: result.issues });
      return;
    }
    setStatus({ state: 'applied', issues: result.issues });
    const current = synced.current.spec;
    if (jsonEqual(current, result.spec)) return;
    synced.current = { spec: result.spec, format };
    actions.replaceSpec(result.spec, `Edit ${format.toUpperCase()}`, { coalesce: `code:${format}` });
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
              clearTimeout(timer.current);
              timer.current = setTimeout(() => apply(next), 400);
            }
          }}
          onChange={(e) => {
            const value = e.target.value;
            setText(value);
            setStatus({ state: 'pending' });
            clearTimeout(timer.current);
            timer.current = setTimeout(() => apply(value), 400);
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
            <p className="font-medium">
              Not applied — the canvas keeps the last good version. {status.error}
              {status.line ? ` (line ${status.line})` : ''}
            </p>
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
