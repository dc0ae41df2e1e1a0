/**
 * Notifications from the worker to a local HTTP server: a gate that starts
 * waiting, its decision and the end of the run each arrive exactly once, as
 * Slack-compatible JSON with a valid HMAC-SHA256 signature (configured as an
 * admin would, with the secret sealed in the settings table); hostile text is
 * escaped; a webhook that refuses never fails the run.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notifications, settings } from '../../db/schema';
import { signWebhook } from '../../workflows/stages/webhook/executor';
import { cmd, gate, spec, startHarness, type Harness } from './harness';

const SECRET = 'notify-s3cret';

type Received = { headers: http.IncomingHttpHeaders; raw: string; body: { text: string; blocks: { type: string; text?: { text: string } }[]; pipewright: Record<string, unknown> } };

let h: Harness;
let server: http.Server;
let url = '';
let answer = 200;
const received: Received[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (raw += c));
    req.on('end', () => {
      received.push({ headers: req.headers, raw, body: JSON.parse(raw) as Received['body'] });
      res.writeHead(answer, { 'content-type': 'text/plain' }).end(answer === 200 ? 'ok' : 'no');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  h = await startHarness({ env: { PIPEWRIGHT_URL: 'https://pipewright.example.test' } });
  await h.as(h.users.admin).settings.setNotifications({ url, enabled: true, secret: SECRET });
});
afterAll(async () => {
  await h?.close();
  await new Promise((r) => server.close(r));
});

const forRun = (runId: string) => received.filter((r) => r.body.pipewright.runId === runId);

async function waitForMessages(runId: string, n: number, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (forRun(runId).length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return forRun(runId);
}

const gated = (name: string) =>
  spec(
    name,
    [cmd('build', 'echo built'), gate('qa', { groups: ['approvers'], instructions: 'Check <https://evil.example|this> & sign' }), cmd('deploy', 'echo deployed')],
    [
      ['build', 'qa'],
      ['qa', 'deploy'],
    ],
    { parameters: [{ name: 'version', type: 'string', default: '1.2.3' }] },
  );

describe('notifications', () => {
  it('sends gate waiting, gate decided and run ended once each, signed, Slack-compatible and escaped', async () => {
    const runId = await h.run(gated('Deploy <!channel> & "co"'));
    await h.waitForStage(runId, 'qa', 'waiting');
    await h.as(h.users.alan).approvals.decide({ runId, gateId: 'qa', decision: 'approve', comment: '<@U123> looks *good*' });
    await h.waitForEnd(runId);
    await waitForMessages(runId, 3);
    // Nothing more arrives: a later run's notifications go through the same worker and webhook, and
    // by the time its end is announced no retry or duplicate of the first run's has come.
    const witness = await h.run(spec('notify witness', [cmd('only', 'true')]));
    await h.waitForEnd(witness);
    expect((await waitForMessages(witness, 1)).map((m) => m.body.pipewright.event)).toEqual(['run.ended']);
    const messages = forRun(runId);
    expect(messages.map((m) => m.body.pipewright.event)).toEqual(['gate.waiting', 'gate.decided', 'run.ended']);

    for (const m of messages) {
      const ts = m.headers['x-pipewright-timestamp'] as string;
      expect(m.headers['content-type']).toBe('application/json');
      expect(m.headers['x-pipewright-event']).toBe(m.body.pipewright.event);
      expect(m.headers['x-pipewright-delivery']).toBe(m.body.pipewright.id);
      expect(Math.abs(Number(ts) - Date.now() / 1000)).toBeLessThan(60);
      expect(m.headers['x-pipewright-signature']).toBe(signWebhook(SECRET, ts, m.raw));
      expect(typeof m.body.text).toBe('string');
      expect(m.body.blocks[0]!.type).toBe('section');
      expect(m.body.pipewright).toMatchObject({ runId, url: `https://pipewright.example.test/pipelines/${m.body.pipewright.pipelineId}/runs/${runId}` });
    }
    const [waiting, decided, ended] = messages as [Received, Received, Received];
    // Typed text cannot ping a channel, mention someone or form a link.
    expect(waiting.body.text).toBe('Approval needed: "qa" in Deploy &lt;!channel&gt; &amp; "co" #1');
    expect(waiting.body.blocks[0]!.text!.text).toContain('&lt;https://evil.example|this&gt; &amp; sign');
    expect(waiting.body.blocks[0]!.text!.text).not.toContain('<!channel>');
    expect(JSON.stringify(waiting.body.blocks[1])).toContain('version=1.2.3');
    expect(decided.body.pipewright).toMatchObject({ event: 'gate.decided', gateId: 'qa', decision: 'approved', decidedBy: 'alan' });
    expect(decided.body.blocks[0]!.text!.text).toContain('&lt;@U123&gt; looks *good*');
    expect(ended.body.pipewright).toMatchObject({ event: 'run.ended', status: 'succeeded' });

    const rows = await h.db.select().from(notifications).where(eq(notifications.runId, runId));
    expect(rows.map((r) => [r.id, r.status, r.attempts]).sort()).toEqual(
      [
        [`gate.decided:${runId}:qa`, 'sent', 1],
        [`gate.waiting:${runId}:qa`, 'sent', 1],
        [`run.ended:${runId}`, 'sent', 1],
      ].sort(),
    );
    // The secret is stored sealed, never as typed.
    const stored = await h.db.select().from(settings).get();
    expect(JSON.stringify(stored?.value)).not.toContain(SECRET);
  });

  it('a rejection is notified with its comment, and the failed run', async () => {
    const runId = await h.run(gated('rejected release'));
    await h.waitForStage(runId, 'qa', 'waiting');
    await h.as(h.users.grace).approvals.decide({ runId, gateId: 'qa', decision: 'reject', comment: 'not today' });
    await h.waitForEnd(runId);
    const messages = await waitForMessages(runId, 3);
    expect(messages[1]!.body.pipewright).toMatchObject({ decision: 'rejected', decidedBy: 'grace' });
    expect(messages[1]!.body.text).toContain('rejected by grace');
    expect(messages[2]!.body.pipewright).toMatchObject({ status: 'failed', error: expect.stringContaining('not today') });
  });

  it('a webhook that refuses never fails the run; the failure is recorded', async () => {
    answer = 400;
    try {
      const runId = await h.run(spec('no gate', [cmd('a', 'true')]));
      expect((await h.waitForEnd(runId)).status).toBe('succeeded');
      await waitForMessages(runId, 1);
      const deadline = Date.now() + 10_000;
      let row;
      while (Date.now() < deadline) {
        row = await h.db.select().from(notifications).where(eq(notifications.id, `run.ended:${runId}`)).get();
        if (row?.status !== 'sending') break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(row).toMatchObject({ status: 'failed', lastResult: 'HTTP 400', attempts: 1 });
    } finally {
      answer = 200;
    }
  });
});
