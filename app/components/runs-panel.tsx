'use client';
/**
 * A live runs list with a status filter: across pipelines (/runs) or for one
 * pipeline (its page). Refetched when the events stream says runs started or
 * changed state; durations tick in the browser.
 */
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { useLiveRunsList } from '@/app/lib/live';
import { useTRPC } from '@/app/trpc/react';
import type { RunStatus } from '@/db/schema';
import { RunsTable } from './runs-table';
import { EmptyState, ErrorBox, Spinner, cx } from './ui';

export const RUN_FILTERS: { value: RunStatus | undefined; label: string }[] = [
  { value: undefined, label: 'All' },
  { value: 'running', label: 'Running' },
  { value: 'queued', label: 'Queued' },
  { value: 'succeeded', label: 'Succeeded' },
  { value: 'failed', label: 'Failed' },
  { value: 'cancelled', label: 'Cancelled' },
];

export function StatusFilter({ value, onChange, busy }: { value: RunStatus | undefined; onChange: (v: RunStatus | undefined) => void; busy?: boolean }) {
  return (
    <div role="tablist" aria-label="Filter by status" className="mb-4 flex flex-wrap gap-1.5">
      {RUN_FILTERS.map((f) => {
        const active = f.value === value;
        return (
          <button
            key={f.label}
            type="button"
            role="tab"
            aria-selected={active}
            onClick={() => onChange(f.value)}
            className={cx(
              'rounded-full border px-3 py-1 text-sm font-medium transition-colors focus:outline-none focus-visible:ring-2 focus-visible:ring-accent',
              active ? 'border-accent bg-accent text-accent-fg' : 'border-line bg-surface text-muted hover:border-line-strong hover:text-fg',
            )}
          >
            {f.label}
          </button>
        );
      })}
      {busy && <Spinner className="ml-2 self-center text-muted" />}
    </div>
  );
}

export function RunsPanel({
  pipelineId,
  status,
  onStatusChange,
  limit = 100,
  people,
  showPipeline,
  empty,
}: {
  pipelineId?: string;
  status: RunStatus | undefined;
  onStatusChange: (v: RunStatus | undefined) => void;
  limit?: number;
  people: Record<string, string>;
  showPipeline?: boolean;
  /** What to show when there are no runs at all (no filter). */
  empty?: ReactNode;
}) {
  const trpc = useTRPC();
  useLiveRunsList();
  const runs = useQuery(trpc.runs.list.queryOptions({ pipelineId, status, limit }, { placeholderData: keepPreviousData }));
  const label = RUN_FILTERS.find((f) => f.value === status)?.label.toLowerCase();
  return (
    <>
      <StatusFilter value={status} onChange={onStatusChange} busy={runs.isFetching && !runs.isPending} />
      {runs.isError && <ErrorBox error={runs.error} title="Could not load runs" className="mb-4" />}
      {runs.isPending ? (
        <p className="flex items-center gap-2 py-10 text-sm text-muted">
          <Spinner /> Loading runs…
        </p>
      ) : runs.data && runs.data.length > 0 ? (
        <RunsTable runs={runs.data} people={people} showPipeline={showPipeline} />
      ) : status ? (
        <EmptyState icon="▶" title={`No ${label} runs`}>
          Try another filter.
        </EmptyState>
      ) : (
        (empty ?? (
          <EmptyState icon="▶" title="No runs yet">
            Start a run from the Pipelines page; it shows up here.
          </EmptyState>
        ))
      )}
    </>
  );
}
