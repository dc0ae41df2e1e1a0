'use client';
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useState } from 'react';
import { RunButton } from '@/app/components/run-button';
import { FINISHED_RUN, RunStatusChip } from '@/app/components/status';
import { Ago } from '@/app/components/time';
import { Card, EmptyState, ErrorBox, inputClass, PageHeader, Spinner, Tag } from '@/app/components/ui';
import { useTRPC } from '@/app/trpc/react';
import { ImportPipelineButton } from './import/import-dialog';
import { NewPipelineButton } from './new-pipeline';
import { PipelineRowActions } from './pipeline-actions';

export function PipelinesList({ canEdit, canRun, isAdmin = false }: { canEdit: boolean; canRun: boolean; isAdmin?: boolean }) {
  const trpc = useTRPC();
  const list = useQuery(
    trpc.pipelines.list.queryOptions(undefined, {
      // Last-run chips follow runs in flight; otherwise a slow refresh is enough.
      refetchInterval: (q) => (q.state.data?.some((p) => p.lastRun && !FINISHED_RUN.has(p.lastRun.status)) ? 2_000 : 10_000),
    }),
  );
  const [search, setSearch] = useState('');
  const needle = search.trim().toLowerCase();
  const rows = (list.data ?? []).filter((p) => !needle || p.name.toLowerCase().includes(needle) || p.description.toLowerCase().includes(needle));

  return (
    <>
      <PageHeader
        title="Pipelines"
        subtitle="Stage-and-gate pipelines. Each run follows the version it started with, step by step, even across restarts."
        actions={
          canEdit ? (
            <>
              <ImportPipelineButton canCreateEnvironments={isAdmin} />
              <NewPipelineButton canCreateEnvironments={isAdmin} />
            </>
          ) : undefined
        }
      />

      {list.isError && <ErrorBox error={list.error} title="Could not load pipelines" className="mb-4" />}

      {list.isPending ? (
        <p className="flex items-center gap-2 py-10 text-sm text-muted">
          <Spinner /> Loading pipelines…
        </p>
      ) : list.data && list.data.length === 0 ? (
        <EmptyState
          icon="⟫"
          title="No pipelines yet"
          action={
            canEdit ? (
              <div className="flex gap-2">
                <ImportPipelineButton canCreateEnvironments={isAdmin} />
                <NewPipelineButton canCreateEnvironments={isAdmin} />
              </div>
            ) : undefined
          }
        >
          {canEdit ? 'Start blank on the canvas, from a template, or import a pipeline from another tool.' : 'An author has not created any pipeline yet.'}
        </EmptyState>
      ) : (
        <>
          {(list.data?.length ?? 0) > 0 && (
            <div className="mb-4 max-w-xs">
              <input
                type="search"
                value={search}
                onChange={(e) => setSearch(e.target.value)}
                placeholder="Filter pipelines…"
                aria-label="Filter pipelines"
                className={inputClass}
              />
            </div>
          )}
          <Card className="divide-y divide-line overflow-hidden">
            {rows.map((p) => (
              <div key={p.id} className="flex flex-col gap-3 px-5 py-4 transition-colors hover:bg-subtle/50 sm:flex-row sm:items-center" data-testid="pipeline-row">
                <div className="min-w-0 flex-1">
                  <div className="flex flex-wrap items-center gap-2">
                    <Link href={`/pipelines/${p.id}`} className="truncate font-medium text-fg hover:text-accent hover:underline">
                      {p.name}
                    </Link>
                    <Tag mono title={`Newest version: ${p.latestVersion}`}>
                      v{p.latestVersion}
                    </Tag>
                  </div>
                  {p.description ? (
                    <p className="mt-0.5 line-clamp-2 text-sm text-muted">{p.description}</p>
                  ) : (
                    <p className="mt-0.5 text-sm italic text-muted/70">No description</p>
                  )}
                </div>
                <div className="flex shrink-0 items-center gap-4">
                  {p.lastRun ? (
                    <Link
                      href={`/pipelines/${p.id}/runs/${p.lastRun.id}`}
                      className="flex items-center gap-2 rounded-md px-1 py-0.5 text-sm text-muted hover:text-fg"
                      title="Last run"
                    >
                      <span className="font-mono text-xs">#{p.lastRun.number}</span>
                      <RunStatusChip display={p.lastRun.display} className="max-w-[18rem]" />
                      <Ago date={p.lastRun.createdAt} className="hidden w-20 text-xs md:inline" />
                    </Link>
                  ) : (
                    <span className="text-sm text-muted/80">Never run</span>
                  )}
                  {canEdit && <PipelineRowActions id={p.id} name={p.name} />}
                  {canRun && <RunButton pipelineId={p.id} pipelineName={p.name} variant="secondary" size="sm" />}
                </div>
              </div>
            ))}
            {rows.length === 0 && <p className="px-5 py-8 text-center text-sm text-muted">No pipeline matches “{search}”.</p>}
          </Card>
        </>
      )}
    </>
  );
}
