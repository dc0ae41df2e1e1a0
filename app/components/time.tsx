'use client';
/**
 * Times that stay correct while the page is open: "3 min ago", a duration that
 * ticks while a stage runs, a countdown. The server renders a fixed UTC form;
 * the browser switches to local, live text after hydration.
 */
import { formatDuration, formatLocal, formatRelative, formatTimeLeft, formatUtc } from '@/app/lib/format';
import { useNow } from '@/app/lib/use-now';

export function Ago({ date, className }: { date: Date | null | undefined; className?: string }) {
  const now = useNow();
  if (!date) return <span className={className}>—</span>;
  return (
    <time dateTime={date.toISOString()} title={now === null ? formatUtc(date) : formatLocal(date)} className={className}>
      {now === null ? formatUtc(date) : formatRelative(date, now)}
    </time>
  );
}

export function DateTime({ date, className }: { date: Date | null | undefined; className?: string }) {
  const now = useNow();
  if (!date) return <span className={className}>—</span>;
  return (
    <time dateTime={date.toISOString()} className={className} title={now === null ? undefined : formatRelative(date, now)}>
      {now === null ? formatUtc(date) : formatLocal(date)}
    </time>
  );
}

/** From `start` to `end`, or to now (ticking) when `end` is missing. */
export function Elapsed({ start, end, className }: { start: Date | null | undefined; end: Date | null | undefined; className?: string }) {
  const now = useNow();
  if (!start) return <span className={className}>—</span>;
  const to = end ? end.getTime() : now;
  if (to === null) return <span className={className}>…</span>;
  return <span className={className}>{formatDuration(Math.max(0, to - start.getTime()))}</span>;
}

export function TimeLeft({ deadline, className }: { deadline: Date; className?: string }) {
  const now = useNow();
  return <span className={className}>{now === null ? `until ${formatUtc(deadline)}` : formatTimeLeft(deadline, now)}</span>;
}
