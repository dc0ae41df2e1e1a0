/**
 * A runner's Temporal workers: one per task queue it polls (the queue of every
 * subset of its labels, see model/runners.ts), all performing `executeStage`.
 * Activity-only: a runner never runs workflow code.
 */
import { Worker, type NativeConnection } from '@temporalio/worker';
import { runnerQueues } from '../model/runners';
import { sweepOrphanedCommands } from '../stages/command/executor';
import type { ControlPlaneClient } from './client';
import { createRunnerActivities } from './execute-stage';

export type RunnerWorkerOptions = {
  connection: NativeConnection;
  namespace: string;
  /** Base of the runner queues (the control plane says which in the heartbeat answer). */
  queueBase: string;
  labels: string[];
  client: ControlPlaneClient;
  workspaceDir: string;
  env: Readonly<Record<string, string | undefined>>;
  maxConcurrentStages?: number;
  logFlushMs?: number;
  onStage?: (stage: string | null) => void;
};

export type RunnerWorkers = { queues: string[]; run(): Promise<void>; shutdown(): void };

export async function createRunnerWorkers(o: RunnerWorkerOptions): Promise<RunnerWorkers> {
  // Commands a runner that died left running (its process groups) are killed before new work is taken.
  const orphans = await sweepOrphanedCommands(o.workspaceDir);
  if (orphans > 0) console.warn(`Killed ${orphans} command(s) left running by a runner that died.`);
  const activities = createRunnerActivities({ client: o.client, workspaceDir: o.workspaceDir, env: o.env, logFlushMs: o.logFlushMs, onStage: o.onStage });
  const queues = runnerQueues(o.queueBase, o.labels);
  const workers = await Promise.all(
    queues.map((taskQueue) =>
      Worker.create({
        connection: o.connection,
        namespace: o.namespace,
        taskQueue,
        activities,
        shutdownGraceTime: '10 seconds',
        maxConcurrentActivityTaskExecutions: o.maxConcurrentStages ?? 20,
      }),
    ),
  );
  return {
    queues,
    async run() {
      // One worker stopping (fatal error or shutdown) stops them all.
      const running = workers.map((w) => w.run());
      try {
        await Promise.race(running);
      } finally {
        for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
        await Promise.allSettled(running);
      }
    },
    shutdown() {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
    },
  };
}
