'use client';
/**
 * Approve / Reject for one waiting gate, with an optional comment. The server
 * decides whether this person may (role, approver list, quorum, already
 * decided); its answer is shown right here — a gate someone else decided
 * first (a stale page, a second click) says "already decided by …" in place.
 */
import { PersonName } from '@/app/components/person-name';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { useTRPC } from '@/app/trpc/react';
import { Button, ErrorBox, inputClass, Spinner } from './ui';

/** The gate moved on without this person (decided by someone else, already voted, run ended). */
function isConflict(error: unknown): error is { message: string } {
  return (error as { data?: { code?: string } } | null)?.data?.code === 'CONFLICT';
}

export type DecideOutcome = { decision: 'approve' | 'reject'; gateStatus: string; approvals: number; quorum: number };

export function GateDecision({ runId, gateId, onDecided }: { runId: string; gateId: string; onDecided?: (o: DecideOutcome) => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [comment, setComment] = useState('');
  const [choice, setChoice] = useState<'approve' | 'reject' | null>(null);
  const commentId = useId();

  const decide = useMutation(
    trpc.approvals.decide.mutationOptions({
      onSuccess: (result, input) => {
        onDecided?.({ decision: input.decision, ...result });
      },
      onSettled: () => {
        void queryClient.invalidateQueries(trpc.approvals.pathFilter());
        void queryClient.invalidateQueries(trpc.runs.get.queryFilter({ id: runId }));
      },
    }),
  );

  const submit = (decision: 'approve' | 'reject') => {
    setChoice(decision);
    decide.mutate({ runId, gateId, decision, comment: comment.trim() || undefined });
  };
  const busy = decide.isPending || (decide.isError && isConflict(decide.error));

  return (
    <div className="space-y-2.5" data-testid="gate-decision">
      <div>
        <label htmlFor={commentId} className="mb-1 block text-xs font-medium text-muted">
          Comment <span className="font-normal">(optional, kept with your decision)</span>
        </label>
        <textarea
          id={commentId}
          rows={2}
          maxLength={2000}
          value={comment}
          onChange={(e) => setComment(e.target.value)}
          disabled={busy}
          placeholder="What did you check?"
          className={`${inputClass} resize-y`}
        />
      </div>
      <div className="flex flex-wrap items-center gap-2">
        <Button variant="approve" onClick={() => submit('approve')} disabled={busy}>
          {decide.isPending && choice === 'approve' ? <Spinner /> : <span aria-hidden>✓</span>}
          Approve
        </Button>
        <Button variant="reject" onClick={() => submit('reject')} disabled={busy}>
          {decide.isPending && choice === 'reject' ? <Spinner /> : <span aria-hidden>✕</span>}
          Reject
        </Button>
      </div>
      {decide.isError &&
        (isConflict(decide.error) ? (
          <p
            role="status"
            data-testid="already-decided"
            className="rounded-md border border-line-strong bg-subtle px-3 py-2 text-sm text-fg"
          >
            {decide.error.message}
          </p>
        ) : (
          <ErrorBox error={decide.error} />
        ))}
    </div>
  );
}

/** Who voted what, with their comments. */
export function VoteList({
  votes,
  people,
}: {
  votes: { userId: string; userName: string; decision: 'approve' | 'reject'; comment: string; at: number }[];
  /** Display names by user id (votes carry the username). */
  people?: Record<string, string>;
}) {
  if (votes.length === 0) return <p className="text-sm text-muted">No votes yet.</p>;
  return (
    <ul className="space-y-1.5">
      {votes.map((v) => (
        <li key={`${v.userId}-${v.at}`} className="flex items-start gap-2 text-sm">
          <span
            aria-hidden
            className={
              v.decision === 'approve'
                ? 'mt-0.5 flex h-4 w-4 shrink-0 items-center justify-center rounded-full bg-emerald-500 text-[10px] text-white'
                : 'mt-0.5 flex h-4 w-4 shrink-0 items-center justify-center rounded-full bg-red-500 text-[10px] text-white'
            }
          >
            {v.decision === 'approve' ? '✓' : '✕'}
          </span>
          <span className="min-w-0">
            <PersonName name={people?.[v.userId]} username={v.userName} />{' '}
            <span className="text-muted">{v.decision === 'approve' ? 'approved' : 'rejected'}</span>
            {v.comment && <span className="mt-0.5 block whitespace-pre-wrap break-words text-muted">“{v.comment}”</span>}
          </span>
        </li>
      ))}
    </ul>
  );
}
