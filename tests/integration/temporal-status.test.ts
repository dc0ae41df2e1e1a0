/**
 * Temporal's own status of a run's workflow tells what happened (issue 16, item 10): what
 * `temporal workflow describe`/`list` and the Temporal UI show is Completed only for a run that
 * succeeded, Failed for a failed one (with what failed), Cancelled for a cancelled one — and the
 * run state stays readable from the app and through the workflow's query afterwards.
 */
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getStateQuery, workflowIdForRun } from '../../workflows/run-state';
import { cmd, gate, spec, startHarness, type Harness } from './harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

/** Waits until Temporal itself says the workflow is closed, and returns that status. */
async function closedStatus(handle: WorkflowHandle): Promise<string> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const d = await handle.describe();
    if (d.status.name !== 'RUNNING') return d.status.name;
    if (Date.now() > deadline) throw new Error(`workflow ${handle.workflowId} still running`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function handleOf(runId: string) {
  return (await h.temporal()).workflow.getHandle(workflowIdForRun(runId));
}

describe("Temporal's status of a run's workflow", () => {
  it('is Completed for a run that succeeded', async () => {
    const runId = await h.run(spec('status: ok', [cmd('build', 'true')]));
    expect((await h.waitForEnd(runId)).status).toBe('succeeded');
    const handle = await handleOf(runId);
    expect(await closedStatus(handle)).toBe('COMPLETED');
    expect((await handle.result()).status).toBe('succeeded');
  });

  it('is Failed for a run failed by a rejected gate, says what failed, and the run state stays readable', async () => {
    const runId = await h.run(
      spec('status: rejected', [cmd('build', 'true'), gate('qa', { groups: ['approvers'] }), cmd('deploy', 'true')], [
        ['build', 'qa'],
        ['qa', 'deploy'],
      ]),
    );
    await h.waitForStage(runId, 'qa', 'waiting');
    await h.as(h.users.alan).approvals.decide({ runId, gateId: 'qa', decision: 'reject', comment: 'not today' });
    const r = await h.waitForEnd(runId);
    expect(r.status).toBe('failed');
    const handle = await handleOf(runId);
    expect(await closedStatus(handle)).toBe('FAILED');
    const err = await handle.result().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause;
    expect(cause?.message).toMatch(/stage "qa" failed/);
    expect(cause?.message).toMatch(/not today/);
    // The run state is still there: in the app, and through the workflow's query.
    const state = await handle.query(getStateQuery);
    expect(state.status).toBe('failed');
    expect(state.stages.qa?.gate?.status).toBe('rejected');
    expect(state.stages.deploy?.status).toBe('skipped');
    expect(h.stageOf(await h.as(h.users.viewer).runs.get({ id: runId }), 'qa').status).toBe('failed');
    // And a failed run can still be re-run from its failed stage.
    const again = await h.as(h.users.author).runs.rerunFromFailed({ runId });
    await h.waitForStage(again.id, 'qa', 'waiting');
    expect(h.stageOf(await h.as(h.users.viewer).runs.get({ id: again.id }), 'build').reusedFrom).toMatchObject({ id: runId });
    await h.as(h.users.author).runs.cancel({ runId: again.id, reason: 'done checking' });
    await h.waitForEnd(again.id);
  });

  it('is Cancelled for a run cancelled in the app, which still records who cancelled it', async () => {
    const runId = await h.run(spec('status: cancel', [cmd('long', 'sleep 30'), cmd('next', 'true')], [['long', 'next']]));
    await h.waitForStage(runId, 'long', 'running');
    await h.as(h.users.author).runs.cancel({ runId, reason: 'wrong branch' });
    const r = await h.waitForEnd(runId);
    expect(r.status).toBe('cancelled');
    expect(r.cancelledBy).toBe('ada');
    const handle = await handleOf(runId);
    expect(await closedStatus(handle)).toBe('CANCELLED');
    expect((await handle.query(getStateQuery)).cancelledBy).toBe('ada');
  });

  it('is Cancelled for a run cancelled from Temporal, and the app shows it cancelled', async () => {
    const runId = await h.run(spec('status: temporal cancel', [cmd('long', 'sleep 30'), cmd('next', 'true')], [['long', 'next']]));
    await h.waitForStage(runId, 'long', 'running');
    const handle = await handleOf(runId);
    await handle.cancel();
    const r = await h.waitForEnd(runId);
    expect(r.status).toBe('cancelled');
    expect(await closedStatus(handle)).toBe('CANCELLED');
  });
});
