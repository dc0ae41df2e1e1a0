/**
 * Re-run from the failed stage and the reuse contract of startRun, on a real
 * Temporal server: reused stages are never executed again, their outputs still
 * reach later stages, and bad requests are refused with the list of problems.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog } from '../../db/schema';
import { startRun } from '../../server/services/runs';
import { getTemporalClient } from '../../server/temporal/client';
import { cmd, gate, spec, startHarness, type Harness } from './harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const count = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').length : 0);

describe('re-run from the failed stage', () => {
  it('does not reuse a deploy its rollback undid, nor the rollback: the re-run deploys again before it says live', async () => {
    const d = join(h.shared, 'rollback-case');
    const live = join(d, 'live');
    const pipelineId = await h.createPipeline(
      spec(
        'rerun after rollback',
        [
          cmd('build', `mkdir -p ${d}; echo x >> ${d}/build.count`),
          cmd('deploy', `echo x >> ${d}/deploy.count; echo v2 > ${live}`),
          // Fails the first time only.
          cmd('smoke', `test -f ${d}/smoked || { touch ${d}/smoked; echo "smoke test failed" >&2; exit 1; }; grep -q v2 ${live}`),
          cmd('rollback', `echo x >> ${d}/rollback.count; rm -f ${live}`),
          cmd('announce', `test -f ${live} && echo "v2 is live"`),
        ],
        [
          ['build', 'deploy'],
          ['deploy', 'smoke'],
          ['smoke', 'rollback', 'failure'],
          ['smoke', 'announce'],
        ],
      ),
    );
    const first = await h.as(h.users.author).runs.start({ pipelineId });
    const r1 = await h.waitForEnd(first.id);
    expect(r1.status).toBe('failed');
    expect(h.stageOf(r1, 'rollback').status).toBe('succeeded');
    expect(existsSync(live)).toBe(false);

    const second = await h.as(h.users.author).runs.rerunFromFailed({ runId: first.id });
    const r2 = await h.waitForEnd(second.id);
    expect(r2.status).toBe('succeeded');
    // The deploy the rollback undid runs again (with what led to it: no gate marks where this release step began),
    // so "live" is true when the run says so.
    expect(h.stageOf(r2, 'deploy').reusedFrom).toBeFalsy();
    expect(count(join(d, 'deploy.count'))).toBe(2);
    expect(readFileSync(live, 'utf8').trim()).toBe('v2');
    // The rollback is not carried over as "succeeded": nothing failed this time, so it did not run.
    expect(h.stageOf(r2, 'rollback').status).toBe('skipped');
    expect(count(join(d, 'rollback.count'))).toBe(1);
    const logs = await h.as(h.users.viewer).runs.logs({ runId: second.id, nodeId: 'announce' });
    expect(logs.text).toContain('v2 is live');
    const audit = await h.db.select().from(auditLog).where(eq(auditLog.runId, second.id));
    expect(audit.find((a) => a.action === 'run.start')?.details).toMatchObject({ reused: [], undoneByRollback: [{ id: 'build', by: 'rollback' }, { id: 'deploy', by: 'rollback' }] });
  });

  it('runs only the failed stage and what follows; succeeded stages are reused with their outputs', async () => {
    const d = h.shared;
    const marker = join(d, 'fixed');
    const pipelineId = await h.createPipeline(
      spec(
        'rerun chain',
        [
          cmd('s1', `echo x >> ${d}/s1.count; echo "version=v-$(cat ${d}/s1.count | wc -l)" >> "$PIPEWRIGHT_OUTPUT"`),
          cmd('s2', `echo x >> ${d}/s2.count`),
          cmd('s3', `echo x >> ${d}/s3.count; test -f ${marker} || { echo "not fixed yet" >&2; exit 4; }`),
          cmd('s4', `echo x >> ${d}/s4.count; echo "deploying \${{ stages.s1.outputs.version }}" > ${d}/s4.out`),
        ],
        [
          ['s1', 's2'],
          ['s2', 's3'],
          ['s3', 's4'],
        ],
      ),
    );
    const first = await h.as(h.users.author).runs.start({ pipelineId });
    const r1 = await h.waitForEnd(first.id);
    expect(r1.status).toBe('failed');
    expect(h.stageOf(r1, 's3').status).toBe('failed');
    expect(h.stageOf(r1, 's4').status).toBe('skipped');

    writeFileSync(marker, 'ok');
    const second = await h.as(h.users.author).runs.rerunFromFailed({ runId: first.id });
    expect(second.number).toBe(first.number + 1);
    const r2 = await h.waitForEnd(second.id);
    expect(r2.status).toBe('succeeded');
    expect(r2.trigger).toBe('rerun');
    expect(r2.reusedFromRun).toEqual({ id: first.id, number: first.number });

    // Stages 1 and 2 did not execute again; 3 and 4 did.
    expect(count(join(d, 's1.count'))).toBe(1);
    expect(count(join(d, 's2.count'))).toBe(1);
    expect(count(join(d, 's3.count'))).toBe(2);
    expect(count(join(d, 's4.count'))).toBe(1);
    for (const id of ['s1', 's2']) {
      const s = h.stageOf(r2, id);
      expect(s.status).toBe('succeeded');
      expect(s.reusedFrom).toEqual({ id: first.id, number: first.number });
      expect(s.executions).toBe(0);
    }
    expect(h.stageOf(r2, 's3').reusedFrom).toBeNull();
    // Stage 1's output, produced by the first run, still reached stage 4's template.
    expect(h.stageOf(r2, 's1').outputs).toEqual({ version: 'v-1' });
    expect(readFileSync(join(d, 's4.out'), 'utf8').trim()).toBe('deploying v-1');

    const audit = await h.db.select().from(auditLog).where(eq(auditLog.runId, second.id));
    expect(audit.map((a) => a.action)).toContain('run.start');
    expect(audit.find((a) => a.action === 'run.start')?.details).toMatchObject({ rerunFromFailedOf: first.id, reused: ['s1', 's2'] });

    // Re-running a run that succeeded is refused; a viewer may not re-run at all.
    await expect(h.as(h.users.author).runs.rerunFromFailed({ runId: second.id })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringContaining('is succeeded'),
    });
    await expect(h.as(h.users.viewer).runs.rerunFromFailed({ runId: first.id })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(h.as(null).runs.rerunFromFailed({ runId: first.id })).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  });

  it('asks an approval gate again when something after it runs again, and runs everything after it', async () => {
    const d = h.shared;
    const marker = join(d, 'smoke-fixed');
    const pipelineId = await h.createPipeline(
      spec(
        'rerun through a gate',
        [
          cmd('build', `echo x >> ${d}/g-build.count`),
          gate('approve', { groups: ['approvers'] }),
          cmd('deploy', `echo x >> ${d}/g-deploy.count`),
          cmd('smoke', `test -f ${marker}`),
        ],
        [
          ['build', 'approve'],
          ['approve', 'deploy'],
          ['deploy', 'smoke'],
        ],
      ),
    );
    const first = await h.as(h.users.author).runs.start({ pipelineId });
    await h.waitForStage(first.id, 'approve', 'waiting');
    await h.as(h.users.alan).approvals.decide({ runId: first.id, gateId: 'approve', decision: 'approve', comment: 'ship it' });
    const r1 = await h.waitForEnd(first.id);
    expect(h.stageOf(r1, 'smoke').status).toBe('failed');

    writeFileSync(marker, 'ok');
    const second = await h.as(h.users.author).runs.rerunFromFailed({ runId: first.id });
    // The build is reused; the approval that covered the deploy is asked again before anything after it runs.
    const waiting = await h.waitForStage(second.id, 'approve', 'waiting');
    expect(h.stageOf(waiting, 'build').reusedFrom?.id).toBe(first.id);
    expect(h.stageOf(waiting, 'deploy').status).toBe('pending');
    expect(count(join(d, 'g-deploy.count'))).toBe(1);
    await h.as(h.users.grace).approvals.decide({ runId: second.id, gateId: 'approve', decision: 'approve', comment: 'again' });
    const r2 = await h.waitForEnd(second.id);
    expect(r2.status).toBe('succeeded');
    expect(count(join(d, 'g-build.count'))).toBe(1);
    expect(count(join(d, 'g-deploy.count'))).toBe(2);
    expect(h.stageOf(r2, 'approve').gate?.decidedBy).toBe('grace');
  });

  it('omits stages with a reason and skips their success-dependents; refuses bad reuse requests with the list', async () => {
    const d = h.shared;
    const pipelineId = await h.createPipeline(
      spec(
        'omit and reuse',
        [cmd('a', `echo a >> ${d}/omit-a.count`), cmd('b', `echo b >> ${d}/omit-b.count`), cmd('c', `echo c >> ${d}/omit-c.count`)],
        [
          ['a', 'b'],
          ['b', 'c'],
        ],
      ),
    );
    const actor = h.users.author;
    const run = await startRun(h.db, getTemporalClient, actor, { pipelineId, omit: ['b'], omitReason: 'not part of this promotion' });
    const r = await h.waitForEnd(run.id);
    expect(h.stageOf(r, 'a').status).toBe('succeeded');
    expect(h.stageOf(r, 'b').status).toBe('skipped');
    expect(h.stageOf(r, 'b').summary).toBe('not part of this promotion');
    expect(h.stageOf(r, 'c').status).toBe('skipped');
    expect(count(join(d, 'omit-b.count'))).toBe(0);
    expect(count(join(d, 'omit-c.count'))).toBe(0);

    // b and c did not succeed in that run; x is no stage at all; another pipeline's run is refused.
    await expect(startRun(h.db, getTemporalClient, actor, { pipelineId, reuse: { fromRunId: run.id, nodes: ['a', 'b', 'c'] } })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringMatching(/did not succeed in run #\d+: "b" \(skipped\), "c" \(skipped\)/),
    });
    await expect(startRun(h.db, getTemporalClient, actor, { pipelineId, reuse: { fromRunId: run.id, nodes: ['a', 'x'] } })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringContaining('no stage "x"'),
    });
    const other = await h.createPipeline(spec('other pipeline', [cmd('a', 'true')]));
    await expect(startRun(h.db, getTemporalClient, actor, { pipelineId: other, reuse: { fromRunId: run.id, nodes: ['a'] } })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringContaining('another pipeline'),
    });

    // A valid reuse: a is taken over, b and c run.
    const reuse = await startRun(h.db, getTemporalClient, actor, { pipelineId, reuse: { fromRunId: run.id, nodes: ['a'] } });
    const r2 = await h.waitForEnd(reuse.id);
    expect(r2.status).toBe('succeeded');
    expect(count(join(d, 'omit-a.count'))).toBe(1);
    expect(count(join(d, 'omit-b.count'))).toBe(1);
    expect(h.stageOf(r2, 'a').reusedFrom?.id).toBe(run.id);
  });
});
