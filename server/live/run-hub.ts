/**
 * The live hub: one database poll per watched thing, fanned out to every
 * subscriber.
 *
 * 1. Embeds (and later the app's run page) subscribe by key: a run's status
 *    (`subscribeRun`), a pipeline's latest run (`subscribeLatestRun`), or a share
 *    token's validity (`watchShareToken`). However many viewers watch a run,
 *    the database sees one small query per interval for it, and only while
 *    somebody watches.
 * 2. A subscriber receives the current value at once (when known) and then
 *    each change; unchanged polls send nothing. Each value carries its JSON so
 *    a thousand SSE streams serialise it once, not a thousand times.
 * 3. Writers in this process may call `poke(key)` after a change (a revoked
 *    token, say) so subscribers hear about it now rather than at the next poll;
 *    other processes are covered by polling.
 * 4. One hub per process, cached on globalThis (Next's dev reloads); tests
 *    create their own with `createRunHub`.
 */
import { desc, eq } from 'drizzle-orm';
import { getDb, type Db } from '../../db/client';
import { pipelines, runs, shareTokens, stageRuns, type RunStatus } from '../../db/schema';
import { describeRunStatus, runWaits, settleDecidedGates, type RunStatusKey } from '../../workflows/model/run-status';
import { parsedPlan } from '../services/run-plans';

export type StageSnapshot = { status: string; startedAt: number | null; endedAt: number | null; attempt: number };

/** A run as the embeds show it: statuses and times only (no outputs, logs or errors). */
export type RunSnapshot = {
  runId: string;
  pipelineId: string;
  pipelineVersion: number;
  number: number;
  /** A rehearsal: nothing was run, deployed or sent (embeds say so). */
  rehearsal: boolean;
  status: RunStatus;
  /** How the status reads (describeRunStatus): "Waiting for approval — alan", "Waiting for a runner with labels gpu", "Running", … */
  display: { key: RunStatusKey; text: string };
  startedAt: number | null;
  endedAt: number | null;
  stages: Record<string, StageSnapshot>;
};

export type TokenState = { state: 'live' | 'revoked' | 'expired' | 'deleted' | 'unknown' };

/** A value with its JSON, serialised once per change. */
export type Published<T> = { value: T; json: string; at: number };
export type Listener<T> = (update: Published<T>) => void;

const time = (d: Date | null | undefined) => (d ? d.getTime() : null);

/** The current snapshot of a run, or null when there is no such run. */
export async function fetchRunSnapshot(db: Db, runId: string): Promise<RunSnapshot | null> {
  const run = await db
    .select({
      id: runs.id,
      pipelineId: runs.pipelineId,
      pipelineVersion: runs.pipelineVersion,
      number: runs.number,
      rehearsal: runs.rehearsal,
      status: runs.status,
      startedAt: runs.startedAt,
      endedAt: runs.endedAt,
      plan: runs.plan,
      planHash: runs.planHash,
      createdAt: runs.createdAt,
    })
    .from(runs)
    .where(eq(runs.id, runId))
    .get();
  if (!run) return null;
  const rows = await db
    .select({
      nodeId: stageRuns.nodeId,
      status: stageRuns.status,
      startedAt: stageRuns.startedAt,
      endedAt: stageRuns.endedAt,
      attempt: stageRuns.attempt,
      runnerId: stageRuns.runnerId,
    })
    .from(stageRuns)
    .where(eq(stageRuns.runId, runId));
  const plan = parsedPlan(run.id, run.planHash, run.plan);
  // A gate whose next stage has begun reads decided, even before the workflow's record of it lands.
  const settled = settleDecidedGates(plan, rows);
  const stages: Record<string, StageSnapshot> = {};
  for (const s of [...settled].sort((a, b) => a.nodeId.localeCompare(b.nodeId))) {
    stages[s.nodeId] = { status: s.status, startedAt: time(s.startedAt), endedAt: time(s.endedAt), attempt: s.attempt };
  }
  // Whom a running run waits for, worded as on every page of the app (workflows/model/run-status.ts).
  const live = run.status === 'running' || run.status === 'queued';
  const waits = live ? runWaits(plan, settled, { now: Date.now(), runCreatedAt: run.createdAt }) : [];
  // A stage waiting for a runner reads queued, as on the run page.
  for (const w of waits) {
    if (w.kind !== 'runner') continue;
    const s = stages[w.stageId];
    stages[w.stageId] = { status: 'queued', startedAt: null, endedAt: null, attempt: s?.attempt ?? 0 };
  }
  const described = describeRunStatus(run.status, waits);
  return {
    runId: run.id,
    pipelineId: run.pipelineId,
    pipelineVersion: run.pipelineVersion,
    number: run.number,
    rehearsal: run.rehearsal,
    status: run.status,
    display: { key: described.key, text: described.text },
    startedAt: time(run.startedAt),
    endedAt: time(run.endedAt),
    stages,
  };
}

/** Id of the pipeline's newest run, or null. */
export async function fetchLatestRunId(db: Db, pipelineId: string): Promise<string | null> {
  const row = await db.select({ id: runs.id }).from(runs).where(eq(runs.pipelineId, pipelineId)).orderBy(desc(runs.number)).limit(1).get();
  return row?.id ?? null;
}

/** Whether a share token still works (pipeline there, not revoked, not expired). */
export async function fetchTokenState(db: Db, tokenId: string, now = Date.now()): Promise<TokenState> {
  const row = await db
    .select({ revokedAt: shareTokens.revokedAt, expiresAt: shareTokens.expiresAt, deletedAt: pipelines.deletedAt })
    .from(shareTokens)
    .innerJoin(pipelines, eq(pipelines.id, shareTokens.pipelineId))
    .where(eq(shareTokens.id, tokenId))
    .get();
  if (!row) return { state: 'unknown' };
  if (row.deletedAt) return { state: 'deleted' };
  if (row.revokedAt) return { state: 'revoked' };
  if (row.expiresAt && row.expiresAt.getTime() <= now) return { state: 'expired' };
  return { state: 'live' };
}

type Topic<T> = {
  key: string;
  listeners: Set<Listener<T>>;
  last?: Published<T>;
  timer?: ReturnType<typeof setTimeout>;
  inFlight: boolean;
  again: boolean;
  failures: number;
};

type Source<T> = { intervalMs: number; fetch: (db: Db, key: string) => Promise<T> };

export type RunHubOptions = {
  /** The database (default: the app's, from `DATABASE_URL`). */
  getDb?: () => Promise<Db>;
  /** How often a watched run is polled, in ms. Default 500. */
  runIntervalMs?: number;
  /** How often a watched pipeline's latest run and a watched token are polled, in ms. Default 1000. */
  slowIntervalMs?: number;
};

export type RunHub = ReturnType<typeof createRunHub>;

/** A hub with its own timers and topics (the app uses the shared `getRunHub()`). */
export function createRunHub(options: RunHubOptions = {}) {
  const dbOf = options.getDb ?? (() => getDb());
  const fast = options.runIntervalMs ?? 500;
  const slow = options.slowIntervalMs ?? 1000;
  const families = new Map<string, Map<string, Topic<unknown>>>();

  function family<T>(name: string, source: Source<T>) {
    const topics = new Map<string, Topic<T>>();
    families.set(name, topics as Map<string, Topic<unknown>>);

    const schedule = (t: Topic<T>, delay: number) => {
      if (t.timer) clearTimeout(t.timer);
      t.timer = setTimeout(() => void poll(t), delay);
      t.timer.unref?.();
    };

    async function poll(t: Topic<T>) {
      t.timer = undefined;
      if (t.listeners.size === 0) return;
      if (t.inFlight) {
        t.again = true;
        return;
      }
      t.inFlight = true;
      try {
        const value = await source.fetch(await dbOf(), t.key);
        const json = JSON.stringify(value);
        t.failures = 0;
        if (json !== t.last?.json) {
          const update = { value, json, at: Date.now() };
          t.last = update;
          for (const l of [...t.listeners]) {
            try {
              l(update);
            } catch (err) {
              console.error(`[run-hub] a ${name} listener failed:`, err);
            }
          }
        }
      } catch (err) {
        if (t.failures++ === 0) console.error(`[run-hub] polling ${name} ${t.key} failed:`, err instanceof Error ? err.message : err);
      } finally {
        t.inFlight = false;
      }
      if (t.listeners.size === 0) {
        topics.delete(t.key);
        return;
      }
      // After failures, back off (up to 10 s) instead of hammering a locked or missing database.
      schedule(t, t.again ? 0 : Math.min(10_000, source.intervalMs * 2 ** Math.min(t.failures, 5)));
      t.again = false;
    }

    return {
      subscribe(key: string, listener: Listener<T>): () => void {
        let t = topics.get(key);
        if (!t) {
          t = { key, listeners: new Set(), inFlight: false, again: false, failures: 0 };
          topics.set(key, t);
        }
        const topic = t;
        topic.listeners.add(listener);
        if (topic.last) {
          const last = topic.last;
          queueMicrotask(() => topic.listeners.has(listener) && listener(last));
        }
        if (!topic.timer && !topic.inFlight) schedule(topic, 0);
        let done = false;
        return () => {
          if (done) return;
          done = true;
          topic.listeners.delete(listener);
          if (topic.listeners.size === 0) {
            if (topic.timer) clearTimeout(topic.timer);
            topic.timer = undefined;
            if (!topic.inFlight) topics.delete(key);
          }
        };
      },
      /** Poll now (after a change written by this process). */
      poke(key: string) {
        const t = topics.get(key);
        if (t && t.listeners.size > 0) schedule(t, 0);
      },
    };
  }

  const runFamily = family<RunSnapshot | null>('run', { intervalMs: fast, fetch: fetchRunSnapshot });
  const latestFamily = family<string | null>('latest', { intervalMs: slow, fetch: fetchLatestRunId });
  const tokenFamily = family<TokenState>('token', { intervalMs: slow, fetch: (db, id) => fetchTokenState(db, id) });
  const customFamilies = new Map<string, unknown>();

  /**
   * A family of topics of the caller's own, created on first use of `name` (the
   * app's run page, runs list and approvals use it: server/live/app-live.ts).
   * Same rules as the built-in ones: one poll per key while somebody listens.
   */
  function topics<T>(name: string, source: { intervalMs?: number; fetch: (db: Db, key: string) => Promise<T> }) {
    let f = customFamilies.get(name) as ReturnType<typeof family<T>> | undefined;
    if (!f) {
      f = family<T>(name, { intervalMs: source.intervalMs ?? fast, fetch: source.fetch });
      customFamilies.set(name, f);
    }
    return f;
  }

  return {
    /** Follows a run's status; the listener gets null when the run does not exist. Returns the unsubscribe function. */
    subscribeRun: (runId: string, listener: Listener<RunSnapshot | null>) => runFamily.subscribe(runId, listener),
    /** Follows which run is the pipeline's newest (null before the first run). */
    subscribeLatestRun: (pipelineId: string, listener: Listener<string | null>) => latestFamily.subscribe(pipelineId, listener),
    /** Follows whether a share token still works. */
    watchShareToken: (tokenId: string, listener: Listener<TokenState>) => tokenFamily.subscribe(tokenId, listener),
    pokeRun: (runId: string) => runFamily.poke(runId),
    pokePipeline: (pipelineId: string) => latestFamily.poke(pipelineId),
    pokeShareToken: (tokenId: string) => tokenFamily.poke(tokenId),
    topics,
    /** Watched topics and subscribers (for tests and the benchmark). */
    stats() {
      const out: Record<string, { topics: number; subscribers: number }> = {};
      for (const [name, topics] of families) {
        let subscribers = 0;
        for (const t of topics.values()) subscribers += t.listeners.size;
        out[name] = { topics: topics.size, subscribers };
      }
      return out;
    },
  };
}

const globalForHub = globalThis as unknown as { pipewrightRunHub?: RunHub };

/** The process's hub (shared by every SSE stream in this server). */
export function getRunHub(): RunHub {
  return (globalForHub.pipewrightRunHub ??= createRunHub());
}

/** Subscribes to a run's live status on the process's hub (for the app's run page as well as embeds). */
export function subscribeRun(runId: string, listener: Listener<RunSnapshot | null>): () => void {
  return getRunHub().subscribeRun(runId, listener);
}
