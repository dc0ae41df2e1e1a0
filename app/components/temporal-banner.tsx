'use client';
/**
 * Shown on every signed-in page while the Temporal server cannot be reached
 * (live, from the page's event stream: it appears and goes away without a
 * reload). What still works (reading pipelines, runs and logs) and what does
 * not (starting, deciding, cancelling) is said plainly; runs in flight are
 * safe in Temporal's database and carry on once it is back.
 */
import { useTemporalUp } from '@/app/lib/live';

export function TemporalBanner() {
  const up = useTemporalUp();
  if (up !== false) return null;
  return (
    <div role="alert" data-testid="temporal-down-banner" className="border-b border-amber-200 bg-amber-50 text-amber-900 dark:border-amber-500/30 dark:bg-amber-500/10 dark:text-amber-100">
      <div className="mx-auto max-w-7xl px-4 py-2 text-sm sm:px-6">
        <strong className="font-semibold">Pipewright cannot reach its Temporal server.</strong> Runs cannot be started, approved or cancelled
        until it is back; runs in flight wait where they are and carry on by themselves. Pipelines, runs and logs can still be read. This
        message goes away when the connection returns.
      </div>
    </div>
  );
}
