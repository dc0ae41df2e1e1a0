/**
 * The Temporal client used by the API (one per process, cached on globalThis).
 * Connecting is lazy, so the web app starts even when Temporal is down; calls
 * then fail with a clear "runner offline" error (see server/errors.ts).
 */
import { Client, Connection } from '@temporalio/client';
import { getEnv } from '../env';
import { temporalConnectionOptions } from './connection-options';

type Cached = { client: Promise<Client>; address: string };
const g = globalThis as unknown as { pipewrightTemporal?: Cached };

export function getTemporalClient(): Promise<Client> {
  const opts = temporalConnectionOptions();
  if (g.pipewrightTemporal && g.pipewrightTemporal.address === opts.address) return g.pipewrightTemporal.client;
  const client = Connection.connect({
    address: opts.address,
    tls: opts.tls,
    apiKey: opts.apiKey,
    connectTimeout: '5 seconds',
  }).then((connection) => new Client({ connection, namespace: opts.namespace }));
  // A failed connection is not cached: the next call tries again.
  client.catch(() => {
    if (g.pipewrightTemporal?.client === client) g.pipewrightTemporal = undefined;
  });
  g.pipewrightTemporal = { client, address: opts.address };
  return client;
}

export function taskQueue() {
  return getEnv().TEMPORAL_TASK_QUEUE;
}

/** Forget the cached client (tests that restart the server). */
export async function resetTemporalClient() {
  const cached = g.pipewrightTemporal;
  g.pipewrightTemporal = undefined;
  if (cached) await cached.client.then((c) => c.connection.close()).catch(() => undefined);
}

/**
 * Stop handing out the cached client (the next call connects afresh), and
 * close its connection a minute later, once calls still using it have ended.
 * Used when the server stopped answering: a fresh connection finds it as
 * soon as it is back, where the old channel may sit in gRPC's reconnect backoff.
 */
export function dropTemporalClient(closeAfterMs = 60_000) {
  const cached = g.pipewrightTemporal;
  if (!cached) return;
  g.pipewrightTemporal = undefined;
  setTimeout(() => void cached.client.then((c) => c.connection.close()).catch(() => undefined), closeAfterMs).unref?.();
}
