'use client';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { usePathname, useRouter } from 'next/navigation';
import { useState } from 'react';
import { RunsTable } from '@/app/components/runs-table';
import { FINISHED_RUN } from '@/app/components/status';
import { EmptyState, ErrorBox, PageHeader, Spinner, cx } from '@/app/components/ui';
import { useTRPC } from '@/app/trpc/react';
import type { RunStatus } from '@/db/schema';

const FILTERS: { value: RunStatus | undefined; label: string }[] = [
  { value: undefined, label: 'All' },
  { value: 'running', label: 'Running' },
  { value: 'queued', label: 'Queued' },
  { value: 'succeeded', label: 'Succeeded' },
  { value: 'failed', label: 'Failed' },
  { value: 'cancelled', label: 'Cancelled' },
];

export function RunsView({ initialStatus, people }: { initialStatus?: RunStatus; people: Record<string, string> }) {
  const trpc = useTRPC();
  const router = useRouter();
  const pathname = usePathname();
  const [status, setStatus] = useState<RunStatus | undefined>(initialStatus);
  const runs = useQuery(
    trpc.runs.list.queryOptions(
      { status, limit: 100 },
      {
        placeholderData: keepPreviousData,
        refetchInterval: (q) => (q.state.data?.some((r) => !FINISHED_RUN.has(r.status)) || status === 'running' || status === 'queued' ? 2_000 : 10_000),
      },
    ),
  );

  const choose = (value: RunStatus | undefined) => {
    setStatus(value);
    router.replace(value ? `${pathname}?status=${value}` : pathname, { scroll: false });
  };

  const label = FILTERS.find((f) => f.value === status)?.label.toLowerCase();

  return (
    <>
      <PageHeader title="Runs" subtitle="Every run of every pipeline, newest first." />
      <div role="tablist" aria-label="Filter by status" className="mb-4 flex flex-wrap gap-1.5">
        {FILTERS.map((f) => {
          const active = f.value === status;
          return (
            <button
              key={f.label}
              type="button"
              role="tab"
              aria-selected={active}
              onClick={() => choose(f.value)}
              className={cx(
                'rounded-full border px-3 py-1 text-sm font-medium transition-colors focus:outline-none focus-visible:ring-2 focus-visible:ring-accent',
                active ? 'border-accent bg-accent text-accent-fg' : 'border-line bg-surface text-muted hover:border-line-strong hover:text-fg',
              )}
            >
              {f.label}
            </button>
          );
        })}
        {runs.isFetching && !runs.isPending && <Spinner className="ml-2 self-center text-muted" />}
      </div>
      {runs.isError && <ErrorBox error={runs.error} title="Could not load runs" className="mb-4" />}
      {runs.isPending ? (
        <p className="flex items-center gap-2 py-10 text-sm text-muted">
          <Spinner /> Loading runs…
        </p>
      ) : runs.data && runs.data.length > 0 ? (
        <RunsTable runs={runs.data} people={people} showPipeline />
      ) : (
        <EmptyState icon="▶" title={status ? `No ${label} runs` : 'No runs yet'}>
          {status ? 'Try another filter.' : 'Start a run from the Pipelines page; it shows up here.'}
        </EmptyState>
      )}
    </>
  );
}
