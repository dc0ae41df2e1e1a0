/**
 * The glyph of a stage kind. Known kinds get a drawn icon (crisp everywhere,
 * no emoji font needed); any other kind shows its registry `icon`.
 */
import { getStageDefinition } from '@/workflows/model';
import { cx } from './ui';

const PATHS: Record<string, string> = {
  // a terminal prompt
  command: 'M4 5.5 8 9l-4 3.5M10 13h6',
  // a pulse line
  'http-check': 'M2.5 10h3.2l1.8-4 3 8 1.9-4h5.1',
  // a shield with a check
  approval: 'M10 2.8 4.5 5v4.4c0 3.4 2.4 6.2 5.5 7.3 3.1-1.1 5.5-3.9 5.5-7.3V5L10 2.8ZM7.6 9.9l1.7 1.7 3.2-3.3',
  // a clock
  wait: 'M10 3.2a6.8 6.8 0 1 0 0 13.6 6.8 6.8 0 0 0 0-13.6ZM10 6.2V10l2.6 1.6',
  // an arrow leaving
  webhook: 'M7 13 13.5 6.5M8.5 6.5h5v5M5 4.5h-.5a1.5 1.5 0 0 0-1.5 1.5v9.5A1.5 1.5 0 0 0 4.5 17H14a1.5 1.5 0 0 0 1.5-1.5V15',
};

export function KindIcon({ kind, className }: { kind: string; className?: string }) {
  const d = PATHS[kind];
  return (
    <span aria-hidden className={cx('flex shrink-0 items-center justify-center rounded-md bg-subtle text-muted', className ?? 'h-7 w-7')}>
      {d ? (
        <svg viewBox="0 0 20 20" className="h-4 w-4" fill="none" stroke="currentColor" strokeWidth="1.7" strokeLinecap="round" strokeLinejoin="round">
          <path d={d} />
        </svg>
      ) : (
        <span className="text-xs">{getStageDefinition(kind)?.icon ?? '•'}</span>
      )}
    </span>
  );
}
