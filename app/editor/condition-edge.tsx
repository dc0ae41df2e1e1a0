'use client';
/**
 * A connection and its condition: when the downstream stage may start
 * (`success` of the upstream stage, its `failure`, or `always`). The condition
 * is shown on the edge and can be changed there (a native select: keyboard and
 * screen-reader friendly).
 */
import { BaseEdge, EdgeLabelRenderer, getBezierPath, type EdgeProps } from '@xyflow/react';
import { memo } from 'react';
import { cx } from '@/app/components/ui';
import type { EdgeCondition } from '@/workflows/model';
import { useEditorActions } from './editor-context';
import { bezierPoint } from './edge-labels';
import type { ConditionFlowEdge } from './view-model';

export const CONDITION_STYLE: Record<EdgeCondition, { stroke: string; dash?: string; pill: string; glyph: string; label: string; hint: string }> = {
  success: {
    stroke: 'var(--pw-edge-success)',
    pill: 'border-emerald-300 bg-emerald-50 text-emerald-800 dark:border-emerald-500/40 dark:bg-emerald-950 dark:text-emerald-200',
    glyph: '✓',
    label: 'on success',
    hint: 'Runs when the previous stage succeeded',
  },
  failure: {
    stroke: 'var(--pw-edge-failure)',
    dash: '6 4',
    pill: 'border-red-300 bg-red-50 text-red-800 dark:border-red-500/40 dark:bg-red-950 dark:text-red-200',
    glyph: '✕',
    label: 'on failure',
    hint: 'Runs when the previous stage failed (handles the failure: rollback, notify)',
  },
  always: {
    stroke: 'var(--pw-edge-always)',
    dash: '2 4',
    pill: 'border-sky-300 bg-sky-50 text-sky-800 dark:border-sky-500/40 dark:bg-sky-950 dark:text-sky-200',
    glyph: '↻',
    label: 'always',
    hint: 'Runs after the previous stage, whatever its outcome',
  },
};

const DIFF_STROKE = { added: 'var(--pw-diff-added)', removed: 'var(--pw-diff-removed)', changed: 'var(--pw-diff-changed)' } as const;

function ConditionEdgeImpl({ id, sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition, data, selected }: EdgeProps<ConditionFlowEdge>) {
  const actions = useEditorActions();
  const [path] = getBezierPath({ sourceX, sourceY, sourcePosition, targetX, targetY, targetPosition });
  // The label sits where the canvas placed it along this curve (away from other labels: edge-labels.ts).
  const { x: labelX, y: labelY } = bezierPoint({ x: sourceX, y: sourceY }, { x: targetX, y: targetY }, data?.labelAt ?? 0.5);
  const on = data?.on ?? 'success';
  const style = CONDITION_STYLE[on];
  const diff = data?.diff;
  const hasError = (data?.issues?.errors ?? 0) > 0;
  const stroke = diff ? DIFF_STROKE[diff] : hasError ? 'var(--pw-edge-failure)' : selected ? 'var(--pw-accent)' : style.stroke;
  // A plain success connection shows just its ✓ (the full condition on hover, focus or selection); the others always say what they do.
  const compact = on === 'success' && !selected && !diff && !hasError;
  const marker = diff ? `url(#pw-arrow-${diff})` : hasError ? 'url(#pw-arrow-failure)' : selected ? 'url(#pw-arrow-selected)' : `url(#pw-arrow-${on})`;

  return (
    <>
      <BaseEdge
        id={id}
        path={path}
        markerEnd={marker}
        interactionWidth={22}
        style={{
          stroke,
          strokeWidth: selected || diff ? 2.5 : 1.75,
          strokeDasharray: diff === 'removed' ? '4 4' : style.dash,
          opacity: diff === 'removed' ? 0.75 : 1,
        }}
      />
      <EdgeLabelRenderer>
        <div
          className="nodrag nopan pointer-events-auto absolute"
          style={{ transform: `translate(-50%, -50%) translate(${labelX}px, ${labelY}px)` }}
          data-testid="edge-label"
          data-edge-id={id}
          data-condition={on}
          data-diff={diff ?? 'none'}
        >
          <label
            title={data?.issues?.messages.join('\n') || style.hint}
            className={cx(
              'group/edge relative flex items-center gap-1 rounded-full border text-[11px] font-medium shadow-sm',
              compact ? 'h-[18px] min-w-[18px] justify-center px-1 hover:px-2 focus-within:px-2' : 'px-2 py-0.5',
              style.pill,
              selected && 'ring-2 ring-accent/60',
              hasError && 'ring-2 ring-red-500',
              diff === 'changed' && 'ring-2 ring-amber-500',
              diff === 'added' && 'ring-2 ring-emerald-500',
              diff === 'removed' && 'opacity-75 ring-2 ring-red-500',
            )}
          >
            <span aria-hidden>{style.glyph}</span>
            {data?.readOnly ? (
              <span className={cx(compact && 'hidden group-hover/edge:inline')}>{style.label}</span>
            ) : (
              <select
                value={on}
                onChange={(e) => actions.setEdgeCondition(id, e.target.value as EdgeCondition)}
                aria-label={`Condition of the connection from ${data?.fromName ?? ''} to ${data?.toName ?? ''}`}
                className={cx(
                  'nodrag nopan nokey cursor-pointer appearance-none bg-transparent pr-0.5 font-medium outline-none focus-visible:underline',
                  compact && 'w-0 opacity-0 group-hover/edge:w-auto group-hover/edge:opacity-100 focus:w-auto focus:opacity-100',
                )}
              >
                <option value="success">on success</option>
                <option value="failure">on failure</option>
                <option value="always">always</option>
              </select>
            )}
          </label>
        </div>
      </EdgeLabelRenderer>
    </>
  );
}

export const ConditionEdge = memo(ConditionEdgeImpl);

/** Arrow heads for every edge colour, defined once per canvas. */
export function EdgeMarkers() {
  const colours: Record<string, string> = {
    success: 'var(--pw-edge-success)',
    failure: 'var(--pw-edge-failure)',
    always: 'var(--pw-edge-always)',
    selected: 'var(--pw-accent)',
    added: 'var(--pw-diff-added)',
    removed: 'var(--pw-diff-removed)',
    changed: 'var(--pw-diff-changed)',
  };
  return (
    <svg aria-hidden className="absolute h-0 w-0">
      <defs>
        {Object.entries(colours).map(([name, colour]) => (
          <marker key={name} id={`pw-arrow-${name}`} viewBox="0 0 10 10" refX="8" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M 0 0 L 10 5 L 0 10 z" style={{ fill: colour }} />
          </marker>
        ))}
      </defs>
    </svg>
  );
}
