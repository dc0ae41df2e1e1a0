'use client';
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { KindIcon } from '@/app/components/kind-icon';
import { RunButton } from '@/app/components/run-button';
import { RunsPanel } from '@/app/components/runs-panel';
import { ShareDialog } from '@/app/components/share-dialog';
import { Ago } from '@/app/components/time';
import { Card, EmptyState, ErrorBox, Notice, PageHeader, SectionTitle, Spinner, Tag, buttonStyles, cx } from '@/app/components/ui';
import { useTRPC } from '@/app/trpc/react';
import type { RunStatus } from '@/db/schema';
import { getStageDefinition, type PipelineSpec, type ValidationIssue } from '@/workflows/model';
import { TriggersPanel } from './triggers-panel';

export function PipelineView({ id, version, canRun, canEdit = false, people }: { id: string; version?: number; canRun: boolean; canEdit?: boolean; people: Record<string, string> }) {
  const trpc = useTRPC();
  const pipeline = useQuery(trpc.pipelines.get.queryOptions({ id, version }));
  const versions = useQuery(trpc.pipelines.versions.queryOptions({ id }));
  const [runStatus, setRunStatus] = useState<RunStatus | undefined>(undefined);

  if (pipeline.isPending) {
    return (
      <p className="flex items-center gap-2 py-10 text-sm text-muted">
        <Spinner /> Loading pipeline…
      </p>
    );
  }
  if (pipeline.isError) return <ErrorBox error={pipeline.error} title="Could not load this pipeline" />;

  const { pipeline: head, version: v, issues, valid } = pipeline.data;
  const spec = v.spec;
  const older = v.version !== head.latestVersion;

  return (
    <>
      <PageHeader
        breadcrumbs={[{ href: '/', label: 'Pipelines' }]}
        title={head.name}
        badge={
          <>
            <Tag mono>v{v.version}</Tag>
            {!valid && <Tag className="border-amber-300 bg-amber-50 text-amber-800 dark:border-amber-500/30 dark:bg-amber-500/10 dark:text-amber-300">Draft</Tag>}
          </>
        }
        subtitle={spec.description || head.description || undefined}
        actions={
          <>
            <Link href={`/pipelines/${id}/edit`} className={buttonStyles.secondary} data-testid="open-editor">
              <svg aria-hidden viewBox="0 0 20 20" className="h-3.5 w-3.5" fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" strokeLinejoin="round">
                <path d="M13.5 3.5l3 3L7 16H4v-3z" />
              </svg>
              {canEdit ? 'Edit' : 'Open in editor'}
            </Link>
            {/* The board is about environments: offered only when some stage is bound to one. */}
            {spec.nodes.some((n) => n.environment) && (
              <Link href={`/pipelines/${id}/promotion`} className={buttonStyles.secondary} data-testid="open-promotion-board">
                <span aria-hidden>⇢</span>
                Promotion board
              </Link>
            )}
            <Link href={`/pipelines/${id}/release-plan`} className={buttonStyles.secondary}>
              Release plan
            </Link>
            <Link href={`/insights?pipeline=${encodeURIComponent(id)}`} className={buttonStyles.secondary}>
              Insights
            </Link>
            {canEdit && <ShareDialog pipelineId={id} pipelineName={head.name} />}
            {canRun && <RunButton pipelineId={id} pipelineName={head.name} version={older ? v.version : undefined} variant="secondary" rehearsal />}
            {canRun && <RunButton pipelineId={id} pipelineName={head.name} version={older ? v.version : undefined} />}
          </>
        }
      />

      {older && (
        <Notice tone="info" className="mb-6">
          You are looking at version {v.version}. The newest is{' '}
          <Link href={`/pipelines/${id}`} className="font-medium underline">
            version {head.latestVersion}
          </Link>
          .
        </Notice>
      )}
      {!valid && (
        <Notice tone="warning" className="mb-6">
          <p className="font-medium">This version has problems to fix before it can run:</p>
          <ul className="mt-1 list-disc space-y-0.5 pl-5">
            {issues
              .filter((i) => i.severity === 'error')
              .map((i, n) => (
                <li key={n}>
                  {(i.nodeId ?? i.edgeId) && <span className="font-mono text-xs">{i.nodeId ?? i.edgeId}: </span>}
                  {i.message}
                </li>
              ))}
          </ul>
        </Notice>
      )}

      <section className="mb-8">
        <SectionTitle aside={<span className="text-xs text-muted">{spec.nodes.length} stages</span>}>Stages</SectionTitle>
        <StageGraph spec={spec} issues={issues} />
      </section>

      <div className="grid gap-8 lg:grid-cols-[minmax(0,1fr)_18rem]">
        <div className="min-w-0 space-y-8">
          <section>
            <SectionTitle>Runs</SectionTitle>
            <RunsPanel
              pipelineId={id}
              limit={25}
              status={runStatus}
              onStatusChange={setRunStatus}
              people={people}
              empty={
                <EmptyState icon="▶" title="No runs yet" action={canRun ? <RunButton pipelineId={id} pipelineName={head.name} variant="secondary" /> : undefined}>
                  {canRun ? 'Start the first run; you will follow it stage by stage.' : 'Runs appear here once an author starts one.'}
                </EmptyState>
              }
            />
          </section>
          <TriggersPanel pipelineId={id} canEdit={canEdit} parameters={spec.parameters.map((p) => p.name)} />
        </div>

        <aside className="space-y-6">
          <Card className="p-4">
            <SectionTitle>Parameters</SectionTitle>
            {spec.parameters.length === 0 ? (
              <p className="text-sm text-muted">None.</p>
            ) : (
              <ul className="space-y-3">
                {spec.parameters.map((p) => (
                  <li key={p.name} className="text-sm">
                    <div className="flex flex-wrap items-center gap-1.5">
                      <span className="font-mono font-medium text-fg">{p.name}</span>
                      <span className="text-xs text-muted">{p.type}</span>
                      {p.required && <span className="text-xs text-red-600 dark:text-red-400">required</span>}
                    </div>
                    {p.default !== undefined && (
                      <div className="mt-0.5 text-xs text-muted">
                        default <span className="font-mono text-fg">{String(p.default)}</span>
                      </div>
                    )}
                    {p.description && <p className="mt-0.5 text-xs text-muted">{p.description}</p>}
                  </li>
                ))}
              </ul>
            )}
          </Card>

          <Card className="p-4">
            <SectionTitle>Versions</SectionTitle>
            {versions.data ? (
              <ol className="space-y-1">
                {versions.data.map((ver) => {
                  const current = ver.version === v.version;
                  return (
                    <li key={ver.version}>
                      <Link
                        href={ver.version === head.latestVersion ? `/pipelines/${id}` : `/pipelines/${id}?version=${ver.version}`}
                        aria-current={current ? 'page' : undefined}
                        className={cx('block rounded-md px-2 py-1.5 text-sm transition-colors', current ? 'bg-subtle' : 'hover:bg-subtle/60')}
                      >
                        <div className="flex items-center gap-2">
                          <span className="font-mono font-medium text-fg">v{ver.version}</span>
                          {!ver.valid && <span className="text-xs text-amber-700 dark:text-amber-300">draft</span>}
                          <Ago date={ver.createdAt} className="ml-auto text-xs text-muted" />
                        </div>
                        <div className="truncate text-xs text-muted">
                          {ver.message || 'No message'}
                          {ver.createdBy ? ` · ${ver.createdBy}` : ''}
                        </div>
                      </Link>
                    </li>
                  );
                })}
              </ol>
            ) : versions.isError ? (
              <ErrorBox error={versions.error} />
            ) : (
              <Spinner />
            )}
          </Card>

          <Card className="p-4">
            <SectionTitle>Settings</SectionTitle>
            <dl className="grid grid-cols-[auto_1fr] gap-x-3 gap-y-1.5 text-sm">
              <dt className="text-muted">Concurrency</dt>
              <dd className="text-right text-fg">{spec.settings.concurrency} at a time</dd>
              <dt className="text-muted">Stage timeout</dt>
              <dd className="text-right text-fg">{formatSeconds(spec.settings.stageTimeoutSeconds)}</dd>
              <dt className="text-muted">Run timeout</dt>
              <dd className="text-right text-fg">{spec.settings.runTimeoutSeconds ? formatSeconds(spec.settings.runTimeoutSeconds) : 'none'}</dd>
            </dl>
          </Card>
        </aside>
      </div>
    </>
  );
}

function formatSeconds(s: number): string {
  if (s % 3600 === 0) return `${s / 3600} h`;
  if (s % 60 === 0) return `${s / 60} min`;
  return `${s} s`;
}

/** Stages in columns by depth (longest path from a start stage): a graph read left to right. */
export function layers(spec: Pick<PipelineSpec, 'nodes' | 'edges'>): string[][] {
  const ids = spec.nodes.map((n) => n.id);
  const depth = new Map(ids.map((id) => [id, 0]));
  const edges = spec.edges.filter((e) => depth.has(e.from) && depth.has(e.to) && e.from !== e.to);
  // Relax at most n times: a cycle (possible in a draft) cannot loop forever.
  for (let round = 0; round < ids.length; round++) {
    let changed = false;
    for (const e of edges) {
      const d = (depth.get(e.from) ?? 0) + 1;
      if (d > (depth.get(e.to) ?? 0) && d <= ids.length) {
        depth.set(e.to, d);
        changed = true;
      }
    }
    if (!changed) break;
  }
  const out: string[][] = [];
  for (const id of ids) {
    const d = depth.get(id) ?? 0;
    (out[d] ??= []).push(id);
  }
  return out.filter((l) => l && l.length > 0);
}

function StageGraph({ spec, issues }: { spec: PipelineSpec; issues: ValidationIssue[] }) {
  if (spec.nodes.length === 0) {
    return <EmptyState icon="◇" title="No stages yet">This pipeline is empty. Save a version with stages to run it.</EmptyState>;
  }
  const byId = new Map(spec.nodes.map((n) => [n.id, n]));
  const cols = layers(spec);
  return (
    <ScrollCue>
      <ol className="flex min-w-max items-stretch gap-3">
        {cols.map((col, i) => (
          <li key={i} className="flex items-center gap-3">
            {i > 0 && (
              <span aria-hidden className="text-lg text-muted/70">
                →
              </span>
            )}
            <ol className="flex flex-col justify-center gap-2.5">
              {col.map((nodeId) => {
                const node = byId.get(nodeId)!;
                const def = getStageDefinition(node.kind);
                const nodeIssues = issues.filter((x) => x.nodeId === node.id && x.severity === 'error');
                const special = spec.edges.filter((e) => e.to === node.id && e.on !== 'success');
                return (
                  <li
                    key={node.id}
                    data-stage={node.id}
                    className={cx(
                      'w-48 rounded-lg border bg-surface px-3 py-2.5 shadow-sm',
                      nodeIssues.length > 0 ? 'border-red-400 dark:border-red-500/60' : 'border-line',
                    )}
                  >
                    <div className="flex items-center gap-2">
                      <KindIcon kind={node.kind} className="h-6 w-6" />
                      <span className="min-w-0 truncate text-sm font-medium text-fg" title={node.name}>
                        {node.name}
                      </span>
                    </div>
                    <div className="mt-1 flex items-center justify-between gap-2 text-xs text-muted">
                      <span className="truncate">{def?.label ?? `Unknown kind “${node.kind}”`}</span>
                      <span className="font-mono">{node.id}</span>
                    </div>
                    {special.map((e) => (
                      <div
                        key={e.id}
                        className={cx('mt-1 text-xs', e.on === 'failure' ? 'text-red-600 dark:text-red-400' : 'text-muted')}
                      >
                        {e.on === 'failure' ? 'if' : 'after'} {byId.get(e.from)?.name ?? e.from} {e.on === 'failure' ? 'fails' : '(always)'}
                      </div>
                    ))}
                    {nodeIssues.length > 0 && (
                      <div className="mt-1 text-xs text-red-600 dark:text-red-400" title={nodeIssues.map((x) => x.message).join('\n')}>
                        {nodeIssues.length} problem{nodeIssues.length === 1 ? '' : 's'}
                      </div>
                    )}
                  </li>
                );
              })}
            </ol>
          </li>
        ))}
      </ol>
    </ScrollCue>
  );
}

/**
 * A horizontally scrolling strip that shows when more is hidden on either
 * side: a fade and an arrow button that scrolls, and it scrolls by keyboard.
 */
function ScrollCue({ children }: { children: ReactNode }) {
  const ref = useRef<HTMLDivElement>(null);
  const [hidden, setHidden] = useState({ left: false, right: false });
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const update = () => setHidden({ left: el.scrollLeft > 1, right: el.scrollLeft + el.clientWidth < el.scrollWidth - 1 });
    update();
    el.addEventListener('scroll', update, { passive: true });
    const ro = new ResizeObserver(update);
    ro.observe(el);
    if (el.firstElementChild) ro.observe(el.firstElementChild);
    return () => {
      el.removeEventListener('scroll', update);
      ro.disconnect();
    };
  }, []);
  const scroll = (dir: 1 | -1) => ref.current?.scrollBy({ left: dir * ref.current.clientWidth * 0.8, behavior: 'smooth' });
  const arrow = 'absolute top-1/2 z-10 -translate-y-1/2 rounded-full border border-line bg-surface px-2 py-1 text-sm text-fg shadow hover:border-accent';
  return (
    <div className="relative" data-testid="stage-strip" data-more-right={hidden.right ? 'true' : 'false'} data-more-left={hidden.left ? 'true' : 'false'}>
      <div
        ref={ref}
        tabIndex={0}
        role="region"
        aria-label="Stages (scrolls sideways)"
        className="overflow-x-auto rounded-xl border border-line bg-[radial-gradient(circle,var(--pw-line)_1px,transparent_1px)] bg-[length:16px_16px] p-4 focus-visible:outline focus-visible:outline-2 focus-visible:outline-accent"
      >
        {children}
      </div>
      {hidden.left && (
        <>
          <span aria-hidden className="pointer-events-none absolute inset-y-px left-px w-10 rounded-l-xl bg-gradient-to-r from-canvas to-transparent" />
          <button type="button" className={cx(arrow, 'left-2')} onClick={() => scroll(-1)} aria-label="Show earlier stages">
            ←
          </button>
        </>
      )}
      {hidden.right && (
        <>
          <span aria-hidden className="pointer-events-none absolute inset-y-px right-px w-10 rounded-r-xl bg-gradient-to-l from-canvas to-transparent" />
          <button type="button" className={cx(arrow, 'right-2')} onClick={() => scroll(1)} aria-label="Show later stages" data-testid="stage-strip-more">
            →
          </button>
        </>
      )}
    </div>
  );
}
