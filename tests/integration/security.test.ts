/**
 * Authorisation, CSRF, people management and the audit log, against the real
 * router, route handlers and sessions:
 * 1. every tRPC mutation: 401 signed out, 403 for each role that may not call
 *    it, and an audit entry for each refusal (a new mutation must be added to
 *    the matrix below, so nobody forgets to decide who may call it);
 * 2. over HTTP: the status codes, and CSRF — a signed-in POST from another
 *    origin (or with neither Origin nor the app's header) is refused and
 *    audited, the app's own requests pass;
 * 3. admins create people, change roles and groups, reset passwords (all
 *    audited; a reset ends the person's sessions; the last admin stays one);
 * 4. the CSV export: admins only, RFC 4180 quoting, formulas neutralised.
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GET as exportGET } from '../../app/api/admin/audit/export/route';
import { POST as trpcPOST, GET as trpcGET } from '../../app/api/trpc/[trpc]/route';
import { auditLog, session } from '../../db/schema';
import { appRouter } from '../../server/api/root';
import type { SessionUser } from '../../server/auth/session';
import { getSessionUser } from '../../server/auth/session';
import { csvField } from '../../server/services/audit';
import { cmd, spec, startHarness, type Harness } from './harness';
import { freshAuth, signedIn, signInCookie, type SignedIn } from './sessions';

const BASE = 'http://localhost:3000';
type Role = SessionUser['role'];
const ROLES: Role[] = ['viewer', 'author', 'approver', 'admin'];

/** Who may call each mutation ('any' = every signed-in person). */
const MATRIX: Record<string, Role[] | 'any'> = {
  'pipelines.validate': 'any',
  'pipelines.create': ['author', 'admin'],
  'pipelines.save': ['author', 'admin'],
  'pipelines.delete': ['author', 'admin'],
  'pipelines.importPreview': ['author', 'admin'],
  'pipelines.importCreate': ['author', 'admin'],
  'runs.start': ['author', 'admin'],
  'runs.rerun': ['author', 'admin'],
  'runs.rerunFromFailed': ['author', 'admin'],
  'runs.cancel': ['author', 'admin'],
  'runs.rollbackDeploy': ['author', 'admin'],
  'approvals.decide': ['approver', 'admin'],
  'embeds.create': ['author', 'admin'],
  'embeds.revoke': ['author', 'admin'],
  'clusters.create': ['admin'],
  'clusters.delete': ['admin'],
  'clusters.check': ['admin'],
  'users.create': ['admin'],
  'users.update': ['admin'],
  'users.resetPassword': ['admin'],
  'settings.setNotifications': ['admin'],
  'settings.testNotification': ['admin'],
  'triggers.createWebhook': ['author', 'admin'],
  'triggers.updateWebhook': ['author', 'admin'],
  'triggers.rotateSecret': ['author', 'admin'],
  'triggers.createSchedule': ['author', 'admin'],
  'triggers.createUpstream': ['author', 'admin'],
  'triggers.setEnabled': ['author', 'admin'],
  'triggers.runNow': ['author', 'admin'],
  'triggers.delete': ['author', 'admin'],
  'environments.create': ['admin'],
  'environments.update': ['admin'],
  'environments.reorder': ['admin'],
  'environments.delete': ['admin'],
  'environments.setSecret': ['admin'],
  'environments.deleteSecret': ['admin'],
  'runners.register': ['admin'],
  'runners.revoke': ['admin'],
  'insights.saveSection': ['author', 'admin'],
  'insights.markReviewed': ['author', 'admin'],
  'insights.saveIssue': ['author', 'admin'],
  // Authorised by the target environment's protection rules (roles), in the service; refusals audited there.
  'promotion.promote': 'any',
};

/** Inputs of the right shape (what the call would do if allowed does not matter: it is refused first). */
const INPUT: Record<string, unknown> = {
  'pipelines.importPreview': { text: 'jobs: {}' },
  'pipelines.importCreate': { text: 'jobs: {}' },
  'approvals.decide': { runId: 'no-such-run', gateId: 'qa', decision: 'approve' },
  'environments.create': { name: 'sec-env', displayName: 'Sec' },
  'environments.update': { id: 'no-such-env', displayName: 'x' },
  'environments.reorder': { ids: [] },
  'environments.delete': { id: 'no-such-env' },
  'environments.setSecret': { id: 'no-such-env', name: 'TOKEN', value: 'x' },
  'environments.deleteSecret': { id: 'no-such-env', name: 'TOKEN' },
  'runners.register': { name: 'sec-runner', labels: [] },
  'runners.revoke': { id: 'no-such-runner' },
  'insights.saveSection': { pipelineId: 'no-such-pipeline', section: 'upgrade', body: 'x' },
  'insights.markReviewed': { pipelineId: 'no-such-pipeline', section: 'upgrade' },
  'insights.saveIssue': { runId: 'no-such-run', environment: 'production', cause: 'x', fix: 'y' },
  'promotion.promote': { pipelineId: 'no-such-pipeline', buildRunId: 'no-such-run', environment: 'production' },
};

let h: Harness;
const as: Partial<Record<Role, SignedIn>> = {};
beforeAll(async () => {
  h = await startHarness({ env: { PIPEWRIGHT_URL: BASE } });
  freshAuth();
  for (const role of ROLES) as[role] = await signedIn(h.db, { username: `sec_${role}`, role, groups: role === 'approver' ? ['approvers'] : [] });
});
afterAll(async () => {
  await h?.close();
});

function mutations(): string[] {
  const procedures = (appRouter._def as unknown as { procedures: Record<string, { _def: { type: string } }> }).procedures;
  return Object.entries(procedures)
    .filter(([, p]) => p._def.type === 'mutation')
    .map(([path]) => path)
    .sort();
}

function call(user: SessionUser | null, path: string, input: unknown): Promise<unknown> {
  const caller = h.as(user) as unknown as Record<string, Record<string, (i: unknown) => Promise<unknown>>>;
  const [group, name] = path.split('.') as [string, string];
  return caller[group]![name]!(input);
}

const refusalsOf = async (userId: string) => (await h.db.select().from(auditLog).where(and(eq(auditLog.actorId, userId), eq(auditLog.outcome, 'refused')))).length;

describe('authorisation matrix', () => {
  it('covers every mutation of the API', () => {
    expect(mutations(), 'a mutation is missing from MATRIX in this test: decide who may call it').toEqual(Object.keys(MATRIX).sort());
  });

  it('answers 401 to signed-out callers and 403 (audited) to every role that may not call a mutation', async () => {
    for (const path of mutations()) {
      const input = INPUT[path] ?? {};
      await expect(call(null, path, input), `${path} signed out`).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
      const allowed = MATRIX[path]!;
      if (allowed === 'any') continue;
      for (const role of ROLES.filter((r) => !allowed.includes(r))) {
        const who = as[role]!.user;
        const before = await refusalsOf(who.id);
        await expect(call(who, path, input), `${path} as ${role}`).rejects.toMatchObject({ code: 'FORBIDDEN' });
        expect(await refusalsOf(who.id), `${path} as ${role}: audit entry`).toBe(before + 1);
      }
    }
    const refusal = await h.db.select().from(auditLog).where(and(eq(auditLog.actorId, as.viewer!.user.id), eq(auditLog.action, 'runs.start'))).get();
    expect(refusal).toMatchObject({ outcome: 'refused', actorName: 'sec_viewer', reason: 'role viewer may not run' });
  });
});

describe('over HTTP', () => {
  const post = (path: string, input: unknown, headers: Record<string, string>) =>
    trpcPOST(
      new Request(`${BASE}/api/trpc/${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ json: input }),
      }),
    );
  const pipelineSpec = spec('csrf target', [cmd('a', 'true')]);

  it('401 signed out, 403 for a viewer (audited)', async () => {
    expect((await post('runs.start', { pipelineId: 'x' }, { 'x-pipewright-csrf': '1' })).status).toBe(401);
    const res = await post('runs.start', { pipelineId: 'x' }, { cookie: as.viewer!.cookie, 'x-pipewright-csrf': '1' });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { json: { message: string } } }).error.json.message).toMatch(/role \(viewer\) may not/);
  });

  it('refuses signed-in POSTs from another origin or without any sign of coming from the app (CSRF), and audits them', async () => {
    const author = as.author!;
    const cases: [string, Record<string, string>][] = [
      ['another origin', { origin: 'https://evil.example' }],
      ['Origin null', { origin: 'null' }],
      ['cross-site fetch metadata', { 'sec-fetch-site': 'cross-site' }],
      ['no Origin, no header', {}],
    ];
    for (const [what, headers] of cases) {
      const res = await post('pipelines.create', { name: `csrf ${what}`, spec: pipelineSpec }, { cookie: author.cookie, ...headers });
      expect(res.status, what).toBe(403);
      const body = (await res.json()) as { error: { json: { data: { code: string } } } };
      expect(body.error.json.data.code, what).toBe('FORBIDDEN');
    }
    // A batched call gets one error per procedure, in tRPC's shape.
    const batch = await trpcPOST(
      new Request(`${BASE}/api/trpc/pipelines.create,pipelines.delete?batch=1`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie: author.cookie, origin: 'https://evil.example' },
        body: JSON.stringify({ 0: { json: {} }, 1: { json: {} } }),
      }),
    );
    expect(batch.status).toBe(403);
    expect(((await batch.json()) as unknown[]).length).toBe(2);
    const audited = await h.db.select().from(auditLog).where(and(eq(auditLog.actorId, author.user.id), eq(auditLog.action, 'pipeline.create')));
    expect(audited.filter((a) => a.reason?.startsWith('CSRF:'))).toHaveLength(cases.length);
    expect(audited.some((a) => a.reason?.includes('evil.example'))).toBe(true);

    // The app's own requests pass: its header, its Origin, or same-origin fetch metadata.
    const passing: Record<string, string>[] = [{ 'x-pipewright-csrf': '1', origin: 'https://evil.example' }, { origin: BASE }, { 'sec-fetch-site': 'same-origin' }];
    for (const headers of passing) {
      const res = await post('pipelines.create', { name: `ok ${JSON.stringify(headers)}`, spec: pipelineSpec }, { cookie: author.cookie, ...headers });
      expect(res.status, JSON.stringify(headers)).toBe(200);
    }
    // Reads are not state-changing: a GET needs no CSRF header.
    const read = await trpcGET(new Request(`${BASE}/api/trpc/pipelines.list`, { headers: { cookie: author.cookie, origin: 'https://evil.example' } }));
    expect(read.status).toBe(200);
  });
});

describe('people management', () => {
  it('admins create people, change roles and groups and reset passwords; all audited', async () => {
    const admin = as.admin!.user;
    const created = await h.as(admin).users.create({ username: 'New.Person', name: 'New Person', email: 'new.person@example.test', password: 'first-password', role: 'viewer', groups: ['qa'] });
    expect(created).toMatchObject({ username: 'new.person', role: 'viewer', groups: ['qa'] });
    await expect(h.as(admin).users.create({ username: 'new.person', name: 'Again', email: 'other@example.test', password: 'first-password', role: 'viewer', groups: [] })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringContaining('taken'),
    });

    await h.as(admin).users.update({ userId: created.id, role: 'approver', groups: ['approvers', 'qa', 'approvers'] });
    const cookie = await signInCookie('new.person', 'first-password');
    expect(await getSessionUser(new Headers({ cookie }))).toMatchObject({ role: 'approver', groups: ['approvers', 'qa'] });

    const reset = await h.as(admin).users.resetPassword({ userId: created.id, password: 'second-password' });
    expect(reset.sessionsEnded).toBeGreaterThanOrEqual(1);
    expect(await getSessionUser(new Headers({ cookie }))).toBeNull();
    await expect(signInCookie('new.person', 'first-password')).rejects.toThrow();
    await signInCookie('new.person', 'second-password');
    expect(await h.db.select().from(session).where(eq(session.userId, created.id))).toHaveLength(1);

    const entries = await h.db.select().from(auditLog).where(eq(auditLog.actorId, admin.id));
    const actions = entries.filter((e) => e.outcome === 'ok').map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['user.create', 'user.update', 'user.password_reset']));
    const update = entries.find((e) => e.action === 'user.update')!;
    expect(update.details).toMatchObject({ username: 'new.person', role: { from: 'viewer', to: 'approver' }, groups: { from: ['qa'], to: ['approvers', 'qa'] } });
    expect(JSON.stringify(entries)).not.toContain('second-password');
  });

  it('keeps at least one admin', async () => {
    // The harness's own admin (no session) and this file's admin are the admins here; demote one, then the other is the last.
    const admins = (await h.as(as.admin!.user).users.list()).filter((u) => u.role === 'admin');
    for (const other of admins.slice(1)) await h.as(as.admin!.user).users.update({ userId: other.id, role: 'author' });
    await expect(h.as(as.admin!.user).users.update({ userId: admins[0]!.id, role: 'viewer' })).rejects.toMatchObject({ code: 'CONFLICT' });
    for (const other of admins.slice(1)) await h.as(as.admin!.user).users.update({ userId: other.id, role: 'admin' });
  });
});

describe('audit log export (CSV)', () => {
  const exportAs = (cookie: string | null, query = '') => exportGET(new Request(`${BASE}/api/admin/audit/export${query}`, { headers: cookie ? { cookie } : {} }));

  it('is for admins only: 401 signed out, 403 and audited otherwise', async () => {
    expect((await exportAs(null)).status).toBe(401);
    const res = await exportAs(as.approver!.cookie);
    expect(res.status).toBe(403);
    const refused = await h.db.select().from(auditLog).where(and(eq(auditLog.actorId, as.approver!.user.id), eq(auditLog.action, 'audit.export'))).get();
    expect(refused).toMatchObject({ outcome: 'refused' });
  });

  it('quotes fields and neutralises spreadsheet formulas; filters apply', async () => {
    await h.db.insert(auditLog).values([
      { actorName: '=HYPERLINK("https://evil.example","click")', action: 'test.hostile', outcome: 'refused', reason: 'a, b "quoted"\nsecond line', details: { comment: '+SUM(A1)' } },
      { actorName: '@cmd', action: 'test.hostile', outcome: 'ok', reason: '-2+3' },
    ]);
    const res = await exportAs(as.admin!.cookie, '?action=test.hostile&outcome=refused');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="pipewright-audit-\d{8}-\d{6}\.csv"$/);
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect([...bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf]); // UTF-8 byte order mark, for spreadsheets
    const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);
    expect(text.startsWith('\uFEFFtime_utc,actor,actor_id,action,outcome,reason,pipeline,pipeline_id,run_id,stage,details\r\n')).toBe(true);
    const lines = text.slice(1).split('\r\n').filter(Boolean);
    expect(lines).toHaveLength(2); // header + the one refused hostile entry
    expect(lines[1]).toContain(`"'=HYPERLINK(""https://evil.example"",""click"")"`);
    expect(lines[1]).toContain('"a, b ""quoted""\nsecond line"');
    expect(lines[1]).toContain('"{""comment"":""+SUM(A1)""}"');
    // The other entry only with the filter lifted; its formula-like values are guarded too.
    const all = await (await exportAs(as.admin!.cookie, '?action=test.hostile')).text();
    expect(all).toContain("'@cmd,");
    expect(all).toContain(",'-2+3,");
  });

  it('csvField follows RFC 4180 and the formula guard', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField(null)).toBe('');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('=1+1')).toBe("'=1+1");
    expect(csvField('\tx')).toBe("'\tx");
    expect(csvField('-1,5')).toBe(`"'-1,5"`);
    expect(csvField({ a: 1 })).toBe('"{""a"":1}"');
  });
});
