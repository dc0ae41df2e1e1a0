'use client';
/**
 * A stage on the canvas: kind icon, name, kind and id, with what is painted on
 * it — validation problems, a comparison's status, a run's status. Memoised;
 * everything it shows comes in through `data` (derived in view-model.ts).
 */
import { Handle, Position, type NodeProps } from '@xyflow/react';
import { memo } from 'react';
import { KindIcon } from '@/app/components/kind-icon';
import { statusLabel } from '@/app/components/status';
import { cx } from '@/app/components/ui';
import { getStageDefinition, type StageCategory } from '@/workflows/model';
import type { StageFlowNode } from './view-model';

export const CATEGORY_STYLE: Record<StageCategory, { bar: string; icon: string; label: string }> = {
  build: { bar: 'bg-indigo-500', icon: 'bg-indigo-50 text-indigo-600 dark:bg-indigo-500/15 dark:text-indigo-300', label: 'Build' },
  test: { bar: 'bg-sky-500', icon: 'bg-sky-50 text-sky-600 dark:bg-sky-500/15 dark:text-sky-300', label: 'Test' },
  deploy: { bar: 'bg-emerald-500', icon: 'bg-emerald-50 text-emerald-600 dark:bg-emerald-500/15 dark:text-emerald-300', label: 'Deploy' },
  gate: { bar: 'bg-amber-500', icon: 'bg-amber-50 text-amber-700 dark:bg-amber-500/15 dark:text-amber-300', label: 'Gates' },
  flow: { bar: 'bg-slate-400', icon: 'bg-slate-100 text-slate-600 dark:bg-slate-500/15 dark:text-slate-300', label: 'Flow' },
  notify: { bar: 'bg-fuchsia-500', icon: 'bg-fuchsia-50 text-fuchsia-600 dark:bg-fuchsia-500/15 dark:text-fuchsia-300', label: 'Notify' },
};

const UNKNOWN_STYLE = { bar: 'bg-red-500', icon: 'bg-red-50 text-red-600 dark:bg-red-500/15 dark:text-red-300', label: 'Unknown' };

const DIFF_STYLE = {
  added: { ring: 'ring-2 ring-emerald-500 border-emerald-500', badge: 'bg-emerald-500 text-white', label: 'Added' },
  removed: { ring: 'ring-2 ring-red-500/70 border-red-400 border-dashed opacity-70', badge: 'bg-red-500 text-white', label: 'Removed' },
  changed: { ring: 'ring-2 ring-amber-500 border-amber-500', badge: 'bg-amber-500 text-white dark:text-amber-950', label: 'Changed' },
  moved: { ring: 'ring-1 ring-sky-400/70', badge: 'bg-sky-500/90 text-white', label: 'Moved' },
} as const;

const STATUS_RING: Record<string, string> = {
  running: 'ring-2 ring-sky-500 border-sky-500',
  waiting: 'ring-2 ring-amber-500 border-amber-500',
  succeeded: 'ring-2 ring-emerald-500 border-emerald-500',
  failed: 'ring-2 ring-red-500 border-red-500',
  cancelled: 'ring-1 ring-zinc-400',
  skipped: 'opacity-60',
};

const STATUS_DOT: Record<string, string> = {
  running: 'bg-sky-500 animate-pulse',
  waiting: 'bg-amber-500 animate-pulse',
  succeeded: 'bg-emerald-500',
  failed: 'bg-red-500',
  cancelled: 'bg-zinc-400',
  skipped: 'bg-slate-300 dark:bg-slate-600',
  pending: 'bg-slate-300 dark:bg-slate-600',
  queued: 'bg-slate-400',
};

const handleClass =
  '!h-3 !w-3 !border-2 !border-surface !bg-line-strong transition-colors hover:!bg-accent focus-visible:!bg-accent [.react-flow__node:hover_&]:!bg-accent/70';

function StageNodeImpl({ data, selected }: NodeProps<StageFlowNode>) {
  const { node, kindLabel, issues, diff, status, readOnly } = data;
  const def = getStageDefinition(node.kind);
  const cat = def ? CATEGORY_STYLE[def.category] : UNKNOWN_STYLE;
  const hasErrors = (issues?.errors ?? 0) > 0;
  const hasWarnings = !hasErrors && (issues?.warnings ?? 0) > 0;
  const title = issues?.messages.join('\n');

  return (
    <div
      data-testid="stage-node"
      data-node-id={node.id}
      data-issues={hasErrors ? 'error' : hasWarnings ? 'warning' : 'none'}
      data-diff={diff ?? 'none'}
      data-status={status ?? 'none'}
      className={cx(
        'group relative flex h-[64px] w-[220px] items-center gap-2.5 overflow-visible rounded-xl border bg-surface pl-3.5 pr-2.5 shadow-[0_1px_3px_rgb(15_23_42/0.08)] transition-[box-shadow,border-color]',
        hasErrors ? 'border-red-400 dark:border-red-500/70' : hasWarnings ? 'border-amber-400 dark:border-amber-500/60' : 'border-line-strong/80',
        diff && DIFF_STYLE[diff].ring,
        !diff && status && STATUS_RING[status],
        selected && 'ring-2 ring-accent ring-offset-2 ring-offset-canvas',
        'hover:shadow-md',
      )}
    >
      <span aria-hidden className={cx('absolute inset-y-2 left-1 w-1 rounded-full', cat.bar)} />
      <KindIcon kind={node.kind} className={cx('h-8 w-8 rounded-lg', cat.icon)} />
      <div className="min-w-0 flex-1">
        <div className="truncate text-[13.5px] font-semibold leading-5 text-fg" title={node.name}>
          {node.name}
        </div>
        <div className="flex min-w-0 items-center gap-1.5 text-[11.5px] leading-4 text-muted">
          <span className="truncate">{kindLabel}</span>
          <span aria-hidden className="text-line-strong">
            ·
          </span>
          <span className="truncate font-mono text-[11px]" title={`id: ${node.id}`}>
            {node.id}
          </span>
          {node.environment && (
            <span className="shrink-0 rounded bg-violet-50 px-1 font-mono text-[10.5px] text-violet-700 dark:bg-violet-500/10 dark:text-violet-300" title={`environment: ${node.environment}`}>
              {node.environment}
            </span>
          )}
        </div>
        {status && (
          <div className="mt-0.5 flex items-center gap-1 text-[11px] font-medium text-muted">
            <span aria-hidden className={cx('h-1.5 w-1.5 rounded-full', STATUS_DOT[status] ?? STATUS_DOT.pending)} />
            {statusLabel(status)}
          </div>
        )}
      </div>

      {(hasErrors || hasWarnings) && (
        <span
          title={title}
          className={cx(
            'absolute -right-2 -top-2 flex h-5 min-w-5 items-center justify-center gap-0.5 rounded-full px-1.5 text-[11px] font-bold shadow-sm ring-2 ring-canvas',
            hasErrors ? 'bg-red-500 text-white' : 'bg-amber-400 text-amber-950',
          )}
        >
          <span aria-hidden>!</span>
          {hasErrors ? issues!.errors : issues!.warnings}
        </span>
      )}
      {diff && (
        <span className={cx('absolute -top-2.5 left-3 rounded-full px-1.5 py-px text-[10px] font-semibold uppercase tracking-wide shadow-sm', DIFF_STYLE[diff].badge)}>
          {DIFF_STYLE[diff].label}
        </span>
      )}

      <Handle
        type="target"
        position={Position.Left}
        className={handleClass}
        isConnectable={!readOnly}
        aria-label={`Input of ${node.name}`}
      />
      <Handle
        type="source"
        position={Position.Right}
        className={handleClass}
        isConnectable={!readOnly}
        aria-label={`Output of ${node.name}`}
      />
    </div>
  );
}

export const StageNode = memo(StageNodeImpl);
