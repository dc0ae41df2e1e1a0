import { createHmac, timingSafeEqual } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { executeWebhook } from '@/workflows/stages/webhook/executor';
import { webhookConfigSchema } from '@/workflows/stages/webhook/definition';
import { StageFailure } from '@/workflows/stages/executor-types';
import { fakeContext, type FakeContext } from './fake-context';
import { allowTestServers, refusedUrl, reply, startServer, type Handler, type Received, type TestServer } from './http-server';

const KEY = 'super-secret-signing-key';
const servers: TestServer[] = [];
const contexts: FakeContext[] = [];
async function server(handler: Handler): Promise<TestServer> {
  const s = await startServer(handler);
  servers.push(s);
  return s;
}
function context(overrides: Parameters<typeof fakeContext>[0] = {}): FakeContext {
  const c = fakeContext({ ...overrides, env: allowTestServers(overrides.env ?? { PIPEWRIGHT_WEBHOOK_SECRET: KEY }) });
  contexts.push(c);
  return c;
}
afterEach(async () => {
  for (const c of contexts.splice(0)) c.cleanup();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const config = (c: Record<string, unknown>) => webhookConfigSchema.parse(c);

/** What a receiver does: recompute the HMAC over "<timestamp>.<raw body>" and compare in constant time. */
function verify(req: Received, key: string): boolean {
  const ts = String(req.headers['x-pipewright-timestamp']);
  const sig = String(req.headers['x-pipewright-signature'] ?? '');
  const expected = `sha256=${createHmac('sha256', key).update(`${ts}.${req.body}`).digest('hex')}`;
  return sig.length === expected.length && timingSafeEqual(Buffer.from(sig), Buffer.from(expected));
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Error);
  return err as Error;
}

describe('webhook executor', () => {
  it('POSTs signed JSON that the receiver can verify', async () => {
    const s = await server((_req, res) => reply(res, 202));
    const { ctx, log, heartbeats } = context({ runId: 'run-7', nodeId: 'notify', attempt: 2 });
    const body = { text: 'released 1.2.3', n: 1, nested: { ok: true } };
    const result = await executeWebhook(config({ url: `${s.url}/hooks/abc`, body, headers: { 'X-Team': 'core' } }), ctx);

    expect(result.outputs).toEqual({ status: '202' });
    expect(s.received).toHaveLength(1);
    const req = s.received[0]!;
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/hooks/abc');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['x-team']).toBe('core');
    expect(req.headers['x-pipewright-delivery']).toBe('run-7:notify:2');
    const ts = Number(req.headers['x-pipewright-timestamp']);
    expect(Math.abs(ts - Date.now() / 1000)).toBeLessThan(5);
    expect(String(req.headers['x-pipewright-signature'])).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(JSON.parse(req.body)).toEqual(body);
    expect(verify(req, KEY)).toBe(true);
    expect(verify(req, 'wrong-key')).toBe(false);
    expect(heartbeats.length).toBeGreaterThanOrEqual(1);

    const logged = log.text();
    expect(logged).not.toContain(KEY);
    expect(logged).not.toContain(String(req.headers['x-pipewright-signature']));
    expect(logged).not.toContain('/hooks/abc'); // only the origin is logged
  });

  it('uses the key named by secretEnv', async () => {
    const s = await server((_req, res) => reply(res, 200));
    const { ctx } = context({ env: { PIPEWRIGHT_WEBHOOK_KEY_CHAT: 'chat-key' } });
    await executeWebhook(config({ url: s.url, secretEnv: 'PIPEWRIGHT_WEBHOOK_KEY_CHAT' }), ctx);
    expect(verify(s.received[0]!, 'chat-key')).toBe(true);
  });

  it('refuses to sign with a variable that is not a webhook key (no HMAC oracle of the worker\'s secrets)', async () => {
    const s = await server((_req, res) => reply(res, 200));
    const { ctx } = context({ env: { PIPEWRIGHT_ADMIN_PASSWORD: 'hunter22hunter22' } });
    const err = await rejection(executeWebhook(config({ url: s.url, secretEnv: 'PIPEWRIGHT_ADMIN_PASSWORD' }), ctx));
    expect(err).toBeInstanceOf(StageFailure);
    expect(err.message).toContain('secretEnv "PIPEWRIGHT_ADMIN_PASSWORD" is not a webhook signing key');
    expect(err.message).toContain('PIPEWRIGHT_WEBHOOK_KEY_');
    expect(s.received).toHaveLength(0);
  });

  it('refuses a loopback target that is not allow-listed, before sending anything', async () => {
    const s = await server((_req, res) => reply(res, 200));
    // Not through context(): this one has no allow-list.
    const c = fakeContext({ env: { PIPEWRIGHT_WEBHOOK_SECRET: KEY } });
    contexts.push(c);
    const err = await rejection(executeWebhook(config({ url: s.url }), c.ctx));
    expect(err).toBeInstanceOf(StageFailure);
    expect(err.message).toContain(`refused to connect to 127.0.0.1 port ${new URL(s.url).port}: it is a loopback address`);
    expect(err.message).toContain(`PIPEWRIGHT_STAGE_EGRESS_ALLOW="127.0.0.1:${new URL(s.url).port}"`);
    expect(c.log.text('system')).toContain('refused to connect');
    expect(s.received).toHaveLength(0);
  });

  it('sends unsigned with a warning naming the variable when the key is missing', async () => {
    const s = await server((_req, res) => reply(res, 200));
    const { ctx, log } = context({ env: {} });
    const result = await executeWebhook(config({ url: s.url, body: { a: 1 } }), ctx);
    expect(result.outputs).toEqual({ status: '200' });
    expect(s.received[0]!.headers['x-pipewright-signature']).toBeUndefined();
    expect(s.received[0]!.headers['x-pipewright-timestamp']).toBeDefined();
    expect(log.text('system')).toContain('PIPEWRIGHT_WEBHOOK_SECRET is not set');
  });

  it('fails the stage on 4xx (not retried)', async () => {
    const s = await server((_req, res) => reply(res, 404, 'no such hook: internal-token-123'));
    const { ctx, log } = context();
    const err = await rejection(executeWebhook(config({ url: s.url }), ctx));
    expect(err).toBeInstanceOf(StageFailure);
    expect((err as StageFailure).type).toBe('StageFailed');
    // Status and size, never the body (it may come from a service the author should not read).
    expect(err.message).toContain('answered 404, 32 bytes');
    expect(err.message).not.toContain('internal-token-123');
    expect(log.text()).not.toContain('internal-token-123');
  });

  it('throws a plain (retryable) Error on 5xx, 429, refused connections and timeouts', async () => {
    for (const status of [500, 503, 429]) {
      const s = await server((_req, res) => reply(res, status));
      const err = await rejection(executeWebhook(config({ url: s.url }), context().ctx));
      expect(err).not.toBeInstanceOf(StageFailure);
      expect(err.message).toContain(`answered ${status}`);
    }

    const refused = await rejection(executeWebhook(config({ url: await refusedUrl() }), context().ctx));
    expect(refused).not.toBeInstanceOf(StageFailure);
    expect(refused.message).toContain('connection refused');

    const silent = await server(() => {});
    const slow = await rejection(executeWebhook(config({ url: silent.url, timeoutSeconds: 0.2 }), context().ctx));
    expect(slow).not.toBeInstanceOf(StageFailure);
    expect(slow.message).toContain('did not answer within 0.2s');
  });

  it('does not follow redirects (the signature stays with the configured host)', async () => {
    const other = await server((_req, res) => reply(res, 200));
    const s = await server((_req, res) => {
      res.writeHead(307, { location: `${other.url}/steal` });
      res.end();
    });
    const err = await rejection(executeWebhook(config({ url: s.url }), context().ctx));
    expect(err).toBeInstanceOf(StageFailure);
    expect(err.message).toContain('307');
    expect(other.received).toHaveLength(0);
  });

  it('throws the abort reason when cancelled', async () => {
    const silent = await server(() => {});
    const { ctx, controller } = context();
    const running = executeWebhook(config({ url: silent.url }), ctx);
    while (silent.received.length === 0) await new Promise((r) => setTimeout(r, 10));
    const reason = new Error('cancelled by carol');
    controller.abort(reason);
    await expect(running).rejects.toBe(reason);
  });
});
