'use client';
/**
 * A form generated from a zod schema (see schema-fields.ts): one control per
 * field, defaults shown as placeholders, help text under the label, and the
 * validator's issues under the field they are about.
 */
import { useEffect, useId, useState, type ReactNode } from 'react';
import { cx, inputClass } from '@/app/components/ui';
import type { SuggestionSource } from './template-input';
import { emptyObject, joinPath, type Field } from './schema-fields';
import { TemplateInput } from './template-input';

export type FieldIssues = ReadonlyMap<string, string[]>;

type FormProps = {
  fields: Field[];
  value: Record<string, unknown>;
  /** `path` says which field changed (one undo step per field while typing). */
  onChange: (value: Record<string, unknown>, path: string) => void;
  issues: FieldIssues;
  suggestions: SuggestionSource;
  readOnly?: boolean;
  /** Path of this form's object inside the config (`''` at the top). */
  prefix?: string;
  /** Paths of fields a shell runs: a chosen reference is inserted as its `$PW_…` variable. */
  shellFields?: readonly string[];
};

function setKey(obj: Record<string, unknown>, key: string, v: unknown): Record<string, unknown> {
  const next = { ...obj };
  if (v === undefined) delete next[key];
  else next[key] = v;
  return next;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Every path a form would show for this value (to list the issues no field shows). */
export function formPaths(fields: Field[], value: unknown, prefix = ''): Set<string> {
  const out = new Set<string>();
  const obj = isObject(value) ? value : {};
  for (const f of fields) {
    const path = joinPath(prefix, f.key);
    out.add(path);
    const v = obj[f.key];
    if (f.type === 'group') for (const p of formPaths(f.fields, v, path)) out.add(p);
    if (f.type === 'object-list' && Array.isArray(v)) v.forEach((item, i) => formPaths(f.fields, item, joinPath(path, i)).forEach((p) => out.add(p)));
    if (f.type === 'text-list' && Array.isArray(v)) v.forEach((_, i) => out.add(joinPath(path, i)));
    if (f.type === 'key-value' && isObject(v)) Object.keys(v).forEach((k) => out.add(joinPath(path, k)));
    if (f.type === 'variant' && isObject(v)) {
      const variant = f.variants.find((x) => x.value === v[f.discriminator]);
      out.add(joinPath(path, f.discriminator));
      if (variant) for (const p of formPaths(variant.fields, v, path)) out.add(p);
    }
  }
  return out;
}

export function SchemaForm({ fields, value, onChange, issues, suggestions, readOnly, prefix = '', shellFields }: FormProps) {
  return (
    <div className="space-y-4">
      {fields.map((f) => {
        const path = joinPath(prefix, f.key);
        return (
          <FieldControl
            key={f.key}
            field={f}
            path={path}
            value={value[f.key]}
            onChange={(v, changed) => onChange(setKey(value, f.key, v), changed ?? path)}
            issues={issues}
            suggestions={suggestions}
            readOnly={readOnly}
            shell={shellFields?.includes(path)}
          />
        );
      })}
    </div>
  );
}

type ControlProps = {
  field: Field;
  path: string;
  value: unknown;
  onChange: (v: unknown, path?: string) => void;
  issues: FieldIssues;
  suggestions: SuggestionSource;
  readOnly?: boolean;
  shell?: boolean;
};

/** Issues of this path and of its children that no child control shows (e.g. `users[0]`). */
function issuesAt(issues: FieldIssues, path: string): string[] {
  return issues.get(path) ?? [];
}

function Frame({
  id,
  field,
  path,
  issues,
  children,
  inline,
}: {
  id: string;
  field: Field;
  path: string;
  issues: string[];
  children: ReactNode;
  inline?: ReactNode;
}) {
  return (
    <div data-field={path} className="scroll-mt-4">
      <div className="mb-1 flex items-baseline justify-between gap-2">
        <label htmlFor={id} className="text-[13px] font-medium text-fg">
          {field.label}
          {field.required && (
            <span className="ml-0.5 text-red-600 dark:text-red-400" aria-hidden title="required">
              *
            </span>
          )}
        </label>
        {inline ?? <span className="font-mono text-[10.5px] text-muted/80">{field.key}</span>}
      </div>
      {children}
      {field.help && (
        <p id={`${id}-help`} className="mt-1 text-[11.5px] leading-snug text-muted">
          {field.help}
        </p>
      )}
      {issues.length > 0 && (
        <ul id={`${id}-issues`} className="mt-1 space-y-0.5" data-testid="field-issues">
          {issues.map((m, i) => (
            <li key={i} className="flex gap-1 text-[12px] font-medium text-red-600 dark:text-red-400">
              <span aria-hidden>⚠</span>
              {m}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function describedBy(id: string, field: Field, issues: string[]) {
  return [field.help && `${id}-help`, issues.length > 0 && `${id}-issues`].filter(Boolean).join(' ') || undefined;
}

function defaultText(field: Field): string | undefined {
  if (field.default === undefined) return field.required ? undefined : 'optional';
  return `default: ${typeof field.default === 'string' ? field.default || '(empty)' : JSON.stringify(field.default)}`;
}

function FieldControl({ field, path, value, onChange, issues, suggestions, readOnly, shell }: ControlProps) {
  const id = useId();
  const mine = issuesAt(issues, path);
  const desc = describedBy(id, field, mine);
  const invalid = mine.length > 0;

  switch (field.type) {
    case 'text':
      return (
        <Frame id={id} field={field} path={path} issues={mine}>
          <TemplateInput
            id={id}
            value={typeof value === 'string' ? value : ''}
            onChange={(v) => onChange(v === '' && !field.required ? undefined : v)}
            suggestions={suggestions}
            multiline={field.multiline}
            placeholder={defaultText(field)}
            invalid={invalid}
            describedBy={desc}
            maxLength={field.maxLength}
            readOnly={readOnly}
            required={field.required}
            shell={shell}
          />
        </Frame>
      );
    case 'number':
      return (
        <Frame id={id} field={field} path={path} issues={mine}>
          <NumberInput id={id} field={field} value={value} onChange={onChange} invalid={invalid} describedBy={desc} readOnly={readOnly} />
        </Frame>
      );
    case 'boolean': {
      const checked = typeof value === 'boolean' ? value : field.default === true;
      return (
        <Frame
          id={id}
          field={field}
          path={path}
          issues={mine}
          inline={
            <button
              id={id}
              type="button"
              role="switch"
              aria-checked={checked}
              aria-describedby={desc}
              disabled={readOnly}
              onClick={() => onChange(!checked)}
              className={cx(
                'relative inline-flex h-5 w-9 shrink-0 items-center rounded-full transition-colors focus:outline-none focus-visible:ring-2 focus-visible:ring-accent focus-visible:ring-offset-2 focus-visible:ring-offset-surface disabled:opacity-60',
                checked ? 'bg-accent' : 'bg-line-strong',
              )}
            >
              <span className={cx('inline-block h-4 w-4 rounded-full bg-white shadow transition-transform', checked ? 'translate-x-[18px]' : 'translate-x-0.5')} />
            </button>
          }
        >
          {null}
        </Frame>
      );
    }
    case 'choice':
      return (
        <Frame id={id} field={field} path={path} issues={mine}>
          <select
            id={id}
            value={typeof value === 'string' ? value : ''}
            onChange={(e) => onChange(e.target.value === '' ? undefined : e.target.value)}
            disabled={readOnly}
            aria-describedby={desc}
            aria-invalid={invalid || undefined}
            className={cx(inputClass, 'py-1.5 text-[13px]')}
          >
            {(!field.required || value === undefined) && <option value="">{field.default !== undefined ? `Default (${String(field.default)})` : '—'}</option>}
            {field.options.map((o) => (
              <option key={o} value={o}>
                {o}
              </option>
            ))}
          </select>
        </Frame>
      );
    case 'text-list':
      return (
        <Frame id={id} field={field} path={path} issues={[...mine, ...listChildIssues(issues, path)]}>
          <TextList id={id} value={Array.isArray(value) ? value.map(String) : []} onChange={(v) => onChange(v)} describedBy={desc} readOnly={readOnly} label={field.label} />
        </Frame>
      );
    case 'key-value':
      return (
        <Frame id={id} field={field} path={path} issues={[...mine, ...listChildIssues(issues, path)]}>
          <KeyValue id={id} value={isObject(value) ? (value as Record<string, string>) : {}} onChange={(v) => onChange(v)} readOnly={readOnly} label={field.label} suggestions={suggestions} />
        </Frame>
      );
    case 'object-list': {
      const items = Array.isArray(value) ? (value as Record<string, unknown>[]) : [];
      return (
        <fieldset data-field={path} className="rounded-lg border border-line p-3">
          <legend className="px-1 text-[13px] font-medium text-fg">{field.label}</legend>
          {field.help && <p className="-mt-1 mb-2 text-[11.5px] text-muted">{field.help}</p>}
          {mine.map((m, i) => (
            <p key={i} className="mb-2 text-[12px] font-medium text-red-600 dark:text-red-400">
              ⚠ {m}
            </p>
          ))}
          <div className="space-y-3">
            {items.map((item, i) => (
              <div key={i} className="rounded-md border border-line bg-subtle/40 p-3">
                <div className="mb-2 flex items-center justify-between">
                  <span className="text-[11px] font-semibold uppercase tracking-wide text-muted">
                    {field.label} {i + 1}
                  </span>
                  {!readOnly && (
                    <button
                      type="button"
                      onClick={() => onChange(items.filter((_, j) => j !== i))}
                      className="rounded px-1.5 text-xs text-muted hover:bg-red-50 hover:text-red-600 dark:hover:bg-red-500/10"
                      aria-label={`Remove ${field.label} ${i + 1}`}
                    >
                      Remove
                    </button>
                  )}
                </div>
                <SchemaForm
                  fields={field.fields}
                  value={isObject(item) ? item : {}}
                  onChange={(v, changed) => onChange(items.map((x, j) => (j === i ? v : x)), changed)}
                  issues={issues}
                  suggestions={suggestions}
                  readOnly={readOnly}
                  prefix={joinPath(path, i)}
                />
              </div>
            ))}
          </div>
          {!readOnly && (field.maxItems === undefined || items.length < field.maxItems) && (
            <button type="button" onClick={() => onChange([...items, emptyObject(field.fields)])} className="mt-2 text-[13px] font-medium text-accent hover:underline">
              + Add {field.label.toLowerCase().replace(/s$/, '')}
            </button>
          )}
        </fieldset>
      );
    }
    case 'group': {
      const obj = isObject(value) ? value : undefined;
      return (
        <fieldset data-field={path} className="rounded-lg border border-line p-3">
          <legend className="px-1 text-[13px] font-medium text-fg">{field.label}</legend>
          {field.help && <p className="-mt-1 mb-2 text-[11.5px] text-muted">{field.help}</p>}
          {mine.map((m, i) => (
            <p key={i} className="mb-2 text-[12px] font-medium text-red-600 dark:text-red-400">
              ⚠ {m}
            </p>
          ))}
          {obj || field.required ? (
            <>
              <SchemaForm fields={field.fields} value={obj ?? {}} onChange={(v, changed) => onChange(v, changed)} issues={issues} suggestions={suggestions} readOnly={readOnly} prefix={path} />
              {!field.required && !readOnly && (
                <button type="button" onClick={() => onChange(undefined)} className="mt-2 text-xs text-muted hover:text-red-600">
                  Remove {field.label.toLowerCase()}
                </button>
              )}
            </>
          ) : (
            !readOnly && (
              <button type="button" onClick={() => onChange(emptyObject(field.fields))} className="text-[13px] font-medium text-accent hover:underline">
                + Add {field.label.toLowerCase()}
              </button>
            )
          )}
        </fieldset>
      );
    }
    case 'variant': {
      const obj = isObject(value) ? value : isObject(field.default) ? field.default : {};
      const current = String(obj[field.discriminator] ?? field.variants[0]?.value ?? '');
      const variant = field.variants.find((v) => v.value === current);
      return (
        <fieldset data-field={path} className="rounded-lg border border-line p-3">
          <legend className="px-1 text-[13px] font-medium text-fg">{field.label}</legend>
          {field.help && <p className="-mt-1 mb-2 text-[11.5px] text-muted">{field.help}</p>}
          <label htmlFor={id} className="mb-1 block text-[12px] font-medium text-muted">
            {field.discriminator === 'type' ? 'Kind' : field.discriminator}
          </label>
          <select
            id={id}
            value={current}
            disabled={readOnly}
            onChange={(e) => {
              const next = field.variants.find((v) => v.value === e.target.value);
              onChange({ [field.discriminator]: e.target.value, ...emptyObject(next?.fields ?? []) }, joinPath(path, field.discriminator));
            }}
            className={cx(inputClass, 'mb-3 py-1.5 text-[13px]')}
          >
            {field.variants.map((v) => (
              <option key={v.value} value={v.value}>
                {v.label}
              </option>
            ))}
          </select>
          {mine.map((m, i) => (
            <p key={i} className="mb-2 text-[12px] font-medium text-red-600 dark:text-red-400">
              ⚠ {m}
            </p>
          ))}
          {variant && variant.fields.length > 0 && (
            <SchemaForm
              fields={variant.fields}
              value={obj}
              onChange={(v, changed) => onChange({ ...v, [field.discriminator]: current }, changed)}
              issues={issues}
              suggestions={suggestions}
              readOnly={readOnly}
              prefix={path}
            />
          )}
        </fieldset>
      );
    }
    case 'json':
      return (
        <Frame id={id} field={field} path={path} issues={[...mine, ...listChildIssues(issues, path)]}>
          <JsonInput id={id} value={value} onChange={onChange} describedBy={desc} readOnly={readOnly} />
        </Frame>
      );
  }
}

/** Issues under a list or map field's entries (`users[1]`, `env.1BAD`), shown on the field. */
function listChildIssues(issues: FieldIssues, path: string): string[] {
  const out: string[] = [];
  for (const [p, messages] of issues) if (p !== path && (p.startsWith(`${path}[`) || p.startsWith(`${path}.`))) out.push(...messages);
  return out;
}

function NumberInput({ id, field, value, onChange, invalid, describedBy, readOnly }: { id: string; field: Extract<Field, { type: 'number' }>; value: unknown; onChange: (v: unknown) => void; invalid: boolean; describedBy?: string; readOnly?: boolean }) {
  const shown = typeof value === 'number' ? String(value) : '';
  const [text, setText] = useState(shown);
  // Follow outside changes (undo, code view) unless they are what was typed.
  useEffect(() => {
    setText((t) => (Number(t) === value && t.trim() !== '' ? t : shown));
  }, [shown, value]);
  return (
    <input
      id={id}
      type="number"
      inputMode={field.integer ? 'numeric' : 'decimal'}
      step={field.integer ? 1 : 'any'}
      min={field.min}
      max={field.max}
      value={text}
      readOnly={readOnly}
      placeholder={defaultText(field)}
      aria-describedby={describedBy}
      aria-invalid={invalid || undefined}
      onChange={(e) => {
        setText(e.target.value);
        const raw = e.target.value.trim();
        if (raw === '') onChange(undefined);
        else if (Number.isFinite(Number(raw))) onChange(Number(raw));
      }}
      className={cx(inputClass, 'py-1.5 font-mono text-[12.5px]', invalid && '!border-red-400')}
    />
  );
}

function TextList({ id, value, onChange, describedBy, readOnly, label }: { id: string; value: string[]; onChange: (v: string[]) => void; describedBy?: string; readOnly?: boolean; label: string }) {
  const [draft, setDraft] = useState('');
  const add = () => {
    const items = draft
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (items.length) onChange([...value, ...items.filter((i) => !value.includes(i))]);
    setDraft('');
  };
  return (
    <div className={cx(inputClass, 'flex min-h-[38px] flex-wrap items-center gap-1.5 px-2 py-1.5')}>
      {value.map((v, i) => (
        <span key={`${v}-${i}`} className="inline-flex items-center gap-1 rounded-md bg-subtle px-1.5 py-0.5 font-mono text-[12px] text-fg ring-1 ring-line">
          {v}
          {!readOnly && (
            <button type="button" onClick={() => onChange(value.filter((_, j) => j !== i))} aria-label={`Remove ${v} from ${label}`} className="text-muted hover:text-red-600">
              ×
            </button>
          )}
        </span>
      ))}
      {!readOnly && (
        <input
          id={id}
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' || e.key === ',') {
              e.preventDefault();
              add();
            } else if (e.key === 'Backspace' && draft === '' && value.length > 0) onChange(value.slice(0, -1));
          }}
          onBlur={add}
          aria-describedby={describedBy}
          placeholder={value.length ? '' : 'Type and press Enter'}
          className="nodrag nokey min-w-[8rem] flex-1 bg-transparent text-[13px] text-fg outline-none placeholder:text-muted/70"
        />
      )}
    </div>
  );
}

function KeyValue({ id, value, onChange, readOnly, label, suggestions }: { id: string; value: Record<string, string>; onChange: (v: Record<string, string>) => void; readOnly?: boolean; label: string; suggestions: SuggestionSource }) {
  const entries = Object.entries(value);
  const rename = (from: string, to: string) => {
    const next: Record<string, string> = {};
    for (const [k, v] of entries) next[k === from ? to : k] = v;
    onChange(next);
  };
  return (
    <div id={id} className="space-y-1.5">
      {entries.map(([k, v], i) => (
        <div key={i} className="flex items-start gap-1.5">
          <div className="w-2/5 shrink-0">
            <input
              value={k}
              readOnly={readOnly}
              onChange={(e) => rename(k, e.target.value)}
              aria-label={`${label} ${i + 1}: name`}
              className={cx(inputClass, 'nodrag nokey py-1.5 font-mono text-[12px]')}
            />
          </div>
          <div className="min-w-0 flex-1">
            <TemplateInput id={`${id}-${i}`} value={v} onChange={(nv) => onChange({ ...value, [k]: nv })} suggestions={suggestions} readOnly={readOnly} />
          </div>
          {!readOnly && (
            <button
              type="button"
              onClick={() => {
                const next = { ...value };
                delete next[k];
                onChange(next);
              }}
              aria-label={`Remove ${k || 'entry'} from ${label}`}
              className="mt-1.5 rounded px-1.5 text-muted hover:bg-red-50 hover:text-red-600 dark:hover:bg-red-500/10"
            >
              ×
            </button>
          )}
        </div>
      ))}
      {!readOnly && (
        <button
          type="button"
          onClick={() => {
            let n = entries.length + 1;
            while (`NAME_${n}` in value) n++;
            onChange({ ...value, [`NAME_${n}`]: '' });
          }}
          className="text-[13px] font-medium text-accent hover:underline"
        >
          + Add entry
        </button>
      )}
    </div>
  );
}

function JsonInput({ id, value, onChange, describedBy, readOnly }: { id: string; value: unknown; onChange: (v: unknown) => void; describedBy?: string; readOnly?: boolean }) {
  const serialized = value === undefined ? '' : JSON.stringify(value, null, 2);
  const [text, setText] = useState(serialized);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    setText((t) => {
      try {
        if (JSON.stringify(JSON.parse(t)) === JSON.stringify(value)) return t;
      } catch {
        // the typed text is not JSON yet: keep it unless the value changed from outside
      }
      return serialized;
    });
  }, [serialized, value]);
  return (
    <>
      <textarea
        id={id}
        value={text}
        readOnly={readOnly}
        spellCheck={false}
        rows={Math.min(14, Math.max(3, text.split('\n').length))}
        aria-describedby={describedBy}
        aria-invalid={error ? true : undefined}
        onChange={(e) => {
          setText(e.target.value);
          if (e.target.value.trim() === '') {
            setError(null);
            onChange(undefined);
            return;
          }
          try {
            onChange(JSON.parse(e.target.value));
            setError(null);
          } catch (err) {
            setError(err instanceof Error ? err.message : 'not valid JSON');
          }
        }}
        className={cx(inputClass, 'nodrag nokey resize-y font-mono text-[12px] leading-5', error && '!border-red-400')}
      />
      {error && <p className="mt-1 text-[12px] text-red-600 dark:text-red-400">JSON: {error} (not applied)</p>}
    </>
  );
}
