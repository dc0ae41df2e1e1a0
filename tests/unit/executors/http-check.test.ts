import { afterEach, describe, expect, it } from 'vitest';
import { executeHttpCheck, valueAt } from '@/workflows/stages/http-check/executor';
import { httpCheckConfigSchema } from '@/workflows/stages/http-check/definition';
import { StageFailure } from '@/workflows/stages/executor-types';
import { fakeContext, waitFor, type FakeContext } from './fake-context';
import { refusedUrl, reply, startServer, type Handler, type TestServer } from './http-server';

const servers: TestServer[] = [];
const contexts: FakeContext[] = [];
async function server(handler: Handler): Promise<TestServer> {
  const s = await startServer(handler);
  servers.push(s);
  return s;
}
function context(overrides: Parameters<typeof fakeContext>[0] = {}): FakeContext {
  const c = fakeContext(overrides);
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
    expect(lines[0]).toContain('answered 503 (expected 200)');
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
    expect(err.message).toContain(`dependency "db" is down: ${s.url}/db answered 503 (expected 200)`);
    expect(err.message).not.toContain('cache');
    expect(err.outputs.status).toBe('200');
  });

  it('reports a wrong status, missing body text and refused connections', async () => {
    const s500 = await server((_req, res) => reply(res, 500));
    const e1 = await failure(executeHttpCheck(config({ url: s500.url, deadlineSeconds: 1, intervalSeconds: 2 }), context().ctx));
    expect(e1.message).toContain(`${s500.url} answered 500 (expected 200)`);
    expect(e1.outputs).toEqual({ status: '500', attempts: '1' });

    const s200 = await server((_req, res) => reply(res, 200, 'starting'));
    const e2 = await failure(
      executeHttpCheck(config({ url: s200.url, bodyContains: 'ok', deadlineSeconds: 1, intervalSeconds: 2 }), context().ctx),
    );
    expect(e2.message).toContain('body does not contain "ok"');

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
    expect(log.text('system')).toContain('checks.0.state is "starting" (expected "passing")');

    const numeric = await executeHttpCheck(config({ url: s.url, jsonPath: 'version', jsonEquals: '2' }), context().ctx);
    expect(numeric.outputs.attempts).toBe('1');
  });

  it('respects the deadline, also against a server that never answers', async () => {
    const down = await server((_req, res) => reply(res, 503));
    let started = Date.now();
    const err = await failure(executeHttpCheck(config({ url: down.url, deadlineSeconds: 1, intervalSeconds: 0.3 }), context().ctx));
    expect(Date.now() - started).toBeLessThan(1300);
    expect(Number(err.outputs.attempts)).toBeGreaterThanOrEqual(3);
    expect(err.message).toMatch(/^not healthy after \d+ attempts in 1s: /);

    const silent = await server(() => {});
    started = Date.now();
    const err2 = await failure(
      executeHttpCheck(config({ url: silent.url, deadlineSeconds: 1, requestTimeoutSeconds: 30 }), context().ctx),
    );
    expect(Date.now() - started).toBeLessThan(1500);
    expect(err2.message).toContain('did not answer within');
  });

  it('fails with StageTimeout when the stage time limit is shorter than the deadline', async () => {
    const down = await server((_req, res) => reply(res, 503));
    const err = await failure(executeHttpCheck(config({ url: down.url, deadlineSeconds: 60 }), context({ timeoutMs: 500 }).ctx));
    expect(err.type).toBe('StageTimeout');
  });

  it('stops promptly when cancelled during the interval or a request', async () => {
    const down = await server((_req, res) => reply(res, 503));
    const a = context({ timeoutMs: 300_000 });
    const running = executeHttpCheck(config({ url: down.url, intervalSeconds: 30, deadlineSeconds: 120 }), a.ctx);
    await waitFor(() => (a.log.text('system').includes('attempt 1') ? true : undefined));
    let started = Date.now();
    a.controller.abort();
    await expect(running).rejects.toMatchObject({ name: 'AbortError' });
    expect(Date.now() - started).toBeLessThan(300);
    expect(a.log.text('system')).toContain('cancelled');

    const silent = await server(() => {});
    const b = context({ timeoutMs: 300_000 });
    const hanging = executeHttpCheck(config({ url: silent.url, requestTimeoutSeconds: 30, deadlineSeconds: 120 }), b.ctx);
    await waitFor(() => (silent.received.length > 0 ? true : undefined));
    started = Date.now();
    const reason = new Error('cancelled by bob');
    b.controller.abort(reason);
    await expect(hanging).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(300);
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
