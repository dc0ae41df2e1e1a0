import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog } from '../../db/schema';
import { cmd, gate, spec, startHarness, type Harness } from './harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

function gated(name: string, gateConfig: Record<string, unknown>) {
  return spec(
    name,
    [cmd('build', 'echo built'), gate('qa', gateConfig), cmd('deploy', 'echo deployed'), cmd('rollback', 'echo rolled back')],
    [
      ['build', 'qa'],
      ['qa', 'deploy'],
      ['qa', 'rollback', 'failure'],
    ],
  );
}

describe('approval gates', () => {
  it('waits for an allowed approver, shows in the inbox, and moves on when approved', async () => {
    const runId = await h.run(gated('approve', { groups: ['approvers'], instructions: 'check the report' }));
    await h.waitForStage(runId, 'qa', 'waiting');
    const inbox = await h.as(h.users.alan).approvals.pending();
    const item = inbox.find((g) => g.runId === runId);
    expect(item).toMatchObject({ gateId: 'qa', canDecide: true });
    expect(item?.rules.instructions).toBe('check the report');
    // Someone outside the approvers does not see it as theirs.
    expect((await h.as(h.users.outsider).approvals.pending()).find((g) => g.runId === runId)).toBeUndefined();

    const res = await h.as(h.users.alan).approvals.decide({ runId, gateId: 'qa', decision: 'approve', comment: 'looks good' });
    expect(res.gateStatus).toBe('approved');
    const r = await h.waitForEnd(runId);
    expect(r.status).toBe('succeeded');
    expect(h.stageOf(r, 'deploy').status).toBe('succeeded');
    expect(h.stageOf(r, 'rollback').status).toBe('skipped');
    expect(h.stageOf(r, 'qa').gate?.decidedBy).toBe('alan');
    expect(h.stageOf(r, 'qa').gate?.votes).toMatchObject([{ userName: 'alan', decision: 'approve', comment: 'looks good' }]);
    const audit = await h.db.select().from(auditLog).where(and(eq(auditLog.runId, runId), eq(auditLog.action, 'gate.approve')));
    expect(audit).toMatchObject([{ actorName: 'alan', outcome: 'ok' }]);
  });

  it('records the approval while the stage after the gate already runs', async () => {
    // The decision is recorded alongside the next stage's start, not before it: the run page must still
    // show who approved while that stage runs (not only once the run has ended).
    const runId = await h.run(spec('approve-then-run', [gate('qa', { groups: ['approvers'] }), cmd('deploy', 'sleep 600')], [['qa', 'deploy']]));
    await h.waitForStage(runId, 'qa', 'waiting');
    await h.as(h.users.alan).approvals.decide({ runId, gateId: 'qa', decision: 'approve' });
    const r = await h.waitFor(runId, (v) => v.stages.find((s) => s.id === 'deploy')?.status === 'running' && v.stages.find((s) => s.id === 'qa')?.status === 'succeeded');
    expect(h.stageOf(r, 'qa').gate).toMatchObject({ status: 'approved', decidedBy: 'alan' });
    expect(r.status).toBe('running');
    await h.as(h.users.author).runs.cancel({ runId });
    expect((await h.waitForEnd(runId)).stages.find((s) => s.id === 'qa')?.gate?.status).toBe('approved');
  });

  it('a rejection fails the gate and follows its failure edge', async () => {
    const runId = await h.run(gated('reject', { users: ['grace'] }));
    await h.waitForStage(runId, 'qa', 'waiting');
    await h.as(h.users.grace).approvals.decide({ runId, gateId: 'qa', decision: 'reject', comment: 'tests flaky' });
    const r = await h.waitForEnd(runId);
    expect(h.stageOf(r, 'qa').status).toBe('failed');
    expect(h.stageOf(r, 'qa').error).toContain('rejected by grace: tests flaky');
    expect(h.stageOf(r, 'deploy').status).toBe('skipped');
    expect(h.stageOf(r, 'rollback').status).toBe('succeeded');
    expect(r.status).toBe('failed');
  });

  it('applies the default decision when the gate times out', async () => {
    const runId = await h.run(gated('timeout', { groups: ['approvers'], timeoutSeconds: 1, onTimeout: 'approve' }));
    const r = await h.waitForEnd(runId, 30_000);
    expect(r.status).toBe('succeeded');
    expect(h.stageOf(r, 'qa').gate).toMatchObject({ status: 'approved', decidedBy: 'timeout' });
  });

  it('refuses, audits, and records nothing for people who may not decide', async () => {
    const runId = await h.run(gated('unauthorised', { users: ['alan'] }));
    await h.waitForStage(runId, 'qa', 'waiting');
    await expect(h.as(h.users.outsider).approvals.decide({ runId, gateId: 'qa', decision: 'approve' })).rejects.toMatchObject({
      code: 'FORBIDDEN',
      message: expect.stringContaining('not an approver'),
    });
    await expect(h.as(h.users.viewer).approvals.decide({ runId, gateId: 'qa', decision: 'approve' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(h.as(null).approvals.decide({ runId, gateId: 'qa', decision: 'approve' })).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    const refused = await h.db.select().from(auditLog).where(and(eq(auditLog.runId, runId), eq(auditLog.outcome, 'refused')));
    expect(refused.map((a) => a.actorName).sort()).toEqual(['otto', 'vera']);
    const r = await h.as(h.users.admin).runs.get({ id: runId });
    expect(h.stageOf(r, 'qa').status).toBe('waiting');
    expect(h.stageOf(r, 'qa').gate?.votes).toEqual([]);
    await h.as(h.users.alan).approvals.decide({ runId, gateId: 'qa', decision: 'approve' });
    expect((await h.waitForEnd(runId)).status).toBe('succeeded');
  });

  it('counts a quorum of distinct people and refuses a second vote by the same person', async () => {
    const runId = await h.run(gated('quorum', { groups: ['approvers'], quorum: 2 }));
    await h.waitForStage(runId, 'qa', 'waiting');
    const first = await h.as(h.users.alan).approvals.decide({ runId, gateId: 'qa', decision: 'approve' });
    expect(first).toMatchObject({ gateStatus: 'waiting', approvals: 1, quorum: 2 });
    await h.waitFor(runId, (r) => (h.stageOf(r, 'qa').gate?.votes.length ?? 0) === 1);
    await expect(h.as(h.users.alan).approvals.decide({ runId, gateId: 'qa', decision: 'approve' })).rejects.toMatchObject({
      code: 'CONFLICT',
      message: expect.stringContaining('already voted'),
    });
    const second = await h.as(h.users.grace).approvals.decide({ runId, gateId: 'qa', decision: 'approve' });
    expect(second).toMatchObject({ gateStatus: 'approved', approvals: 2 });
    expect((await h.waitForEnd(runId)).status).toBe('succeeded');
  });

  it('two people clicking at once give exactly one decision; the other is told who decided', async () => {
    const runId = await h.run(gated('race', { groups: ['approvers'], quorum: 1 }));
    await h.waitForStage(runId, 'qa', 'waiting');
    const results = await Promise.allSettled([
      h.as(h.users.alan).approvals.decide({ runId, gateId: 'qa', decision: 'approve' }),
      h.as(h.users.grace).approvals.decide({ runId, gateId: 'qa', decision: 'reject' }),
    ]);
    const ok = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(ok).toHaveLength(1);
    expect(refused).toHaveLength(1);
    expect(String(refused[0]!.reason.message)).toMatch(/already decided \((approved|rejected)\) by (alan|grace)/);
    const r = await h.waitForEnd(runId);
    expect(h.stageOf(r, 'qa').gate?.votes).toHaveLength(1);
    // A later click on the decided gate gets the same clear answer.
    await expect(h.as(h.users.alan).approvals.decide({ runId, gateId: 'qa', decision: 'approve' })).rejects.toThrow(/already decided/);
  });

  it('can forbid the person who started the run from approving it', async () => {
    // The admin (who may decide gates) starts the run; the gate names her and alan.
    const { id: pipelineId } = await h.as(h.users.admin).pipelines.create({ name: 'no self approval', spec: gated('no self approval', { users: ['admin', 'alan'], allowTriggerer: false }) });
    const { id: runId } = await h.as(h.users.admin).runs.start({ pipelineId });
    await h.waitForStage(runId, 'qa', 'waiting');
    await expect(h.as(h.users.admin).approvals.decide({ runId, gateId: 'qa', decision: 'approve' })).rejects.toMatchObject({
      code: 'FORBIDDEN',
      message: expect.stringContaining('started this run'),
    });
    await h.as(h.users.alan).approvals.decide({ runId, gateId: 'qa', decision: 'approve' });
    expect((await h.waitForEnd(runId)).status).toBe('succeeded');
  });

  it('answers that the runner is offline when no worker is running, instead of hanging', async () => {
    const runId = await h.run(gated('offline', { groups: ['approvers'] }));
    await h.waitForStage(runId, 'qa', 'waiting');
    await h.stopWorker();
    // The call settles (bounded by PIPEWRIGHT_UPDATE_DEADLINE_MS) with the reason; how fast is not asserted here.
    await expect(h.as(h.users.alan).approvals.decide({ runId, gateId: 'qa', decision: 'approve' })).rejects.toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
      message: expect.stringContaining('offline'),
    });
    await h.startWorker();
    // With the worker back the decision goes through and the run finishes.
    await h.as(h.users.alan).approvals.decide({ runId, gateId: 'qa', decision: 'approve' });
    expect((await h.waitForEnd(runId)).status).toBe('succeeded');
  });
});
