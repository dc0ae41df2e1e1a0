'use client';
/**
 * A text field (one line or many) that offers `${{ … }}` references while you
 * type them: the pipeline's parameters and the outputs of stages upstream.
 * Type `${{` (or press the { } button, or Ctrl+Space) to open the list;
 * arrows to move, Enter or Tab to insert, Escape to close.
 */
import { useId, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { cx, inputClass } from '@/app/components/ui';
import { applySuggestion, completionContext, filterSuggestions, type Suggestion } from './references';

/** The references to offer, computed when the list opens (not on every render). */
export type SuggestionSource = () => readonly Suggestion[];

type Props = {
  id: string;
  value: string;
  onChange: (value: string) => void;
  suggestions: SuggestionSource;
  multiline?: boolean;
  placeholder?: string;
  invalid?: boolean;
  describedBy?: string;
  maxLength?: number;
  readOnly?: boolean;
  required?: boolean;
  /** A shell runs this text: a chosen reference goes in as its `$PW_…` variable, not as `${{ }}`. */
  shell?: boolean;
};

export function TemplateInput({ id, value, onChange, suggestions, multiline, placeholder, invalid, describedBy, maxLength, readOnly, required, shell }: Props) {
  const listId = useId();
  const ref = useRef<HTMLInputElement & HTMLTextAreaElement>(null);
  const [caret, setCaret] = useState<number | null>(null);
  const [active, setActive] = useState(0);
  const [dismissed, setDismissed] = useState<number | null>(null);

  const ctx = caret === null ? null : completionContext(value, caret);
  const query = ctx?.query ?? null;
  const matches = useMemo(() => (query !== null ? filterSuggestions(suggestions(), query).slice(0, 30) : []), [query, suggestions]);
  const open = !readOnly && ctx !== null && matches.length > 0 && dismissed !== ctx.start;
  const current = Math.min(active, Math.max(0, matches.length - 1));

  const track = () => {
    const el = ref.current;
    if (el) setCaret(el.selectionStart);
  };

  const choose = (s: Suggestion) => {
    const el = ref.current;
    if (!el || !ctx || caret === null) return;
    const next = applySuggestion(value, caret, ctx, s.expr, { asVariable: shell });
    onChange(next.text);
    setCaret(next.caret);
    requestAnimationFrame(() => {
      el.focus();
      el.setSelectionRange(next.caret, next.caret);
    });
  };

  const insertOpener = () => {
    const el = ref.current;
    if (!el || readOnly) return;
    const at = el.selectionStart ?? value.length;
    const end = el.selectionEnd ?? at;
    const next = `${value.slice(0, at)}\${{ ${value.slice(end)}`;
    onChange(next);
    setDismissed(null);
    setActive(0);
    const pos = at + 4;
    setCaret(pos);
    requestAnimationFrame(() => {
      el.focus();
      el.setSelectionRange(pos, pos);
    });
  };

  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === ' ' && e.ctrlKey) {
      e.preventDefault();
      if (!ctx) insertOpener();
      else setDismissed(null);
      return;
    }
    if (!open) return;
    if (e.key === 'ArrowDown') {
      e.preventDefault();
      setActive((current + 1) % matches.length);
    } else if (e.key === 'ArrowUp') {
      e.preventDefault();
      setActive((current - 1 + matches.length) % matches.length);
    } else if (e.key === 'Enter' || e.key === 'Tab') {
      e.preventDefault();
      choose(matches[current]!);
    } else if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      setDismissed(ctx!.start);
    }
  };

  const common = {
    id,
    ref,
    value,
    readOnly,
    required,
    maxLength,
    placeholder,
    spellCheck: false,
    autoComplete: 'off',
    role: 'combobox',
    'aria-autocomplete': 'list' as const,
    'aria-expanded': open,
    'aria-controls': open ? listId : undefined,
    'aria-activedescendant': open ? `${listId}-${current}` : undefined,
    'aria-invalid': invalid || undefined,
    'aria-describedby': describedBy,
    onChange: (e: { target: { value: string; selectionStart: number | null } }) => {
      onChange(e.target.value);
      setCaret(e.target.selectionStart);
      setActive(0);
      setDismissed(null);
    },
    onSelect: track,
    onClick: track,
    onKeyDown,
    onBlur: () => setTimeout(() => setCaret(null), 150),
    className: cx(
      inputClass,
      'nodrag nokey pr-8 font-mono text-[12.5px]',
      multiline && 'min-h-[84px] resize-y leading-5',
      invalid && '!border-red-400 focus:!ring-red-500/25',
    ),
  };

  return (
    <div className="relative">
      {multiline ? <textarea rows={Math.min(12, Math.max(3, value.split('\n').length + 1))} {...common} /> : <input type="text" {...common} />}
      {!readOnly && (
        <button
          type="button"
          tabIndex={-1}
          onMouseDown={(e) => e.preventDefault()}
          onClick={insertOpener}
          title="Insert a reference to a parameter or an output (Ctrl+Space)"
          aria-label="Insert a reference"
          className="absolute right-1.5 top-1.5 whitespace-nowrap rounded px-1 font-mono text-[11px] font-semibold text-muted hover:bg-subtle hover:text-accent"
        >
          {'{ }'}
        </button>
      )}
      {open && (
        <ul
          id={listId}
          role="listbox"
          aria-label="References"
          className="absolute left-0 right-0 top-full z-40 mt-1 max-h-60 overflow-y-auto rounded-lg border border-line bg-surface py-1 shadow-xl"
        >
          {matches.map((s, i) => (
            <li
              key={s.expr}
              id={`${listId}-${i}`}
              role="option"
              aria-selected={i === current}
              onMouseDown={(e) => {
                e.preventDefault();
                choose(s);
              }}
              onMouseEnter={() => setActive(i)}
              className={cx('cursor-pointer px-3 py-1.5', i === current ? 'bg-accent/10' : 'hover:bg-subtle')}
            >
              <div className="flex items-center justify-between gap-2">
                <span className="truncate font-mono text-[12px] text-fg">{s.expr}</span>
                <span className="shrink-0 text-[10px] uppercase tracking-wide text-muted">{s.group === 'Parameters' ? 'param' : 'output'}</span>
              </div>
              <div className="truncate text-[11px] text-muted">{s.detail}</div>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
