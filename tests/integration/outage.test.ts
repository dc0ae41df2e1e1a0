/**
 * Temporal outages under a running app: the Temporal dev server is killed
 * (kill -9) while a run waits at a gate, with the app's API, its live event
 * stream and its webhook route in this process, and the control worker and a
 * runner as real child processes. While it is down: every open page's stream
 * says so (the banner), starting, deciding and cancelling are refused with a
 * clear message and write nothing, and a webhook delivery gets 503 with
 * Retry-After and is not recorded as seen. The server is started again by the
 * same supervisor `npm start` uses (scripts/supervisor.ts), on the same
 * database; then, without restarting anything else, the banner goes away, the
 * redelivered webhook starts exactly one run, and the gate is approved and
 * the run completes.
 *
 * This file runs its own Temporal dev server (so it can kill it).
 */
import { Connection } from '@temporalio/client';
import { and, count, eq } from 'drizzle-orm';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { GET as eventsGET } from '../../app/api/events/route';
import { POST as hookPOST } from '../../app/api/hooks/[pipelineId]/route';
import { auditLog, gates, runs, triggerDeliveries } from '../../db/schema';
import { getFreePort } from '../../scripts/ports';
import { supervise, type Supervisor } from '../../scripts/supervisor';
import { startDevServer, type DevServer } from '../../scripts/temporal-dev-server';
import { registerSearchAttributes } from '../../server/temporal/search-attributes-registration';
import { githubSignature } from '../../server/triggers/webhook';
import { cmd, gate, spec, startHarness, type Harness } from './harness';
import { freshAuth, signedIn, sse, type SignedIn } from './sessions';

const BASE = 'http://localhost:3000';
const bin = inject('temporalBin');

let h: Harness;
let server: DevServer | undefined;
let supervisor: Supervisor | undefined;
let stopping = false;
let allowRestart: () => void = () => undefined;
let restarted: Promise<void>;
let worker: ChildProcess | undefined;
let runner: ChildProcess | undefined;
let viewer: SignedIn;

beforeAll(async () => {
  const port = await getFreePort();
  h = await startHarness({ worker: false, env: { TEMPORAL_ADDRESS: `127.0.0.1:${port}`, PIPEWRIGHT_URL: BASE } });
  const dbFile = join(h.dir, 'temporal.db');
  const options = { bin, port, namespace: 'default', dbFile, logFile: `${dbFile}.log` };
  server = await startDevServer(options);
  const connection = await Connection.connect({ address: server.address });
  await registerSearchAttributes(connection, 'default');
  await connection.close();
  // Restarted like `npm start` does, but only once the test has looked at the outage.
  const mayRestart = new Promise<void>((resolve) => (allowRestart = resolve));
  let markRestarted: () => void = () => undefined;
  restarted = new Promise<void>((resolve) => (markRestarted = resolve));
  supervisor = supervise<DevServer>({
    first: server,
    stopping: () => stopping,
    minDelayMs: 200,
    start: async () => {
      await mayRestart;
      return startDevServer(options);
    },
    onStarted: (again) => {
      server = again;
      markRestarted();
    },
  });
  worker = spawn(process.execPath, ['--import', 'tsx', 'server/control-worker/worker.ts'], { env: { ...process.env }, stdio: ['ignore', 'inherit', 'inherit'] });
  runner = h.spawnRunner();
  freshAuth();
  viewer = await signedIn(h.db, { username: 'outage_viewer', role: 'viewer' });
});

afterAll(async () => {
  stopping = true;
  allowRestart();
  supervisor?.wake();
  for (const p of [worker, runner]) {
    if (p && p.exitCode === null) {
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGKILL');
      await exited;
    }
  }
  await h?.close();
  await server?.stop();
  await supervisor?.done;
});

function githubPush(sha: string) {
  return JSON.stringify({
    ref: 'refs/heads/main',
    before: '0'.repeat(40),
    after: sha,
    repository: { full_name: 'acme/shop' },
    pusher: { name: 'octocat' },
    head_commit: { id: sha, message: 'Fix the thing', author: { name: 'Mona', username: 'mona' } },
  });
}

async function deliver(pipelineId: string, secret: string, delivery: string, body: string) {
  const res = await hookPOST(
    new Request(`${BASE}/api/hooks/${pipelineId}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': delivery, 'x-hub-signature-256': githubSignature(secret, body) },
      body,
    }),
    { params: Promise.resolve({ pipelineId }) },
  );
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as { started: boolean; message: string; runId?: string; duplicate?: boolean } };
}

/** Retries `fn` while it fails only because Temporal or the worker is not back yet. */
async function once<T>(fn: () => Promise<T>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline || (err as { code?: string }).code !== 'SERVICE_UNAVAILABLE') throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

describe('Temporal outage under a running app', () => {
  it('says so, refuses and writes nothing while Temporal is down, and carries on without a restart once it is back', async () => {
    const runId = await h.run(
      spec('outage gate', [cmd('a', 'echo before'), gate('qa', { groups: ['approvers'] }), cmd('c', 'echo after')], [
        ['a', 'qa'],
        ['qa', 'c'],
      ]),
    );
    await h.waitForStage(runId, 'qa', 'waiting', 90_000);
    const hookPipeline = await h.createPipeline(spec('outage webhook', [cmd('build', 'echo built')]));
    const { secret, trigger } = await h.as(h.users.author).triggers.createWebhook({ pipelineId: hookPipeline, name: 'pushes', config: { provider: 'github', branches: ['main'] } });

    const ac = new AbortController();
    const stream = sse(await eventsGET(new Request(`${BASE}/api/events?approvals=1`, { headers: viewer.headers(), signal: ac.signal })));
    try {
      await stream.waitFor<{ up: boolean }>((e) => e.event === 'temporal' && e.data.up, 30_000);

      await server!.kill9();
      const down = await stream.waitFor<{ up: boolean }>((e) => e.event === 'temporal' && !e.data.up, 30_000);

      // Starting: refused with the reason, and no run row left behind.
      const runsBefore = (await h.db.select({ n: count() }).from(runs).get())!.n;
      await expect(h.as(h.users.author).runs.start({ pipelineId: hookPipeline })).rejects.toMatchObject({
        code: 'SERVICE_UNAVAILABLE',
        message: expect.stringMatching(/^The run was not started: Pipewright cannot reach its Temporal server/),
      });
      // Deciding and cancelling: refused, the gate still waits, nothing audited as done.
      await expect(h.as(h.users.alan).approvals.decide({ runId, gateId: 'qa', decision: 'approve' })).rejects.toMatchObject({
        code: 'SERVICE_UNAVAILABLE',
        message: expect.stringMatching(/^Your decision was not recorded: Pipewright cannot reach its Temporal server/),
      });
      await expect(h.as(h.users.author).runs.cancel({ runId })).rejects.toMatchObject({
        code: 'SERVICE_UNAVAILABLE',
        message: expect.stringMatching(/^The run was not cancelled: Pipewright cannot reach its Temporal server/),
      });
      expect((await h.db.select({ n: count() }).from(runs).get())!.n).toBe(runsBefore);
      expect((await h.db.select({ status: gates.status }).from(gates).where(and(eq(gates.runId, runId), eq(gates.nodeId, 'qa'))).get())?.status).toBe('waiting');
      const done = await h.db.select().from(auditLog).where(and(eq(auditLog.runId, runId), eq(auditLog.outcome, 'ok')));
      expect(done.map((a) => a.action).filter((a) => a !== 'run.start')).toEqual([]);

      // A webhook delivery: 503 with Retry-After, and the delivery is not recorded as seen.
      const sha = 'c'.repeat(40);
      const refused = await deliver(hookPipeline, secret, 'outage-delivery-1', githubPush(sha));
      expect(refused.status).toBe(503);
      expect(Number(refused.retryAfter)).toBeGreaterThan(0);
      expect(refused.body.message).toMatch(/cannot reach its Temporal server/);
      expect(await h.db.select().from(triggerDeliveries).where(eq(triggerDeliveries.triggerId, trigger.id))).toEqual([]);
      expect((await h.db.select({ n: count() }).from(runs).where(eq(runs.pipelineId, hookPipeline)).get())!.n).toBe(0);

      // Temporal comes back (the supervisor restarts it on the same database); nothing else is restarted.
      allowRestart();
      await restarted;
      await stream.waitFor<{ up: boolean }>((e) => e.event === 'temporal' && e.data.up, 60_000, down.index + 1);

      // The Git host redelivers: exactly one run, and a further redelivery is a duplicate.
      const redelivered = await once(async () => {
        const r = await deliver(hookPipeline, secret, 'outage-delivery-1', githubPush(sha));
        if (r.status === 503) throw Object.assign(new Error(r.body.message), { code: 'SERVICE_UNAVAILABLE' });
        return r;
      });
      expect(redelivered.status).toBe(202);
      expect(redelivered.body.started).toBe(true);
      const again = await deliver(hookPipeline, secret, 'outage-delivery-1', githubPush(sha));
      expect(again.status).toBe(200);
      expect(again.body.duplicate).toBe(true);
      const hookRuns = await h.db.select({ id: runs.id }).from(runs).where(eq(runs.pipelineId, hookPipeline));
      expect(hookRuns.map((r) => r.id)).toEqual([redelivered.body.runId]);
      expect((await h.waitForEnd(redelivered.body.runId!, 120_000)).status).toBe('succeeded');

      // The run that waited at the gate through the outage: approved, and it completes.
      await once(() => h.as(h.users.alan).approvals.decide({ runId, gateId: 'qa', decision: 'approve' }));
      const r = await h.waitForEnd(runId, 120_000);
      expect(r.status).toBe('succeeded');
      expect(h.stageOf(r, 'a').executions).toBe(1);
      expect(h.stageOf(r, 'c').status).toBe('succeeded');
    } finally {
      ac.abort();
      await stream.cancel();
    }
  });
});
