'use client';
/**
 * The right-hand panel's other tabs: Problems (live validation, each entry
 * jumps to its stage or connection and field), History (versions: open
 * read-only, restore, compare) and Changes (a comparison's list of changes).
 */
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { Ago } from '@/app/components/time';
import { Button, cx, inputClass, Spinner } from '@/app/components/ui';
import { useTRPC } from '@/app/trpc/react';
import type { PipelineSpec, ValidationIssue } from '@/workflows/model';
import { diffSpecs, formatValue, type FieldChange, type SpecDiff } from '@/workflows/model/diff';
import { useEditor, useEditorActions, useEditorStore } from './editor-context';
import { useEditorUi } from './editor-ui';
import { WrittenSectionChanges, type VersionPick } from './section-changes';
import { comparisonSpec } from './view-model';

export function ProblemsPanel() {
  const issues = useEditor((s) => s.issues);
  const mode = useEditor((s) => s.mode.kind);
  const names = useEditor((s) => s.spec.nodes);
  const ui = useEditorUi();
  const nameOf = useMemo(() => new Map(names.map((n) => [n.id, n.name])), [names]);
  const errors = issues.filter((i) => i.severity === 'error');
  const warnings = issues.filter((i) => i.severity === 'warning');

  if (mode === 'compare') return <p className="p-4 text-sm text-muted">Problems are not checked while comparing versions.</p>;
  if (issues.length === 0) {
    return (
      <div className="flex flex-col items-center px-6 py-12 text-center" data-testid="problems-empty">
        <span aria-hidden className="mb-2 flex h-10 w-10 items-center justify-center rounded-full bg-emerald-50 text-lg text-emerald-600 dark:bg-emerald-500/10 dark:text-emerald-300">
          ✓
        </span>
        <p className="font-medium text-fg">No problems</p>
        <p className="mt-1 text-sm text-muted">This pipeline is ready to run.</p>
      </div>
    );
  }
  const row = (i: ValidationIssue, n: number) => (
    <li key={n}>
      <button
        type="button"
        onClick={() => ui.jumpTo({ nodeId: i.nodeId, edgeId: i.edgeId, path: i.path })}
        disabled={!i.nodeId && !i.edgeId}
        className="flex w-full items-start gap-2.5 px-4 py-2.5 text-left transition-colors hover:bg-subtle focus:bg-subtle focus:outline-none disabled:cursor-default disabled:hover:bg-transparent"
        data-testid="problem"
        data-code={i.code}
        data-node-id={i.nodeId}
      >
        <span
          aria-label={i.severity}
          className={cx(
            'mt-0.5 flex h-4 w-4 shrink-0 items-center justify-center rounded-full text-[10px] font-bold',
            i.severity === 'error' ? 'bg-red-500 text-white' : 'bg-amber-400 text-amber-950',
          )}
        >
          !
        </span>
        <span className="min-w-0">
          {(i.nodeId || i.edgeId) && (
            <span className="block truncate text-[11.5px] font-medium text-muted">
              {i.nodeId ? (nameOf.get(i.nodeId) ?? i.nodeId) : `connection ${i.edgeId}`}
              {i.path ? ` · ${i.path}` : ''}
            </span>
          )}
          <span className="block text-[13px] text-fg">{i.message}</span>
        </span>
      </button>
    </li>
  );
  return (
    <div data-testid="problems">
      <p className="border-b border-line px-4 py-2.5 text-xs text-muted">
        {errors.length > 0 ? `${errors.length} error${errors.length === 1 ? '' : 's'} to fix before it can run` : 'No errors'}
        {warnings.length > 0 && ` · ${warnings.length} warning${warnings.length === 1 ? '' : 's'}`}. Saving as a draft is allowed.
      </p>
      <ul className="divide-y divide-line">
        {errors.map(row)}
        {warnings.map((i, n) => row(i, errors.length + n))}
      </ul>
    </div>
  );
}


export function HistoryPanel({ pipelineId, currentVersion, onCompared }: { pipelineId: string; currentVersion: number; onCompared?: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const store = useEditorStore();
  const actions = useEditorActions();
  const ui = useEditorUi();
  const mode = useEditor((s) => s.mode);
  const readOnly = useEditor((s) => s.readOnly);
  const versions = useQuery(trpc.pipelines.versions.queryOptions({ id: pipelineId }));
  const [from, setFrom] = useState<VersionPick | null>(null);
  const [to, setTo] = useState<VersionPick>('draft');
  const [busy, setBusy] = useState<string | null>(null);

  const list = versions.data ?? [];
  const fromPick: VersionPick | null = from ?? (list[1]?.version ?? list[0]?.version ?? null);

  const specOf = async (v: VersionPick): Promise<PipelineSpec> => {
    if (v === 'draft') return store.getState().spec;
    const res = await queryClient.fetchQuery(trpc.pipelines.get.queryOptions({ id: pipelineId, version: v }));
    return res.version.spec;
  };
  const labelOf = (v: VersionPick) => (v === 'draft' ? 'your draft' : `version ${v}`);

  const run = async (what: string, fn: () => Promise<void>) => {
    setBusy(what);
    try {
      await fn();
    } catch (err) {
      ui.notify(err instanceof Error ? err.message : 'Could not load that version', 'error');
    } finally {
      setBusy(null);
    }
  };

  const compare = (a: VersionPick, b: VersionPick) =>
    run(`compare:${a}:${b}`, async () => {
      const [before, after] = await Promise.all([specOf(a), specOf(b)]);
      const diff = diffSpecs(before, after);
      actions.setMode({ kind: 'compare', from: a, to: b, fromLabel: labelOf(a), toLabel: labelOf(b), spec: comparisonSpec(before, after, diff), diff });
      onCompared?.();
      ui.notify(diff.empty ? `No differences between ${labelOf(a)} and ${labelOf(b)}` : `Comparing ${labelOf(a)} with ${labelOf(b)}`);
    });

  const open = (v: number) =>
    run(`open:${v}`, async () => {
      const spec = await specOf(v);
      actions.setMode({ kind: 'version', version: v, spec, label: `version ${v}` });
    });

  const restore = (v: number) =>
    run(`restore:${v}`, async () => {
      const spec = await specOf(v);
      actions.setMode({ kind: 'edit' });
      actions.replaceSpec(spec, `Restore version ${v}`);
      ui.notify(`Version ${v} restored as unsaved changes. Save to make it the newest version.`, 'success');
    });

  if (versions.isPending) {
    return (
      <p className="flex items-center gap-2 p-4 text-sm text-muted">
        <Spinner /> Loading versions…
      </p>
    );
  }
  if (versions.isError) return <p className="p-4 text-sm text-red-600">Could not load the versions.</p>;

  const picks: VersionPick[] = ['draft', ...list.map((v) => v.version)];
  return (
    <div data-testid="history">
      <div className="border-b border-line p-4">
        <h3 className="mb-2 text-[13px] font-semibold text-fg">Compare two versions</h3>
        <div className="flex items-center gap-2">
          <select aria-label="Compare from" value={String(fromPick ?? '')} onChange={(e) => setFrom(e.target.value === 'draft' ? 'draft' : Number(e.target.value))} className={cx(inputClass, 'py-1 text-[13px]')}>
            {picks.map((p) => (
              <option key={String(p)} value={String(p)}>
                {p === 'draft' ? 'Your draft' : `v${p}`}
              </option>
            ))}
          </select>
          <span className="text-muted">→</span>
          <select aria-label="Compare to" value={String(to)} onChange={(e) => setTo(e.target.value === 'draft' ? 'draft' : Number(e.target.value))} className={cx(inputClass, 'py-1 text-[13px]')}>
            {picks.map((p) => (
              <option key={String(p)} value={String(p)}>
                {p === 'draft' ? 'Your draft' : `v${p}`}
              </option>
            ))}
          </select>
        </div>
        <Button className="mt-2 w-full" onClick={() => fromPick !== null && void compare(fromPick, to)} disabled={fromPick === null || busy !== null} data-testid="compare-button">
          {busy?.startsWith('compare') ? <Spinner /> : null} Compare
        </Button>
      </div>
      <ol className="divide-y divide-line">
        {list.map((v, idx) => {
          const viewing = mode.kind === 'version' && mode.version === v.version;
          const prev = list[idx + 1]?.version;
          return (
            <li key={v.version} className={cx('px-4 py-3', viewing && 'bg-accent/5')} data-testid="version" data-version={v.version}>
              <div className="flex items-center gap-2">
                <span className="font-mono text-[13px] font-semibold text-fg">v{v.version}</span>
                {v.version === currentVersion && <span className="rounded bg-subtle px-1.5 text-[10.5px] font-medium text-muted">editing on top of this</span>}
                {!v.valid && <span className="rounded bg-amber-100 px-1.5 text-[10.5px] font-medium text-amber-800 dark:bg-amber-500/15 dark:text-amber-300">draft</span>}
                <Ago date={v.createdAt} className="ml-auto text-xs text-muted" />
              </div>
              <p className="mt-0.5 text-[13px] text-fg">{v.message || <span className="italic text-muted">No message</span>}</p>
              <p className="text-xs text-muted">by {v.createdBy ?? 'system'}</p>
              <div className="mt-2 flex flex-wrap gap-x-3 gap-y-1 text-[12.5px] font-medium">
                <button type="button" className="text-accent hover:underline disabled:opacity-50" disabled={busy !== null} onClick={() => void open(v.version)}>
                  Open read-only
                </button>
                {prev !== undefined && (
                  <button type="button" className="text-accent hover:underline disabled:opacity-50" disabled={busy !== null} onClick={() => void compare(prev, v.version)}>
                    Changes from v{prev}
                  </button>
                )}
                <button type="button" className="text-accent hover:underline disabled:opacity-50" disabled={busy !== null} onClick={() => void compare(v.version, 'draft')}>
                  Compare with draft
                </button>
                {!readOnly && (
                  <button type="button" className="text-accent hover:underline disabled:opacity-50" disabled={busy !== null} onClick={() => void restore(v.version)}>
                    Restore
                  </button>
                )}
              </div>
            </li>
          );
        })}
      </ol>
    </div>
  );
}

const STATUS_TAG = {
  added: 'bg-emerald-100 text-emerald-800 dark:bg-emerald-500/15 dark:text-emerald-300',
  removed: 'bg-red-100 text-red-800 dark:bg-red-500/15 dark:text-red-300',
  changed: 'bg-amber-100 text-amber-800 dark:bg-amber-500/15 dark:text-amber-300',
  moved: 'bg-sky-100 text-sky-800 dark:bg-sky-500/15 dark:text-sky-300',
} as const;

function Changes({ changes }: { changes: FieldChange[] }) {
  if (changes.length === 0) return null;
  return (
    <ul className="mt-1 space-y-1">
      {changes.map((c) => (
        <li key={c.path} className="rounded bg-subtle/70 px-2 py-1 text-[11.5px]" data-testid="field-change" data-path={c.path}>
          <span className="font-mono font-medium text-fg">{c.path}</span>
          <div className="mt-0.5 grid grid-cols-[auto_1fr] gap-x-1.5 font-mono">
            <span className="text-red-600 dark:text-red-400">−</span>
            <span className="break-all text-muted line-through decoration-red-400/60">{formatValue(c.before, 120)}</span>
            <span className="text-emerald-600 dark:text-emerald-400">+</span>
            <span className="break-all text-fg">{formatValue(c.after, 120)}</span>
          </div>
        </li>
      ))}
    </ul>
  );
}

export function ChangesPanel({ pipelineId, from, to, diff, fromLabel, toLabel }: { pipelineId: string; from: VersionPick; to: VersionPick; diff: SpecDiff; fromLabel: string; toLabel: string }) {
  const ui = useEditorUi();
  const count = (s: string) => diff.nodes.filter((n) => n.status === s).length;
  return (
    <div data-testid="changes">
      <div className="border-b border-line px-4 py-3">
        <h2 className="text-[15px] font-semibold text-fg">Changes</h2>
        <p className="text-xs text-muted">
          From {fromLabel} to {toLabel}
        </p>
        <div className="mt-2 flex flex-wrap gap-1.5 text-[11.5px] font-medium">
          <span className={cx('rounded px-1.5 py-0.5', STATUS_TAG.added)}>{count('added')} added</span>
          <span className={cx('rounded px-1.5 py-0.5', STATUS_TAG.removed)}>{count('removed')} removed</span>
          <span className={cx('rounded px-1.5 py-0.5', STATUS_TAG.changed)}>{count('changed')} changed</span>
          <span className={cx('rounded px-1.5 py-0.5', STATUS_TAG.moved)}>{count('moved')} moved</span>
        </div>
      </div>
      {diff.empty && <p className="p-4 text-sm text-muted">No differences in the pipeline.</p>}
      {diff.nodes.length > 0 && (
        <section className="border-b border-line px-4 py-3">
          <h3 className="mb-1.5 text-xs font-semibold uppercase tracking-wide text-muted">Stages</h3>
          <ul className="space-y-2">
            {diff.nodes.map((n) => (
              <li key={`${n.id}-${n.status}`} data-testid="node-change" data-node-id={n.id} data-status={n.status}>
                <button type="button" onClick={() => ui.jumpTo({ nodeId: n.id })} className="flex w-full items-center gap-2 text-left text-[13px] hover:underline">
                  <span className={cx('rounded px-1.5 text-[10.5px] font-semibold uppercase', STATUS_TAG[n.status])}>{n.status}</span>
                  <span className="truncate font-medium text-fg">{(n.after ?? n.before)?.name}</span>
                  <span className="truncate font-mono text-[11px] text-muted">{n.id}</span>
                </button>
                {n.status !== 'moved' && <Changes changes={n.changes} />}
              </li>
            ))}
          </ul>
        </section>
      )}
      {diff.edges.length > 0 && (
        <section className="border-b border-line px-4 py-3">
          <h3 className="mb-1.5 text-xs font-semibold uppercase tracking-wide text-muted">Connections</h3>
          <ul className="space-y-2">
            {diff.edges.map((e) => {
              const edge = e.after ?? e.before!;
              return (
                <li key={`${e.id}-${e.status}`} data-testid="edge-change" data-status={e.status}>
                  <div className="flex items-center gap-2 text-[13px]">
                    <span className={cx('rounded px-1.5 text-[10.5px] font-semibold uppercase', STATUS_TAG[e.status])}>{e.status}</span>
                    <span className="truncate font-mono text-[12px] text-fg">
                      {edge.from} → {edge.to}
                    </span>
                    <span className="text-xs text-muted">{edge.on}</span>
                  </div>
                  <Changes changes={e.changes} />
                </li>
              );
            })}
          </ul>
        </section>
      )}
      {(diff.parameters.length > 0 || diff.pipeline.length > 0) && (
        <section className="px-4 py-3">
          <h3 className="mb-1.5 text-xs font-semibold uppercase tracking-wide text-muted">Pipeline</h3>
          <ul className="space-y-2">
            {diff.parameters.map((p) => (
              <li key={p.name}>
                <div className="flex items-center gap-2 text-[13px]">
                  <span className={cx('rounded px-1.5 text-[10.5px] font-semibold uppercase', STATUS_TAG[p.status])}>{p.status}</span>
                  <span className="font-mono text-[12px] text-fg">parameter {p.name}</span>
                </div>
                <Changes changes={p.changes} />
              </li>
            ))}
          </ul>
          <Changes changes={diff.pipeline} />
        </section>
      )}
      <WrittenSectionChanges pipelineId={pipelineId} from={from} to={to} />
    </div>
  );
}
