/**
 * The baseline for `npm run bench:engine`: the least a hand-written Temporal
 * workflow needs to run `n` activities one after another, with the same
 * activity options the interpreter gives a stage (timeouts, heartbeat timeout,
 * cancellation type, retry policy), but without a plan, templates, state
 * tracking or run-state records.
 *
 * Bundled on its own (bundleWorkflowCode) for a second worker on its own task
 * queue.
 */
import { ActivityCancellationType, proxyActivities } from '@temporalio/workflow';
import type { BaselineActivities } from './baseline-activities';

export type BaselineInput = { stages: number; activity: 'spawnTrue' | 'noop' };

const activities = proxyActivities<BaselineActivities>({
  startToCloseTimeout: 3_600_000 + 60_000,
  heartbeatTimeout: 15_000,
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 10,
  },
});

export async function baselineSequential(input: BaselineInput): Promise<number> {
  for (let i = 0; i < input.stages; i++) await activities[input.activity]();
  return input.stages;
}
