'use client';
/**
 * "New pipeline": blank first (a name, then the canvas), with templates and
 * Import as tabs beside it. The blank form also takes a JSON or YAML
 * definition, checked live by the same validator the runner uses (debounced);
 * a definition with problems can still be saved as a draft; it cannot run
 * until they are fixed.
 */
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { parse as parseYaml } from 'yaml';
import { Modal } from '@/app/components/modal';
import { Button, ErrorBox, inputClass, Spinner, cx } from '@/app/components/ui';
import { useTRPC } from '@/app/trpc/react';
import { ImportForm } from './import/import-dialog';
import { TemplateForm } from './pipeline-actions';
import type { ValidationIssue } from '@/workflows/model';

const EXAMPLE = [
  'schemaVersion: 1',
  'name: My service',
  'description: Build, test, approve, deploy',
  'parameters:',
  '  - name: version',
  '    type: string',
  '    default: "1.0.0"',
  '    required: true',
  'nodes:',
  '  - id: build',
  '    kind: command',
  '    name: Build',
  '    config:',
  '      command: echo "building ${{ params.version }}"',
  '  - id: test',
  '    kind: command',
  '    name: Test',
  '    config:',
  '      command: echo "all tests passed"',
  '  - id: approve',
  '    kind: approval',
  '    name: Release approval',
  '    config:',
  '      groups: [approvers]',
  '      quorum: 1',
  '      instructions: Check the build, then approve the release.',
  '  - id: deploy',
  '    kind: command',
  '    name: Deploy',
  '    config:',
  '      command: echo "deploying ${{ params.version }}"',
  'edges:',
  '  - { id: build-test, from: build, to: test }',
  '  - { id: test-approve, from: test, to: approve }',
  '  - { id: approve-deploy, from: approve, to: deploy }',
  '',
].join('\n');

type Parsed = { empty: true } | { empty: false; doc: unknown; error?: undefined } | { empty: false; doc?: undefined; error: string };

function parseDefinition(text: string): Parsed {
  const trimmed = text.trim();
  if (!trimmed) return { empty: true };
  try {
    const doc = trimmed.startsWith('{') || trimmed.startsWith('[') ? JSON.parse(trimmed) : parseYaml(trimmed, { maxAliasCount: 100 });
    return { empty: false, doc };
  } catch (err) {
    return { empty: false, error: err instanceof Error ? err.message : String(err) };
  }
}

/** The document to validate and save: the name field wins; a missing schemaVersion means the current one. */
function withName(doc: unknown, name: string): unknown {
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return doc;
  const out: Record<string, unknown> = { ...(doc as Record<string, unknown>) };
  if (name.trim()) out.name = name.trim();
  if (out.schemaVersion === undefined) out.schemaVersion = 1;
  return out;
}

type StartTab = 'blank' | 'template' | 'import';

const START_TABS: { id: StartTab; label: string; description: string }[] = [
  { id: 'blank', label: 'Blank', description: 'Name it and draw it on the canvas. Have a definition already? Import it in JSON or YAML.' },
  { id: 'template', label: 'From a template', description: 'A complete, valid pipeline to start from. Replace the example commands with your own.' },
  {
    id: 'import',
    label: 'Import',
    description: 'Paste or upload a GitHub Actions workflow, a GitLab CI file or a Spinnaker pipeline (JSON). You see the graph and what was carried over before anything is saved.',
  },
];

/**
 * "New pipeline": one dialog with three ways to start — blank (name, then the canvas; first), a template,
 * or an import of another tool's pipeline — as tabs.
 */
export function NewPipelineButton({ canCreateEnvironments = false }: { canCreateEnvironments?: boolean }) {
  const [open, setOpen] = useState(false);
  const [tab, setTab] = useState<StartTab>('blank');
  const close = () => setOpen(false);
  const current = START_TABS.find((t) => t.id === tab)!;
  return (
    <>
      <Button
        variant="primary"
        onClick={() => {
          setTab('blank');
          setOpen(true);
        }}
      >
        <span aria-hidden className="text-base leading-none">+</span> New pipeline
      </Button>
      <Modal open={open} onClose={close} wide title="New pipeline" description={current.description}>
        <div role="tablist" aria-label="How to start" className="-mt-1 mb-4 flex gap-1 border-b border-line">
          {START_TABS.map((t) => (
            <button
              key={t.id}
              type="button"
              role="tab"
              id={`np-tab-${t.id}`}
              aria-selected={tab === t.id}
              aria-controls="np-tab-panel"
              data-testid={`np-tab-${t.id}`}
              onClick={() => setTab(t.id)}
              className={cx(
                '-mb-px border-b-2 px-3 py-1.5 text-sm font-medium transition-colors',
                tab === t.id ? 'border-accent text-fg' : 'border-transparent text-muted hover:text-fg',
              )}
            >
              {t.label}
            </button>
          ))}
        </div>
        <div role="tabpanel" id="np-tab-panel" aria-labelledby={`np-tab-${tab}`}>
          {open && tab === 'blank' && <NewPipelineForm onCancel={close} />}
          {open && tab === 'template' && <TemplateForm onCancel={close} />}
          {open && tab === 'import' && <ImportForm onCancel={close} canCreateEnvironments={canCreateEnvironments} />}
        </div>
      </Modal>
    </>
  );
}

function NewPipelineForm({ onCancel }: { onCancel: () => void }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [text, setText] = useState('');
  // Blank (the canvas) first; pasting a JSON/YAML definition is one click away.
  const [importing, setImporting] = useState(false);
  const [check, setCheck] = useState<{ state: 'idle' | 'checking' | 'done' | 'failed'; issues: ValidationIssue[] }>({ state: 'idle', issues: [] });
  const seq = useRef(0);
  // The name comes first: focus it once the dialog is shown (showModal would otherwise focus its first control).
  const nameInput = useRef<HTMLInputElement>(null);
  useEffect(() => {
    const frame = requestAnimationFrame(() => nameInput.current?.focus());
    return () => cancelAnimationFrame(frame);
  }, []);

  const parsed = useMemo(() => parseDefinition(importing ? text : ''), [text, importing]);
  const doc = useMemo(() => (parsed.empty || parsed.error ? undefined : withName(parsed.doc, name)), [parsed, name]);
  const docKey = useMemo(() => (doc === undefined ? '' : JSON.stringify(doc)), [doc]);

  const validate = useMutation(trpc.pipelines.validate.mutationOptions());
  const validateRef = useRef(validate.mutateAsync);
  useEffect(() => {
    validateRef.current = validate.mutateAsync;
  }, [validate.mutateAsync]);

  // Live validation, 400 ms after the last keystroke; late answers for old text are ignored.
  useEffect(() => {
    const mine = ++seq.current;
    if (!docKey) {
      setCheck({ state: 'idle', issues: [] });
      return;
    }
    setCheck((c) => ({ state: 'checking', issues: c.issues }));
    const timer = setTimeout(() => {
      validateRef
        .current({ spec: JSON.parse(docKey) as unknown })
        .then((res) => {
          if (seq.current === mine) setCheck({ state: 'done', issues: res.issues });
        })
        .catch(() => {
          if (seq.current === mine) setCheck({ state: 'failed', issues: [] });
        });
    }, 400);
    return () => clearTimeout(timer);
  }, [docKey]);

  const create = useMutation(
    trpc.pipelines.create.mutationOptions({
      onSuccess: async (created, input) => {
        const res = { id: created.id, fromImport: input.spec !== undefined };
        await queryClient.invalidateQueries(trpc.pipelines.pathFilter());
        // A blank pipeline opens on the canvas; an imported one on its page (what it is, whether it can run).
        router.push(res.fromImport ? `/pipelines/${res.id}` : `/pipelines/${res.id}/edit`);
      },
    }),
  );

  const errors = check.issues.filter((i) => i.severity === 'error');
  const warnings = check.issues.filter((i) => i.severity === 'warning');
  const specName = !parsed.empty && !parsed.error && parsed.doc && typeof parsed.doc === 'object' ? (parsed.doc as { name?: unknown }).name : undefined;
  const effectiveName = name.trim() || (typeof specName === 'string' ? specName.trim() : '');
  const parseError = !parsed.empty && parsed.error ? parsed.error : null;
  const busy = create.isPending || create.isSuccess;
  const canSubmit = !busy && effectiveName.length > 0 && !parseError && check.state !== 'checking';

  function onSubmit(e: FormEvent) {
    e.preventDefault();
    if (!canSubmit) return;
    create.mutate({
      name: effectiveName,
      description: description.trim() || undefined,
      spec: doc,
      message: 'Created from the web app',
    });
  }

  return (
    <form onSubmit={onSubmit} className="space-y-4" noValidate>
      <div className="grid gap-4 sm:grid-cols-2">
        <div>
          <label htmlFor="np-name" className="mb-1 block text-sm font-medium text-fg">
            Name
          </label>
          <input
            id="np-name"
            ref={nameInput}
            value={name}
            onChange={(e) => setName(e.target.value)}
            maxLength={120}
            placeholder={typeof specName === 'string' && specName ? specName : 'e.g. Checkout service'}
            className={inputClass}
          />
        </div>
        <div>
          <label htmlFor="np-desc" className="mb-1 block text-sm font-medium text-fg">
            Description <span className="font-normal text-muted">(optional)</span>
          </label>
          <input id="np-desc" value={description} onChange={(e) => setDescription(e.target.value)} maxLength={2000} className={inputClass} />
        </div>
      </div>

      {!importing ? (
        <p className="text-sm text-muted">
          Opens on an empty canvas: drag stages from the palette and connect them.{' '}
          <button type="button" onClick={() => setImporting(true)} className="font-medium text-accent hover:underline" data-testid="np-import">
            Import JSON or YAML instead
          </button>
        </p>
      ) : (
      <div>
        <div className="mb-1 flex items-end justify-between gap-2">
          <label htmlFor="np-spec" className="block text-sm font-medium text-fg">
            Definition <span className="font-normal text-muted">(JSON or YAML)</span>
          </label>
          <button type="button" onClick={() => setText(EXAMPLE)} className="text-xs font-medium text-accent hover:underline">
            Use the example
          </button>
        </div>
        <textarea
          id="np-spec"
          value={text}
          onChange={(e) => setText(e.target.value)}
          rows={16}
          spellCheck={false}
          autoCapitalize="off"
          autoCorrect="off"
          placeholder={'schemaVersion: 1\nnodes:\n  - id: build\n    kind: command\n    name: Build\n    config: { command: make }\nedges: []'}
          className={cx(inputClass, 'resize-y font-mono text-[12.5px] leading-5')}
        />
        <p className="mt-1 text-xs text-muted">
          The name above replaces the definition&apos;s name.{' '}
          <button type="button" onClick={() => setImporting(false)} className="font-medium text-accent hover:underline">
            Start blank instead
          </button>
        </p>
      </div>
      )}

      <div aria-live="polite" className="min-h-[2.5rem]" data-testid="validation">
        {parseError ? (
          <div className="rounded-lg border border-red-200 bg-red-50 px-3.5 py-2.5 text-sm text-red-800 dark:border-red-500/30 dark:bg-red-500/10 dark:text-red-200">
            <p className="font-medium">The definition cannot be read</p>
            <p className="mt-0.5 whitespace-pre-wrap font-mono text-xs">{parseError}</p>
          </div>
        ) : check.state === 'checking' ? (
          <p className="flex items-center gap-2 text-sm text-muted">
            <Spinner /> Checking…
          </p>
        ) : check.state === 'failed' ? (
          <p className="text-sm text-muted">Could not check the definition right now; it is checked again when you create it.</p>
        ) : check.state === 'done' && check.issues.length === 0 ? (
          <p className="flex items-center gap-1.5 text-sm font-medium text-emerald-700 dark:text-emerald-300">
            <span aria-hidden>✓</span> No problems found.
          </p>
        ) : check.state === 'done' ? (
          <div className="rounded-lg border border-line bg-subtle/60 px-3.5 py-2.5 text-sm">
            <p className="mb-1.5 font-medium text-fg">
              {errors.length > 0 ? `${errors.length} problem${errors.length === 1 ? '' : 's'} to fix before it can run` : 'Only warnings'}
              {warnings.length > 0 && errors.length > 0 && `, ${warnings.length} warning${warnings.length === 1 ? '' : 's'}`}
            </p>
            <ul className="max-h-48 space-y-1 overflow-y-auto">
              {[...errors, ...warnings].map((i, n) => (
                <li key={n} className="flex items-start gap-2">
                  <span
                    className={cx(
                      'mt-px shrink-0 rounded px-1 text-[10px] font-semibold uppercase',
                      i.severity === 'error' ? 'bg-red-100 text-red-700 dark:bg-red-500/15 dark:text-red-300' : 'bg-amber-100 text-amber-800 dark:bg-amber-500/15 dark:text-amber-300',
                    )}
                  >
                    {i.severity}
                  </span>
                  <span className="min-w-0 text-fg">
                    {(i.nodeId ?? i.edgeId) && <span className="mr-1 font-mono text-xs text-muted">{i.nodeId ?? i.edgeId}</span>}
                    {i.message}
                  </span>
                </li>
              ))}
            </ul>
          </div>
        ) : null}
      </div>

      {create.isError && <ErrorBox error={create.error} title="The pipeline was not created" />}

      <div className="flex items-center justify-end gap-2">
        <Button variant="ghost" onClick={onCancel} disabled={busy}>
          Cancel
        </Button>
        <Button type="submit" variant="primary" disabled={!canSubmit}>
          {busy ? (
            <>
              <Spinner /> Creating…
            </>
          ) : errors.length > 0 ? (
            'Create as draft'
          ) : (
            'Create pipeline'
          )}
        </Button>
      </div>
    </form>
  );
}
