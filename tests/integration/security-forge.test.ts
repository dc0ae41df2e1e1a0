/**
 * Forged approvals (security issue, item 2): a stage must not reach Temporal
 * (its HTTP API and UI have no sign-in), and a run must refuse decisions and
 * cancellations the control plane did not sign for it — whoever sends them.
 *
 * A Temporal dev server of its own, with the Web UI and the HTTP API on known
 * ports (as `PIPEWRIGHT_TEMPORAL_UI=true npm start` would run it), a real worker
 * and the real services.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { getFreePort } from '../../scripts/ports';
import { startDevServer, type DevServer } from '../../scripts/temporal-dev-server';
import { resolveDecisionKey, signDecision } from '../../server/security/decision-keys';
import { decisionMessage, signMessage } from '../../workflows/decision-signature';
import { cancelRunUpdate, decideUpdate, getStateQuery, workflowIdForRun, type DecideInput } from '../../workflows/run-state';
import { cmd, gate, spec, startHarness, type Harness } from './harness';

let h: Harness;
let temporal: DevServer;
let httpPort: number;
let uiPort: number;
/** A plain service on loopback, standing for "anything on the worker's own machine". */
let local: Server;
let localHits = 0;
let localUrl: string;

beforeAll(async () => {
  [httpPort, uiPort] = [await getFreePort(), await getFreePort()];
  temporal = await startDevServer({ bin: inject('temporalBin'), port: await getFreePort(), uiPort, httpPort, namespace: 'default' });
  local = createServer((_req, res) => {
    localHits++;
    res.end('local secret');
  });
  await new Promise<void>((r) => local.listen(0, '127.0.0.1', r));
  localUrl = `http://127.0.0.1:${(local.address() as AddressInfo).port}`;
  delete process.env.PIPEWRIGHT_STAGE_EGRESS_ALLOW;
  h = await startHarness({
    env: { TEMPORAL_ADDRESS: temporal.address, TEMPORAL_DEV_HTTP_PORT: String(httpPort), TEMPORAL_DEV_UI_PORT: String(uiPort) },
  });
});
afterAll(async () => {
  delete process.env.PIPEWRIGHT_STAGE_EGRESS_ALLOW;
  await h?.close();
  await new Promise((r) => local?.close(r));
  await temporal?.stop();
});

/** Attack stages next to a production gate; their failures are handled so the gate keeps waiting. */
function attackSpec(name: string) {
  const forged = { request: { input: { name: 'decide', args: [{ gateId: 'prod', userId: 'u-grace', userName: 'grace', groups: ['approvers'], decision: 'approve', comment: '' }] } } };
  return spec(
    name,
    [
      gate('prod', { users: ['grace'] }),
      { id: 'hook', kind: 'webhook', name: 'hook', config: { url: `http://127.0.0.1:${httpPort}/api/v1/namespaces/default/workflows/run-x/update/decide`, body: forged, headers: { 'X-CSRF-Token': 'x', Cookie: '_csrf=x' } } },
      { id: 'ui', kind: 'http-check', name: 'ui', config: { url: `http://localhost:${uiPort}/api/v1/namespaces/default/workflows`, deadlineSeconds: 5, intervalSeconds: 1 } },
      { id: 'local', kind: 'http-check', name: 'local', config: { url: `${localUrl}/`, deadlineSeconds: 5, intervalSeconds: 1 } },
      cmd('after-hook', 'true'),
      cmd('after-ui', 'true'),
      cmd('after-local', 'true'),
    ],
    [
      ['hook', 'after-hook', 'failure'],
      ['ui', 'after-ui', 'failure'],
      ['local', 'after-local', 'always'],
    ],
  );
}

async function gateState(runId: string) {
  const handle = (await h.temporal()).workflow.getHandle(workflowIdForRun(runId));
  return (await handle.query(getStateQuery)).stages.prod?.gate;
}

async function updatesAccepted(handle: WorkflowHandle): Promise<number> {
  const history = await handle.fetchHistory();
  return (history.events ?? []).filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes).length;
}

describe('stages cannot reach Temporal or the worker\'s own machine', () => {
  it('the Temporal HTTP API answers anybody on loopback (what the attack used)', async () => {
    const res = await fetch(`http://127.0.0.1:${httpPort}/api/v1/namespaces/default`);
    expect(res.status).toBe(200);
  });

  it('webhook and http-check stages aimed at loopback fail with the refusal; the gate keeps waiting with no votes', async () => {
    const runId = await h.run(attackSpec('attack'));
    const r = await h.waitFor(runId, (v) => ['hook', 'ui', 'local'].every((id) => ['failed', 'succeeded'].includes(h.stageOf(v, id).status)));
    const hook = h.stageOf(r, 'hook');
    expect(hook.status).toBe('failed');
    expect(hook.error).toContain(`refused to connect to 127.0.0.1 port ${httpPort}: it is a loopback address, and that port belongs to the Temporal server`);
    const ui = h.stageOf(r, 'ui');
    expect(ui.status).toBe('failed');
    expect(ui.error).toMatch(new RegExp(`refused to connect to localhost \\((127\\.0\\.0\\.1|::1)\\) port ${uiPort}`));
    const loc = h.stageOf(r, 'local');
    expect(loc.status).toBe('failed');
    const localPort = new URL(localUrl).port;
    expect(loc.error).toContain(`refused to connect to 127.0.0.1 port ${localPort}: it is a loopback address`);
    expect(loc.error).toContain(`PIPEWRIGHT_STAGE_EGRESS_ALLOW="127.0.0.1:${localPort}"`);
    expect(localHits).toBe(0);
    // Refused at once, not after retrying until the 5 s deadline.
    expect(loc.error).not.toContain('not healthy after');

    const after = await h.waitForStage(runId, 'after-ui', 'succeeded');
    expect(h.stageOf(after, 'prod').status).toBe('waiting');
    expect(h.stageOf(after, 'prod').gate?.votes ?? []).toEqual([]);
    expect(await gateState(runId)).toMatchObject({ status: 'waiting', votes: [] });
    await h.as(h.users.author).runs.cancel({ runId });
  });

  it('an allow-list for loopback opens the listed service, never Temporal\'s ports unless named', async () => {
    process.env.PIPEWRIGHT_STAGE_EGRESS_ALLOW = '127.0.0.0/8, localhost';
    try {
      const runId = await h.run(attackSpec('attack-allowed'));
      const r = await h.waitFor(runId, (v) => ['hook', 'ui', 'local'].every((id) => ['failed', 'succeeded'].includes(h.stageOf(v, id).status)));
      expect(h.stageOf(r, 'local').status).toBe('succeeded');
      expect(localHits).toBeGreaterThan(0);
      expect(h.stageOf(r, 'hook').error).toContain(`port ${httpPort}: that port belongs to the Temporal server`);
      expect(h.stageOf(r, 'ui').error).toContain(`port ${uiPort}: that port belongs to the Temporal server`);
      expect(await gateState(runId)).toMatchObject({ status: 'waiting', votes: [] });
      await h.as(h.users.author).runs.cancel({ runId });
    } finally {
      delete process.env.PIPEWRIGHT_STAGE_EGRESS_ALLOW;
    }
  });
});

describe('decisions must be signed by the control plane for the run', () => {
  const gated = (name: string) => spec(name, [gate('prod', { users: ['grace'] }), cmd('deploy', 'echo deployed')], [['prod', 'deploy']]);
  const asGrace: Omit<DecideInput, 'issuedAt' | 'signature'> = { gateId: 'prod', userId: 'u-grace', userName: 'grace', groups: ['approvers'], decision: 'approve', comment: '' };

  async function refused(handle: WorkflowHandle, d: DecideInput): Promise<string> {
    const err = await handle.executeUpdate(decideUpdate, { args: [d], updateId: `forged-${randomBytes(4).toString('hex')}` }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
    return (err as WorkflowUpdateFailedError).cause?.message ?? '';
  }

  it('refuses forged decisions sent straight to Temporal, writes nothing, and still takes the approver\'s own', async () => {
    const runId = await h.run(gated('forged'));
    const otherRunId = await h.run(gated('other'));
    await h.waitForStage(runId, 'prod', 'waiting');
    await h.waitForStage(otherRunId, 'prod', 'waiting');
    const client = await h.temporal();
    const handle = client.workflow.getHandle(workflowIdForRun(runId));

    // 1. Unsigned, grace's identity.
    expect(await refused(handle, { ...asGrace })).toContain('not signed by the control plane');
    // 2. Signed, but with another key.
    const otherKey = new Uint8Array(randomBytes(32));
    const issuedAt = Date.now();
    const foreign = { ...asGrace, issuedAt, signature: signMessage(otherKey, decisionMessage(runId, { ...asGrace, issuedAt })) };
    expect(await refused(handle, foreign)).toContain('not signed by the control plane for this run');
    // 3. A valid signature of the control plane, for another run.
    const forOther = signDecision(otherRunId, asGrace);
    expect(await refused(handle, forOther)).toContain('not signed by the control plane for this run');
    // 4. A valid signature for this run with a changed field (a different person).
    const signed = signDecision(runId, asGrace);
    expect(await refused(handle, { ...signed, userId: 'u-alan', userName: 'alan' })).toContain('not signed');
    // 5. Correctly signed for this run, but stale.
    const old = Date.now() - 11 * 60_000;
    const stale = { ...asGrace, issuedAt: old, signature: signMessage(resolveDecisionKey().privateKey, decisionMessage(runId, { ...asGrace, issuedAt: old })) };
    expect(await refused(handle, stale)).toContain('issued too long ago');

    expect(await gateState(runId)).toMatchObject({ status: 'waiting', votes: [] });
    expect(await updatesAccepted(handle)).toBe(0);
    // The other run's signature was genuine: that run takes it.
    const otherHandle = client.workflow.getHandle(workflowIdForRun(otherRunId));
    await expect(otherHandle.executeUpdate(decideUpdate, { args: [forOther], updateId: 'prod:u-grace' })).resolves.toMatchObject({ gateStatus: 'approved' });

    // Grace deciding through the app still works (signed by the approvals service).
    const res = await h.as(h.users.grace).approvals.decide({ runId, gateId: 'prod', decision: 'approve', comment: 'ship it' });
    expect(res.gateStatus).toBe('approved');
    const done = await h.waitForEnd(runId);
    expect(done.status).toBe('succeeded');
    expect(h.stageOf(done, 'prod').gate?.votes).toMatchObject([{ userName: 'grace', comment: 'ship it' }]);
    await h.waitForEnd(otherRunId);
  });

  it('refuses the decision the attack sent through Temporal\'s HTTP API', async () => {
    const runId = await h.run(gated('http-forged'));
    await h.waitForStage(runId, 'prod', 'waiting');
    const url = `http://127.0.0.1:${httpPort}/api/v1/namespaces/default/workflows/${workflowIdForRun(runId)}/update/decide`;
    const send = async (d: DecideInput, updateId: string) => {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          request: { meta: { updateId }, input: { name: 'decide', args: [d] } },
          waitPolicy: { lifecycleStage: 'UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED' },
        }),
      });
      return JSON.stringify(await res.json());
    };
    expect(await send(asGrace, 'forged-http')).toContain('the decision is not signed by the control plane');
    const handle = (await h.temporal()).workflow.getHandle(workflowIdForRun(runId));
    expect(await gateState(runId)).toMatchObject({ status: 'waiting', votes: [] });
    expect(await updatesAccepted(handle)).toBe(0);
    // The same path with the control plane's signature goes through: the refusal above was the signature's doing.
    expect(await send(signDecision(runId, asGrace), 'prod:u-grace')).toContain('approved');
    expect(await gateState(runId)).toMatchObject({ status: 'approved', votes: [{ userName: 'grace' }] });
    await h.waitForEnd(runId);
  });

  it('refuses an unsigned cancellation; the app\'s own cancel still works', async () => {
    const runId = await h.run(gated('cancel-forged'));
    await h.waitForStage(runId, 'prod', 'waiting');
    const handle = (await h.temporal()).workflow.getHandle(workflowIdForRun(runId));
    const err = await handle.executeUpdate(cancelRunUpdate, { args: [{ userId: 'u-grace', userName: 'grace' }], updateId: 'forged-cancel' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
    expect((err as WorkflowUpdateFailedError).cause?.message).toContain('cancellation is not signed by the control plane');
    expect((await handle.query(getStateQuery)).status).toBe('running');
    expect(await updatesAccepted(handle)).toBe(0);

    await h.as(h.users.author).runs.cancel({ runId, reason: 'not today' });
    const r = await h.waitForEnd(runId);
    expect(r.status).toBe('cancelled');
  });
});
