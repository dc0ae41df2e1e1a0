'use client';
/**
 * The audit log with filters (actor, action, outcome, pipeline, dates), newest
 * first, 100 at a time, and a CSV export of exactly what the filters select.
 * Everything shown is text: reasons and details are never rendered as HTML.
 */
import { PersonName } from '@/app/components/person-name';
import { keepPreviousData, useInfiniteQuery, useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useState } from 'react';
import { DateTime } from '@/app/components/time';
import { Button, Card, EmptyState, ErrorBox, Spinner, cx, inputClass } from '@/app/components/ui';
import { useTRPC } from '@/app/trpc/react';

type Filters = { actor: string; action: string; outcome: '' | 'ok' | 'refused'; pipelineId: string; from: string; to: string };
const EMPTY: Filters = { actor: '', action: '', outcome: '', pipelineId: '', from: '', to: '' };

/** The API's filter from the form: dates are whole local days. */
function toInput(f: Filters) {
  return {
    actor: f.actor.trim() || undefined,
    action: f.action || undefined,
    outcome: f.outcome || undefined,
    pipelineId: f.pipelineId || undefined,
    from: f.from ? new Date(`${f.from}T00:00:00`) : undefined,
    to: f.to ? new Date(`${f.to}T23:59:59.999`) : undefined,
  };
}

function exportHref(f: Filters): string {
  const input = toInput(f);
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(input)) if (v !== undefined) q.set(k, v instanceof Date ? v.toISOString() : v);
  const s = q.toString();
  return `/api/admin/audit/export${s ? `?${s}` : ''}`;
}

function compact(details: unknown): string {
  if (details === null || details === undefined) return '';
  const text = JSON.stringify(details);
  return text.length > 240 ? `${text.slice(0, 240)}…` : text;
}

/** Entries per page of the audit log. */
export const AUDIT_PAGE_SIZE = 25;

export function AuditView() {
  const trpc = useTRPC();
  const [draft, setDraft] = useState<Filters>(EMPTY);
  const [filters, setFiltersState] = useState<Filters>(EMPTY);
  // One page at a time (newest first): a long log never becomes one endless page.
  const [pageIndex, setPageIndex] = useState(0);
  const setFilters = (f: Filters) => {
    setFiltersState(f);
    setPageIndex(0);
  };
  const facets = useQuery(trpc.audit.facets.queryOptions());
  const list = useInfiniteQuery(
    trpc.audit.list.infiniteQueryOptions(
      { ...toInput(filters), limit: AUDIT_PAGE_SIZE },
      { getNextPageParam: (last) => last.nextCursor ?? undefined, placeholderData: keepPreviousData },
    ),
  );
  const pages = list.data?.pages ?? [];
  const shownPage = Math.min(pageIndex, Math.max(0, pages.length - 1));
  const rows = pages[shownPage]?.items ?? [];
  const first = shownPage * AUDIT_PAGE_SIZE;
  const hasOlder = shownPage < pages.length - 1 || list.hasNextPage;
  const older = async () => {
    if (shownPage === pages.length - 1) await list.fetchNextPage();
    setPageIndex(shownPage + 1);
  };
  const set = (k: keyof Filters) => (e: { target: { value: string } }) => setDraft((d) => ({ ...d, [k]: e.target.value }));
  const label = 'mb-1 block text-xs font-medium uppercase tracking-wide text-muted';

  return (
    <>
      <Card className="mb-5 p-4">
        <form
          className="grid grid-cols-2 gap-3 md:grid-cols-3 lg:grid-cols-7"
          onSubmit={(e) => {
            e.preventDefault();
            setFilters(draft);
          }}
          aria-label="Filter the audit log"
        >
          <div>
            <label htmlFor="f-actor" className={label}>
              Actor
            </label>
            <input id="f-actor" value={draft.actor} onChange={set('actor')} placeholder="username" className={inputClass} />
          </div>
          <div>
            <label htmlFor="f-action" className={label}>
              Action
            </label>
            <select id="f-action" value={draft.action} onChange={set('action')} className={inputClass}>
              <option value="">any</option>
              <option value="gate.">gate.* (decisions)</option>
              <option value="auth.">auth.* (sign-in)</option>
              <option value="user.">user.* (people)</option>
              {facets.data?.actions.map((a) => (
                <option key={a} value={a}>
                  {a}
                </option>
              ))}
            </select>
          </div>
          <div>
            <label htmlFor="f-outcome" className={label}>
              Outcome
            </label>
            <select id="f-outcome" value={draft.outcome} onChange={set('outcome')} className={inputClass}>
              <option value="">any</option>
              <option value="ok">ok</option>
              <option value="refused">refused</option>
            </select>
          </div>
          <div>
            <label htmlFor="f-pipeline" className={label}>
              Pipeline
            </label>
            <select id="f-pipeline" value={draft.pipelineId} onChange={set('pipelineId')} className={inputClass}>
              <option value="">any</option>
              {facets.data?.pipelines.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name}
                </option>
              ))}
            </select>
          </div>
          <div>
            <label htmlFor="f-from" className={label}>
              From
            </label>
            <input id="f-from" type="date" value={draft.from} onChange={set('from')} className={inputClass} />
          </div>
          <div>
            <label htmlFor="f-to" className={label}>
              To
            </label>
            <input id="f-to" type="date" value={draft.to} onChange={set('to')} className={inputClass} />
          </div>
          <div className="flex items-end gap-2">
            <Button type="submit" variant="primary">
              Filter
            </Button>
            <Button
              variant="ghost"
              onClick={() => {
                setDraft(EMPTY);
                setFilters(EMPTY);
              }}
            >
              Clear
            </Button>
          </div>
        </form>
      </Card>

      <div className="mb-3 flex items-center justify-between gap-3">
        <p className="text-sm text-muted">
          {list.isPending ? 'Loading…' : rows.length === 0 ? 'No entries' : `Entries ${first + 1}–${first + rows.length}${hasOlder ? '' : ` of ${first + rows.length}`}`}
          {list.isFetching && !list.isPending && <Spinner className="ml-2" />}
        </p>
        <a href={exportHref(filters)} className="inline-flex items-center gap-1.5 rounded-md border border-line-strong bg-surface px-3 py-1.5 text-sm font-medium text-fg shadow-sm hover:bg-subtle" data-testid="export-csv" download>
          <span aria-hidden>⤓</span> Export CSV
        </a>
      </div>

      {list.isError && <ErrorBox error={list.error} title="Could not load the audit log" className="mb-4" />}
      {!list.isPending && rows.length === 0 ? (
        <EmptyState icon="≡" title="No entries">
          Nothing matches these filters.
        </EmptyState>
      ) : (
        <Card className="overflow-hidden">
          <div className="overflow-x-auto">
            <table className="w-full text-left text-sm">
              <thead className="border-b border-line bg-subtle/60 text-xs uppercase tracking-wide text-muted">
                <tr>
                  <th scope="col" className="px-4 py-2.5 font-medium">
                    When
                  </th>
                  <th scope="col" className="px-4 py-2.5 font-medium">
                    Who
                  </th>
                  <th scope="col" className="px-4 py-2.5 font-medium">
                    What
                  </th>
                  <th scope="col" className="px-4 py-2.5 font-medium">
                    Outcome
                  </th>
                  <th scope="col" className="px-4 py-2.5 font-medium">
                    Where
                  </th>
                  <th scope="col" className="px-4 py-2.5 font-medium">
                    Why / details
                  </th>
                </tr>
              </thead>
              <tbody className="divide-y divide-line">
                {rows.map((r) => (
                  <tr key={r.id} data-testid="audit-row" data-action={r.action} data-outcome={r.outcome} className="align-top">
                    <td className="whitespace-nowrap px-4 py-2.5 text-xs text-muted">
                      <DateTime date={r.at} />
                    </td>
                    <td className="px-4 py-2.5 text-xs text-fg">{r.actorName ? <PersonName name={r.actorDisplayName} username={r.actorName} /> : '—'}</td>
                    <td className="px-4 py-2.5 font-mono text-xs text-fg">{r.action}</td>
                    <td className="px-4 py-2.5">
                      <span
                        className={cx(
                          'inline-flex rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset',
                          r.outcome === 'refused'
                            ? 'bg-red-50 text-red-700 ring-red-600/25 dark:bg-red-500/10 dark:text-red-300'
                            : 'bg-emerald-50 text-emerald-700 ring-emerald-600/25 dark:bg-emerald-500/10 dark:text-emerald-300',
                        )}
                      >
                        {r.outcome}
                      </span>
                    </td>
                    <td className="px-4 py-2.5 text-xs text-muted">
                      {r.pipelineId && (
                        <Link href={`/pipelines/${r.pipelineId}`} className="text-fg hover:text-accent hover:underline">
                          {r.pipelineName ?? r.pipelineId}
                        </Link>
                      )}
                      {r.runId && r.pipelineId && (
                        <>
                          {' · '}
                          <Link href={`/pipelines/${r.pipelineId}/runs/${r.runId}`} className="font-mono hover:text-accent hover:underline">
                            run
                          </Link>
                        </>
                      )}
                      {r.nodeId && <span className="font-mono"> · {r.nodeId}</span>}
                    </td>
                    <td className="max-w-md px-4 py-2.5 text-xs">
                      {r.reason && <p className="whitespace-pre-wrap break-words text-fg">{r.reason}</p>}
                      {r.details !== null && r.details !== undefined && <p className="mt-0.5 break-all font-mono text-muted">{compact(r.details)}</p>}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </Card>
      )}
      {(shownPage > 0 || hasOlder) && (
        <nav className="mt-4 flex items-center justify-center gap-3" aria-label="Audit log pages">
          <Button onClick={() => setPageIndex(shownPage - 1)} disabled={shownPage === 0}>
            ← Newer
          </Button>
          <span className="text-sm text-muted" data-testid="audit-page">
            Page {shownPage + 1}
          </span>
          <Button onClick={() => void older()} disabled={!hasOlder || list.isFetchingNextPage}>
            {list.isFetchingNextPage && <Spinner />} Older →
          </Button>
        </nav>
      )}
    </>
  );
}
