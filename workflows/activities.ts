/**
 * Activities: the only place where a run touches the outside world.
 *
 * 1. Built by a factory that receives its dependencies (database, workspace),
 *    which is what makes them testable.
 * 2. `executeStage` runs one attempt of a stage through its kind's executor,
 *    streams the log into the app database while the stage runs, and returns
 *    only a small summary and outputs through Temporal (never the log).
 * 3. `recordRunState` writes the workflow's view (statuses, gates, final result)
 *    into the app database, where the UI and the approvals inbox read it.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { and, eq, sql } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import type { Db } from '../db/client';
import { gates, logChunks, runs, stageRuns } from '../db/schema';
import { createStageArtifacts } from '../server/artifacts/stage-artifacts';
import { createArtifactStore, type ArtifactStore } from '../server/artifacts/store';
import { createClusterResolver } from '../server/clusters/connections';
import { getEnv } from '../server/env';
import { createNotifier, type Notifier } from '../server/notify/notifier';
import { fireSchedule, startDownstreamRuns, startQueuedRun } from '../server/services/triggers';
import { getTemporalClient } from '../server/temporal/client';
import { EnvironmentUnavailableError, loadEnvironmentScope, type StageEnvironment } from '../server/services/environments';
import { bindClustersToEnvironment } from './k8s/environment-binding';
import type { ExecutionPlan, PlanNode } from './model/plan';
import { resolveStageEnvironmentRefs } from './model/shell-env';
import { EnvironmentRefError, maskSecrets } from './model/template';
import { createThrottledWriter, progressOf } from './progress-writer';
import { getExecutor } from './stages/executors';
import { StageFailure, type ClusterConnections, type LogStream, type StageLog } from './stages/executor-types';
import type { QueuedTriggerInput } from './queued-trigger';
import type { RunState } from './run-state';
import { stageEnvironment } from './stages/stage-env';

export type ExecuteStageInput = {
  runId: string;
  nodeId: string;
  kind: string;
  attempt: number;
  config: Record<string, unknown>;
  timeoutMs: number;
};

export type ExecuteStageResult = { outputs: Record<string, string>; summary: string };

export type ActivityDeps = {
  db: Db;
  workspaceDir: string;
  env?: Readonly<Record<string, string | undefined>>;
  /** How often buffered log text is written to the database, in ms. */
  logFlushMs?: number;
  /** Cluster connections for the k8s stages. Default: the encrypted ones in `db`. */
  clusters?: ClusterConnections;
  /** Gate and run notifications (webhook). Default: configured from `db` settings and `env`. */
  notifier?: Pick<Notifier, 'onRunState'>;
  /** Where stages store and fetch artifacts. Default: the store the configuration names. */
  artifactStore?: ArtifactStore;
  /** Temporal client for starting runs from triggers (schedules, upstream pipelines). Default: the app's, from the environment. */
  getClient?: () => Promise<Client>;
};

const MAX_CHUNK = 16_384;

/** A StageLog that appends to `log_chunks` in small batches. */
export class DbStageLog implements StageLog {
  private buffer: { stream: LogStream; text: string }[] = [];
  private bufferedChars = 0;
  private written: number;
  private pending: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Db,
    private readonly key: { runId: string; nodeId: string; attempt: number },
    startOffset: number,
    private readonly flushMs: number,
  ) {
    this.written = startOffset;
  }

  get offset() {
    return this.written + this.bufferedChars;
  }

  write(stream: LogStream, text: string) {
    if (!text) return;
    const last = this.buffer[this.buffer.length - 1];
    if (last && last.stream === stream && last.text.length + text.length <= MAX_CHUNK) last.text += text;
    else this.buffer.push({ stream, text });
    this.bufferedChars += text.length;
    if (this.bufferedChars >= MAX_CHUNK) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.flushMs);
  }

  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.buffer;
    if (batch.length === 0) return this.pending;
    this.buffer = [];
    let offset = this.written;
    const rows = batch.map((b) => {
      const row = { ...this.key, stream: b.stream, offset, text: b.text };
      offset += b.text.length;
      return row;
    });
    this.written = offset;
    this.bufferedChars = 0;
    this.pending = this.pending.then(() => this.db.insert(logChunks).values(rows).then(() => undefined));
    return this.pending;
  }
}

/**
 * A StageLog that replaces every secret value with `•••` before anything is
 * stored. Text that could be the start of a secret split across two writes is
 * held back until the next write shows whether it is one (or until `end()`).
 */
export class MaskingStageLog implements StageLog {
  private carry: Partial<Record<LogStream, string>> = {};

  constructor(
    private readonly inner: StageLog,
    private readonly secrets: readonly string[],
  ) {}

  get offset() {
    return this.inner.offset;
  }

  /** Length of the longest end of `text` that begins some secret (what must wait for the next write). */
  private pendingTail(text: string): number {
    for (let k = Math.min(text.length, Math.max(0, ...this.secrets.map((v) => v.length - 1))); k > 0; k--) {
      const tail = text.slice(-k);
      if (this.secrets.some((v) => v.length > k && v.startsWith(tail))) return k;
    }
    return 0;
  }

  write(stream: LogStream, text: string) {
    if (!text) return;
    const masked = maskSecrets((this.carry[stream] ?? '') + text, this.secrets);
    const hold = this.pendingTail(masked);
    this.carry[stream] = masked.slice(masked.length - hold);
    const ready = masked.slice(0, masked.length - hold);
    if (ready) this.inner.write(stream, ready);
  }

  flush(): Promise<void> {
    return this.inner.flush();
  }

  /** Writes what was held back (the stage is over: no more text can complete a secret). */
  end(): Promise<void> {
    for (const stream of Object.keys(this.carry) as LogStream[]) {
      const rest = this.carry[stream];
      if (rest) this.inner.write(stream, maskSecrets(rest, this.secrets));
    }
    this.carry = {};
    return this.inner.flush();
  }
}

const maskOutputs = (outputs: Record<string, string> | undefined, secrets: readonly string[]): Record<string, string> | undefined =>
  outputs && secrets.length > 0 ? Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, maskSecrets(v, secrets)])) : outputs;

/** Plans by run id (a run's plan never changes), so each stage reads its run's plan once per worker. */
const planNodes = new Map<string, Map<string, PlanNode>>();

async function planNodeOf(db: Db, runId: string, nodeId: string): Promise<{ pipelineId?: string; node?: PlanNode }> {
  let nodes = planNodes.get(runId);
  const [runRow] = await db
    .select({ pipelineId: runs.pipelineId, ...(nodes ? {} : { plan: runs.plan }) })
    .from(runs)
    .where(eq(runs.id, runId));
  if (!nodes && runRow && 'plan' in runRow) {
    nodes = new Map((runRow.plan as ExecutionPlan).nodes.map((n) => [n.id, n]));
    if (planNodes.size >= 200) planNodes.delete(planNodes.keys().next().value!);
    planNodes.set(runId, nodes);
  }
  return { pipelineId: runRow?.pipelineId, node: nodes?.get(nodeId) };
}

/** Length of a stage's stored log so far (so a new attempt appends after it). */
async function logLength(db: Db, runId: string, nodeId: string): Promise<number> {
  const [row] = await db
    .select({ end: sql<number | null>`max(${logChunks.offset} + length(${logChunks.text}))` })
    .from(logChunks)
    .where(and(eq(logChunks.runId, runId), eq(logChunks.nodeId, nodeId)));
  return row?.end ?? 0;
}

export function createActivities(deps: ActivityDeps) {
  const { db } = deps;
  const env = deps.env ?? process.env;
  const clusters = deps.clusters ?? createClusterResolver(db);
  const notifier = deps.notifier ?? createNotifier({ db, env });
  let artifactStore = deps.artifactStore;
  const artifactsFor = (key: { runId: string; nodeId: string }) => {
    artifactStore ??= createArtifactStore(getEnv());
    return createStageArtifacts(db, artifactStore, key);
  };
  const getClient = deps.getClient ?? getTemporalClient;

  async function executeStage(input: ExecuteStageInput): Promise<ExecuteStageResult> {
    const ctx = Context.current();
    const { runId, nodeId, attempt } = input;
    const now = new Date();
    await db
      .insert(stageRuns)
      .values({ runId, nodeId, status: 'running', attempt, startedAt: now, executions: 1 })
      .onConflictDoUpdate({
        target: [stageRuns.runId, stageRuns.nodeId],
        set: {
          status: 'running',
          attempt,
          startedAt: sql`case when ${stageRuns.attempt} = ${attempt} and ${stageRuns.startedAt} is not null then ${stageRuns.startedAt} else ${now.getTime()} end`,
          endedAt: null,
          error: null,
          executions: sql`${stageRuns.executions} + 1`,
        },
      });
    await db
      .update(runs)
      .set({ status: 'running', startedAt: now })
      .where(and(eq(runs.id, runId), eq(runs.status, 'queued')));

    const dbLog = new DbStageLog(db, { runId, nodeId, attempt }, await logLength(db, runId, nodeId), deps.logFlushMs ?? 200);
    const { pipelineId, node: planNode } = await planNodeOf(db, runId, nodeId);

    // The environment the stage is bound to: its variables and secrets are
    // resolved here, on the worker, and every secret value is masked in
    // whatever the stage writes or returns.
    let scope: StageEnvironment | undefined;
    let environmentProblem: string | undefined;
    if (planNode?.environment) {
      try {
        scope = await loadEnvironmentScope(db, planNode.environment, { runId, nodeId });
      } catch (err) {
        if (!(err instanceof EnvironmentUnavailableError)) throw err;
        environmentProblem = err.message;
      }
    }
    const secretValues = scope ? Object.values(scope.secrets).filter(Boolean) : [];
    const masking = secretValues.length > 0 ? new MaskingStageLog(dbLog, secretValues) : undefined;
    const log: StageLog = masking ?? dbLog;
    const mask = (text: string | undefined) => (text === undefined ? text : maskSecrets(text, secretValues));
    if (ctx.info.attempt > 1) {
      log.write('system', `— attempt ${attempt} restarted after an infrastructure failure (try ${ctx.info.attempt}) —\n`);
    } else if (attempt > 1) {
      log.write('system', `— attempt ${attempt} —\n`);
    }

    // Heartbeat details shown on the run page: at most two writes a second per stage.
    const progress = createThrottledWriter<Record<string, unknown>>(async (value) => {
      await db.update(stageRuns).set({ progress: value }).where(and(eq(stageRuns.runId, runId), eq(stageRuns.nodeId, nodeId)));
    }, 500);
    const executor = getExecutor(input.kind);
    const finish = async (status: 'succeeded' | 'failed' | 'cancelled', fields: { summary?: string; error?: string; outputs?: Record<string, string> }) => {
      await (masking ? masking.end() : log.flush()).catch(() => undefined);
      await progress.flush();
      await db
        .update(stageRuns)
        .set({ status, endedAt: new Date(), ...fields, error: mask(fields.error), summary: mask(fields.summary), outputs: maskOutputs(fields.outputs, secretValues) })
        .where(and(eq(stageRuns.runId, runId), eq(stageRuns.nodeId, nodeId)));
    };

    if (!executor) {
      await finish('failed', { error: `no executor for stage kind "${input.kind}" on this worker` });
      throw ApplicationFailure.nonRetryable(`no executor for stage kind "${input.kind}" on this worker`, 'InvalidConfig');
    }
    let config = input.config;
    try {
      if (environmentProblem) throw new EnvironmentRefError(environmentProblem);
      config = resolveStageEnvironmentRefs(input.kind, input.config, planNode?.config ?? {}, scope);
    } catch (err) {
      if (!(err instanceof EnvironmentRefError)) throw err;
      const message = `environment: ${err.message}`;
      log.write('system', `${message}\n`);
      await finish('failed', { error: message });
      throw ApplicationFailure.nonRetryable(message, 'InvalidConfig');
    }
    if (scope) log.write('system', `environment: ${scope.name}\n`);
    const parsed = executor.schema.safeParse(config);
    if (!parsed.success) {
      const message = mask(`invalid configuration: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`)!;
      log.write('system', `${message}\n`);
      await finish('failed', { error: message });
      throw ApplicationFailure.nonRetryable(message, 'InvalidConfig');
    }

    try {
      const result = await executor.execute(parsed.data, {
        runId,
        nodeId,
        attempt,
        signal: ctx.cancellationSignal,
        timeoutMs: input.timeoutMs,
        log,
        heartbeat: (details) => {
          ctx.heartbeat(details);
          const shown = progressOf(details);
          if (shown) progress.offer(shown);
        },
        workspaceDir: deps.workspaceDir,
        // Only what stage kinds need by name, never the worker's secrets (stage-env.ts).
        env: stageEnvironment(env),
        pipelineId,
        lastHeartbeat: ctx.info.heartbeatDetails,
        clusters: bindClustersToEnvironment(clusters, scope),
        artifacts: artifactsFor({ runId, nodeId }),
      });
      await finish('succeeded', { summary: result.summary, outputs: result.outputs });
      // What goes back to the workflow (and so into its history) is masked too.
      return secretValues.length > 0 ? { summary: mask(result.summary)!, outputs: maskOutputs(result.outputs, secretValues)! } : result;
    } catch (err) {
      if (ctx.cancellationSignal.aborted) {
        await finish('cancelled', { error: 'cancelled' });
        throw ctx.cancellationSignal.reason ?? err;
      }
      if (err instanceof StageFailure) {
        await finish('failed', { error: err.message, outputs: err.outputs });
        throw ApplicationFailure.nonRetryable(mask(err.message)!, err.type, { outputs: maskOutputs(err.outputs, secretValues) });
      }
      const message = mask(err instanceof Error ? err.message : String(err))!;
      log.write('system', `infrastructure error (will be retried): ${message}\n`);
      await finish('failed', { error: message });
      // Retried by Temporal; the message it keeps in history must not hold a secret either.
      throw secretValues.length > 0 ? ApplicationFailure.retryable(message, err instanceof Error ? err.name : 'Error') : err;
    }
  }

  /** Writes the workflow's view of the run. Idempotent: a retry writes the same rows again. */
  async function recordRunState({ state, final }: { state: RunState; final: boolean }): Promise<void> {
    const stageRows = Object.entries(state.stages).map(([nodeId, s]) => ({
      runId: state.runId,
      nodeId,
      status: s.status,
      attempt: s.attempt,
      startedAt: s.startedAt ? new Date(s.startedAt) : null,
      endedAt: s.endedAt ? new Date(s.endedAt) : null,
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

  return { executeStage, recordRunState, fireScheduledTrigger, startQueuedTriggerRun };
}
