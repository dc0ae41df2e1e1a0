/**
 * Live data for the signed-in app (run page, runs lists, approvals badge and
 * inbox), on the process's run hub (server/live/run-hub.ts): one database poll
 * per watched thing, however many pages watch it.
 *
 * Topics:
 * 1. `app-run` (per run, every 200 ms): the run as `runs.get` returns it,
 *    superjson-serialised, so the browser puts it straight into its cache.
 *    Each poll is one small query (a fingerprint of the run's, stages' and
 *    gates' changing columns); the whole run is read only when it changed.
 * 2. `app-log` (per run and stage, every 300 ms): log text written since the
 *    previous poll (a delta, read once for all viewers; each stream keeps its
 *    own offset and fills gaps from the database, see `app/api/events`).
 * 3. `app-gates` (every 700 ms): every waiting gate with its context; each
 *    stream filters it for its person (no query per viewer).
 * 4. `app-runs` (every 1 s): a fingerprint of the runs table (how many, which
 *    are active and in what state); lists refetch when it changes.
 *
 * 5. `app-temporal` (every 2 s while anyone watches): whether the Temporal
 *    server answers (server/temporal/health.ts), for the banner every page
 *    shows while it does not; failures services notice are pushed at once.
 *
 * Writers in this process (a decision, a cancel, a start) call `boostRun` /
 * `liveChanged`: the run is then polled every 20 ms for a few seconds, so the
 * next stage shows up as soon as the worker writes it instead of at the next
 * regular poll. Runners report a stage's start, progress and end to this
 * process (the runner API): those are pushed to the run's topics at once
 * (`stageChangedHere`). Other processes' writes (the control worker's run-state
 * records) are seen by polling.
 */
import { and, count, desc, eq, gt, inArray, max, sql } from 'drizzle-orm';
import superjson from 'superjson';
import type { Db } from '../../db/client';
import { logChunks, runs } from '../../db/schema';
import { onTemporalStatus, probeTemporal, type TemporalStatus } from '../temporal/health';
import { getRunHub, type Listener, type RunHub } from './run-hub';

export const RUN_INTERVAL_MS = 200;
export const LOG_INTERVAL_MS = 300;
export const GATES_INTERVAL_MS = 700;
export const RUNS_INTERVAL_MS = 1000;
export const TEMPORAL_INTERVAL_MS = 2000;
const BOOST_EVERY_MS = 20;
const BOOST_FOR_MS = 3000;

/** superjson's wire form of a value (`{ json, meta }`). */
export type Serialized = ReturnType<typeof superjson.serialize>;

export type LogChunk = { offset: number; stream: string; text: string; attempt: number };
export type LogDelta = { chunks: LogChunk[] };
export type RunsFingerprint = { total: number; newest: number | null; active: [string, string][] };

const logKey = (runId: string, nodeId: string) => `${runId}\n${nodeId}`;

/** Last chunk id seen per watched log (so each poll reads only what is new). */
const logCursors = new Map<string, number>();
const logWatchers = new Map<string, number>();

/** The last detail read per run, with the fingerprint it was read at. */
const details = new Map<string, { fp: string; value: Serialized | null }>();
const DETAILS_KEPT = 2000;

/**
 * Everything about a run that `runs.get` shows and that can change, in one
 * string (one query): run state, and per stage and gate their status, times,
 * attempts and the lengths of their texts (votes, errors, outputs).
 */
async function runFingerprint(db: Db, runId: string): Promise<string> {
  const row = await db.get<{ fp: string | null }>(sql`
    select (
      select coalesce(status, '') || '|' || coalesce(started_at, '') || '|' || coalesce(ended_at, '') || '|' || length(coalesce(error, '')) || '|' || coalesce(cancelled_by, '')
      from runs where id = ${runId}
    ) || '#' || coalesce((
      select group_concat(node_id || ':' || status || ':' || attempt || ':' || executions || ':' || coalesce(started_at, '') || ':' || coalesce(ended_at, '') || ':' || length(coalesce(error, '')) || ':' || length(coalesce(summary, '')) || ':' || length(coalesce(outputs, '')) || ':' || coalesce(progress, '') || ':' || coalesce(runner_id, ''), ',')
      from stage_runs where run_id = ${runId}
    ), '') || '#' || coalesce((
      select group_concat(node_id || ':' || status || ':' || length(votes) || ':' || coalesce(decided_at, '') || ':' || coalesce(deadline_at, ''), ',')
      from gates where run_id = ${runId}
    ), '') as fp
  `);
  return row?.fp ?? '';
}

async function fetchRunDetail(db: Db, runId: string): Promise<Serialized | null> {
  const fp = await runFingerprint(db, runId);
  const known = details.get(runId);
  if (known && known.fp === fp) return known.value;
  const { getRun } = await import('../services/runs');
  let value: Serialized | null;
  try {
    value = superjson.serialize(await getRun(db, runId));
  } catch (err) {
    if ((err as { code?: string }).code !== 'NOT_FOUND') throw err;
    value = null;
  }
  details.delete(runId);
  if (details.size >= DETAILS_KEPT) details.delete(details.keys().next().value!);
  details.set(runId, { fp, value });
  return value;
}

async function fetchLogDelta(db: Db, key: string): Promise<LogDelta> {
  const [runId, nodeId] = key.split('\n') as [string, string];
  const where = and(eq(logChunks.runId, runId), eq(logChunks.nodeId, nodeId));
  const cursor = logCursors.get(key);
  if (cursor === undefined) {
    // First poll: start from what is there now (each viewer reads its own backlog).
    const row = await db.select({ id: max(logChunks.id) }).from(logChunks).where(where).get();
    if (logWatchers.has(key)) logCursors.set(key, row?.id ?? 0);
    return { chunks: [] };
  }
  const rows = await db
    .select({ id: logChunks.id, offset: logChunks.offset, stream: logChunks.stream, text: logChunks.text, attempt: logChunks.attempt })
    .from(logChunks)
    .where(and(where, gt(logChunks.id, cursor)))
    .orderBy(logChunks.id)
    .limit(200);
  if (rows.length === 0) return { chunks: [] };
  if (logWatchers.has(key)) logCursors.set(key, rows[rows.length - 1]!.id);
  return { chunks: rows.map(({ id: _id, ...c }) => c) };
}

async function fetchWaiting(db: Db) {
  const { fetchWaitingGates } = await import('../services/approvals');
  return fetchWaitingGates(db);
}

async function fetchRunsFingerprint(db: Db): Promise<RunsFingerprint> {
  const [totals, active] = await Promise.all([
    db.select({ total: count(), newest: max(runs.createdAt) }).from(runs).get(),
    db
      .select({ id: runs.id, status: runs.status })
      .from(runs)
      .where(inArray(runs.status, ['queued', 'running']))
      .orderBy(desc(runs.createdAt))
      .limit(500),
  ]);
  return {
    total: totals?.total ?? 0,
    newest: totals?.newest ? new Date(totals.newest).getTime() : null,
    active: active.map((r) => [r.id, r.status]),
  };
}

export type WaitingGates = Awaited<ReturnType<typeof fetchWaiting>>;

function families(hub: RunHub) {
  return {
    run: hub.topics<Serialized | null>('app-run', { intervalMs: RUN_INTERVAL_MS, fetch: fetchRunDetail }),
    log: hub.topics<LogDelta>('app-log', { intervalMs: LOG_INTERVAL_MS, fetch: fetchLogDelta }),
    gates: hub.topics<WaitingGates>('app-gates', { intervalMs: GATES_INTERVAL_MS, fetch: fetchWaiting }),
    runs: hub.topics<RunsFingerprint>('app-runs', { intervalMs: RUNS_INTERVAL_MS, fetch: fetchRunsFingerprint }),
    temporal: hub.topics<TemporalStatus>('app-temporal', { intervalMs: TEMPORAL_INTERVAL_MS, fetch: () => probeTemporal() }),
  };
}

export type AppLive = ReturnType<typeof createAppLive>;

/** The app's live topics on `hub` (tests pass their own hub; the app uses `getAppLive()`). */
export function createAppLive(hub: RunHub) {
  const f = families(hub);
  // A start, decision or cancel that found Temporal gone: tell the banners now, not at the next probe.
  onTemporalStatus(() => f.temporal.poke('server'));
  const boosts = new Map<string, { timer: ReturnType<typeof setInterval>; until: number }>();
  /** Something changed that lists and the approvals badge show: poll those now, and once more shortly after. */
  const changed = () => {
    const poke = () => {
      f.gates.poke('waiting');
      f.runs.poke('all');
    };
    poke();
    setTimeout(poke, 250).unref?.();
    setTimeout(poke, 1000).unref?.();
  };
  return {
    hub,
    /** The run as `runs.get` returns it (superjson), at once and on every change; null when there is no such run. */
    subscribeRun: (runId: string, l: Listener<Serialized | null>) => f.run.subscribe(runId, l),
    /** New log text of a stage as it is written. */
    subscribeLog(runId: string, nodeId: string, l: Listener<LogDelta>): () => void {
      const key = logKey(runId, nodeId);
      logWatchers.set(key, (logWatchers.get(key) ?? 0) + 1);
      const unsub = f.log.subscribe(key, l);
      let done = false;
      return () => {
        if (done) return;
        done = true;
        unsub();
        const left = (logWatchers.get(key) ?? 1) - 1;
        if (left > 0) logWatchers.set(key, left);
        else {
          logWatchers.delete(key);
          logCursors.delete(key);
        }
      };
    },
    /** Every waiting gate (filter with `pendingFor`). */
    subscribeGates: (l: Listener<WaitingGates>) => f.gates.subscribe('waiting', l),
    /** Changes to the set of runs (a start, a status change, an end). */
    subscribeRuns: (l: Listener<RunsFingerprint>) => f.runs.subscribe('all', l),
    /** Whether the Temporal server answers, at once and on every change. */
    subscribeTemporal: (l: Listener<TemporalStatus>) => f.temporal.subscribe('server', l),
    changed,
    /** A write to one of the run's stages was just committed in this process (see `stageChangedHere`). */
    stageChanged(runId: string) {
      f.run.poke(runId);
      f.runs.poke('all');
      hub.pokeRun(runId);
    },
    /**
     * A run is about to change (a decision or cancel just went through): poll it
     * every 20 ms for 3 s, so its next state reaches the pages at once.
     */
    boostRun(runId: string, forMs = BOOST_FOR_MS) {
      changed();
      const until = Date.now() + forMs;
      const existing = boosts.get(runId);
      if (existing) {
        existing.until = Math.max(existing.until, until);
        return;
      }
      const entry = {
        until,
        timer: setInterval(() => {
          if (Date.now() > entry.until) {
            clearInterval(entry.timer);
            boosts.delete(runId);
            return;
          }
          f.run.poke(runId);
          f.gates.poke('waiting');
        }, BOOST_EVERY_MS),
      };
      entry.timer.unref?.();
      boosts.set(runId, entry);
      f.run.poke(runId);
    },
  };
}

const globalForLive = globalThis as unknown as { pipewrightAppLive?: AppLive };

/** The process's live topics (on the shared hub). */
export function getAppLive(): AppLive {
  return (globalForLive.pipewrightAppLive ??= createAppLive(getRunHub()));
}

/** After a decision or cancel on `runId` in this process (see the module comment). */
export function boostRun(runId: string): void {
  getAppLive().boostRun(runId);
}

/**
 * A runner told this process (the runner API) that a stage began, moved or finished: the run's
 * pages (app and embeds) and its lists poll now instead of at their next interval.
 */
export function stageChangedHere(runId: string): void {
  getAppLive().stageChanged(runId);
}

/** After a run was started in this process. */
export function liveChanged(): void {
  getAppLive().changed();
}
