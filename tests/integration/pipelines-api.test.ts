import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { count, eq } from 'drizzle-orm';
import superjson from 'superjson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pipelines, pipelineVersions } from '../../db/schema';
import { appRouter } from '../../server/api/root';
import type { SessionUser } from '../../server/auth/session';
import { InvalidPipelineCause } from '../../server/errors';
import { cmd, spec, startHarness, type Harness } from './harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ worker: false });
});
afterAll(async () => {
  await h?.close();
});

/** Calls the API over HTTP like the browser does (error formatter included). */
async function http(user: SessionUser | null, path: string, input: unknown) {
  const res = await fetchRequestHandler({
    endpoint: '/api/trpc',
    router: appRouter,
    req: new Request(`http://localhost/api/trpc/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(superjson.serialize(input)),
    }),
    createContext: () => ({ db: h.db, user }),
  });
  return { status: res.status, body: (await res.json()) as { error?: { json: { message: string; data: { issues: unknown; code: string } } } } };
}

/** Posts a raw JSON body, as a script would (documents too deep for superjson to serialise). */
async function httpRaw(user: SessionUser | null, path: string, body: string) {
  const res = await fetchRequestHandler({
    endpoint: '/api/trpc',
    router: appRouter,
    req: new Request(`http://localhost/api/trpc/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }),
    createContext: () => ({ db: h.db, user }),
  });
  return { status: res.status, body: (await res.json()) as { result?: { data: { json: { ok: boolean; issues: unknown } } }; error?: { json: { message: string; data: { issues: unknown; code: string } } } } };
}

const pipelineCount = async () => (await h.db.select({ n: count() }).from(pipelines).get())?.n ?? 0;

describe('pipelines API', () => {
  it('refuses malformed documents with the issues and writes nothing', async () => {
    const before = await pipelineCount();
    const bad = [null, 'text', { schemaVersion: 1, name: 'x', nodes: 'no', edges: [] }, { schemaVersion: 99, name: 'x', nodes: [], edges: [] }];
    for (const doc of bad) {
      const err = await h.as(h.users.author).pipelines.create({ name: 'bad', spec: doc }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'BAD_REQUEST' });
      expect((err as { cause: unknown }).cause).toBeInstanceOf(InvalidPipelineCause);
    }
    expect(await pipelineCount()).toBe(before);
  });

  it('answers an oversized graph over HTTP with 400 and the reason, never 500', async () => {
    const nodes = Array.from({ length: 2001 }, (_, i) => cmd(`n${i}`, 'true'));
    const res = await http(h.users.author, 'pipelines.create', { name: 'huge', spec: spec('huge', nodes) });
    expect(res.status).toBe(400);
    expect(res.body.error?.json.data.issues).toEqual([expect.objectContaining({ code: 'too-many-nodes' })]);
    const unauth = await http(null, 'pipelines.create', { name: 'x' });
    expect(unauth.status).toBe(401);
    const forbidden = await http(h.users.viewer, 'pipelines.create', { name: 'x' });
    expect(forbidden.status).toBe(403);
  });

  it('answers a document nested 10,000 levels deep with the same issue as 70 levels, and saves nothing', async () => {
    const { id } = await h.as(h.users.author).pipelines.create({ name: 'deep target', spec: spec('deep target', [cmd('a', 'true')]) });
    const versions = async () => (await h.db.select({ n: count() }).from(pipelineVersions).where(eq(pipelineVersions.pipelineId, id)).get())?.n ?? 0;
    const before = { pipelines: await pipelineCount(), versions: await versions() };
    const docText = (depth: number) =>
      `{"schemaVersion":1,"name":"deep","nodes":[{"id":"hook","kind":"webhook","name":"hook","config":{"url":"http://localhost/","body":${'{"x":'.repeat(depth)}1${'}'.repeat(depth)}}}],"edges":[]}`;
    const answers = async (depth: number) => ({
      validate: await httpRaw(h.users.author, 'pipelines.validate', `{"json":{"spec":${docText(depth)}}}`),
      create: await httpRaw(h.users.author, 'pipelines.create', `{"json":{"name":"deep","spec":${docText(depth)}}}`),
      save: await httpRaw(h.users.author, 'pipelines.save', `{"json":{"id":"${id}","baseVersion":1,"spec":${docText(depth)}}}`),
    });
    const justOver = await answers(70);
    const issue = [expect.objectContaining({ code: 'config-too-large', nodeId: 'hook', message: expect.stringContaining('nested deeper than 64 levels') })];
    expect(justOver.validate.status).toBe(200);
    expect(justOver.validate.body.result?.data.json).toEqual({ ok: false, issues: issue });
    for (const refused of [justOver.create, justOver.save]) {
      expect(refused.status).toBe(400);
      expect(refused.body.error?.json.data.issues).toEqual(issue);
    }
    for (const depth of [10_000, 50_000]) {
      const deep = await answers(depth);
      expect(deep.validate.status).toBe(200);
      expect(deep.validate.body.result?.data.json).toEqual(justOver.validate.body.result?.data.json);
      for (const which of ['create', 'save'] as const) {
        expect(deep[which].status).toBe(400);
        expect(deep[which].body.error?.json.message).toBe(justOver[which].body.error?.json.message);
        expect(deep[which].body.error?.json.data.issues).toEqual(justOver[which].body.error?.json.data.issues);
      }
    }
    expect({ pipelines: await pipelineCount(), versions: await versions() }).toEqual(before);
  });

  it('saves drafts with semantic errors, reports them, and refuses to run them', async () => {
    const { id, valid, issues } = await h.as(h.users.author).pipelines.create({
      name: 'draft',
      spec: spec('draft', [cmd('a', 'echo ${{ params.missing }}'), { id: 'g', kind: 'approval', name: 'gate', config: {} }], [['a', 'g']]),
    });
    expect(valid).toBe(false);
    expect(issues.filter((i) => i.severity === 'error').map((i) => i.code).sort()).toEqual(['gate-no-approvers', 'unknown-parameter']);
    const got = await h.as(h.users.viewer).pipelines.get({ id });
    expect(got.valid).toBe(false);
    await expect(h.as(h.users.author).runs.start({ pipelineId: id })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('keeps every save as an immutable version and refuses saving over a newer one', async () => {
    const { id } = await h.as(h.users.author).pipelines.create({ name: 'versions', spec: spec('versions', [cmd('a', 'echo 1')]) });
    const v2 = await h.as(h.users.author).pipelines.save({ id, baseVersion: 1, spec: spec('versions', [cmd('a', 'echo 2')]), message: 'two' });
    expect(v2.version).toBe(2);
    // Someone still on version 1 tries to save.
    const err = await h.as(h.users.admin).pipelines.save({ id, baseVersion: 1, spec: spec('versions', [cmd('a', 'echo 3')]) }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('Version 2 was saved by ada') });
    const versions = await h.as(h.users.viewer).pipelines.versions({ id });
    expect(versions.map((v) => [v.version, v.message])).toEqual([
      [2, 'two'],
      [1, 'Created'],
    ]);
    const v1 = await h.as(h.users.viewer).pipelines.get({ id, version: 1 });
    expect(v1.version.spec.nodes[0]?.config).toEqual({ command: 'echo 1', env: undefined });
    const rows = await h.db.select().from(pipelineVersions).where(eq(pipelineVersions.pipelineId, id));
    expect(rows).toHaveLength(2);
  });

  it('refuses gates nobody real may decide, on validate, save and start', async () => {
    const doc = spec('gates', [cmd('a', 'true'), { id: 'g', kind: 'approval', name: 'gate', config: { users: ['nobody-xyz', 'ada', 'vera'], groups: ['no-such-group'] } }], [['a', 'g']]);
    const checked = await h.as(h.users.author).pipelines.validate({ spec: doc });
    expect(checked.ok).toBe(false);
    expect(checked.issues.map((i) => [i.code, i.severity])).toEqual([
      ['unknown-approver', 'error'],
      ['approver-cannot-decide', 'error'],
      ['approver-cannot-decide', 'error'],
      ['unknown-group', 'error'],
    ]);
    const { id, valid } = await h.as(h.users.author).pipelines.create({ name: 'gates', spec: doc });
    expect(valid).toBe(false);
    await expect(h.as(h.users.author).runs.start({ pipelineId: id })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    // Named by a group with approvers in it, the same gate is fine.
    const good = spec('gates', [cmd('a', 'true'), { id: 'g', kind: 'approval', name: 'gate', config: { users: ['alan'], groups: ['approvers'] } }], [['a', 'g']]);
    expect((await h.as(h.users.author).pipelines.validate({ spec: good })).ok).toBe(true);
    // The people and groups behind this check are for authors, not viewers.
    await expect(h.as(h.users.viewer).pipelines.approverFacts()).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('validates any document without throwing', async () => {
    for (const doc of [undefined, 42, [], { nodes: [{}] }, spec('ok', [cmd('a', 'true')])]) {
      const res = await h.as(h.users.viewer).pipelines.validate({ spec: doc });
      expect(Array.isArray(res.issues)).toBe(true);
    }
    expect((await h.as(h.users.viewer).pipelines.validate({ spec: spec('ok', [cmd('a', 'true')]) })).ok).toBe(true);
  });

  it('rejects unknown run parameters and missing required ones', async () => {
    const pipelineId = await h.createPipeline(
      spec('params', [cmd('a', 'echo ${{ params.v }}')], [], { parameters: [{ name: 'v', type: 'number', required: true }] }),
    );
    await expect(h.as(h.users.author).runs.start({ pipelineId })).rejects.toThrow(/"v" is required/);
    await expect(h.as(h.users.author).runs.start({ pipelineId, params: { v: 'abc' } })).rejects.toThrow(/must be a number/);
    await expect(h.as(h.users.author).runs.start({ pipelineId, params: { v: 1, w: 2 } })).rejects.toThrow(/unknown parameter "w"/);
  });
});
