/** Status chips and dots for runs and stages: one colour and glyph per status, everywhere. */
import type { RunStatusDescription } from '@/workflows/model';
import { cx } from './ui';

export type AnyStatus = 'pending' | 'queued' | 'running' | 'waiting' | 'succeeded' | 'failed' | 'skipped' | 'cancelled';

export const FINISHED_RUN = new Set(['succeeded', 'failed', 'cancelled']);
export const FINISHED_STAGE = new Set(['succeeded', 'failed', 'skipped', 'cancelled']);

const STYLE: Record<AnyStatus, { label: string; glyph: string; chip: string; dot: string; bar: string }> = {
  pending: {
    label: 'Pending',
    glyph: '○',
    chip: 'bg-slate-100 text-slate-600 ring-slate-500/20 dark:bg-slate-500/10 dark:text-slate-300 dark:ring-slate-400/25',
    dot: 'bg-slate-300 dark:bg-slate-600',
    bar: 'bg-slate-300 dark:bg-slate-600',
  },
  queued: {
    label: 'Queued',
    glyph: '◌',
    chip: 'bg-slate-100 text-slate-700 ring-slate-500/25 dark:bg-slate-500/10 dark:text-slate-200 dark:ring-slate-400/25',
    dot: 'bg-slate-400',
    bar: 'bg-slate-400',
  },
  running: {
    label: 'Running',
    glyph: '●',
    chip: 'bg-sky-50 text-sky-700 ring-sky-600/25 dark:bg-sky-500/10 dark:text-sky-300 dark:ring-sky-400/30',
    dot: 'bg-sky-500',
    bar: 'bg-sky-500',
  },
  waiting: {
    label: 'Waiting',
    glyph: '◷',
    chip: 'bg-amber-50 text-amber-800 ring-amber-600/30 dark:bg-amber-500/10 dark:text-amber-300 dark:ring-amber-400/30',
    dot: 'bg-amber-500',
    bar: 'bg-amber-500',
  },
  succeeded: {
    label: 'Succeeded',
    glyph: '✓',
    chip: 'bg-emerald-50 text-emerald-700 ring-emerald-600/25 dark:bg-emerald-500/10 dark:text-emerald-300 dark:ring-emerald-400/30',
    dot: 'bg-emerald-500',
    bar: 'bg-emerald-500',
  },
  failed: {
    label: 'Failed',
    glyph: '✕',
    chip: 'bg-red-50 text-red-700 ring-red-600/25 dark:bg-red-500/10 dark:text-red-300 dark:ring-red-400/30',
    dot: 'bg-red-500',
    bar: 'bg-red-500',
  },
  skipped: {
    label: 'Skipped',
    glyph: '↷',
    chip: 'bg-slate-50 text-slate-500 ring-slate-400/25 dark:bg-slate-500/5 dark:text-slate-400 dark:ring-slate-500/25',
    dot: 'bg-slate-200 dark:bg-slate-700',
    bar: 'bg-slate-200 dark:bg-slate-700',
  },
  cancelled: {
    label: 'Cancelled',
    glyph: '⊘',
    chip: 'bg-zinc-100 text-zinc-700 ring-zinc-500/25 dark:bg-zinc-500/10 dark:text-zinc-300 dark:ring-zinc-400/25',
    dot: 'bg-zinc-400',
    bar: 'bg-zinc-400',
  },
};

function styleOf(status: string) {
  return STYLE[status as AnyStatus] ?? STYLE.pending;
}

export function statusLabel(status: string): string {
  return styleOf(status).label;
}

export function statusBar(status: string): string {
  return styleOf(status).bar;
}

export function StatusChip({ status, className, size = 'sm' }: { status: string; className?: string; size?: 'sm' | 'md' }) {
  const s = styleOf(status);
  return (
    <span
      data-status={status}
      className={cx(
        'inline-flex shrink-0 items-center gap-1 rounded-full font-medium ring-1 ring-inset',
        size === 'md' ? 'px-2.5 py-1 text-sm' : 'px-2 py-0.5 text-xs',
        s.chip,
        className,
      )}
    >
      <span aria-hidden className={cx('leading-none', status === 'running' && 'animate-pulse')}>
        {s.glyph}
      </span>
      {s.label}
    </span>
  );
}

export function StatusDot({ status, className }: { status: string; className?: string }) {
  const s = styleOf(status);
  return (
    <span aria-hidden className={cx('relative inline-flex h-2.5 w-2.5 shrink-0', className)}>
      {status === 'running' && <span className={cx('absolute inset-0 animate-ping rounded-full opacity-60', s.dot)} />}
      <span className={cx('relative inline-flex h-2.5 w-2.5 rounded-full', s.dot)} />
    </span>
  );
}

/**
 * A run's status as `describeRunStatus` (workflows/model/run-status.ts) words it: "Waiting for approval — alan,
 * group approvers", "Waiting for a runner with labels gpu", "Running", … The same on every page that lists runs.
 */
export function RunStatusChip({
  display,
  size = 'sm',
  className,
}: {
  display: Pick<RunStatusDescription, 'key' | 'label' | 'detail' | 'text'>;
  size?: 'sm' | 'md';
  className?: string;
}) {
  const s = styleOf(display.key);
  return (
    <span
      data-status={display.key}
      data-testid="run-status-chip"
      title={display.text}
      className={cx(
        'inline-flex min-w-0 max-w-full items-center gap-1 rounded-full font-medium ring-1 ring-inset',
        size === 'md' ? 'px-2.5 py-1 text-sm' : 'px-2 py-0.5 text-xs',
        s.chip,
        className,
      )}
    >
      <span aria-hidden className={cx('leading-none', display.key === 'running' && 'animate-pulse')}>
        {s.glyph}
      </span>
      <span className="shrink-0">{display.label}</span>
      {/* The leading space keeps the words apart in the text (copy, screen readers); the flex gap draws it. */}
      {display.detail && <span className="min-w-0 truncate font-normal">{` — ${display.detail}`}</span>}
    </span>
  );
}
