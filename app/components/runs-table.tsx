'use client';
/** A table of runs: number, pipeline, status, who started it, when, how long. */
import Link from 'next/link';
import type { RouterOutputs } from '@/server/api/root';
import { RunStatusChip } from './status';
import { Ago, Elapsed } from './time';
import { TriggerLine } from './trigger-summary';
import { Card } from './ui';

type RunRow = RouterOutputs['runs']['list'][number];


export function RunsTable({ runs, people, showPipeline }: { runs: RunRow[]; people: Record<string, string>; showPipeline?: boolean }) {
  return (
    <Card className="overflow-hidden">
      <div className="overflow-x-auto">
        <table className="w-full text-left text-sm">
          <thead className="border-b border-line bg-subtle/60 text-xs uppercase tracking-wide text-muted">
            <tr>
              <th scope="col" className="px-4 py-2.5 font-medium">
                Run
              </th>
              <th scope="col" className="px-4 py-2.5 font-medium">
                Status
              </th>
              <th scope="col" className="hidden px-4 py-2.5 font-medium md:table-cell">
                Started by
              </th>
              <th scope="col" className="px-4 py-2.5 font-medium">
                Created
              </th>
              <th scope="col" className="hidden px-4 py-2.5 text-right font-medium sm:table-cell">
                Duration
              </th>
            </tr>
          </thead>
          <tbody className="divide-y divide-line">
            {runs.map((r) => (
              <tr key={r.id} className="group transition-colors hover:bg-subtle/50" data-testid="run-row">
                <td className="px-4 py-3">
                  <Link href={`/pipelines/${r.pipelineId}/runs/${r.id}`} className="flex min-w-0 items-baseline gap-2 font-medium text-fg group-hover:text-accent">
                    {showPipeline && <span className="truncate">{r.pipelineName}</span>}
                    <span className={showPipeline ? 'font-mono text-xs text-muted' : 'font-mono'}>#{r.number}</span>
                    {r.rehearsal && (
                      <span data-testid="rehearsal-mark" title="A rehearsal: nothing was run, deployed or sent" className="ml-1.5 rounded border border-dashed border-current px-1 text-[11px] text-muted">
                        rehearsal
                      </span>
                    )}
                  </Link>
                  {r.error && r.status === 'failed' && <p className="mt-0.5 line-clamp-1 max-w-md text-xs text-red-600 dark:text-red-400">{r.error}</p>}
                </td>
                <td className="max-w-[22rem] px-4 py-3">
                  <RunStatusChip display={r.display} />
                </td>
                <td className="hidden px-4 py-3 text-muted md:table-cell" data-testid="run-started-by">
                  <TriggerLine run={r} people={people} />
                </td>
                <td className="px-4 py-3 text-muted">
                  <Ago date={r.createdAt} />
                </td>
                <td className="hidden px-4 py-3 text-right font-mono text-xs text-muted sm:table-cell" data-testid="run-duration">
                  {r.endedAt || r.status === 'running' || r.status === 'queued' ? <Elapsed start={r.startedAt ?? r.createdAt} end={r.endedAt} /> : '—'}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </Card>
  );
}
