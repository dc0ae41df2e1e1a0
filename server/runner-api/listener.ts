/**
 * The runner API on its own port, served by the web app's process beside
 * Next (started from instrumentation.ts when `PIPEWRIGHT_RUNNER_API_PORT` is
 * set; `npm start` sets it for its local runner).
 *
 * Runners call the control plane twice per stage (begin, finish), and a
 * stage waits for both answers. Through Next each call also goes through its
 * routing (≈ 6 ms per call measured on a 2-core machine, against ≈ 1 ms on a
 * bare `node:http` server); here the same handler answers directly. It is the
 * same process, so stage changes still reach the live pages at once, and the
 * same API (`/api/runner/*`), so a runner works against either URL.
 */
import type { Server } from 'node:http';
import { getEnv } from '../env';
import { handleRunnerApi } from './app-handler';
import { serveRunnerApi } from './handler';

const globalForListener = globalThis as unknown as { pipewrightRunnerApiListener?: Promise<{ url: string; server: Server }> };

/** Starts the listener once per process on `PIPEWRIGHT_RUNNER_API_PORT` and `_HOST`; resolves with its URL, or undefined when no port is set. */
export function startRunnerApiListener(): Promise<{ url: string; server: Server } | undefined> {
  const { PIPEWRIGHT_RUNNER_API_PORT: port, PIPEWRIGHT_RUNNER_API_HOST: host } = getEnv();
  if (!port) return Promise.resolve(undefined);
  globalForListener.pipewrightRunnerApiListener ??= serveRunnerApi(handleRunnerApi, port, host).then(({ url, server }) => {
    console.log(`Runner API listening on ${url}/api/runner/ (beside the web app's own /api/runner/).`);
    return { url, server };
  });
  return globalForListener.pipewrightRunnerApiListener;
}
