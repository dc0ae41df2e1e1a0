'use client';
/**
 * Live updates in the browser: one EventSource per tab on `/api/events`
 * (app/api/events/route.ts), no polling loops.
 *
 * 1. Components say what they show: `useLiveRun(runId)` (the run page),
 *    `useLiveLog(…)` (the log pane's stage), `useLiveRunsList()` (runs lists);
 *    `<LiveBridge>` (in the app shell) always asks for the approvals count.
 *    The stream is opened for exactly that and reopened when it changes
 *    (another stage picked, another page); changes within one render are
 *    coalesced.
 * 2. Events go into React Query's cache: `run` → `runs.get`, `approvals` →
 *    `approvals.pending`; `runs` (something started or changed state) makes the
 *    runs lists refetch once; `log` text goes to the log pane.
 * 3. `temporal` events (`{ up }`) feed `useTemporalUp()`: the banner saying
 *    that runs cannot be started or decided while the Temporal server is
 *    unreachable appears and goes away without a reload.
 * 4. Dropped connections come back on their own (the EventSource retries;
 *    after an HTTP error this module retries with backoff and checks the
 *    session, which sends a signed-out person to the sign-in page).
 */
import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useSyncExternalStore } from 'react';
import superjson from 'superjson';
import { useTRPC } from '@/app/trpc/react';

export type LogText = { stream: string; text: string; attempt: number };
export type LogEvent = { runId: string; nodeId: string; from: number; chunks: LogText[]; complete: boolean };
export type LiveStatus = 'idle' | 'connecting' | 'open' | 'retrying';

type LogWatch = { runId: string; nodeId: string; offset: () => number; onLog: (e: LogEvent) => void };

export type LiveHandlers = {
  run: (data: unknown) => void;
  approvals: (data: unknown) => void;
  runsChanged: () => void;
  /** The stream was refused or the session ended: check the session (a 401 goes to sign-in). */
  checkSession: () => void;
};

class LiveClient {
  private es: EventSource | null = null;
  private key = '';
  private runs = new Map<string, number>();
  private log: LogWatch | null = null;
  private runsWatchers = 0;
  private approvalsWatchers = 0;
  private lastFingerprint: string | null = null;
  private scheduled = false;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private failures = 0;
  private status: LiveStatus = 'idle';
  private statusListeners = new Set<() => void>();
  /** Whether the Temporal server answers, as the server last said (null: not known yet). */
  private temporalUp: boolean | null = null;
  handlers: LiveHandlers | null = null;

  watchRun(runId: string) {
    this.runs.set(runId, (this.runs.get(runId) ?? 0) + 1);
    this.schedule();
    return () => {
      const n = (this.runs.get(runId) ?? 1) - 1;
      if (n > 0) this.runs.set(runId, n);
      else this.runs.delete(runId);
      this.schedule();
    };
  }

  watchLog(watch: LogWatch) {
    this.log = watch;
    this.schedule();
    return () => {
      if (this.log === watch) this.log = null;
      this.schedule();
    };
  }

  watchRunsList() {
    this.runsWatchers++;
    this.schedule();
    return () => {
      this.runsWatchers--;
      if (this.runsWatchers === 0) this.lastFingerprint = null;
      this.schedule();
    };
  }

  watchApprovals() {
    this.approvalsWatchers++;
    this.schedule();
    return () => {
      this.approvalsWatchers--;
      this.schedule();
    };
  }

  getStatus = () => this.status;
  getTemporalUp = () => this.temporalUp;
  subscribeStatus = (l: () => void) => {
    this.statusListeners.add(l);
    return () => this.statusListeners.delete(l);
  };

  private setStatus(s: LiveStatus) {
    if (s === this.status) return;
    this.status = s;
    for (const l of this.statusListeners) l();
  }

  /** What the stream must carry, without the log offset (which changes all the time). */
  private wanted(): { key: string; url: string } {
    const p = new URLSearchParams();
    const run = this.log?.runId ?? this.runs.keys().next().value;
    if (run) p.set('run', run);
    if (this.log && this.log.runId === run) p.set('stage', this.log.nodeId);
    if (this.approvalsWatchers > 0) p.set('approvals', '1');
    if (this.runsWatchers > 0) p.set('runs', '1');
    const key = p.toString();
    if (this.log && this.log.runId === run) p.set('offset', String(this.log.offset()));
    return { key, url: key ? `/api/events?${p}` : '' };
  }

  private schedule() {
    if (this.scheduled) return;
    this.scheduled = true;
    setTimeout(() => {
      this.scheduled = false;
      this.reconcile();
    }, 0);
  }

  private reconcile(force = false) {
    const { key, url } = this.wanted();
    if (!force && key === this.key && (this.es || this.retryTimer)) return;
    this.close();
    this.key = key;
    if (!url) return this.setStatus('idle');
    this.open(url);
  }

  private close() {
    this.es?.close();
    this.es = null;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private open(url: string) {
    const es = new EventSource(url);
    this.es = es;
    this.setStatus('connecting');
    const on = (name: string, fn: (data: string) => void) =>
      es.addEventListener(name, (e) => {
        if (this.es !== es) return;
        try {
          fn((e as MessageEvent<string>).data);
        } catch (err) {
          console.error(`[live] bad ${name} event`, err);
        }
      });
    es.onopen = () => {
      if (this.es !== es) return;
      this.failures = 0;
      this.setStatus('open');
    };
    es.onerror = () => {
      if (this.es !== es) return;
      if (es.readyState === EventSource.CLOSED) {
        // Refused (401, 5xx): the browser gives up; try again later and check the session meanwhile.
        this.es = null;
        this.failures++;
        this.setStatus('retrying');
        this.handlers?.checkSession();
        const delay = Math.min(30_000, 1000 * 2 ** Math.min(this.failures - 1, 5));
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          this.reconcile(true);
        }, delay);
      } else {
        this.setStatus('retrying'); // the EventSource reconnects by itself
      }
    };
    on('run', (d) => this.handlers?.run(JSON.parse(d)));
    on('approvals', (d) => this.handlers?.approvals(JSON.parse(d)));
    on('log', (d) => {
      const e = JSON.parse(d) as LogEvent;
      if (this.log && this.log.runId === e.runId && this.log.nodeId === e.nodeId) this.log.onLog(e);
    });
    on('runs', (d) => {
      const fp = JSON.stringify((JSON.parse(d) as { fingerprint: unknown }).fingerprint);
      const before = this.lastFingerprint;
      this.lastFingerprint = fp;
      if (before !== null && before !== fp) this.handlers?.runsChanged();
    });
    on('temporal', (d) => {
      const up = (JSON.parse(d) as { up?: unknown }).up === true;
      if (up === this.temporalUp) return;
      this.temporalUp = up;
      for (const l of this.statusListeners) l();
    });
    on('gone', () => {
      this.close();
      this.setStatus('retrying');
      this.handlers?.checkSession();
    });
  }
}

let client: LiveClient | null = null;
function live(): LiveClient | null {
  if (typeof window === 'undefined' || typeof EventSource === 'undefined') return null;
  return (client ??= new LiveClient());
}

/** Wires the stream to React Query and keeps the approvals count live. Render once per page (the app shell does). */
export function LiveBridge() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  useEffect(() => {
    const c = live();
    if (!c) return;
    c.handlers = {
      run: (data) => {
        const run = data ? superjson.deserialize<{ id: string }>(data as Parameters<typeof superjson.deserialize>[0]) : null;
        if (run) queryClient.setQueryData(trpc.runs.get.queryKey({ id: run.id }), run as never);
      },
      approvals: (data) => {
        const list = superjson.deserialize(data as Parameters<typeof superjson.deserialize>[0]);
        queryClient.setQueryData(trpc.approvals.pending.queryKey(), list as never);
      },
      runsChanged: () => {
        void queryClient.invalidateQueries(trpc.runs.list.pathFilter());
        void queryClient.invalidateQueries(trpc.pipelines.list.pathFilter());
        void queryClient.invalidateQueries(trpc.promotion.board.pathFilter());
        // A trigger that fired started a run: its "Last: …" changed.
        void queryClient.invalidateQueries(trpc.triggers.list.pathFilter());
      },
      checkSession: () => {
        // A 401 here sends the reader to sign in (app/trpc/query-client.ts).
        void queryClient.invalidateQueries(trpc.approvals.pending.pathFilter());
      },
    };
    const stop = c.watchApprovals();
    return () => {
      stop();
    };
  }, [trpc, queryClient]);
  return null;
}

/** Keeps `runs.get({ id: runId })` live while the component is mounted. */
export function useLiveRun(runId: string) {
  useEffect(() => (runId ? live()?.watchRun(runId) : undefined), [runId]);
}

/** Keeps every `runs.list` query fresh (refetched when runs start or change state) while mounted. */
export function useLiveRunsList() {
  useEffect(() => live()?.watchRunsList(), []);
}

/**
 * Streams a stage's log: `onLog` receives text from character `from` on
 * (possibly again after a reconnect: compare with your own offset).
 */
export function useLiveLog(runId: string, nodeId: string, offset: () => number, onLog: (e: LogEvent) => void) {
  const handler = useRef(onLog);
  const getOffset = useRef(offset);
  useEffect(() => {
    handler.current = onLog;
    getOffset.current = offset;
  });
  useEffect(
    () => live()?.watchLog({ runId, nodeId, offset: () => getOffset.current(), onLog: (e) => handler.current(e) }),
    [runId, nodeId],
  );
}

/** The stream's state, for a "live" / "reconnecting…" indicator. */
export function useLiveStatus(): LiveStatus {
  const c = live();
  return useSyncExternalStore(
    c ? c.subscribeStatus : () => () => undefined,
    c ? c.getStatus : () => 'idle',
    () => 'idle',
  );
}

/** Whether the Temporal server answers (null until the server has said), live. */
export function useTemporalUp(): boolean | null {
  const c = live();
  return useSyncExternalStore(
    c ? c.subscribeStatus : () => () => undefined,
    c ? c.getTemporalUp : () => null,
    () => null,
  );
}
