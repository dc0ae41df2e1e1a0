import { afterEach, describe, expect, it } from 'vitest';
import { executeHttpCheck, valueAt } from '@/workflows/stages/http-check/executor';
import { httpCheckConfigSchema } from '@/workflows/stages/http-check/definition';
import { StageFailure } from '@/workflows/stages/executor-types';
import { fakeContext, waitFor, type FakeContext } from './fake-context';
import { allowTestServers, refusedUrl, reply, startServer, type Handler, type TestServer } from './http-server';

const servers: TestServer[] = [];
const contexts: FakeContext[] = [];
async function server(handler: Handler): Promise<TestServer> {
  const s = await startServer(handler);
  servers.push(s);
  return s;
}
function context(overrides: Parameters<typeof fakeContext>[0] = {}): FakeContext {
  const c = fakeContext({ ...overrides, env: allowTestServers(overrides.env ?? {}) });
  contexts.push(c);
  return c;
}
afterEach(async () => {
  for (const c of contexts.splice(0)) c.cleanup();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const config = (c: Record<string, unknown>) => httpCheckConfigSchema.parse({ intervalSeconds: 0.1, requestTimeoutSeconds: 1, ...c });

async function failure(p: Promise<unknown>): Promise<StageFailure> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StageFailure);
  return err as StageFailure;
}

describe('http-check executor', () => {
  it('succeeds once the server answers 200 (third request)', async () => {
    let n = 0;
    const s = await server((_req, res) => (++n < 3 ? reply(res, 503, 'starting') : reply(res, 200, 'ok')));
    const { ctx, log, heartbeats } = context();
    const result = await executeHttpCheck(config({ url: `${s.url}/health` }), ctx);
    expect(result.outputs).toEqual({ status: '200', attempts: '3' });
    expect(result.summary).toMatch(/^answered 200 after 3 attempts in \d+\.\d s$/);
    expect(s.received).toHaveLength(3);
    expect(heartbeats.filter((h) => (h as { attempt: number }).attempt > 0).length).toBeGreaterThanOrEqual(3);
    const lines = log.text('system').trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toContain('answered 503, 8 bytes (expected 200)');
    expect(lines[2]).toContain('attempt 3');
  });

  it('names the dependency that is down', async () => {
    const s = await server((req, res) => reply(res, req.url === '/db' ? 503 : 200, 'ok'));
    const { ctx } = context();
    const err = await failure(
      executeHttpCheck(
        config({
          url: `${s.url}/health`,
          deadlineSeconds: 1,
          dependencies: [
            { name: 'cache', url: `${s.url}/cache` },
            { name: 'db', url: `${s.url}/db` },
          ],
        }),
        ctx,
      ),
    );
    expect(err.message).toContain(`dependency "db" is down: ${s.url}/db answered 503, 2 bytes (expected 200)`);
    expect(err.message).not.toContain('cache');
    expect(err.outputs.status).toBe('200');
  });

  it('reports a wrong status, missing body text and refused connections', async () => {
    const s500 = await server((_req, res) => reply(res, 500));
    const e1 = await failure(executeHttpCheck(config({ url: s500.url, deadlineSeconds: 1, intervalSeconds: 2 }), context().ctx));
    expect(e1.message).toContain(`${s500.url} answered 500, 0 bytes (expected 200)`);
    expect(e1.outputs).toEqual({ status: '500', attempts: '1' });

    const s200 = await server((_req, res) => reply(res, 200, 'starting'));
    const e2 = await failure(
      executeHttpCheck(config({ url: s200.url, bodyContains: 'ok', deadlineSeconds: 1, intervalSeconds: 2 }), context().ctx),
    );
    expect(e2.message).toContain('body (8 bytes) does not contain "ok"');

    const refused = await refusedUrl();
    const e3 = await failure(executeHttpCheck(config({ url: refused, deadlineSeconds: 1, intervalSeconds: 2 }), context().ctx));
    expect(e3.message).toContain(`${refused}: connection refused`);
  });

  it('waits for the JSON value at jsonPath', async () => {
    let n = 0;
    const s = await server((_req, res) =>
      reply(res, 200, JSON.stringify({ version: 2, checks: [{ state: ++n < 2 ? 'starting' : 'passing' }] }), 'application/json'),
    );
    const { ctx, log } = context();
    const result = await executeHttpCheck(config({ url: s.url, jsonPath: 'checks.0.state', jsonEquals: 'passing' }), ctx);
    expect(result.outputs).toEqual({ status: '200', attempts: '2' });
    // The value found is not quoted: it comes from the answer's body.
    expect(log.text('system')).toContain('checks.0.state is not "passing"');
    expect(log.text('system')).not.toContain('starting');

    const numeric = await executeHttpCheck(config({ url: s.url, jsonPath: 'version', jsonEquals: '2' }), context().ctx);
    expect(numeric.outputs.attempts).toBe('1');
  });

  it('respects the deadline, also against a server that never answers', async () => {
    // The stage's own limit (20 s) is far beyond the 1 s deadline: a check that ignored its deadline
    // would end in StageTimeout (or the test's timeout), never in "not healthy … in 1s".
    const down = await server((_req, res) => reply(res, 503));
    const err = await failure(executeHttpCheck(config({ url: down.url, deadlineSeconds: 1, intervalSeconds: 0.3 }), context({ timeoutMs: 20_000 }).ctx));
    expect(err.type).toBe('StageFailed');
    expect(err.message).toMatch(/^not healthy after \d+ attempts in 1s: /);
    expect(Number(err.outputs.attempts)).toBe(down.received.length);

    const silent = await server(() => {});
    const err2 = await failure(
      executeHttpCheck(config({ url: silent.url, deadlineSeconds: 1, requestTimeoutSeconds: 600 }), context({ timeoutMs: 20_000 }).ctx),
    );
    expect(err2.type).toBe('StageFailed');
    expect(err2.message).toContain('did not answer within');
  });

  it('fails with StageTimeout when the stage time limit is shorter than the deadline', async () => {
    const down = await server((_req, res) => reply(res, 503));
    const err = await failure(executeHttpCheck(config({ url: down.url, deadlineSeconds: 60 }), context({ timeoutMs: 500 }).ctx));
    expect(err.type).toBe('StageTimeout');
  });

  it('stops when cancelled during the interval or a request', async () => {
    // Interval, request timeout and deadline are far beyond the test's timeout: only a cancellation
    // that really interrupts the wait lets these promises settle.
    const down = await server((_req, res) => reply(res, 503));
    const a = context({ timeoutMs: 3_600_000 });
    const running = executeHttpCheck(config({ url: down.url, intervalSeconds: 600, deadlineSeconds: 3000 }), a.ctx);
    await waitFor(() => (a.log.text('system').includes('attempt 1') ? true : undefined));
    a.controller.abort();
    await expect(running).rejects.toMatchObject({ name: 'AbortError' });
    expect(a.log.text('system')).toContain('cancelled');
    expect(down.received).toHaveLength(1);

    const silent = await server(() => {});
    const b = context({ timeoutMs: 3_600_000 });
    const hanging = executeHttpCheck(config({ url: silent.url, requestTimeoutSeconds: 600, deadlineSeconds: 3000 }), b.ctx);
    await waitFor(() => (silent.received.length > 0 ? true : undefined));
    const reason = new Error('cancelled by bob');
    b.controller.abort(reason);
    await expect(hanging).rejects.toBe(reason);
  });

  it('never quotes the body of a failing answer, only its status and size', async () => {
    const s = await server((_req, res) => reply(res, 500, 'db password=hunter2'));
    const { ctx, log } = context();
    const err = await failure(executeHttpCheck(config({ url: s.url, bodyContains: 'ok', deadlineSeconds: 1, intervalSeconds: 2 }), ctx));
    expect(err.message).toContain('answered 500, 19 bytes (expected 200)');
    expect(err.message).not.toContain('hunter2');
    expect(log.text()).not.toContain('hunter2');
  });

  it('refuses a target outside the allow-list at once, and a redirect to one', async () => {
    const s = await server((_req, res) => reply(res, 200));
    const port = new URL(s.url).port;
    const plain = fakeContext({ timeoutMs: 300_000 });
    contexts.push(plain);
    // A 60 s deadline, beyond the test's timeout: a refusal that were retried would not end in time.
    const err = await failure(executeHttpCheck(config({ url: s.url, deadlineSeconds: 60 }), plain.ctx));
    expect(err.type).toBe('StageFailed');
    expect(err.message).toContain(`refused to connect to 127.0.0.1 port ${port}: it is a loopback address`);
    expect(err.message).toContain(`PIPEWRIGHT_STAGE_EGRESS_ALLOW="127.0.0.1:${port}"`);
    expect(s.received).toHaveLength(0);

    // An allowed server redirecting to one that is not: the hop is checked too.
    const inner = await startServer((_req, res) => reply(res, 200)); // not through server(): not allowed
    servers.push(inner);
    const hop = await server((_req, res) => {
      res.writeHead(302, { location: `${inner.url.replace('127.0.0.1', 'localhost')}/secret` });
      res.end();
    });
    const onlyHop = fakeContext({ env: { PIPEWRIGHT_STAGE_EGRESS_ALLOW: new URL(hop.url).host } });
    contexts.push(onlyHop);
    const err2 = await failure(executeHttpCheck(config({ url: hop.url, deadlineSeconds: 60 }), onlyHop.ctx));
    expect(err2.message).toContain(`refused to connect to localhost`);
    expect(inner.received).toHaveLength(0);

    // Redirects between allowed servers are followed.
    const target = await server((_req, res) => reply(res, 200));
    const hop2 = await server((_req, res) => {
      res.writeHead(301, { location: `${target.url}/health` });
      res.end();
    });
    const ok = await executeHttpCheck(config({ url: hop2.url }), context().ctx);
    expect(ok.outputs.status).toBe('200');
    expect(target.received[0]!.url).toBe('/health');
  });

  it('refuses an invalid URL', async () => {
    const err = await failure(executeHttpCheck(config({ url: 'not a url' }), context().ctx));
    expect(err.type).toBe('InvalidConfig');
  });
});

describe('valueAt', () => {
  it('walks objects and arrays by dot path', () => {
    const doc = { a: { b: [{ c: 'x' }, null] } };
    expect(valueAt(doc, 'a.b.0.c')).toBe('x');
    expect(valueAt(doc, 'a.b.1')).toBeNull();
    expect(valueAt(doc, 'a.b.2')).toBeUndefined();
    expect(valueAt(doc, 'a.x.y')).toBeUndefined();
    expect(valueAt(doc, 'a.toString')).toBeUndefined();
  });
});
