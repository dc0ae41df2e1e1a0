'use client';
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useState } from 'react';
import { GateDecision, VoteList } from '@/app/components/gate-decision';
import { Ago, TimeLeft } from '@/app/components/time';
import { Card, EmptyState, ErrorBox, Notice, PageHeader, Spinner, Tag } from '@/app/components/ui';
import { useTRPC } from '@/app/trpc/react';

export function ApprovalsView({
  canDecideRole,
  role,
  userId,
  people,
}: {
  canDecideRole: boolean;
  role: string;
  userId: string;
  people: Record<string, string>;
}) {
  const trpc = useTRPC();
  const pending = useQuery(trpc.approvals.pending.queryOptions(undefined, { refetchInterval: 5_000 }));
  /** Gates decided here: hidden at once, before the next refresh confirms it. */
  const [decided, setDecided] = useState<{ key: string; text: string }[]>([]);
  const hidden = new Set(decided.map((d) => d.key));
  const gates = (pending.data ?? []).filter((g) => !hidden.has(`${g.runId}:${g.gateId}`));
  const toDecide = gates.filter((g) => g.canDecide);
  const others = gates.filter((g) => !g.canDecide);

  return (
    <>
      <PageHeader title="Approvals" subtitle="Gates waiting for you. A run continues as soon as its gate has enough approvals." />

      {!canDecideRole && (
        <Notice className="mb-6">
          Your role ({role}) can follow gates but not decide them. Approvers and admins named by a gate decide it.
        </Notice>
      )}
      {decided.length > 0 && (
        <Notice tone="success" className="mb-6">
          <ul className="space-y-0.5">
            {decided.slice(-3).map((d) => (
              <li key={d.key}>{d.text}</li>
            ))}
          </ul>
        </Notice>
      )}
      {pending.isError && <ErrorBox error={pending.error} title="Could not load approvals" className="mb-4" />}

      {pending.isPending ? (
        <p className="flex items-center gap-2 py-10 text-sm text-muted">
          <Spinner /> Loading approvals…
        </p>
      ) : gates.length === 0 ? (
        <EmptyState icon="✓" title="Nothing is waiting for you">
          When a run reaches a gate that names you or one of your groups, it appears here.
        </EmptyState>
      ) : (
        <div className="space-y-4">
          {[...toDecide, ...others].map((g) => {
            const key = `${g.runId}:${g.gateId}`;
            const approvals = g.votes.filter((v) => v.decision === 'approve').length;
            const params = Object.entries(g.params);
            return (
              <Card key={key} className="p-5" data-testid="approval" data-gate={g.gateId}>
                <div className="flex flex-wrap items-start justify-between gap-3">
                  <div className="min-w-0">
                    <p className="text-sm text-muted">
                      <Link href={`/pipelines/${g.pipelineId}`} className="font-medium text-fg hover:text-accent hover:underline">
                        {g.pipelineName}
                      </Link>{' '}
                      ·{' '}
                      <Link href={`/pipelines/${g.pipelineId}/runs/${g.runId}`} className="font-mono hover:text-accent hover:underline">
                        run #{g.runNumber}
                      </Link>
                    </p>
                    <h2 className="mt-0.5 text-lg font-semibold tracking-tight text-fg">{g.gateName}</h2>
                  </div>
                  <div className="text-right text-xs text-muted">
                    <div>
                      waiting <Ago date={g.waitingSince} />
                    </div>
                    {g.deadlineAt && (
                      <div className="mt-0.5 font-medium text-amber-700 dark:text-amber-300">
                        <TimeLeft deadline={g.deadlineAt} />, then {g.rules.onTimeout === 'approve' ? 'approved' : 'rejected'}
                      </div>
                    )}
                  </div>
                </div>

                {params.length > 0 && (
                  <div className="mt-3 flex flex-wrap gap-1.5">
                    {params.map(([k, v]) => (
                      <Tag key={k} mono>
                        <span>
                          <span className="text-muted">{k}=</span>
                          <span className="text-fg">{String(v)}</span>
                        </span>
                      </Tag>
                    ))}
                  </div>
                )}

                {g.rules.instructions && (
                  <p className="mt-3 whitespace-pre-wrap break-words rounded-md border border-amber-200 bg-amber-50/70 px-3 py-2 text-sm text-amber-950 dark:border-amber-500/25 dark:bg-amber-500/5 dark:text-amber-100">
                    {g.rules.instructions}
                  </p>
                )}

                <div className="mt-4 grid gap-5 md:grid-cols-2">
                  <div>
                    <p className="mb-1.5 text-xs font-medium uppercase tracking-wide text-muted">
                      Votes · {approvals}/{g.rules.quorum} approval{g.rules.quorum === 1 ? '' : 's'} needed
                    </p>
                    <VoteList votes={g.votes} people={people} />
                  </div>
                  <div>
                    {g.canDecide ? (
                      <GateDecision
                        runId={g.runId}
                        gateId={g.gateId}
                        onDecided={(o) =>
                          setDecided((d) => [
                            ...d,
                            {
                              key,
                              text: `You ${o.decision === 'approve' ? 'approved' : 'rejected'} “${g.gateName}” of ${g.pipelineName} #${g.runNumber}${
                                o.gateStatus === 'waiting' ? ` (${o.approvals}/${o.quorum} approvals so far)` : ''
                              }.`,
                            },
                          ])
                        }
                      />
                    ) : (
                      <p className="text-sm text-muted">
                        {g.votes.some((v) => v.userId === userId)
                          ? `You voted; waiting for ${Math.max(0, g.rules.quorum - approvals)} more approval${g.rules.quorum - approvals === 1 ? '' : 's'}.`
                          : !canDecideRole
                            ? 'Your role cannot decide gates.'
                            : 'You started this run, so someone else must approve it.'}
                      </p>
                    )}
                  </div>
                </div>
              </Card>
            );
          })}
        </div>
      )}
    </>
  );
}
