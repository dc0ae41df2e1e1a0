/**
 * The security issue's hardening, through the real route handlers against a
 * real SQLite file, a real Temporal dev server and worker, and real
 * better-auth sessions:
 * - `/api/events`: a session holds at most `PIPEWRIGHT_MAX_STREAMS_PER_SESSION` streams
 *   (429 with a message after that), one run per stream, and a run that does
 *   not exist is never polled;
 * - sign-in throttling is per client: failures from one address never lock
 *   the admin out from another;
 * - people cannot rename themselves, usernames cannot be probed, and session
 *   tokens never appear in JSON;
 * - webhooks: one 401 for every refusal, refusals sampled into the audit log,
 *   and a per-pipeline rate limit (429);
 * - JSON bodies over the cap are 413 before they are parsed;
 * - the audit CSV guards cells a `;`-separated locale would split.
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POST as authPOST, GET as authGET } from '../../app/api/auth/[...all]/route';
import { GET as exportGET } from '../../app/api/admin/audit/export/route';
import { GET as eventsGET } from '../../app/api/events/route';
import { POST as hookPOST } from '../../app/api/hooks/[pipelineId]/route';
import { POST as trpcPOST } from '../../app/api/trpc/[trpc]/route';
import { auditLog, user } from '../../db/schema';
import { getSignInLimiter } from '../../server/auth/rate-limit';
import { resetEnvCache } from '../../server/env';
import { getRunHub } from '../../server/live/run-hub';
import { getStreamCounter } from '../../server/live/stream-limits';
import { csvField } from '../../server/services/audit';
import { getRefusalSampler, getWebhookLimiter, REFUSED_BODY } from '../../server/triggers/refusals';
import { githubSignature } from '../../server/triggers/webhook';
import { cmd, spec, startHarness, type Harness } from './harness';
import { freshAuth, signedIn, signInCookie, sse, TEST_PASSWORD, type SignedIn } from './sessions';

const BASE = 'http://localhost:3000';

let h: Harness;
let viewer: SignedIn;
let admin: SignedIn;
let author: SignedIn;
beforeAll(async () => {
  h = await startHarness({ env: { PIPEWRIGHT_URL: BASE } });
  freshAuth();
  viewer = await signedIn(h.db, { username: 'hard_viewer', role: 'viewer', name: 'Hard Viewer' });
  admin = await signedIn(h.db, { username: 'hard_admin', role: 'admin' });
  author = await signedIn(h.db, { username: 'hard_author', role: 'author' });
});
afterAll(async () => {
  await h?.close();
});

const events = (query: string, headers: Headers, signal?: AbortSignal) => eventsGET(new Request(`${BASE}/api/events?${query}`, { headers, signal }));
const appPost = (path: string, body: string, headers: Record<string, string> = {}) =>
  authPOST(new Request(`${BASE}/api/auth${path}`, { method: 'POST', headers: { 'content-type': 'application/json', origin: BASE, ...headers }, body }));

describe('/api/events limits', () => {
  const MAX_STREAMS_PER_SESSION = 8; // PIPEWRIGHT_MAX_STREAMS_PER_SESSION's default
  it(`holds at most ${MAX_STREAMS_PER_SESSION} streams per session and says so; closing one frees its slot; another session is not affected`, async () => {
    expect(getStreamCounter().max).toBe(MAX_STREAMS_PER_SESSION);
    const open: AbortController[] = [];
    try {
      for (let i = 0; i < MAX_STREAMS_PER_SESSION; i++) {
        const ac = new AbortController();
        const res = await events('approvals=1', viewer.headers(), ac.signal);
        expect(res.status).toBe(200);
        open.push(ac);
      }
      const refused = await events('approvals=1', viewer.headers());
      expect(refused.status).toBe(429);
      expect(((await refused.json()) as { error: string }).error).toMatch(/Too many live streams open for this session \(at most \d+\)/);
      // The same person signed in elsewhere has streams of their own.
      const elsewhere = new Headers({ cookie: await signInCookie('hard_viewer') });
      const ac2 = new AbortController();
      expect((await events('approvals=1', elsewhere, ac2.signal)).status).toBe(200);
      ac2.abort();
      // Closing a tab gives its slot back.
      open.shift()!.abort();
      const ac3 = new AbortController();
      expect((await events('approvals=1', viewer.headers(), ac3.signal)).status).toBe(200);
      open.push(ac3);
    } finally {
      for (const ac of open) ac.abort();
    }
  });

  it('follows one run per stream, and never polls a run that does not exist', async () => {
    expect((await events('run=a&run=b', viewer.headers())).status).toBe(400);
    const runTopics = () => getRunHub().stats()['app-run']?.topics ?? 0;
    const before = runTopics();

    const ac = new AbortController();
    const res = await events('run=no-such-run&stage=build', viewer.headers(), ac.signal);
    expect(res.status).toBe(200);
    const s = sse(res);
    try {
      const first = await s.waitFor((e) => e.event === 'run');
      expect(first.data).toBeNull();
      expect(runTopics()).toBe(before);
      expect(getRunHub().stats()['app-log']?.topics ?? 0).toBe(0);
    } finally {
      ac.abort();
      await s.cancel();
    }

    // A run that exists is followed (the same counter goes up while it is watched).
    const runId = await h.run(spec('hardening events', [cmd('a', 'true')]));
    await h.waitForEnd(runId);
    const ac2 = new AbortController();
    const live = sse(await events(`run=${runId}`, viewer.headers(), ac2.signal));
    try {
      const first = await live.waitFor<{ json: { id: string } } | null>((e) => e.event === 'run');
      expect(first.data?.json.id).toBe(runId);
      expect(runTopics()).toBe(before + 1);
    } finally {
      ac2.abort();
      await live.cancel();
    }
  });
});

describe('sign-in throttling and the auth endpoints', () => {
  it('behind a trusted proxy, failures from one address never lock the admin out from another', { timeout: 30_000 }, async () => {
    process.env.PIPEWRIGHT_TRUST_PROXY = 'true';
    resetEnvCache();
    getSignInLimiter().reset();
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++) {
        const res = await appPost('/sign-in/username', JSON.stringify({ username: 'hard_admin', password: `wrong-${i}` }), { 'x-forwarded-for': '203.0.113.66' });
        statuses.push(res.status);
      }
      expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
      expect(statuses.slice(5)).toEqual([429, 429, 429]);
      // The attacker's address waits, even with the right password…
      expect((await appPost('/sign-in/username', JSON.stringify({ username: 'hard_admin', password: TEST_PASSWORD }), { 'x-forwarded-for': '203.0.113.66' })).status).toBe(429);
      // …the admin, from their own address, signs in at once (by username or e-mail).
      expect((await appPost('/sign-in/username', JSON.stringify({ username: 'hard_admin', password: TEST_PASSWORD }), { 'x-forwarded-for': '198.51.100.20' })).status).toBe(200);
      expect((await appPost('/sign-in/email', JSON.stringify({ email: 'hard_admin@example.test', password: TEST_PASSWORD }), { 'x-forwarded-for': '198.51.100.21' })).status).toBe(200);
    } finally {
      delete process.env.PIPEWRIGHT_TRUST_PROXY;
      resetEnvCache();
      getSignInLimiter().reset();
    }
  });

  it('people cannot rename themselves (nor claim a username); admins still can rename them', async () => {
    for (const change of [{ name: 'Alan Turing' }, { username: 'somebody_else' }, { name: 'x', image: 'https://evil.example/x.png' }]) {
      const res = await appPost('/update-user', JSON.stringify(change), { cookie: viewer.cookie, 'x-pipewright-csrf': '1' });
      expect(res.status, JSON.stringify(change)).toBe(404);
    }
    const row = await h.db.select({ name: user.name, username: user.username }).from(user).where(eq(user.id, viewer.user.id)).get();
    expect(row).toEqual({ name: 'Hard Viewer', username: 'hard_viewer' });
  });

  it('does not tell anybody whether a username exists', async () => {
    for (const username of ['hard_admin', 'nobody_here']) {
      const res = await appPost('/is-username-available', JSON.stringify({ username }), { cookie: viewer.cookie, 'x-pipewright-csrf': '1' });
      expect(res.status).toBe(404);
      expect(await res.text()).not.toMatch(/available/i);
    }
  });

  it('never puts session tokens in JSON (get-session, list-sessions)', async () => {
    const token = decodeURIComponent(/pipewright\.session_token=([^;]+)/.exec(viewer.cookie)![1]!).split('.')[0]!;
    expect(token.length).toBeGreaterThan(10);
    const session = await authGET(new Request(`${BASE}/api/auth/get-session`, { headers: viewer.headers() }));
    expect(session.status).toBe(200);
    const sessionText = await session.text();
    const parsed = JSON.parse(sessionText) as { session: Record<string, unknown>; user: { id: string } };
    expect(parsed.user.id).toBe(viewer.user.id);
    expect(parsed.session).not.toHaveProperty('token');
    expect(sessionText).not.toContain(token);

    const list = await authGET(new Request(`${BASE}/api/auth/list-sessions`, { headers: viewer.headers() }));
    expect(list.status).toBe(200);
    const listText = await list.text();
    const sessions = JSON.parse(listText) as Record<string, unknown>[];
    expect(sessions.length).toBeGreaterThanOrEqual(1);
    for (const s of sessions) expect(s).not.toHaveProperty('token');
    expect(listText).not.toContain(token);
  });
});

describe('webhook refusals', () => {
  const deliver = (pipelineId: string, body: string, headers: Record<string, string>) =>
    hookPOST(new Request(`${BASE}/api/hooks/${pipelineId}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body }), {
      params: Promise.resolve({ pipelineId }),
    });
  const github = (secret: string, body: string) => ({ 'x-github-event': 'push', 'x-github-delivery': crypto.randomUUID(), 'x-hub-signature-256': githubSignature(secret, body) });
  const body = JSON.stringify({ ref: 'refs/heads/main', after: 'a'.repeat(40) });

  it('answers unknown pipeline, no webhook, unsigned and badly signed deliveries alike, and samples them into the audit log', async () => {
    getRefusalSampler().reset();
    getWebhookLimiter().reset();
    const withHook = await h.createPipeline(spec('hardening hook', [cmd('a', 'true')]));
    const { secret } = await h.as(h.users.author).triggers.createWebhook({ pipelineId: withHook, name: 'pushes', config: { provider: 'github' } });
    const withoutHook = await h.createPipeline(spec('hardening no hook', [cmd('a', 'true')]));

    const answers = await Promise.all([
      deliver('no-such-pipeline', body, github(secret, body)),
      deliver(withoutHook, body, github(secret, body)),
      deliver(withHook, body, github('not-the-secret', body)),
      deliver(withHook, body, { 'x-github-event': 'push' }),
      deliver(withHook, body, {}),
    ]);
    for (const res of answers) {
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual(REFUSED_BODY);
    }
    // The right signature still starts a run.
    const ok = await deliver(withHook, body, github(secret, body));
    expect(ok.status).toBe(202);

    // A flood of bad signatures: one audit row per kind of refusal for the pipeline (this minute), not one per
    // delivery — and the unsigned and non-Git deliveries each have theirs, not hidden behind the wrong signature.
    for (let i = 0; i < 20; i++) expect((await deliver(withHook, body, github(`wrong-${i}`, body))).status).toBe(401);
    const rows = await h.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'webhook.deliver'), eq(auditLog.outcome, 'refused'), eq(auditLog.pipelineId, withHook)));
    expect(rows.map((r) => r.reason).sort()).toEqual(['not a GitHub or GitLab delivery', 'signature does not match', 'unsigned delivery']);
    for (const r of rows) expect(r.details).toMatchObject({ refusals: 1 });
  });

  it('rate limits deliveries per pipeline (429 with Retry-After), other pipelines unaffected', async () => {
    getWebhookLimiter().reset();
    let limited: Response | undefined;
    let sent = 0;
    for (; sent < 2000 && !limited; sent++) {
      const res = await deliver('flooded-pipeline', body, github('x', body));
      if (res.status === 429) limited = res;
      else expect(res.status).toBe(401);
    }
    expect(limited).toBeDefined();
    expect(sent).toBeGreaterThan(100); // a burst is fine
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await limited!.json()) as { message: string }).message).toMatch(/Too many deliveries/);
    expect((await deliver('another-pipeline', body, github('x', body))).status).toBe(401);
  });
});

describe('request bodies', () => {
  it('refuses a tRPC body over the cap with 413 before parsing it, declared or streamed; normal ones pass', async () => {
    const big = JSON.stringify({ json: { name: 'x'.repeat(2 * 1024 * 1024) } });
    const headers = { 'content-type': 'application/json', cookie: author.cookie, 'x-pipewright-csrf': '1' };
    const declared = await trpcPOST(new Request(`${BASE}/api/trpc/pipelines.create`, { method: 'POST', headers: { ...headers, 'content-length': String(big.length) }, body: big }));
    expect(declared.status).toBe(413);
    const json = (await declared.json()) as { error: { json: { message: string; data: { code: string; httpStatus: number } } } };
    expect(json.error.json.message).toBe('The request is too large (at most 1 MiB).');
    expect(json.error.json.data).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', httpStatus: 413 });

    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        const chunk = new TextEncoder().encode(big.slice(0, 256 * 1024));
        for (let i = 0; i < 8; i++) c.enqueue(chunk);
        c.close();
      },
    });
    const streamed = await trpcPOST(new Request(`${BASE}/api/trpc/pipelines.create`, { method: 'POST', headers, body: stream, duplex: 'half' } as RequestInit));
    expect(streamed.status).toBe(413);

    const small = await trpcPOST(
      new Request(`${BASE}/api/trpc/pipelines.create`, { method: 'POST', headers, body: JSON.stringify({ json: { name: 'small body', spec: spec('small body', [cmd('a', 'true')]) } }) }),
    );
    expect(small.status).toBe(200);
  });

  it('refuses an auth body over the cap with 413', async () => {
    const res = await appPost('/sign-in/username', JSON.stringify({ username: 'hard_admin', password: 'x'.repeat(2 * 1024 * 1024) }));
    expect(res.status).toBe(413);
  });
});

describe('audit CSV', () => {
  it('guards cells that a ;-separated locale or leading blanks would turn into formulas', async () => {
    await h.db.insert(auditLog).values([
      { actorName: 'mallory;=HYPERLINK("https://evil.example")', action: 'test.locale', outcome: 'refused', reason: ' =1+1' },
      { actorName: '\uFF1DSUM(A1)', action: 'test.locale', outcome: 'refused', reason: 'plain' },
    ]);
    const res = await exportGET(new Request(`${BASE}/api/admin/audit/export?action=test.locale`, { headers: admin.headers() }));
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('"mallory;=HYPERLINK(""https://evil.example"")"');
    expect(text).toContain(",' =1+1,");
    expect(text).toContain("'\uFF1DSUM(A1)");
  });

  it('csvField: OWASP formula characters and separators', () => {
    for (const [value, expected] of [
      ['=1+1', "'=1+1"],
      ['+1', "'+1"],
      ['-1', "'-1"],
      ['@SUM(A1)', "'@SUM(A1)"],
      ['\t=1', "'\t=1"],
      ['\r=1', `"'\r=1"`],
      ['  =1', "'  =1"],
      ['a;=1', '"a;=1"'],
      ['a;b', '"a;b"'],
      ['a,=1', '"a,=1"'],
      ['plain', 'plain'],
    ] as const) {
      expect(csvField(value), JSON.stringify(value)).toBe(expected);
    }
  });
});
