/**
 * The control worker: runs the interpreter and trigger workflows and the
 * bookkeeping activities (run state, triggers, notifications) on the control
 * task queue. Stages run elsewhere, on runners (workflows/runner).
 *
 * 1. Its own Node process next to Next.js (`npm run worker`, started and
 *    restarted by `npm start`).
 * 2. Supervised: a Temporal worker does not retry its first connection and
 *    gives up after about a minute of failed polls, so this loop makes a new
 *    connection and a new worker with backoff until it is told to stop.
 * 3. Ctrl-C / SIGTERM: the worker stops polling within `shutdownGraceTime`.
 */
import { NativeConnection, Runtime, Worker, bundleWorkflowCode, type WorkerOptions as TemporalWorkerOptions, type WorkflowBundle } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import type { Db } from '../../db/client';
import { syncSchedules } from '../services/triggers';
import { getTemporalClient } from '../temporal/client';
import { temporalConnectionOptions } from '../temporal/connection-options';
import { createActivities } from './activities';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));

/** Bundles the workflow code (a few seconds). Production workers and replay tests use the same bundle. */
export async function buildWorkflowBundle(): Promise<WorkflowBundle> {
  return bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietLogger });
}

const quietLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (m: string) => console.warn(m),
  error: (m: string) => console.error(m),
};

export type WorkerOptions = {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  db: Db;
  workflowBundle: WorkflowBundle;
  env?: Readonly<Record<string, string | undefined>>;
  maxConcurrentActivities?: number;
  /** Worker tuning measured by `npm run bench:engine -- --workflow-threads=N --pollers=autoscaling` (the defaults are kept: docs/benchmarks.md). */
  tuning?: Pick<TemporalWorkerOptions, 'workflowThreadPoolSize' | 'workflowTaskPollerBehavior' | 'activityTaskPollerBehavior'>;
};

export async function createPipewrightWorker(o: WorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: o.connection,
    namespace: o.namespace,
    taskQueue: o.taskQueue,
    workflowBundle: o.workflowBundle,
    activities: createActivities({ db: o.db, env: o.env }),
    shutdownGraceTime: '10 seconds',
    maxConcurrentActivityTaskExecutions: o.maxConcurrentActivities ?? 50,
    ...o.tuning,
  });
}

async function main() {
  const { getEnv } = await import('../env');
  const { getDb } = await import('../../db/client');
  const env = getEnv();
  const opts = temporalConnectionOptions(env);
  const db = await getDb();
  // Delivery facts of runs recorded before they existed (an upgrade), derived now rather than at the first read
  // of the metrics; whatever is still behind then is derived by that read.
  const { refreshFactsBehind } = await import('../services/insights/facts');
  const factsStarted = Date.now();
  void refreshFactsBehind(db)
    .then((n) => {
      if (n > 0) console.log(`Delivery facts of ${n} runs derived in ${((Date.now() - factsStarted) / 1000).toFixed(1)} s.`);
    })
    .catch((err: unknown) => console.warn(`Delivery facts are derived at the next read of the metrics: ${err instanceof Error ? err.message : String(err)}`));
  console.log('Bundling workflow code…');
  const workflowBundle = await buildWorkflowBundle();

  let stopping = false;
  let current: Worker | undefined;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    console.log('Stopping the worker…');
    current?.shutdown();
  };
  Runtime.install({ shutdownSignals: [] });
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  let delay = 1000;
  while (!stopping) {
    let connection: NativeConnection | undefined;
    try {
      connection = await NativeConnection.connect({ address: opts.address, tls: opts.tls, apiKey: opts.apiKey });
      current = await createPipewrightWorker({
        connection,
        namespace: opts.namespace,
        taskQueue: env.TEMPORAL_TASK_QUEUE,
        db,
        workflowBundle,
      });
      console.log(`Worker polling task queue "${env.TEMPORAL_TASK_QUEUE}" on ${opts.address} (namespace ${opts.namespace}).`);
      // Schedule triggers live in Temporal: give back any a new Temporal database lost, drop those of deleted pipelines.
      void syncSchedules(db, getTemporalClient)
        .then(({ created, deleted }) => {
          if (created.length || deleted.length) console.log(`Schedules: ${created.length} re-created, ${deleted.length} of deleted pipelines removed.`);
        })
        .catch((err: unknown) => console.warn(`Could not check the schedule triggers: ${err instanceof Error ? err.message : String(err)}`));
      delay = 1000;
      await current.run();
    } catch (err) {
      if (stopping) break;
      console.error(`Worker stopped: ${err instanceof Error ? err.message : String(err)}; reconnecting in ${delay / 1000} s`);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 30_000);
    } finally {
      current = undefined;
      await connection?.close().catch(() => undefined);
    }
  }
  console.log('Worker stopped.');
  process.exit(0);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
