/**
 * Triggers end to end: real HTTP deliveries (signed like GitHub's and
 * GitLab's, and badly signed ones) to the webhook route served by a plain
 * Node HTTP server, a Temporal Schedule that fires every two seconds and can
 * be paused, and upstream-pipeline completion — all against the real Temporal
 * dev server, a real worker and a real SQLite file.
 */
import { ScheduleNotFoundError } from '@temporalio/client';
import { eq } from 'drizzle-orm';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POST as hookPOST } from '../../app/api/hooks/[pipelineId]/route';
import { auditLog, runs, triggerDeliveries } from '../../db/schema';
import { scheduleIdFor, syncSchedules } from '../../server/services/triggers';
import { githubSignature } from '../../server/triggers/webhook';
import { cmd, spec, startHarness, type Harness } from './harness';

let h: Harness;
let server: Server;
let base: string;

beforeAll(async () => {
  h = await startHarness();
  // The route handler behind a real HTTP server, as Next serves it.
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers = new Headers();
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers.set(k, v);
      const url = new URL(req.url ?? '/', base);
      const pipelineId = decodeURIComponent(url.pathname.split('/')[3] ?? '');
      void hookPOST(new Request(url, { method: 'POST', headers, body: Buffer.concat(chunks) }), { params: Promise.resolve({ pipelineId }) }).then(async (r) => {
        res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' });
        res.end(Buffer.from(await r.arrayBuffer()));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  await h?.close();
});

const pushSpec = (name: string) =>
  spec(name, [cmd('build', 'echo "building ${{ params.branch }} at ${{ params.commit }} by ${{ params.author }}"')], [], {
    parameters: [
      { name: 'branch', type: 'string' },
      { name: 'commit', type: 'string' },
      { name: 'author', type: 'string' },
    ],
    settings: { concurrency: 20 },
  });

function githubPush(branch: string, sha = 'a'.repeat(40), extra: Record<string, unknown> = {}) {
  return {
    ref: `refs/heads/${branch}`,
    before: '0'.repeat(40),
    after: sha,
    repository: { full_name: 'acme/shop' },
    pusher: { name: 'octocat' },
    head_commit: { id: sha, message: 'Fix the thing', author: { name: 'Mona', username: 'mona' } },
    ...extra,
  };
}

async function deliverGithub(pipelineId: string, secret: string, payload: unknown, opts: { delivery?: string; event?: string; signature?: string; raw?: string } = {}) {
  const body = opts.raw ?? JSON.stringify(payload);
  const res = await fetch(`${base}/api/hooks/${pipelineId}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': opts.event ?? 'push',
      'x-github-delivery': opts.delivery ?? crypto.randomUUID(),
      'x-hub-signature-256': opts.signature ?? githubSignature(secret, body),
      'user-agent': 'GitHub-Hookshot/test',
    },
    body,
  });
  return { status: res.status, body: (await res.json()) as { ok: boolean; started: boolean; message: string; runId?: string; runNumber?: number; duplicate?: boolean } };
}

async function deliverGitlab(pipelineId: string, token: string, payload: unknown, delivery = crypto.randomUUID(), event = 'Push Hook') {
  const res = await fetch(`${base}/api/hooks/${pipelineId}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-gitlab-event': event, 'x-gitlab-token': token, 'x-gitlab-event-uuid': delivery },
    body: JSON.stringify(payload),
  });
  return { status: res.status, body: (await res.json()) as { ok: boolean; started: boolean; message: string; runId?: string; duplicate?: boolean } };
}

const runCount = async (pipelineId: string) => (await h.db.select({ id: runs.id }).from(runs).where(eq(runs.pipelineId, pipelineId))).length;

describe('GitHub webhook', () => {
  let pipelineId: string;
  let secret: string;
  let triggerId: string;

  beforeAll(async () => {
    pipelineId = await h.createPipeline(pushSpec('Webhook GitHub'));
    const created = await h.as(h.users.author).triggers.createWebhook({
      pipelineId,
      name: 'GitHub pushes',
      config: { provider: 'github', branches: ['main', 'release/*'] },
    });
    secret = created.secret;
    triggerId = created.trigger.id;
    expect(secret.length).toBeGreaterThanOrEqual(24);
  });

  it('starts a run from a signed push, mapping branch, commit and author to parameters', async () => {
    const sha = 'b'.repeat(40);
    const res = await deliverGithub(pipelineId, secret, githubPush('main', sha), { delivery: 'gh-delivery-1' });
    expect(res.status).toBe(202);
    expect(res.body.started).toBe(true);
    const run = await h.waitForEnd(res.body.runId!);
    expect(run.status).toBe('succeeded');
    expect(run.trigger).toBe('webhook');
    expect(run.params).toEqual({ branch: 'main', commit: sha, author: 'mona' });
    expect(run.triggerDetails).toMatchObject({ type: 'webhook', provider: 'github', deliveryId: 'gh-delivery-1', branch: 'main', commit: sha, author: 'mona', repository: 'acme/shop' });
    const log = await h.as(h.users.viewer).runs.logs({ runId: run.id, nodeId: 'build' });
    expect(log.text).toContain(`building main at ${sha} by mona`);
  });

  it('answers a second delivery of the same id with "duplicate" and starts nothing', async () => {
    const before = await runCount(pipelineId);
    const res = await deliverGithub(pipelineId, secret, githubPush('main'), { delivery: 'gh-delivery-1' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ started: false, duplicate: true });
    expect(res.body.message).toMatch(/already received/);
    expect(await runCount(pipelineId)).toBe(before);
  });

  it('refuses a wrong or missing signature with 401 and starts nothing', async () => {
    const before = await runCount(pipelineId);
    const wrong = await deliverGithub(pipelineId, 'not-the-secret', githubPush('main'));
    expect(wrong.status).toBe(401);
    expect(wrong.body.started).toBe(false);
    // Signed for another body (a tampered payload).
    const tampered = await deliverGithub(pipelineId, secret, githubPush('main'), { signature: githubSignature(secret, '{"ref":"refs/heads/evil"}') });
    expect(tampered.status).toBe(401);
    const missing = await fetch(`${base}/api/hooks/${pipelineId}`, { method: 'POST', headers: { 'x-github-event': 'push', 'x-github-delivery': 'x' }, body: '{}' });
    expect(missing.status).toBe(401);
    const none = await fetch(`${base}/api/hooks/${pipelineId}`, { method: 'POST', body: '{}' });
    expect(none.status).toBe(401);
    expect(await runCount(pipelineId)).toBe(before);
    // Sampled per kind of refusal (tests/integration/security-hardening.test.ts): the wrong signature and the
    // missing one are both in the audit log, each with its reason.
    const refused = await h.db.select().from(auditLog).where(eq(auditLog.action, 'webhook.deliver'));
    const reasons = refused.filter((r) => r.outcome === 'refused' && r.pipelineId === pipelineId).map((r) => r.reason);
    expect(reasons).toContain('signature does not match');
    expect(reasons).toContain('unsigned delivery');
  });

  it('answers a malformed delivery with 400 and the reason', async () => {
    const before = await runCount(pipelineId);
    const notJson = await deliverGithub(pipelineId, secret, null, { raw: '{"ref": "refs/heads/main",' });
    expect(notJson.status).toBe(400);
    expect(notJson.body.message).toMatch(/not valid JSON/);
    const noRef = await deliverGithub(pipelineId, secret, { after: 'c'.repeat(40) });
    expect(noRef.status).toBe(400);
    expect(noRef.body.message).toMatch(/"ref" is missing/);
    const badCommit = await deliverGithub(pipelineId, secret, githubPush('main', 'not-a-sha'));
    expect(badCommit.status).toBe(400);
    expect(badCommit.body.message).toMatch(/not a commit id/);
    const noDelivery = await fetch(`${base}/api/hooks/${pipelineId}`, {
      method: 'POST',
      headers: { 'x-github-event': 'push', 'x-hub-signature-256': githubSignature(secret, '{}') },
      body: '{}',
    });
    expect(noDelivery.status).toBe(400);
    expect(((await noDelivery.json()) as { message: string }).message).toMatch(/X-GitHub-Delivery/);
    expect(await runCount(pipelineId)).toBe(before);
  });

  it('applies the branch filter, ignores tags, deletions and other events, and answers pings', async () => {
    const before = await runCount(pipelineId);
    const feature = await deliverGithub(pipelineId, secret, githubPush('feature/x'));
    expect(feature.status).toBe(200);
    expect(feature.body.message).toMatch(/does not match/);
    const tag = await deliverGithub(pipelineId, secret, { ...githubPush('main'), ref: 'refs/tags/v1.0.0' });
    expect(tag.body.message).toMatch(/Tag pushes/);
    const deleted = await deliverGithub(pipelineId, secret, { ...githubPush('main'), after: '0'.repeat(40), deleted: true, head_commit: null });
    expect(deleted.body.message).toMatch(/deleted/);
    const issue = await deliverGithub(pipelineId, secret, { action: 'opened' }, { event: 'issues' });
    expect(issue.body.message).toMatch(/not handled/);
    const ping = await deliverGithub(pipelineId, secret, { zen: 'Keep it logically awesome.' }, { event: 'ping' });
    expect(ping.status).toBe(200);
    expect(ping.body.message).toMatch(/pong/);
    expect(await runCount(pipelineId)).toBe(before);
    const release = await deliverGithub(pipelineId, secret, githubPush('release/2.1'));
    expect(release.status).toBe(202);
    await h.waitForEnd(release.body.runId!);
  });

  it('lists deliveries with their outcome, never the secret', async () => {
    const deliveries = await h.as(h.users.viewer).triggers.deliveries({ triggerId });
    expect(deliveries.map((d) => d.outcome)).toEqual(expect.arrayContaining(['started', 'ignored']));
    const listed = await h.as(h.users.viewer).triggers.list({ pipelineId });
    expect(JSON.stringify(listed)).not.toContain(secret);
    expect(listed[0]).toMatchObject({ type: 'webhook', lastResult: expect.stringMatching(/started run/) });
  });

  it('accepts each of many concurrent deliveries exactly once', async () => {
    const before = await runCount(pipelineId);
    const ids = Array.from({ length: 10 }, (_, i) => `burst-${i}`);
    // Every id twice, all at once: ten runs, ten duplicates.
    const results = await Promise.all([...ids, ...ids].map((delivery) => deliverGithub(pipelineId, secret, githubPush('main'), { delivery })));
    expect(results.filter((r) => r.status === 202)).toHaveLength(10);
    expect(results.filter((r) => r.body.duplicate)).toHaveLength(10);
    expect(await runCount(pipelineId)).toBe(before + 10);
    await Promise.all(results.filter((r) => r.body.runId && r.status === 202).map((r) => h.waitForEnd(r.body.runId!)));
  });

  it('only authors and admins manage triggers', async () => {
    await expect(h.as(h.users.viewer).triggers.createWebhook({ pipelineId, name: 'x', config: { provider: 'github' } })).rejects.toThrow(/may not/);
    await expect(h.as(h.users.alan).triggers.delete({ id: triggerId })).rejects.toThrow(/may not/);
  });
});

describe('a push while the pipeline is full', () => {
  it('is accepted and queued, and its run starts when the one in flight ends', async () => {
    const pipelineId = await h.createPipeline(
      spec('One at a time', [cmd('build', 'sleep 2; echo "built ${{ params.commit }}"')], [], {
        parameters: [{ name: 'commit', type: 'string' }],
        settings: { concurrency: 1 },
      }),
    );
    const { secret, trigger } = await h.as(h.users.author).triggers.createWebhook({ pipelineId, name: 'pushes', config: { provider: 'github' } });
    const first = await deliverGithub(pipelineId, secret, githubPush('main', '1'.repeat(40)), { delivery: 'full-1' });
    expect(first.status).toBe(202);
    const second = await deliverGithub(pipelineId, secret, githubPush('main', '2'.repeat(40)), { delivery: 'full-2' });
    expect(second.status).toBe(202);
    expect(second.body).toMatchObject({ started: false, queued: true });
    expect(second.body.message).toMatch(/starts when one of them ends/);
    // A replay of the queued delivery starts nothing more.
    expect((await deliverGithub(pipelineId, secret, githubPush('main', '2'.repeat(40)), { delivery: 'full-2' })).body.duplicate).toBe(true);

    const firstRun = await h.waitForEnd(first.body.runId!);
    const deadline = Date.now() + 30_000;
    let all: (typeof runs.$inferSelect)[] = [];
    while (Date.now() < deadline) {
      all = await h.db.select().from(runs).where(eq(runs.pipelineId, pipelineId));
      if (all.length === 2) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(all).toHaveLength(2);
    const secondRun = await h.waitForEnd(all.find((r) => r.id !== firstRun.id)!.id);
    expect(secondRun.status).toBe('succeeded');
    expect(secondRun.startedAt!.getTime()).toBeGreaterThanOrEqual(firstRun.endedAt!.getTime());
    expect(secondRun.params).toMatchObject({ commit: '2'.repeat(40) });
    expect(secondRun.triggerDetails).toMatchObject({ type: 'webhook', deliveryId: 'full-2' });
    const deliveries = await h.as(h.users.viewer).triggers.deliveries({ triggerId: trigger.id });
    expect(deliveries.find((d) => d.deliveryId === 'github:full-2')).toMatchObject({ outcome: 'started', runId: secondRun.id });
    await new Promise((r) => setTimeout(r, 1000));
    expect(await runCount(pipelineId)).toBe(2);
  });
});

describe('GitLab webhook', () => {
  it('verifies the token, maps the push and refuses replays', async () => {
    const pipelineId = await h.createPipeline(pushSpec('Webhook GitLab'));
    const { secret } = await h.as(h.users.author).triggers.createWebhook({
      pipelineId,
      name: 'GitLab',
      config: { provider: 'gitlab', branches: ['main'] },
      secret: 'a-token-chosen-by-the-team',
    });
    expect(secret).toBe('a-token-chosen-by-the-team');
    const sha = 'c'.repeat(40);
    const payload = { object_kind: 'push', ref: 'refs/heads/main', after: sha, checkout_sha: sha, user_username: 'grace', project: { path_with_namespace: 'acme/api' } };
    const wrong = await deliverGitlab(pipelineId, 'a-token-chosen-by-the-teaM', payload);
    expect(wrong.status).toBe(401);
    const ok = await deliverGitlab(pipelineId, secret, payload, 'gl-1');
    expect(ok.status).toBe(202);
    const run = await h.waitForEnd(ok.body.runId!);
    expect(run.params).toEqual({ branch: 'main', commit: sha, author: 'grace' });
    expect(run.triggerDetails).toMatchObject({ provider: 'gitlab', deliveryId: 'gl-1', repository: 'acme/api' });
    const again = await deliverGitlab(pipelineId, secret, payload, 'gl-1');
    expect(again.body.duplicate).toBe(true);
    expect(await runCount(pipelineId)).toBe(1);
    // A GitHub-signed request does not open a GitLab trigger.
    const asGithub = await deliverGithub(pipelineId, secret, githubPush('main'));
    expect(asGithub.status).toBe(401);
  });
});

describe('schedule trigger', () => {
  it('fires on its schedule, can be paused, resumed and deleted', async () => {
    const pipelineId = await h.createPipeline(spec('Nightly', [cmd('nightly', 'echo nightly')], [], { settings: { concurrency: 5 } }));
    const trigger = await h.as(h.users.author).triggers.createSchedule({
      pipelineId,
      name: 'every two seconds',
      config: { cron: '@every 2s', timezone: 'Europe/Paris' },
    });
    try {
      const deadline = Date.now() + 30_000;
      while ((await runCount(pipelineId)) < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
      const fired = await h.db.select().from(runs).where(eq(runs.pipelineId, pipelineId));
      expect(fired.length).toBeGreaterThanOrEqual(2);
      expect(fired[0]!.trigger).toBe('schedule');
      expect(fired[0]!.triggerDetails).toMatchObject({ type: 'schedule', triggerId: trigger.id, cron: '@every 2s', timezone: 'Europe/Paris' });
      await h.waitForEnd(fired[0]!.id);

      const status = await h.as(h.users.viewer).triggers.scheduleStatus({ pipelineId });
      expect(status[trigger.id]).toMatchObject({ paused: false });

      await h.as(h.users.author).triggers.setEnabled({ id: trigger.id, enabled: false });
      expect((await h.as(h.users.viewer).triggers.scheduleStatus({ pipelineId }))[trigger.id]).toMatchObject({ paused: true });
      // A firing already on its way may still land; after that, nothing while an unpaused schedule
      // on the same cadence (the witness) fires three times.
      const witnessPipeline = await h.createPipeline(spec('Nightly witness', [cmd('w', 'true')], [], { settings: { concurrency: 5 } }));
      const witness = await h.as(h.users.author).triggers.createSchedule({ pipelineId: witnessPipeline, name: 'witness', config: { cron: '@every 2s', timezone: 'UTC' } });
      let pausedAt: number;
      try {
        const waitWitness = async (n: number) => {
          const until = Date.now() + 60_000;
          while ((await runCount(witnessPipeline)) < n && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
          expect(await runCount(witnessPipeline)).toBeGreaterThanOrEqual(n);
        };
        await waitWitness(1);
        pausedAt = await runCount(pipelineId);
        const base = await runCount(witnessPipeline);
        await waitWitness(base + 3);
      } finally {
        await h.as(h.users.author).triggers.delete({ id: witness.id });
      }
      expect(await runCount(pipelineId)).toBe(pausedAt);

      // "Run now" starts a run at once, even while paused, recorded as the schedule's.
      const now = await h.as(h.users.author).triggers.runNow({ id: trigger.id });
      const nowRun = await h.waitForEnd(now.runId);
      expect(nowRun).toMatchObject({ trigger: 'schedule', status: 'succeeded' });
      await expect(h.as(h.users.viewer).triggers.runNow({ id: trigger.id })).rejects.toThrow(/may not/);
      expect(await runCount(pipelineId)).toBe(pausedAt + 1);
      await h.as(h.users.author).triggers.setEnabled({ id: trigger.id, enabled: true });
      const resumeDeadline = Date.now() + 20_000;
      while ((await runCount(pipelineId)) <= pausedAt + 1 && Date.now() < resumeDeadline) await new Promise((r) => setTimeout(r, 250));
      expect(await runCount(pipelineId)).toBeGreaterThan(pausedAt + 1);
    } finally {
      await h.as(h.users.author).triggers.delete({ id: trigger.id });
    }
    expect(await h.as(h.users.viewer).triggers.list({ pipelineId })).toEqual([]);
    const all = await h.db.select().from(runs).where(eq(runs.pipelineId, pipelineId));
    await Promise.all(all.map((r) => h.waitForEnd(r.id)));
  });

  it('refuses a cron expression or time zone it cannot read', async () => {
    const pipelineId = await h.createPipeline(spec('Bad cron', [cmd('a', 'true')]));
    await expect(h.as(h.users.author).triggers.createSchedule({ pipelineId, name: 'x', config: { cron: 'every day', timezone: 'UTC' } })).rejects.toThrow(/5 fields/);
    await expect(h.as(h.users.author).triggers.createSchedule({ pipelineId, name: 'x', config: { cron: '0 3 * * *', timezone: 'Mars/Olympus' } })).rejects.toThrow(/time zone/);
    // Each field's values, ranges and steps are checked before anything reaches Temporal.
    for (const [cron, why] of [
      ['99 3 * * *', /minute 99 is out of range \(0–59\)/],
      ['61 * * * *', /minute 61 is out of range/],
      ['* 25 * * *', /hour 25 is out of range \(0–23\)/],
      ['*/0 * * * *', /minute step must be at least 1/],
      ['0 0 0 * *', /day of month 0 is out of range/],
      ['0 0 * 13 *', /month 13 is out of range/],
    ] as const) {
      await expect(h.as(h.users.author).triggers.createSchedule({ pipelineId, name: 'x', config: { cron, timezone: 'UTC' } })).rejects.toThrow(why);
    }
    expect(await h.as(h.users.viewer).triggers.list({ pipelineId })).toEqual([]);
  });
});

describe('schedules and deleted pipelines', () => {
  it('deleting a pipeline deletes its schedules in Temporal and closes its webhook', async () => {
    const pipelineId = await h.createPipeline(spec('Doomed', [cmd('a', 'true')]));
    const schedule = await h.as(h.users.author).triggers.createSchedule({ pipelineId, name: 'nightly', config: { cron: '0 3 * * *', timezone: 'UTC' } });
    const { secret } = await h.as(h.users.author).triggers.createWebhook({ pipelineId, name: 'pushes', config: { provider: 'github' } });
    const client = await h.temporal();
    await client.schedule.getHandle(scheduleIdFor(schedule.id)).describe();
    await h.as(h.users.author).pipelines.delete({ id: pipelineId });
    await expect(client.schedule.getHandle(scheduleIdFor(schedule.id)).describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
    const res = await deliverGithub(pipelineId, secret, githubPush('main'));
    // The same 401 as for any refused delivery: strangers cannot tell deleted pipelines apart.
    expect(res.status).toBe(401);
    expect(await runCount(pipelineId)).toBe(0);
  });

  it('the worker gives back a schedule Temporal lost, in its paused state', async () => {
    const pipelineId = await h.createPipeline(spec('Lost schedule', [cmd('a', 'true')]));
    const schedule = await h.as(h.users.author).triggers.createSchedule({ pipelineId, name: 'weekly', config: { cron: '0 6 * * 1', timezone: 'America/New_York' } });
    await h.as(h.users.author).triggers.setEnabled({ id: schedule.id, enabled: false });
    const client = await h.temporal();
    // As after starting on a new Temporal database.
    await client.schedule.getHandle(scheduleIdFor(schedule.id)).delete();
    expect((await h.as(h.users.viewer).triggers.scheduleStatus({ pipelineId }))[schedule.id]).toMatchObject({ missing: true });
    const synced = await syncSchedules(h.db, h.temporal);
    expect(synced.created).toContain(schedule.id);
    const status = (await h.as(h.users.viewer).triggers.scheduleStatus({ pipelineId }))[schedule.id];
    expect(status).toMatchObject({ paused: true });
    expect(status && 'nextTimes' in status ? status.nextTimes.length : 0).toBeGreaterThan(0);
    await h.as(h.users.author).triggers.delete({ id: schedule.id });
  });
});

describe('upstream trigger', () => {
  it('starts the downstream pipeline when the upstream one succeeds, once, and never around a loop', async () => {
    const upstreamId = await h.createPipeline(spec('Upstream', [cmd('a', 'echo upstream')], [], { settings: { concurrency: 5 } }));
    const downstreamId = await h.createPipeline(
      spec('Downstream', [cmd('b', 'echo "downstream for ${{ params.target }}"')], [], { parameters: [{ name: 'target', type: 'string' }], settings: { concurrency: 5 } }),
    );
    await h.as(h.users.author).triggers.createUpstream({ pipelineId: downstreamId, name: 'after upstream', config: { upstreamPipelineId: upstreamId, params: { target: 'staging' } } });
    // And back: the loop must stop after one round.
    await h.as(h.users.author).triggers.createUpstream({ pipelineId: upstreamId, name: 'loop back', config: { upstreamPipelineId: downstreamId } });

    const { id: upRun } = await h.as(h.users.author).runs.start({ pipelineId: upstreamId });
    await h.waitForEnd(upRun);
    const deadline = Date.now() + 30_000;
    let down: (typeof runs.$inferSelect)[] = [];
    while (Date.now() < deadline) {
      down = await h.db.select().from(runs).where(eq(runs.pipelineId, downstreamId));
      if (down.length > 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(down).toHaveLength(1);
    const downRun = await h.waitForEnd(down[0]!.id);
    expect(downRun.status).toBe('succeeded');
    expect(downRun.trigger).toBe('upstream');
    expect(downRun.params).toEqual({ target: 'staging' });
    expect(downRun.triggerDetails).toMatchObject({ type: 'upstream', upstreamPipelineId: upstreamId, upstreamPipelineName: 'Upstream', upstreamRunId: upRun, chain: [upstreamId] });
    // The runs list says what started each run too.
    const listed = await h.as(h.users.viewer).runs.list({ pipelineId: downstreamId });
    expect(listed[0]!.triggerDetails).toMatchObject({ type: 'upstream', upstreamRunId: upRun });

    // The downstream success came back to the upstream trigger: ignored (settled as such), not started.
    const loopDeadline = Date.now() + 30_000;
    let loop = await h.db.select().from(triggerDeliveries).where(eq(triggerDeliveries.deliveryId, `run:${down[0]!.id}`));
    while (loop[0]?.outcome !== 'ignored' && Date.now() < loopDeadline) {
      await new Promise((r) => setTimeout(r, 100));
      loop = await h.db.select().from(triggerDeliveries).where(eq(triggerDeliveries.deliveryId, `run:${down[0]!.id}`));
    }
    expect(loop[0]).toMatchObject({ outcome: 'ignored' });
    expect(await runCount(upstreamId)).toBe(1);
    expect(loop[0]!.message).toMatch(/loops back/);
  });

  it('starts nothing when the upstream run fails', async () => {
    const upstreamId = await h.createPipeline(spec('Failing upstream', [cmd('a', 'exit 3')]));
    const downstreamId = await h.createPipeline(spec('Never started', [cmd('b', 'true')]));
    await h.as(h.users.author).triggers.createUpstream({ pipelineId: downstreamId, name: '', config: { upstreamPipelineId: upstreamId } });
    const { id } = await h.as(h.users.author).runs.start({ pipelineId: upstreamId });
    expect((await h.waitForEnd(id)).status).toBe('failed');
    await new Promise((r) => setTimeout(r, 1000));
    expect(await runCount(downstreamId)).toBe(0);
  });
});
