'use client';
/**
 * Import: paste or upload a GitHub Actions workflow, a GitLab CI file or a
 * Spinnaker pipeline; see the graph it becomes beside the mapping report
 * (what each job became, what could not be carried over and why, with source
 * lines, and what behaves differently); nothing is saved until "Import".
 * Its own component, so the New pipeline flow can open it.
 */
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { Modal } from '@/app/components/modal';
import { Button, ErrorBox, inputClass, Notice, Spinner, Tag } from '@/app/components/ui';
import { useTRPC } from '@/app/trpc/react';
import type { RouterOutputs } from '@/server/api/root';
import { checkImportText, IMPORT_FORMAT_LABELS, ImportRefused } from '@/workflows/model/import';

type Preview = RouterOutputs['pipelines']['importPreview'];

export function ImportPipelineButton({ canCreateEnvironments = false }: { canCreateEnvironments?: boolean }) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <Button onClick={() => setOpen(true)} data-testid="import-button">
        Import…
      </Button>
      <Modal
        open={open}
        onClose={() => setOpen(false)}
        wide
        title="Import a pipeline"
        description="Paste or upload a GitHub Actions workflow, a GitLab CI file or a Spinnaker pipeline (JSON). You see the graph and what was carried over before anything is saved."
      >
        {open && <ImportForm onCancel={() => setOpen(false)} canCreateEnvironments={canCreateEnvironments} />}
      </Modal>
    </>
  );
}

export function ImportForm({ onCancel, canCreateEnvironments }: { onCancel: () => void; canCreateEnvironments: boolean }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const [text, setText] = useState('');
  const [fileName, setFileName] = useState('');
  const [name, setName] = useState('');
  const [localError, setLocalError] = useState<string | null>(null);
  const [createEnvironments, setCreateEnvironments] = useState(canCreateEnvironments);
  /** Indexes of the file's triggers the person unticked (all creatable ones are created by default). */
  const [untickedTriggers, setUntickedTriggers] = useState<ReadonlySet<number>>(new Set());
  const preview = useMutation(trpc.pipelines.importPreview.mutationOptions({ onSuccess: () => setUntickedTriggers(new Set()) }));
  const create = useMutation(
    trpc.pipelines.importCreate.mutationOptions({
      onSuccess: async (res) => {
        await queryClient.invalidateQueries(trpc.pipelines.list.pathFilter());
        // A webhook's secret is shown once: the person copies it before going on.
        if (res.webhookSecrets.length === 0) router.push(`/pipelines/${res.id}/edit`);
      },
    }),
  );

  /** Called reusable workflows supplied alongside, by the `uses:` path the workflow names. */
  const [supplied, setSupplied] = useState<Record<string, string>>({});
  const suppliedInput = () => {
    const given = Object.fromEntries(Object.entries(supplied).filter(([, v]) => v.trim() !== ''));
    return Object.keys(given).length > 0 ? given : undefined;
  };
  const input = () => ({ text, fileName: fileName || undefined, name: name.trim() || undefined, supplied: suppliedInput() });
  const check = (value: string) => {
    try {
      checkImportText(value);
      setLocalError(null);
      return true;
    } catch (err) {
      setLocalError(err instanceof ImportRefused ? err.message : String(err));
      return false;
    }
  };
  const onFile = async (file: File | undefined) => {
    if (!file) return;
    setFileName(file.name);
    preview.reset();
    // Size first: a 5 MB file is refused without reading it into the page.
    if (file.size > 1_000_000) {
      setText('');
      setLocalError(`The file is ${(file.size / 1_000_000).toFixed(1)} MB; files up to 1.0 MB can be imported.`);
      return;
    }
    const bytes = new Uint8Array(await file.arrayBuffer());
    const value = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
    setText(value);
    if (check(value)) preview.mutate({ text: value, fileName: file.name, name: name.trim() || undefined, supplied: suppliedInput() });
  };
  const data = preview.data;

  return (
    <div className="space-y-3" data-testid="import-dialog">
      <div className="flex flex-wrap items-center gap-3">
        <label className="text-sm">
          Upload a file{' '}
          <input type="file" accept=".yml,.yaml,.json,text/*" data-testid="import-file" onChange={(e) => void onFile(e.target.files?.[0])} className="text-sm" />
        </label>
        <label className="flex items-center gap-2 text-sm">
          Name
          <input className={inputClass} value={name} onChange={(e) => setName(e.target.value)} placeholder="from the file" data-testid="import-name" />
        </label>
      </div>
      <textarea
        className={`${inputClass} h-48 font-mono text-xs`}
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          preview.reset();
          setLocalError(null);
        }}
        placeholder="…or paste the file here"
        spellCheck={false}
        aria-label="File to import"
        data-testid="import-text"
      />
      <div className="flex gap-2">
        <Button variant="primary" disabled={!text.trim() || preview.isPending} onClick={() => check(text) && preview.mutate(input())} data-testid="import-preview">
          {preview.isPending ? <Spinner /> : null} Show the graph
        </Button>
        <Button onClick={onCancel}>Cancel</Button>
      </div>
      {localError && <ErrorBox error={new Error(localError)} title="Cannot import this file" />}
      {preview.error && <ErrorBox error={preview.error} title="Cannot import this file" />}
      {data && (data.report.missingWorkflows?.length ?? 0) > 0 && (
        <CalledWorkflows
          missing={data.report.missingWorkflows ?? []}
          supplied={supplied}
          onChange={(uses, value) => setSupplied({ ...supplied, [uses]: value })}
          onApply={() => check(text) && preview.mutate(input())}
          pending={preview.isPending}
        />
      )}
      {data && <PreviewPanel data={data} />}
      {data && (
        <div className="flex flex-wrap items-center gap-3 border-t border-border pt-3">
          {data.missingEnvironments.length > 0 && (
            <label className="flex items-center gap-2 text-sm">
              <input type="checkbox" checked={createEnvironments} disabled={!canCreateEnvironments} onChange={(e) => setCreateEnvironments(e.target.checked)} data-testid="import-create-environments" />
              Create the environments {data.missingEnvironments.map((e) => `${e.name}${e.protected ? ' (protected, with an approval gate)' : ''}`).join(', ')}
              {!canCreateEnvironments && ' — only admins can'}
            </label>
          )}
          {data.triggers.length > 0 && (
            <fieldset className="w-full text-sm" data-testid="import-triggers">
              <legend className="font-medium">Triggers to create with the pipeline</legend>
              {data.triggers.map((t) => (
                <label key={t.index} className="flex items-center gap-2">
                  <input
                    type="checkbox"
                    disabled={!t.kind}
                    checked={Boolean(t.kind) && !untickedTriggers.has(t.index)}
                    onChange={(e) => {
                      const next = new Set(untickedTriggers);
                      if (e.target.checked) next.delete(t.index);
                      else next.add(t.index);
                      setUntickedTriggers(next);
                    }}
                    data-testid="import-trigger"
                  />
                  {t.label}
                  {t.cannot ? <span className="text-xs text-muted"> — not created: {t.cannot}</span> : null}
                </label>
              ))}
            </fieldset>
          )}
          <Button
            variant="primary"
            disabled={create.isPending || create.isSuccess}
            onClick={() =>
              create.mutate({
                ...input(),
                createEnvironments: createEnvironments && data.missingEnvironments.length > 0,
                triggers: data.triggers.filter((t) => t.kind && !untickedTriggers.has(t.index)).map((t) => t.index),
              })
            }
            data-testid="import-save"
          >
            {create.isPending ? <Spinner /> : null} Import as a new pipeline
          </Button>
          {create.error && <ErrorBox error={create.error} title="Not imported" />}
        </div>
      )}
      {create.data && create.data.webhookSecrets.length > 0 && (
        <div data-testid="import-webhook-secrets">
        <Notice tone="warning">
          <p className="font-medium">Imported. Configure your Git server&apos;s webhook with this secret — it is shown only now:</p>
          <ul className="text-xs">
            {create.data.webhookSecrets.map((w) => (
              <li key={w.triggerId}>
                {w.name}: <code data-testid="import-webhook-secret">{w.secret}</code>
              </li>
            ))}
          </ul>
          <Button variant="primary" className="mt-2" onClick={() => router.push(`/pipelines/${create.data.id}/edit`)} data-testid="import-continue">
            Continue to the editor
          </Button>
        </Notice>
        </div>
      )}
    </div>
  );
}

/**
 * The reusable workflows the file calls (`uses: ./.github/workflows/x.yml` or
 * `owner/repo/.github/workflows/x.yml@ref`) that are still missing: paste or
 * upload each one, then show the graph again with them expanded.
 */
function CalledWorkflows({
  missing,
  supplied,
  onChange,
  onApply,
  pending,
}: {
  missing: { uses: string; line?: number }[];
  supplied: Record<string, string>;
  onChange: (uses: string, value: string) => void;
  onApply: () => void;
  pending: boolean;
}) {
  const [error, setError] = useState<string | null>(null);
  const onFile = async (uses: string, file: File | undefined) => {
    if (!file) return;
    if (file.size > 1_000_000) {
      setError(`${file.name} is ${(file.size / 1_000_000).toFixed(1)} MB; files up to 1.0 MB can be supplied.`);
      return;
    }
    const value = new TextDecoder('utf-8', { fatal: false }).decode(new Uint8Array(await file.arrayBuffer()));
    try {
      checkImportText(value);
      setError(null);
      onChange(uses, value);
    } catch (err) {
      setError(err instanceof ImportRefused ? `${file.name}: ${err.message}` : String(err));
    }
  };
  return (
    <section className="space-y-2 rounded border border-border p-3 text-sm" data-testid="import-called-workflows">
      <h3 className="font-medium">Called workflows still missing ({missing.length})</h3>
      <p className="text-xs text-muted">The file calls these reusable workflows. Supply each one (paste or upload) to expand its jobs into stages; without it, the job stays a placeholder stage.</p>
      {missing.map((m) => (
        <div key={m.uses} className="space-y-1" data-testid="import-called-workflow">
          <div className="flex flex-wrap items-center gap-2">
            {m.line ? <Tag mono>line {m.line}</Tag> : null}
            <code data-testid="import-called-path">{m.uses}</code>
            <input type="file" accept=".yml,.yaml,text/*" aria-label={`Upload ${m.uses}`} onChange={(e) => void onFile(m.uses, e.target.files?.[0])} className="text-xs" />
          </div>
          <textarea
            className={`${inputClass} h-24 font-mono text-xs`}
            value={supplied[m.uses] ?? ''}
            onChange={(e) => onChange(m.uses, e.target.value)}
            placeholder={`…or paste ${m.uses.split('@')[0]!.split('/').pop()} here`}
            spellCheck={false}
            aria-label={`Contents of ${m.uses}`}
            data-testid="import-called-text"
          />
        </div>
      ))}
      {error && <ErrorBox error={new Error(error)} title="Cannot use this file" />}
      <Button disabled={pending || !missing.some((m) => (supplied[m.uses] ?? '').trim() !== '')} onClick={onApply} data-testid="import-called-apply">
        {pending ? <Spinner /> : null} Expand and show the graph again
      </Button>
    </section>
  );
}

function PreviewPanel({ data }: { data: Preview }) {
  const { report, spec } = data;
  return (
    <div className="grid gap-4 md:grid-cols-2" data-testid="import-preview-panel">
      <div>
        <p className="mb-1 text-sm font-medium">
          {IMPORT_FORMAT_LABELS[data.format]} → {spec.nodes.length} stage(s), {spec.edges.length} connection(s)
        </p>
        <GraphPreview spec={spec} />
        {data.issues.length > 0 && (
          <Notice tone="warning" className="mt-2">
            <p className="font-medium">To fix in the editor before it can run:</p>
            <ul className="list-disc pl-4 text-xs">
              {data.issues.slice(0, 20).map((i, n) => (
                <li key={n}>{i.message}</li>
              ))}
            </ul>
          </Notice>
        )}
      </div>
      <div className="max-h-96 space-y-3 overflow-auto text-sm" data-testid="import-report">
        <section>
          <h3 className="font-medium">What each job became</h3>
          <ul className="text-xs">
            {report.mapped.map((m, n) => (
              <li key={n}>
                {m.line ? <Tag mono>line {m.line}</Tag> : null} {m.source} → {m.became}
              </li>
            ))}
          </ul>
        </section>
        {report.notCarried.length > 0 && (
          <section>
            <h3 className="font-medium">Not carried over ({report.notCarried.length})</h3>
            <ul className="text-xs" data-testid="import-not-carried">
              {report.notCarried.map((m, n) => (
                <li key={n}>
                  {m.line ? <Tag mono>line {m.line}</Tag> : null} <code>{m.construct}</code>: {m.why}
                </li>
              ))}
            </ul>
          </section>
        )}
        {report.warnings.length > 0 && (
          <section>
            <h3 className="font-medium">Behaves differently ({report.warnings.length})</h3>
            <ul className="text-xs">
              {report.warnings.map((w, n) => (
                <li key={n}>
                  {w.line ? <Tag mono>line {w.line}</Tag> : null} {w.message}
                </li>
              ))}
            </ul>
          </section>
        )}
        {report.triggers.length > 0 && (
          <section>
            <h3 className="font-medium">Triggers in the file</h3>
            <ul className="text-xs">
              {report.triggers.map((t, n) => (
                <li key={n}>
                  {t.line ? <Tag mono>line {t.line}</Tag> : null} {t.kind === 'webhook' ? `push to ${[...t.branches, ...t.tags.map((x) => `tag ${x}`)].join(', ')}` : `schedule ${t.cron}`}
                  {' '}(created with the pipeline when ticked below)
                </li>
              ))}
            </ul>
          </section>
        )}
      </div>
    </div>
  );
}

/** The imported graph, laid out as the importer placed it (read-only). */
function GraphPreview({ spec }: { spec: Preview['spec'] }) {
  const nodes = spec.nodes.map((n) => ({ ...n, x: n.position?.x ?? 0, y: n.position?.y ?? 0 }));
  const at = new Map(nodes.map((n) => [n.id, n]));
  const W = 200;
  const H = 44;
  const maxX = Math.max(0, ...nodes.map((n) => n.x)) + W + 20;
  const maxY = Math.max(0, ...nodes.map((n) => n.y)) + H + 20;
  return (
    <svg viewBox={`-10 -10 ${maxX} ${maxY}`} className="max-h-80 w-full rounded border border-border bg-surface" role="img" aria-label="Imported graph" data-testid="import-graph">
      {spec.edges.map((e) => {
        const a = at.get(e.from);
        const b = at.get(e.to);
        if (!a || !b) return null;
        const color = e.on === 'failure' ? '#dc2626' : e.on === 'always' ? '#6b7280' : '#2563eb';
        return <line key={e.id} x1={a.x + W} y1={a.y + H / 2} x2={b.x} y2={b.y + H / 2} stroke={color} strokeWidth={2} strokeDasharray={e.on === 'always' ? '4 3' : undefined} />;
      })}
      {nodes.map((n) => (
        <g key={n.id} data-testid="import-graph-node">
          <rect x={n.x} y={n.y} width={W} height={H} rx={6} fill="white" stroke={n.kind === 'approval' ? '#d97706' : '#94a3b8'} strokeWidth={1.5} />
          <text x={n.x + 8} y={n.y + 18} fontSize={12} fill="#111827">
            {n.name.length > 28 ? `${n.name.slice(0, 27)}…` : n.name}
          </text>
          <text x={n.x + 8} y={n.y + 34} fontSize={10} fill="#6b7280">
            {n.kind}
            {n.environment ? ` · ${n.environment}` : ''}
          </text>
        </g>
      ))}
    </svg>
  );
}
