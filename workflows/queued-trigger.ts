/**
 * A trigger's run that had to wait: a webhook push or an upstream run that
 * arrived while the pipeline had as many runs in flight as it allows. The
 * delivery was accepted (and claimed) already; this workflow tries to start
 * the run, and while the pipeline is still full sleeps and tries again
 * (0.5 s, growing to 10 s), without holding a worker slot in between. One
 * workflow per delivery (its id names the delivery), so it is started once.
 */
import { proxyActivities, sleep } from '@temporalio/workflow';
import type { createActivities } from '../server/control-worker/activities';

type Activities = ReturnType<typeof createActivities>;

const { startQueuedTriggerRun } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '2 seconds', maximumInterval: '30 seconds', maximumAttempts: 50 },
});

/** What the run is started with (the trigger's parameters and what a run records about it). */
export type QueuedTriggerInput = {
  triggerId: string;
  /** The claim in `trigger_deliveries` (`github:<id>`, `run:<upstream run id>`, …). */
  deliveryId: string;
  params: Record<string, string | number | boolean>;
  triggerDetails: Record<string, unknown>;
  auditDetails: Record<string, unknown>;
};

/** Tries for about a day before giving up (the delivery is then marked failed). */
const MAX_ATTEMPTS = 9000;

export async function queuedTrigger(input: QueuedTriggerInput): Promise<{ runId?: string; outcome: string }> {
  let delayMs = 500;
  for (let attempt = 1; ; attempt++) {
    const result = await startQueuedTriggerRun({ ...input, giveUp: attempt >= MAX_ATTEMPTS });
    if (result.outcome !== 'busy') return result;
    await sleep(delayMs);
    delayMs = Math.min(Math.round(delayMs * 1.5), 10_000);
  }
}
