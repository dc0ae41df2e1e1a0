/**
 * Live run status for embeds: `/api/embed/stream?token=…&run=latest|<runId>`,
 * one Server-Sent Events stream per viewer.
 *
 * Events: `snapshot` (`{ serverTime, run }`, at once and on every change),
 * `gone` (`{ reason, message }`, then the stream ends: the link was revoked,
 * expired or its pipeline deleted), and a comment line every 15 s so proxies
 * keep the connection open. Streams share the hub's polls
 * (server/live/run-hub.ts); a disconnect unsubscribes everything.
 * The embed runs in an opaque origin (sandboxed frame), so the answer allows
 * any origin — without credentials, which it never reads.
 */
import { getDb } from '@/db/client';
import { getRunHub, type Published, type RunSnapshot } from '@/server/live/run-hub';
import { authorizeShare } from '@/server/services/embeds';

export const dynamic = 'force-dynamic';

const RUN = /^(latest|[A-Za-z0-9_-]{1,64})$/;
const HEARTBEAT_MS = 15_000;
/** A viewer that has not read this much of its stream is dropped (it reconnects and starts afresh). */
const MAX_BUFFERED = 1 << 20;

const encoder = new TextEncoder();
const snapshotBytes = new WeakMap<Published<RunSnapshot | null>, Uint8Array>();

/** The `snapshot` event of an update, encoded once for every viewer. */
function snapshotEvent(u: Published<RunSnapshot | null>): Uint8Array {
  let bytes = snapshotBytes.get(u);
  if (!bytes) {
    bytes = encoder.encode(`event: snapshot\ndata: {"serverTime":${u.at},"run":${u.json}}\n\n`);
    snapshotBytes.set(u, bytes);
  }
  return bytes;
}

const cors = { 'Access-Control-Allow-Origin': '*', 'Cache-Control': 'no-store' };

const GONE: Record<string, string> = {
  revoked: 'This link was revoked.',
  expired: 'This link has expired.',
  deleted: 'This pipeline no longer exists.',
  unknown: 'This link is not valid.',
};

export async function GET(req: Request) {
  const url = new URL(req.url);
  const run = url.searchParams.get('run') || 'latest';
  if (!RUN.test(run)) return Response.json({ error: 'invalid run' }, { status: 400, headers: cors });
  const db = await getDb();
  const access = await authorizeShare(db, url.searchParams.get('token'), { need: 'view' });
  if (!access.ok) return Response.json({ error: access.message }, { status: access.status, headers: cors });
  const pipelineId = access.pipeline.id;
  const tokenId = access.token.id;
  const hub = getRunHub();

  let cleanup = () => {};
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      let closed = false;
      let unsubRun: (() => void) | undefined;
      let followed: string | null | undefined;
      let heartbeat: ReturnType<typeof setInterval> | undefined;
      const unsubs: (() => void)[] = [];

      const send = (chunk: Uint8Array | string) => {
        if (closed) return;
        if ((controller.desiredSize ?? 0) < -MAX_BUFFERED) return close();
        try {
          controller.enqueue(typeof chunk === 'string' ? encoder.encode(chunk) : chunk);
        } catch {
          close();
        }
      };
      const close = () => {
        if (closed) return;
        closed = true;
        clearInterval(heartbeat);
        unsubRun?.();
        for (const u of unsubs) u();
        req.signal.removeEventListener('abort', close);
        try {
          controller.close();
        } catch {
          // already closed by the client
        }
      };
      cleanup = close;

      const follow = (runId: string | null) => {
        if (runId === followed) return;
        followed = runId;
        unsubRun?.();
        unsubRun = undefined;
        if (!runId) return send(`event: snapshot\ndata: {"serverTime":${Date.now()},"run":null}\n\n`);
        unsubRun = hub.subscribeRun(runId, (u) => {
          // A fixed run of another pipeline is never shown (the token is for this pipeline only).
          if (u.value && u.value.pipelineId !== pipelineId) return close();
          send(snapshotEvent(u));
        });
      };

      send('retry: 3000\n\n');
      unsubs.push(
        hub.watchShareToken(tokenId, (u) => {
          if (u.value.state === 'live') return;
          send(`event: gone\ndata: ${JSON.stringify({ reason: u.value.state, message: GONE[u.value.state] ?? GONE.unknown })}\n\n`);
          close();
        }),
      );
      if (run === 'latest') unsubs.push(hub.subscribeLatestRun(pipelineId, (u) => follow(u.value)));
      else follow(run);
      if (!closed) heartbeat = setInterval(() => send(': ping\n\n'), HEARTBEAT_MS);
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
      'Access-Control-Allow-Origin': '*',
    },
  });
}
