'use client';
/**
 * "Someone else saved first": the three-way merge's true conflicts side by
 * side (`workflows/model/merge.ts`), each decided by the person merging —
 * their value or yours. Everything that does not conflict is merged already;
 * nothing is applied until every conflict has an answer.
 */
import { useMemo, useState } from 'react';
import { Modal } from '@/app/components/modal';
import { Button, cx } from '@/app/components/ui';
import type { PipelineSpec } from '@/workflows/model';
import { formatValue } from '@/workflows/model/diff';
import { describeConflictPath, type MergeChoice, type MergeConflict } from '@/workflows/model/merge';

export type PendingMerge = { latest: number; base: PipelineSpec; mine: PipelineSpec; theirs: PipelineSpec; conflicts: MergeConflict[] };

function shown(value: unknown): string {
  if (value === undefined) return 'deleted';
  if (value !== null && typeof value === 'object' && 'name' in value && 'kind' in value) return `stage "${String((value as { name: unknown }).name)}"`;
  return formatValue(value, 120);
}

export function MergeDialog({ merge, onApply, onClose }: { merge: PendingMerge | null; onApply: (choices: Record<string, MergeChoice>) => void; onClose: () => void }) {
  const [choices, setChoices] = useState<Record<string, MergeChoice>>({});
  const names = useMemo(() => {
    const all = merge ? [...merge.mine.nodes, ...merge.theirs.nodes, ...merge.base.nodes] : [];
    const edges = merge ? [...merge.mine.edges, ...merge.theirs.edges, ...merge.base.edges] : [];
    const node = (id: string) => all.find((n) => n.id === id)?.name ?? id;
    return {
      node,
      edge: (id: string) => {
        const e = edges.find((x) => x.id === id);
        return e ? `${node(e.from)} → ${node(e.to)}` : id;
      },
    };
  }, [merge]);
  if (!merge) return null;
  const answered = merge.conflicts.every((c) => choices[c.key]);
  return (
    <Modal
      open
      onClose={onClose}
      title={`Merge with version ${merge.latest}`}
      description={`Every change that does not collide is merged already. ${merge.conflicts.length === 1 ? 'One value was' : `${merge.conflicts.length} values were`} changed both in version ${merge.latest} and by you: choose which one to keep.`}
    >
      <div className="space-y-3" data-testid="merge-dialog">
        <ul className="max-h-[50vh] space-y-3 overflow-y-auto">
          {merge.conflicts.map((c) => (
            <li key={c.key} className="rounded-md border border-line p-3" data-testid="merge-conflict" data-path={c.path.join('.')}>
              <p className="mb-2 text-sm font-medium text-fg">{describeConflictPath(c.path, names)}</p>
              <div className="grid grid-cols-2 gap-2 text-[13px]">
                {(
                  [
                    ['theirs', `Version ${merge.latest}`, c.theirs],
                    ['mine', 'Yours', c.mine],
                  ] as const
                ).map(([side, label, value]) => (
                  <label
                    key={side}
                    className={cx(
                      'flex cursor-pointer flex-col gap-1 rounded-md border px-2.5 py-2',
                      choices[c.key] === side ? 'border-accent bg-accent/5 ring-1 ring-accent' : 'border-line hover:bg-subtle',
                    )}
                  >
                    <span className="flex items-center gap-2 text-xs font-medium text-muted">
                      <input
                        type="radio"
                        name={c.key}
                        checked={choices[c.key] === side}
                        onChange={() => setChoices((x) => ({ ...x, [c.key]: side }))}
                        data-testid={`merge-choose-${side}`}
                      />
                      {label}
                    </span>
                    <span className="break-words font-mono text-fg">{shown(value)}</span>
                  </label>
                ))}
              </div>
              <p className="mt-1.5 text-xs text-muted">Before both: {shown(c.base)}</p>
            </li>
          ))}
        </ul>
        <div className="flex items-center justify-end gap-2">
          {!answered && <span className="mr-auto text-xs text-muted">Choose a side for every conflict to merge.</span>}
          <Button variant="ghost" onClick={onClose}>
            Cancel
          </Button>
          <Button variant="primary" disabled={!answered} onClick={() => onApply(choices)} data-testid="merge-apply">
            Merge
          </Button>
        </div>
      </div>
    </Modal>
  );
}
