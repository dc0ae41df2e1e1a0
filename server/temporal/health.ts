/**
 * Is the Temporal server reachable? For the web app's banner, for telling
 * people why a start, decision or cancel was refused, and for reconnecting.
 *
 * 1. `probeTemporal()` asks the server for its system info with a short
 *    deadline through the process's client. A failure drops the cached client
 *    (server/temporal/client.ts), so the next call opens a fresh connection
 *    instead of waiting out gRPC's reconnect backoff (up to two minutes):
 *    the app reconnects as soon as the server is back, without a restart.
 * 2. The last known state is kept per process; listeners (the live hub) hear
 *    of every change, including failures services notice (`noteTemporalDown`).
 * 3. `unavailableError()` turns a failed Temporal call into the error people
 *    see: "cannot reach Temporal" when the server is down, else "no worker
 *    answered" (the server is up but nothing polls the queue).
 */
import { isGrpcServiceError, type Client } from '@temporalio/client';
import { runnerOffline, temporalUnreachable } from '../errors';
import { dropTemporalClient, getTemporalClient } from './client';

export type TemporalStatus = { up: boolean };

type State = { status: TemporalStatus | null; at: number; failures: number; listeners: Set<(s: TemporalStatus) => void> };
const g = globalThis as unknown as { pipewrightTemporalHealth?: State };
const state = (): State => (g.pipewrightTemporalHealth ??= { status: null, at: 0, failures: 0, listeners: new Set() });

const GRPC_UNAVAILABLE = 14;

function record(up: boolean): TemporalStatus {
  const s = state();
  const changed = s.status?.up !== up;
  s.status = { up };
  s.at = Date.now();
  if (changed) for (const l of [...s.listeners]) l(s.status);
  return s.status;
}

/** The last state seen (null before the first probe or call). */
export function lastTemporalStatus(): TemporalStatus | null {
  return state().status;
}

/** Hears every change of the state (the live hub pokes its banner topic). */
export function onTemporalStatus(listener: (s: TemporalStatus) => void): () => void {
  state().listeners.add(listener);
  return () => state().listeners.delete(listener);
}

/** Whether an error says the server could not be reached at all (refused, reset, no route, connect timeout). */
export function isConnectionError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (isGrpcServiceError(e) && e.code === GRPC_UNAVAILABLE) return true;
    const message = e instanceof Error ? e.message : '';
    if (/ECONNREFUSED|ECONNRESET|EHOSTUNREACH|No connection established|Failed to connect before the deadline|TransportError/i.test(message)) return true;
  }
  return false;
}

/** One round trip to the server with `client`; throws when it does not answer in `timeoutMs`. */
async function ping(client: Client, timeoutMs: number) {
  await client.connection.withDeadline(Date.now() + timeoutMs, () => client.connection.workflowService.getSystemInfo({}));
}

/**
 * Asks the server (through `getClient`, default the process's client) whether
 * it answers. Down means refused outright, or no answer twice in a row (one
 * slow answer on a busy machine is not an outage).
 */
export async function probeTemporal(opts: { getClient?: () => Promise<Client>; timeoutMs?: number } = {}): Promise<TemporalStatus> {
  const getClient = opts.getClient ?? getTemporalClient;
  const s = state();
  try {
    await ping(await getClient(), opts.timeoutMs ?? 5000);
    s.failures = 0;
    return record(true);
  } catch (err) {
    s.failures++;
    if (getClient === getTemporalClient) dropTemporalClient();
    if (isConnectionError(err) || s.failures >= 2) return record(false);
    return s.status ?? { up: true };
  }
}

/** A service saw a connection failure: tell the banner, and reconnect on the next call. */
export function noteTemporalDown(): void {
  record(false);
  dropTemporalClient();
}

/**
 * The error for a Temporal call that failed for want of an answer. `notDone`
 * says what did not happen ("The run was not started"). Anything else (a
 * refusal by the workflow, a conflict) is the caller's to handle before this.
 */
export async function unavailableError(err: unknown, getClient: () => Promise<Client>, notDone: string, workerDetail?: string) {
  // A connection error says it outright; a passed deadline may mean the server or only the worker is gone.
  const down = isConnectionError(err) || !(await probeTemporal({ getClient, timeoutMs: 2000 })).up;
  if (down) {
    noteTemporalDown();
    return temporalUnreachable(notDone);
  }
  return runnerOffline(workerDetail);
}
