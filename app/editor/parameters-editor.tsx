'use client';
/**
 * The pipeline's parameters: name, type, default, required, description.
 * Run asks for them; stages refer to them as `${{ params.<name> }}`.
 */
import { cx, inputClass } from '@/app/components/ui';
import { type PipelineParameter } from '@/workflows/model';
import { useEditor, useEditorActions } from './editor-context';
import { displayedSpec } from './store';

function coerceDefault(type: PipelineParameter['type'], raw: string | boolean): PipelineParameter['default'] {
  if (type === 'boolean') return raw === true || raw === 'true';
  if (raw === '') return undefined;
  if (type === 'number') return Number.isFinite(Number(raw)) ? Number(raw) : (raw as string);
  return String(raw);
}

export function ParametersEditor({ readOnly }: { readOnly: boolean }) {
  const parameters = useEditor((s) => displayedSpec(s).parameters);
  const issues = useEditor((s) => s.issues);
  const actions = useEditorActions();

  const update = (index: number, patch: Partial<PipelineParameter>, field: string) => {
    const next = parameters.map((p, i) => {
      if (i !== index) return p;
      const merged = { ...p, ...patch };
      if (merged.default === undefined) delete merged.default;
      if (!merged.description) delete merged.description;
      return merged;
    });
    actions.setParameters(next, `param:${index}:${field}`);
  };

  const add = () => {
    const taken = new Set(parameters.map((p) => p.name));
    let n = parameters.length + 1;
    let name = 'param';
    while (taken.has(name)) name = `param${n++}`;
    actions.setParameters([...parameters, { name, type: 'string', required: false }], 'param:add');
  };

  const paramIssues = issues.filter((i) => i.code === 'duplicate-parameter' || (i.code === 'schema' && i.message.startsWith('parameters')));

  return (
    <div className="space-y-3">
      {parameters.length === 0 && <p className="text-sm text-muted">No parameters. Add one to ask for a value (a version, an environment) when a run starts.</p>}
      {parameters.map((p, i) => (
        <div key={i} className="rounded-lg border border-line bg-subtle/30 p-3" data-testid="parameter" data-name={p.name}>
          <div className="flex items-end gap-2">
            <div className="min-w-0 flex-1">
              <label htmlFor={`param-name-${i}`} className="mb-1 block text-[12px] font-medium text-muted">
                Name
              </label>
              <input
                id={`param-name-${i}`}
                value={p.name}
                readOnly={readOnly}
                onChange={(e) => update(i, { name: e.target.value }, 'name')}
                className={cx(inputClass, 'nodrag nokey py-1.5 font-mono text-[12.5px]')}
              />
            </div>
            <div className="w-28">
              <label htmlFor={`param-type-${i}`} className="mb-1 block text-[12px] font-medium text-muted">
                Type
              </label>
              <select
                id={`param-type-${i}`}
                value={p.type}
                disabled={readOnly}
                onChange={(e) => {
                  const type = e.target.value as PipelineParameter['type'];
                  update(i, { type, default: p.default === undefined ? undefined : coerceDefault(type, String(p.default)) }, 'type');
                }}
                className={cx(inputClass, 'py-1.5 text-[13px]')}
              >
                <option value="string">string</option>
                <option value="number">number</option>
                <option value="boolean">boolean</option>
              </select>
            </div>
            {!readOnly && (
              <button
                type="button"
                onClick={() => actions.setParameters(parameters.filter((_, j) => j !== i), 'param:remove')}
                aria-label={`Remove parameter ${p.name}`}
                className="mb-1 rounded px-1.5 py-1 text-muted hover:bg-red-50 hover:text-red-600 dark:hover:bg-red-500/10"
              >
                ×
              </button>
            )}
          </div>
          <div className="mt-2 flex items-end gap-2">
            <div className="min-w-0 flex-1">
              <label htmlFor={`param-default-${i}`} className="mb-1 block text-[12px] font-medium text-muted">
                Default
              </label>
              {p.type === 'boolean' ? (
                <select
                  id={`param-default-${i}`}
                  value={p.default === undefined ? '' : String(p.default)}
                  disabled={readOnly}
                  onChange={(e) => update(i, { default: e.target.value === '' ? undefined : e.target.value === 'true' }, 'default')}
                  className={cx(inputClass, 'py-1.5 text-[13px]')}
                >
                  <option value="">none</option>
                  <option value="true">true</option>
                  <option value="false">false</option>
                </select>
              ) : (
                <input
                  id={`param-default-${i}`}
                  value={p.default === undefined ? '' : String(p.default)}
                  readOnly={readOnly}
                  inputMode={p.type === 'number' ? 'decimal' : undefined}
                  placeholder="none"
                  onChange={(e) => update(i, { default: coerceDefault(p.type, e.target.value) }, 'default')}
                  className={cx(inputClass, 'nodrag nokey py-1.5 font-mono text-[12.5px]')}
                />
              )}
            </div>
            <label className="mb-1.5 flex items-center gap-1.5 text-[13px] text-fg">
              <input type="checkbox" checked={p.required} disabled={readOnly} onChange={(e) => update(i, { required: e.target.checked }, 'required')} className="h-4 w-4 accent-[var(--pw-accent)]" />
              Required
            </label>
          </div>
          <div className="mt-2">
            <label htmlFor={`param-desc-${i}`} className="sr-only">
              Description of {p.name}
            </label>
            <input
              id={`param-desc-${i}`}
              value={p.description ?? ''}
              readOnly={readOnly}
              placeholder="Description (shown when a run starts)"
              onChange={(e) => update(i, { description: e.target.value }, 'description')}
              className={cx(inputClass, 'nodrag nokey py-1.5 text-[12.5px]')}
            />
          </div>
        </div>
      ))}
      {paramIssues.map((i, n) => (
        <p key={n} className="text-[12px] text-red-600 dark:text-red-400">
          ⚠ {i.message}
        </p>
      ))}
      {!readOnly && (
        <button type="button" onClick={add} className="text-[13px] font-medium text-accent hover:underline">
          + Add parameter
        </button>
      )}
    </div>
  );
}
