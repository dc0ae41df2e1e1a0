/**
 * Live updates for the signed-in app: `/api/events?run=<id>&stage=<node>&offset=<n>&approvals=1&runs=1`,
 * one Server-Sent Events stream per browser tab (the page opens one
 * EventSource and says what it shows; one stream rather than one per widget
 * because browsers allow only six HTTP/1.1 connections per site).
 *
 * Requires the session cookie (401 otherwise); a stream whose session ends is
 * told so (`gone`) within a minute and closed. Every signed-in role may read
 * runs, logs and gates (as through `runs.get` and `approvals.pending`).
 *
 * Limits (each stream costs polls and timers): one run per stream (a second
 * `run` is 400), at most `PIPEWRIGHT_MAX_STREAMS_PER_SESSION` (8) open streams per session
 * (the next is 429 until one closes, server/live/stream-limits.ts), and a run
 * that does not exist is answered with one `run: null` and never polled.
 *
 * Events (data is JSON):
 * - `run`: the run exactly as `runs.get` returns it, superjson-serialised
 *   (`{ json, meta }`), at once and on every change; `null` if there is no such run.
 * - `log`: `{ runId, nodeId, from, chunks: [{ stream, text, attempt }], complete }`:
 *   the selected stage's log from character `from` on (first what was written
 *   after `offset`, then text as the worker writes it); `complete` once the
 *   stage has finished and everything was sent.
 * - `approvals`: the gates waiting for this person, as `approvals.pending`
 *   returns them (superjson), at once and whenever it changes.
 * - `runs`: `{ fingerprint }` when runs were started or changed state (lists refetch).
 * - `temporal`: `{ up }`, whether the Temporal server answers, at once and on
 *   every change (every stream; the app shows a banner while it is down).
 * - `gone`: `{ reason }` (signed out); the stream then ends.
 * A comment line every 15 s keeps proxies from closing an idle stream.
 */
import { eq } from 'drizzle-orm';
import superjson from 'superjson';
import { getDb } from '@/db/client';
import { runs } from '@/db/schema';
import type { SessionUser } from '@/server/auth/session';
import { getSessionUser } from '@/server/auth/session';
import { getAppLive, type LogChunk, type Serialized, type WaitingGates } from '@/server/live/app-live';
import type { Published } from '@/server/live/run-hub';
import { getStreamCounter } from '@/server/live/stream-limits';
import { pendingFor } from '@/server/services/approvals';
import { getLogs } from '@/server/services/runs';

export const dynamic = 'force-dynamic';

const RUN_ID = /^[A-Za-z0-9_-]{1,64}$/;
const NODE_ID = /^[A-Za-z_][A-Za-z0-9_-]{0,127}$/;
const HEARTBEAT_MS = 15_000;
const SESSION_CHECK_MS = 60_000;
/** A tab that has not read this much of its stream is dropped (its EventSource reconnects and starts afresh). */
const MAX_BUFFERED = 4 << 20;
/** The log pane shows at most this much; the rest is for Download. */
const MAX_BACKLOG = 4_000_000;
const FINISHED = new Set(['succeeded', 'failed', 'skipped', 'cancelled']);

const encoder = new TextEncoder();
const noStore = { 'Cache-Control': 'no-store' };

/** A `run` event encoded once per change for every stream that follows the run. */
const runEvents = new WeakMap<Published<Serialized | null>, Uint8Array>();
function runEvent(u: Published<Serialized | null>): Uint8Array {
  let bytes = runEvents.get(u);
  if (!bytes) {
    bytes = encoder.encode(`event: run\ndata: ${u.json}\n\n`);
    runEvents.set(u, bytes);
  }
  return bytes;
}

/** Each person's approvals list, computed once per change of the waiting gates for everyone with the same role and groups. */
const approvalsFor = new WeakMap<Published<WaitingGates>, Map<string, string>>();
function approvalsJson(u: Published<WaitingGates>, user: SessionUser): string {
  let perUser = approvalsFor.get(u);
  if (!perUser) {
    perUser = new Map();
    approvalsFor.set(u, perUser);
  }
  const key = `${user.id}\n${user.role}\n${user.groups.join(',')}`;
  let json = perUser.get(key);
  if (json === undefined) {
    json = JSON.stringify(superjson.serialize(pendingFor(u.value, user)));
    perUser.set(key, json);
  }
  return json;
}

type StageJson = { id: string; status: string };

/** A stage's status inside a serialised run (without deserialising it). */
function stageStatus(run: Serialized | null, nodeId: string): string | undefined {
  const stages = (run?.json as { stages?: StageJson[] } | undefined)?.stages;
  return stages?.find((s) => s.id === nodeId)?.status;
}

export async function GET(req: Request) {
  const url = new URL(req.url);
  const runId = url.searchParams.get('run') || undefined;
  const nodeId = url.searchParams.get('stage') || undefined;
  const offset = Math.max(0, Math.floor(Number(url.searchParams.get('offset') ?? 0)) || 0);
  const wantApprovals = url.searchParams.get('approvals') === '1';
  const wantRuns = url.searchParams.get('runs') === '1';
  if ((runId && !RUN_ID.test(runId)) || (nodeId && (!runId || !NODE_ID.test(nodeId)))) {
    return Response.json({ error: 'invalid run or stage' }, { status: 400, headers: noStore });
  }
  if (url.searchParams.getAll('run').length > 1 || url.searchParams.getAll('stage').length > 1) {
    return Response.json({ error: 'One run (and one stage) per stream.' }, { status: 400, headers: noStore });
  }
  const user = await getSessionUser(req.headers);
  if (!user) return Response.json({ error: 'Sign in first.' }, { status: 401, headers: noStore });
  const db = await getDb();
  const live = getAppLive();
  // Every signed-in role may see every run; one that does not exist is not worth a poll.
  const runExists = runId ? (await db.select({ id: runs.id }).from(runs).where(eq(runs.id, runId)).get()) !== undefined : false;
  const counter = getStreamCounter();
  const release = counter.acquire(user.sessionId ?? user.id);
  if (!release) {
    return Response.json(
      { error: `Too many live streams open for this session (at most ${counter.max}): close other Pipewright tabs and reload.` },
      { status: 429, headers: { ...noStore, 'Retry-After': '10' } },
    );
  }

  let cleanup = () => {};
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      let closed = false;
      const unsubs: (() => void)[] = [];
      const timers: ReturnType<typeof setInterval>[] = [];

      const send = (chunk: string | Uint8Array) => {
        if (closed) return;
        if ((controller.desiredSize ?? 0) < -MAX_BUFFERED) return close();
        try {
          controller.enqueue(typeof chunk === 'string' ? encoder.encode(chunk) : chunk);
        } catch {
          close();
        }
      };
      const event = (name: string, json: string) => send(`event: ${name}\ndata: ${json}\n\n`);
      const close = () => {
        if (closed) return;
        closed = true;
        release();
        for (const t of timers) clearInterval(t);
        for (const u of unsubs) u();
        unlog?.();
        req.signal.removeEventListener('abort', close);
        try {
          controller.close();
        } catch {
          // already closed by the client
        }
      };
      cleanup = close;

      // ── Log of the selected stage ──────────────────────────────────────────
      let sent = offset;
      let backlogDone = false;
      let complete = false;
      let buffered: LogChunk[] = [];
      let unlog: (() => void) | undefined;
      let queue = Promise.resolve();
      const enqueue = (job: () => Promise<void> | void) => {
        queue = queue.then(job).catch((err: unknown) => {
          console.error('[events] log stream failed:', err instanceof Error ? err.message : err);
        });
      };
      const sendLog = (from: number, chunks: { stream: string; text: string; attempt: number }[], done = false) => {
        if (chunks.length === 0 && !done) return;
        event('log', JSON.stringify({ runId, nodeId, from, chunks, complete: done }));
      };
      /** Everything the database has after `sent` (also fills a gap a missed delta left). */
      const readFromDb = async () => {
        let shown = 0;
        for (let page = 0; page < 64 && !closed; page++) {
          const res = await getLogs(db, { runId: runId!, nodeId: nodeId!, afterOffset: sent, limit: 256_000 });
          if (res.nextOffset <= sent) break;
          const from = sent;
          sent = res.nextOffset;
          shown += res.text.length;
          sendLog(from, res.chunks);
          if (shown >= MAX_BACKLOG) break;
        }
      };
      const applyDelta = async (chunks: LogChunk[]) => {
        const out: { stream: string; text: string; attempt: number }[] = [];
        const from = sent;
        for (const c of [...chunks].sort((a, b) => a.offset - b.offset)) {
          const end = c.offset + c.text.length;
          if (end <= sent) continue;
          if (c.offset > sent) {
            // Text we never saw lies in between: read it (and this) from the database.
            sendLog(from, out);
            await readFromDb();
            return;
          }
          out.push({ stream: c.stream, text: c.text.slice(sent - c.offset), attempt: c.attempt });
          sent = end;
        }
        sendLog(from, out);
      };
      const followLog = () => {
        if (!runId || !nodeId || unlog) return;
        unlog = live.subscribeLog(runId, nodeId, (u) => {
          if (u.value.chunks.length === 0) return;
          if (!backlogDone) buffered.push(...u.value.chunks);
          else enqueue(() => applyDelta(u.value.chunks));
        });
      };
      const stopLog = () => {
        unlog?.();
        unlog = undefined;
      };

      send('retry: 3000\n\n');
      event('hello', JSON.stringify({ serverTime: Date.now(), userId: user.id }));

      if (runId && !runExists) {
        event('run', 'null');
      } else if (runId) {
        unsubs.push(
          live.subscribeRun(runId, (u) => {
            send(runEvent(u));
            if (!nodeId) return;
            const status = stageStatus(u.value, nodeId);
            if (status && FINISHED.has(status) && !complete) {
              // The worker writes the whole log before it marks a stage finished: read the rest and stop following.
              complete = true;
              enqueue(async () => {
                if (!backlogDone) return;
                await readFromDb();
                stopLog();
                sendLog(sent, [], true);
              });
            } else if (status && !FINISHED.has(status) && complete) {
              // Retried: the stage runs again.
              complete = false;
              followLog();
            }
          }),
        );
      }
      if (runId && nodeId && runExists) {
        followLog();
        enqueue(async () => {
          await readFromDb();
          backlogDone = true;
          // Marks the end of the backlog (the pane then says "no output yet" rather than "loading").
          event('log', JSON.stringify({ runId, nodeId, from: sent, chunks: [], complete: false }));
          const pending = buffered;
          buffered = [];
          if (pending.length) await applyDelta(pending);
          if (complete) {
            await readFromDb();
            stopLog();
            sendLog(sent, [], true);
          }
        });
      }

      if (wantApprovals) {
        let last = '';
        unsubs.push(
          live.subscribeGates((u) => {
            const json = approvalsJson(u, user);
            if (json === last) return;
            last = json;
            event('approvals', json);
          }),
        );
      }
      if (wantRuns) {
        unsubs.push(live.subscribeRuns((u) => event('runs', `{"fingerprint":${u.json}}`)));
      }

      unsubs.push(live.subscribeTemporal((u) => event('temporal', u.json)));

      timers.push(setInterval(() => send(': ping\n\n'), HEARTBEAT_MS));
      timers.push(
        setInterval(() => {
          void getSessionUser(req.headers)
            .then((still) => {
              if (still?.id === user.id) return;
              event('gone', JSON.stringify({ reason: 'signed-out' }));
              close();
            })
            .catch(() => undefined);
        }, SESSION_CHECK_MS),
      );
      for (const t of timers) t.unref?.();
      if (req.signal.aborted) close();
      else req.signal.addEventListener('abort', close);
    },
    cancel() {
      cleanup();
    },
  });

  return new Response(body, {
    headers: {
      'Content-Type': 'text/event-stream; charset=utf-8',
      // no-transform: Next's gzip would otherwise buffer the stream.
      'Cache-Control': 'no-cache, no-transform',
      'X-Accel-Buffering': 'no',
    },
  });
}
