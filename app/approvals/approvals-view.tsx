'use client';
/**
 * The approvals inbox: every gate waiting for the signed-in person, live (the
 * events stream keeps `approvals.pending` current). Each card has what it
 * takes to decide: pipeline, run and version, parameters, what already ran
 * upstream, the instructions, who else voted, the time left. A gate decided
 * here leaves the list with a confirmation at the top; a card whose gate
 * someone else decided while the page was open stays where it is and says
 * who decided it, until dismissed.
 */
import { fourEyesRule } from '@/app/lib/four-eyes';
import { PersonName } from '@/app/components/person-name';
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useEffect, useState } from 'react';
import { GateDecision, VoteList, type DecideOutcome } from '@/app/components/gate-decision';
import { StatusChip, type AnyStatus } from '@/app/components/status';
import { Ago, Elapsed, TimeLeft } from '@/app/components/time';
import { Button, Card, EmptyState, ErrorBox, Notice, PageHeader, Spinner, Tag } from '@/app/components/ui';
import { useTRPC } from '@/app/trpc/react';
import type { RouterOutputs } from '@/server/api/root';

type Item = RouterOutputs['approvals']['pending'][number];

const keyOf = (g: { runId: string; gateId: string }) => `${g.runId}:${g.gateId}`;

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
  const pending = useQuery(trpc.approvals.pending.queryOptions());
  /** Every card shown since the page opened (gates that stopped waiting stay until dismissed). */
  const [seen, setSeen] = useState<Map<string, Item>>(() => new Map());
  const [outcomes, setOutcomes] = useState<Map<string, DecideOutcome>>(() => new Map());
  const [dismissed, setDismissed] = useState<Set<string>>(() => new Set());

  useEffect(() => {
    if (!pending.data) return;
    setSeen((prev) => {
      const next = new Map(prev);
      for (const g of pending.data) next.set(keyOf(g), g);
      return next;
    });
  }, [pending.data]);

  const waitingNow = new Set((pending.data ?? []).map(keyOf));
  /** Gates decided here that have moved on: confirmed at the top instead of as cards. */
  const doneHere = [...seen.values()].filter((g) => !waitingNow.has(keyOf(g)) && outcomes.has(keyOf(g)));
  const cards = [...(pending.data ?? []), ...[...seen.values()].filter((g) => !waitingNow.has(keyOf(g)))].filter(
    (g) => !dismissed.has(keyOf(g)) && !doneHere.includes(g),
  );
  const toDecide = cards.filter((g) => waitingNow.has(keyOf(g)) && g.canDecide);
  const rest = cards.filter((g) => !toDecide.includes(g));
  const dismiss = (key: string) => setDismissed((d) => new Set(d).add(key));

  return (
    <>
      <PageHeader title="Approvals" subtitle="Gates waiting for you, live. A run continues as soon as its gate has enough approvals." />

      {!canDecideRole && (
        <Notice className="mb-6">
          Your role ({role}) can follow gates but not decide them. Approvers and admins named by a gate decide it.
        </Notice>
      )}
      {doneHere.length > 0 && (
        <Notice tone="success" className="mb-6">
          <ul className="space-y-0.5">
            {doneHere.slice(-3).map((g) => {
              const o = outcomes.get(keyOf(g))!;
              return (
                <li key={keyOf(g)} data-testid="decided-here">
                  You {o.decision === 'approve' ? 'approved' : 'rejected'} “{g.gateName}” of {g.pipelineName}{' '}
                  <Link href={`/pipelines/${g.pipelineId}/runs/${g.runId}`} className="font-medium underline" data-testid="decided-run-link">
                    run #{g.runNumber}
                  </Link>
                  .
                </li>
              );
            })}
          </ul>
        </Notice>
      )}
      {pending.isError && <ErrorBox error={pending.error} title="Could not load approvals" className="mb-4" />}

      {pending.isPending ? (
        <p className="flex items-center gap-2 py-10 text-sm text-muted">
          <Spinner /> Loading approvals…
        </p>
      ) : cards.length === 0 ? (
        <EmptyState icon="✓" title="Nothing is waiting for you">
          When a run reaches a gate that names you or one of your groups, it appears here — no need to reload.
        </EmptyState>
      ) : (
        <div className="space-y-4">
          {[...toDecide, ...rest].map((g) => {
            const key = keyOf(g);
            return (
              <ApprovalCard
                key={key}
                g={g}
                waiting={waitingNow.has(key)}
                outcome={outcomes.get(key)}
                onDecided={(o) => setOutcomes((m) => new Map(m).set(key, o))}
                onDismiss={() => dismiss(key)}
                canDecideRole={canDecideRole}
                userId={userId}
                people={people}
              />
            );
          })}
        </div>
      )}
    </>
  );
}

function ApprovalCard({
  g,
  waiting,
  outcome,
  onDecided,
  onDismiss,
  canDecideRole,
  userId,
  people,
}: {
  g: Item;
  waiting: boolean;
  outcome: DecideOutcome | undefined;
  onDecided: (o: DecideOutcome) => void;
  onDismiss: () => void;
  canDecideRole: boolean;
  userId: string;
  people: Record<string, string>;
}) {
  const approvals = g.votes.filter((v) => v.decision === 'approve').length;
  const params = Object.entries(g.params);
  const approvers = [...g.rules.groups.map((x) => `group ${x}`), ...g.rules.users].join(', ') || 'nobody';

  return (
    <Card className="p-5" data-testid="approval" data-gate={g.gateId} data-run={g.runId} data-waiting={waiting ? 'true' : 'false'}>
      <div className="flex flex-wrap items-start justify-between gap-3">
        <div className="min-w-0">
          <p className="text-sm text-muted">
            <Link href={`/pipelines/${g.pipelineId}`} className="font-medium text-fg hover:text-accent hover:underline">
              {g.pipelineName}
            </Link>{' '}
            ·{' '}
            <Link href={`/pipelines/${g.pipelineId}/runs/${g.runId}`} className="font-mono hover:text-accent hover:underline">
              run #{g.runNumber}
            </Link>{' '}
            · <span className="font-mono">v{g.pipelineVersion}</span>
            {g.triggeredByName && <> · started by {g.triggeredByName}</>}
          </p>
          <h2 className="mt-0.5 text-lg font-semibold tracking-tight text-fg">{g.gateName}</h2>
        </div>
        <div className="text-right text-xs text-muted">
          <div>
            waiting <Ago date={g.waitingSince} />
          </div>
          {waiting &&
            (g.deadlineAt ? (
              <div className="mt-0.5 font-medium text-amber-700 dark:text-amber-300" data-testid="time-left">
                <TimeLeft deadline={g.deadlineAt} />, then {g.rules.onTimeout === 'approve' ? 'approved' : 'rejected'}
              </div>
            ) : (
              <div className="mt-0.5" data-testid="time-left">
                no time limit
              </div>
            ))}
        </div>
      </div>

      {params.length > 0 && (
        <div className="mt-3 flex flex-wrap gap-1.5" aria-label="Parameters">
          {params.map(([k, v]) => (
            <Tag key={k} mono title={`${k}=${String(v)}`}>
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

      <div className="mt-4 grid gap-5 md:grid-cols-3">
        <div data-testid="upstream">
          <p className="mb-1.5 text-xs font-medium uppercase tracking-wide text-muted">Before this gate</p>
          {g.upstream.length === 0 ? (
            <p className="text-sm text-muted">Nothing: this gate comes first.</p>
          ) : (
            <ul className="space-y-1">
              {g.upstream.map((s) => (
                <li key={s.id} className="flex items-center justify-between gap-2 text-sm">
                  <span className="min-w-0 truncate text-fg" title={s.summary ?? s.name}>
                    {s.name}
                  </span>
                  <span className="flex shrink-0 items-center gap-2">
                    {s.startedAt && s.endedAt && <Elapsed start={s.startedAt} end={s.endedAt} className="font-mono text-xs text-muted" />}
                    <StatusChip status={s.status as AnyStatus} />
                  </span>
                </li>
              ))}
            </ul>
          )}
        </div>
        <div>
          <p className="mb-1.5 text-xs font-medium uppercase tracking-wide text-muted">
            Votes · {approvals}/{g.rules.quorum} approval{g.rules.quorum === 1 ? '' : 's'} needed
          </p>
          <VoteList votes={g.votes} people={people} />
          <p className="mt-1.5 text-xs text-muted">Approvers: {approvers}</p>
          <p className="mt-0.5 text-xs text-muted" data-testid="gate-four-eyes">
            {fourEyesRule(g.rules.allowTriggerer, g.protectedEnvironment).text}
          </p>
        </div>
        <div>
          {outcome ? (
            <Notice tone="success">
              <span data-testid="decision-recorded">
                You {outcome.decision === 'approve' ? 'approved' : 'rejected'} this gate
                {outcome.gateStatus === 'waiting' ? ` (${outcome.approvals}/${outcome.quorum} approvals so far).` : '.'}
              </span>
            </Notice>
          ) : !waiting ? (
            <GateOutcome runId={g.runId} gateId={g.gateId} onDismiss={onDismiss} />
          ) : g.canDecide ? (
            <GateDecision runId={g.runId} gateId={g.gateId} onDecided={onDecided} />
          ) : (
            <p className="text-sm text-muted">
              {g.votes.some((v) => v.userId === userId)
                ? `You voted; waiting for ${Math.max(0, g.rules.quorum - approvals)} more approval${g.rules.quorum - approvals === 1 ? '' : 's'}.`
                : !canDecideRole
                  ? 'Your role cannot decide gates.'
                  : g.startedByMe
                    ? 'You started this run (or requested this promotion), so someone else must approve it.'
                    : 'You are not among the approvers of this gate.'}
            </p>
          )}
        </div>
      </div>
    </Card>
  );
}

/** A gate that stopped waiting while the page was open: who decided, in place. */
function GateOutcome({ runId, gateId, onDismiss }: { runId: string; gateId: string; onDismiss: () => void }) {
  const trpc = useTRPC();
  const gate = useQuery(trpc.approvals.gate.queryOptions({ runId, gateId }));
  const d = gate.data;
  return (
    <div role="status" data-testid="already-decided" className="rounded-md border border-line-strong bg-subtle px-3 py-2 text-sm text-fg">
      {!d ? (
        <span className="flex items-center gap-2 text-muted">
          <Spinner /> No longer waiting…
        </span>
      ) : d.status === 'approved' || d.status === 'rejected' ? (
        <>
          Already decided: {d.status} by{' '}
          {d.decidedBy && d.decidedBy !== 'timeout' ? <PersonName name={d.decidedByName} username={d.decidedBy} /> : (d.decidedByName ?? 'someone else')}
          {d.decidedAt && (
            <>
              {' '}
              <Ago date={d.decidedAt} />
            </>
          )}
          .
        </>
      ) : (
        <>No longer waiting: the run {d.runStatus === 'cancelled' ? 'was cancelled' : `ended (${d.runStatus})`}.</>
      )}
      <Button variant="ghost" onClick={onDismiss} className="ml-2 px-1.5 py-0.5 text-xs">
        Dismiss
      </Button>
    </div>
  );
}
