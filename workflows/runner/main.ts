/**
 * `npm run runner -- --url http://… --token … [--labels linux,k8s]`: a runner
 * process. Executes stages (command, http-check, webhook, k8s-*) for the
 * control plane; reaches only Temporal and the control plane's API.
 *
 * 1. Kills commands a runner that died here left running, then calls in
 *    (heartbeat) to learn its registered labels and the task queues to poll.
 * 2. Polls one Temporal task queue per subset of its labels; reconnects with
 *    backoff when Temporal goes away.
 * 3. Heartbeats every 10 s (last seen, version, host, current stage). A revoked
 *    token stops the runner with a clear message (exit code 3).
 * 4. Ctrl-C / SIGTERM: stops polling and cancels running stages (their
 *    processes are killed) within the grace time.
 */
import { NativeConnection, Runtime } from '@temporalio/worker';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { labelsSatisfy, describeLabels } from '../model/runners';
import { sweepOrphanedCommands } from '../stages/command/executor';
import { assertSandboxAtStartup } from '../stages/command/sandbox';
import { discardWarmSandbox } from '../stages/command/warm-sandbox';
import { ControlPlaneClient, RunnerRevokedError } from './client';
import { parseRunnerConfig, RunnerConfigError, scrubbedEnv } from './config';
import type { HeartbeatResponse } from './protocol';
import { createRunnerWorkers, type RunnerWorkers } from './worker';

const EXIT_REVOKED = 3;

function version(): string {
  try {
    return (JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

async function main() {
  const config = parseRunnerConfig(process.argv.slice(2), process.env);
  // The token stays in this process's memory only: stages never see it.
  delete process.env.PIPEWRIGHT_RUNNER_TOKEN;
  const env = scrubbedEnv(process.env);
  const client = new ControlPlaneClient(config.url, config.token);
  const info = { version: version(), host: hostname() };

  // Before anything else: without a sandbox, a pipeline author's command could read whatever this machine holds.
  try {
    const unsafe = await assertSandboxAtStartup(process.env);
    if (unsafe) console.warn(`\n!!! WARNING: ${unsafe}\n`);
  } catch (err) {
    console.error(`The runner cannot start. ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }

  const orphans = await sweepOrphanedCommands(config.workspaceDir);
  if (orphans > 0) console.warn(`Killed ${orphans} command(s) left running by a runner that died.`);

  let stopping = false;
  let current: RunnerWorkers | undefined;
  let currentStage: string | null = null;
  let exitCode = 0;
  const stop = (code = 0) => {
    if (stopping) return;
    stopping = true;
    exitCode = code;
    current?.shutdown();
  };
  client.onRevoked = (message) => {
    console.error(`${message}. This runner stops; register a new one under Admin → Runners.`);
    stop(EXIT_REVOKED);
  };
  Runtime.install({ shutdownSignals: [] });
  process.on('SIGINT', () => stop());
  process.on('SIGTERM', () => stop());

  // First call: who am I, which labels, which queues. Retried while the control plane is unreachable.
  let me: HeartbeatResponse | undefined;
  for (let delay = 1000; !me && !stopping; delay = Math.min(delay * 2, 30_000)) {
    try {
      me = await client.heartbeat({ ...info, labels: config.labels ?? [], currentStage: null });
    } catch (err) {
      if (err instanceof RunnerRevokedError) break;
      console.error(`Cannot reach the control plane at ${config.url}: ${err instanceof Error ? err.message : String(err)}; retrying in ${delay / 1000} s`);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
  if (!me) process.exit(exitCode);
  const labels = config.labels ?? me.labels;
  if (!labelsSatisfy(me.labels, labels)) {
    console.error(`This runner was registered with labels ${describeLabels(me.labels)}; it cannot serve ${describeLabels(labels)}.`);
    process.exit(2);
  }

  const beat = setInterval(() => {
    client.heartbeat({ ...info, labels, currentStage }).catch((err: unknown) => {
      if (!(err instanceof RunnerRevokedError)) console.warn(`Heartbeat failed: ${err instanceof Error ? err.message : String(err)}`);
    });
  }, config.heartbeatMs);

  let delay = 1000;
  while (!stopping) {
    let connection: NativeConnection | undefined;
    try {
      connection = await NativeConnection.connect({ address: config.temporalAddress });
      current = await createRunnerWorkers({
        connection,
        namespace: config.namespace,
        queueBase: me.queueBase,
        labels,
        client,
        workspaceDir: config.workspaceDir,
        env,
        maxConcurrentStages: config.maxStages,
        onStage: (s) => {
          currentStage = s;
        },
      });
      console.log(`Runner "${me.name}" (labels ${describeLabels(labels)}) polling ${current.queues.map((q) => `"${q}"`).join(', ')} on ${config.temporalAddress}.`);
      delay = 1000;
      await current.run();
    } catch (err) {
      if (stopping) break;
      console.error(`Runner stopped: ${err instanceof Error ? err.message : String(err)}; reconnecting in ${delay / 1000} s`);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 30_000);
    } finally {
      current = undefined;
      await connection?.close().catch(() => undefined);
    }
  }
  clearInterval(beat);
  discardWarmSandbox();
  console.log('Runner stopped.');
  process.exit(exitCode);
}

main().catch((err) => {
  console.error(err instanceof RunnerConfigError ? `runner: ${err.message}` : err instanceof Error ? err.message : err);
  process.exit(err instanceof RunnerConfigError ? 2 : 1);
});
