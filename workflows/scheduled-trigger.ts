/**
 * The action of a schedule trigger's Temporal Schedule: one activity that
 * starts the pipeline's run through the app (server/services/triggers.ts
 * `fireSchedule`), so the run row, plan and audit entry exist like for any
 * other run. The firing is identified by this workflow's id (the schedule
 * appends the scheduled time), so a retried activity starts nothing twice.
 */
import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { createActivities } from '../server/control-worker/activities';

type Activities = ReturnType<typeof createActivities>;

const { fireScheduledTrigger } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '2 seconds', maximumInterval: '30 seconds', maximumAttempts: 20 },
});

export type ScheduledTriggerInput = { triggerId: string };

export async function scheduledTrigger(input: ScheduledTriggerInput): Promise<{ runId?: string; runNumber?: number; skipped?: string }> {
  return fireScheduledTrigger({ triggerId: input.triggerId, firingId: workflowInfo().workflowId });
}
