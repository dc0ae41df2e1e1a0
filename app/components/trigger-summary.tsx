'use client';
/**
 * What started a run, for the runs table (one line) and the run page (with
 * the details): a person, a webhook push (provider, branch, short commit,
 * author, delivery id), a schedule, or an upstream run (linked).
 */
import Link from 'next/link';
import type { TriggerDetails } from '@/server/triggers/config';

type RunTrigger = {
  trigger: string;
  triggerDetails: TriggerDetails | null;
  triggeredBy: string;
  triggeredByName: string | null;
};

/** "Ada Lovelace", or "schedule:nightly (schedule)": a name, never a user id. */
export function startedByLabel(triggeredBy: string, trigger: string, people: Record<string, string>, name?: string | null): string {
  const who = name || people[triggeredBy] || (triggeredBy.includes(':') ? triggeredBy : 'someone');
  return trigger === 'manual' ? who : `${who} (${trigger})`;
}

const PROVIDER: Record<string, string> = { github: 'GitHub', gitlab: 'GitLab' };

/** One line: "GitHub push: main @ 1a2b3c4 by mona", "Schedule 0 3 * * * (UTC)", "After Build #12", or the person. */
export function TriggerLine({ run, people }: { run: RunTrigger; people: Record<string, string> }) {
  const d = run.triggerDetails;
  if (d?.type === 'webhook') {
    return (
      <span title={`delivery ${d.deliveryId}`}>
        {PROVIDER[d.provider] ?? d.provider} push: <span className="font-mono text-xs text-fg">{d.branch}</span> @{' '}
        <span className="font-mono text-xs">{d.commit.slice(0, 7)}</span>
        {d.author ? ` by ${d.author}` : ''}
      </span>
    );
  }
  if (d?.type === 'schedule') {
    return (
      <span>
        Schedule <span className="font-mono text-xs">{d.cron}</span> ({d.timezone})
      </span>
    );
  }
  if (d?.type === 'upstream') {
    return (
      <span>
        After{' '}
        <Link href={`/pipelines/${d.upstreamPipelineId}/runs/${d.upstreamRunId}`} className="hover:text-accent hover:underline">
          {d.upstreamPipelineName ?? 'upstream'} #{d.upstreamRunNumber}
        </Link>
      </span>
    );
  }
  return <span>{startedByLabel(run.triggeredBy, run.trigger, people, run.triggeredByName)}</span>;
}

/** The run page's "Started by": a headline, then the details a person checks, one short line each (the cell is narrow). */
export function TriggerDetailsBlock({ run, people }: { run: RunTrigger; people: Record<string, string> }) {
  const d = run.triggerDetails;
  const line = 'block truncate';
  if (d?.type === 'webhook') {
    return (
      <>
        <span data-testid="run-started-by" className={line} title={`${PROVIDER[d.provider] ?? d.provider} push${d.author ? ` by ${d.author}` : ''}`}>
          {PROVIDER[d.provider] ?? d.provider} push{d.author ? ` by ${d.author}` : ''}
        </span>
        <span className="block text-xs text-muted" data-testid="run-trigger">
          <span className={line} title={`${d.branch} at ${d.commit}`}>
            <span className="font-mono text-fg">{d.branch}</span> @ <span className="font-mono">{d.commit.slice(0, 7)}</span>
          </span>
          {d.repository && (
            <span className={line} title={d.repository}>
              {d.repository}
            </span>
          )}
          <span className={line} title={`delivery ${d.deliveryId}`}>
            delivery <span className="font-mono">{d.deliveryId}</span>
          </span>
        </span>
      </>
    );
  }
  if (d?.type === 'schedule') {
    return (
      <>
        <span data-testid="run-started-by" className={line}>
          Schedule
        </span>
        <span className={`${line} text-xs text-muted`} data-testid="run-trigger" title={`${d.cron} (${d.timezone})`}>
          <span className="font-mono">{d.cron}</span> ({d.timezone})
        </span>
      </>
    );
  }
  if (d?.type === 'upstream') {
    return (
      <>
        <span data-testid="run-started-by" className={line}>
          <TriggerLine run={run} people={people} />
        </span>
        <span className={`${line} text-xs text-muted`} data-testid="run-trigger">
          upstream pipeline succeeded
        </span>
      </>
    );
  }
  return (
    <>
      <span data-testid="run-started-by" className={line}>
        {startedByLabel(run.triggeredBy, run.trigger, people, run.triggeredByName)}
      </span>
      <span className={`${line} text-xs text-muted`} data-testid="run-trigger">
        trigger: {run.trigger}
      </span>
    </>
  );
}
