'use client';
/**
 * The release plan's written sections in the version compare (part of the Changes panel): the sections are
 * versioned with the pipeline, so comparing two versions lists the sections whose text differs — added, removed or
 * changed, line by line, with who wrote each side and when. The server works it out (pipelines.writtenSectionChanges).
 */
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { Ago } from '@/app/components/time';
import { cx, ErrorBox, Spinner } from '@/app/components/ui';
import { useTRPC } from '@/app/trpc/react';

export type VersionPick = number | 'draft';

const STATUS_TAG = {
  added: 'bg-emerald-100 text-emerald-800 dark:bg-emerald-500/15 dark:text-emerald-300',
  removed: 'bg-red-100 text-red-800 dark:bg-red-500/15 dark:text-red-300',
  changed: 'bg-amber-100 text-amber-800 dark:bg-amber-500/15 dark:text-amber-300',
} as const;

function Written({ side, label }: { side: { by: string | null; at: number | null; version: number | null }; label: string }) {
  if (!side.by || side.at === null) return null;
  return (
    <span>
      {label} by {side.by} for version {side.version}, <Ago date={new Date(side.at)} />
    </span>
  );
}

export function WrittenSectionChanges({ pipelineId, from, to }: { pipelineId: string; from: VersionPick; to: VersionPick }) {
  const trpc = useTRPC();
  const q = useQuery(trpc.pipelines.writtenSectionChanges.queryOptions({ id: pipelineId, from, to }));
  return (
    <section className="border-t border-line px-4 py-3" data-testid="section-changes" aria-labelledby="section-changes-title">
      <h3 id="section-changes-title" className="mb-1.5 text-xs font-semibold uppercase tracking-wide text-muted">
        Release plan: written sections
      </h3>
      {q.isPending ? (
        <p className="flex items-center gap-2 text-xs text-muted">
          <Spinner /> Comparing the written sections…
        </p>
      ) : q.error ? (
        <ErrorBox error={q.error} title="Could not compare the written sections" />
      ) : q.data.sections.length === 0 ? (
        <p className="text-xs text-muted">No written section changed.</p>
      ) : (
        <ul className="space-y-3">
          {q.data.sections.map((s) => (
            <li key={s.key} data-testid="section-change" data-section={s.key} data-status={s.status}>
              <div className="flex items-center gap-2 text-[13px]">
                <span className={cx('rounded px-1.5 text-[10.5px] font-semibold uppercase', STATUS_TAG[s.status])}>{s.status}</span>
                <span className="font-medium text-fg">{s.title}</span>
              </div>
              <p className="mt-0.5 flex flex-col text-[11.5px] text-muted">
                <Written side={s.after} label={s.status === 'removed' ? 'Emptied' : 'Written'} />
                {s.status === 'changed' && <Written side={s.before} label="Was written" />}
              </p>
              <pre className="mt-1 max-h-60 overflow-auto rounded bg-subtle/70 px-2 py-1 font-mono text-[11.5px] whitespace-pre-wrap break-words" aria-label={`${s.title}: lines removed and added`}>
                {s.lines.map((l, i) => (
                  <div
                    key={i}
                    data-op={l.op}
                    className={cx(l.op === 'added' && 'text-emerald-700 dark:text-emerald-300', l.op === 'removed' && 'text-red-700 line-through decoration-red-400/60 dark:text-red-300', l.op === 'same' && 'text-muted')}
                  >
                    <span aria-hidden className="mr-1.5 select-none">
                      {l.op === 'added' ? '+' : l.op === 'removed' ? '−' : ' '}
                    </span>
                    <span className="sr-only">{l.op === 'added' ? 'added: ' : l.op === 'removed' ? 'removed: ' : ''}</span>
                    {l.text || ' '}
                  </div>
                ))}
              </pre>
            </li>
          ))}
        </ul>
      )}
      <Link href={`/pipelines/${encodeURIComponent(pipelineId)}/release-plan`} className="mt-2 inline-block text-xs text-accent hover:underline">
        Open the release plan
      </Link>
    </section>
  );
}
