/**
 * Control-plane activities: bookkeeping the interpreter and the trigger
 * workflows need, run by the control worker on the control task queue.
 *
 * 1. Built by a factory that receives its dependencies (database, clients),
 *    which is what makes them testable.
 * 2. `recordRunState` writes the workflow's view (statuses, gates, final result)
 *    into the app database, where the UI and the approvals inbox read it.
 * 3. Stages are executed elsewhere: by runners (workflows/runner), which reach
 *    the database only through the control plane's API.
 */
import type { Client } from '@temporalio/client';
import { eq, sql } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import type { Db } from '../../db/client';
import { gates, runs, stageRuns } from '../../db/schema';
import { createNotifier, type Notifier } from '../notify/notifier';
import { refreshRunFactsQuietly } from '../services/insights/facts';
import { fireSchedule, startDownstreamRuns, startQueuedRun } from '../services/triggers';
import { getTemporalClient } from '../temporal/client';
import type { QueuedTriggerInput } from '../../workflows/queued-trigger';
import type { RunState } from '../../workflows/run-state';

export type ActivityDeps = {
  db: Db;
  env?: Readonly<Record<string, string | undefined>>;
  /** Gate and run notifications (webhook). Default: configured from `db` settings and `env`. */
  notifier?: Pick<Notifier, 'onRunState'>;
  /** Temporal client for starting runs from triggers (schedules, upstream pipelines). Default: the app's, from the environment. */
  getClient?: () => Promise<Client>;
};

/**
 * A decided gate's stage status. The workflow records the decision while the gate's stage still reads
 * `waiting` and marks it finished only at its next record — which, now that runners mark their own
 * stages running and finished, may come after the stages behind the gate have run. Without this the
 * run page and the embeds showed a later stage running or succeeded while the gate before it waited.
 */
function gateOutcome(s: RunState['stages'][string]): 'succeeded' | 'failed' | null {
  if (s.status !== 'waiting' || !s.gate) return null;
  if (s.gate.status === 'approved') return 'succeeded';
  if (s.gate.status === 'rejected') return 'failed';
  return null;
}

export function createActivities(deps: ActivityDeps) {
  const { db } = deps;
  const env = deps.env ?? process.env;
  const notifier = deps.notifier ?? createNotifier({ db, env });
  const getClient = deps.getClient ?? getTemporalClient;

  /** Writes the workflow's view of the run. Idempotent: a retry writes the same rows again. */
  async function recordRunState({ state, final }: { state: RunState; final: boolean }): Promise<void> {
    const stageRows = Object.entries(state.stages).map(([nodeId, s]) => ({
      runId: state.runId,
      nodeId,
      status: gateOutcome(s) ?? s.status,
      attempt: s.attempt,
      startedAt: s.startedAt ? new Date(s.startedAt) : null,
      endedAt: s.endedAt ? new Date(s.endedAt) : gateOutcome(s) && s.gate?.decidedAt ? new Date(s.gate.decidedAt) : null,
      error: s.error ?? null,
      outputs: s.outputs,
      reusedFrom: s.reusedFrom ?? null,
      // Omitted stages say why on the run page; other summaries come from the executor.
      ...(s.skipReason ? { summary: s.skipReason } : {}),
    }));
    const gateRows = Object.entries(state.stages)
      .filter(([, s]) => s.gate)
      .map(([nodeId, s]) => ({
        runId: state.runId,
        nodeId,
        status: s.gate!.status,
        votes: s.gate!.votes,
        waitingSince: new Date(s.gate!.waitingSince),
        deadlineAt: s.gate!.deadlineAt ? new Date(s.gate!.deadlineAt) : null,
        decidedAt: s.gate!.decidedAt ? new Date(s.gate!.decidedAt) : null,
        decidedBy: s.gate!.decidedBy ?? null,
      }));
    // One batch (BEGIN…COMMIT run synchronously on one connection), not an interactive transaction: a
    // transaction that holds the write lock across awaits lets another write of this process block the
    // event loop in SQLite's busy wait while the lock holder cannot go on (stalls of the busy timeout).
    const writes: BatchItem<'sqlite'>[] = [];
    for (const row of stageRows) {
      // Rows the workflow has not touched yet stay as the activity wrote them.
      if (row.status === 'pending' && !final) continue;
      writes.push(
        db
        .insert(stageRuns)
        .values(row)
        .onConflictDoUpdate({
          target: [stageRuns.runId, stageRuns.nodeId],
          set: {
            // A stage the activity already finished stays finished even if this
            // snapshot was taken a moment before the workflow saw the result.
            status: sql`case when excluded.status = 'running' and ${stageRuns.attempt} = excluded.attempt and ${stageRuns.status} in ('succeeded', 'failed', 'cancelled') then ${stageRuns.status} else excluded.status end`,
            attempt: row.attempt,
            // A new attempt waits for a runner again (the runner that begins it sets its id).
            runnerId: sql`case when ${stageRuns.attempt} = excluded.attempt then ${stageRuns.runnerId} else null end`,
            startedAt: row.startedAt,
            endedAt: row.endedAt,
            error: row.error,
            outputs: row.outputs,
            reusedFrom: row.reusedFrom,
            ...(row.summary ? { summary: row.summary } : {}),
          },
        }),
      );
    }
    for (const row of gateRows) {
      writes.push(
        db
        .insert(gates)
        .values(row)
        .onConflictDoUpdate({
          target: [gates.runId, gates.nodeId],
          set: { status: row.status, votes: row.votes, decidedAt: row.decidedAt, decidedBy: row.decidedBy, deadlineAt: row.deadlineAt },
        }),
      );
    }
    writes.push(
      db
      .update(runs)
      .set({
        status: final ? state.status : 'running',
        startedAt: sql`coalesce(${runs.startedAt}, ${state.startedAt})`,
        endedAt: state.endedAt ? new Date(state.endedAt) : null,
        cancelledBy: state.cancelledBy ?? null,
        error: state.error ?? null,
      })
      .where(eq(runs.id, state.runId)),
    );
    await db.batch(writes as [BatchItem<'sqlite'>, ...BatchItem<'sqlite'>[]]);
    // The run's delivery facts (deployments, stage durations) for the metrics: the batch above marked them behind.
    await refreshRunFactsQuietly(db, [state.runId]);
    // Notifications (gate waiting/decided, run ended) go out in the background: never awaited, never failing the run.
    void notifier.onRunState(state, final).catch(() => undefined);
    if (final && state.status === 'succeeded') {
      // Upstream triggers: start the pipelines that follow this one. Idempotent per run, so a retry of
      // this activity starts nothing twice; only an unreachable runner makes it retry.
      await startDownstreamRuns(db, getClient, state.runId).catch((err: unknown) => {
        if ((err as { code?: string }).code === 'SERVICE_UNAVAILABLE') throw err;
        console.error(`[triggers] downstream runs of ${state.runId}:`, err);
      });
    }
  }

  /** A schedule trigger fired (the `scheduledTrigger` workflow): start the run through the app. */
  async function fireScheduledTrigger(input: { triggerId: string; firingId: string }) {
    return fireSchedule(db, getClient, input);
  }

  /** A trigger's run waiting for a free slot (the `queuedTrigger` workflow): start it if the pipeline has room. */
  async function startQueuedTriggerRun(input: QueuedTriggerInput & { giveUp?: boolean }) {
    return startQueuedRun(db, getClient, input);
  }

  return { recordRunState, fireScheduledTrigger, startQueuedTriggerRun };
}
