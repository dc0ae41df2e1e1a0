/**
 * Embeds through the real routes: share links created, listed and revoked via
 * tRPC (`createCaller`), and the embed page, SSE stream, badge, diagram and
 * oEmbed route handlers called with real Requests against a real SQLite file
 * and real runs on Temporal.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GET as badgeGET } from '../../app/api/badge/[id]/route';
import { GET as diagramGET } from '../../app/api/diagram/[id]/route';
import { GET as streamGET } from '../../app/api/embed/stream/route';
import { GET as oembedGET } from '../../app/api/oembed/route';
import { GET as embedGET } from '../../app/embed/pipelines/[id]/route';
import { auditLog, shareTokens, stageRuns } from '../../db/schema';
import { hashShareToken } from '../../server/embeds/token';
import { getRunHub } from '../../server/live/run-hub';
import { touchShareToken } from '../../server/services/embeds';
import { fetchRunSnapshot } from '../../server/live/run-hub';
import { cmd, gate, spec, startHarness, type Harness } from './harness';

const BASE = 'http://localhost:3000';
const WIKI = 'https://wiki.example.com';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ env: { PIPEWRIGHT_URL: BASE, PIPEWRIGHT_EMBED_DEFAULT_ORIGINS: 'https://default.example.com' } });
});
afterAll(async () => {
  await h?.close();
});

const ctx = (id: string) => ({ params: Promise.resolve({ id }) });
const embed = (id: string, token: string, extra = '') => embedGET(new Request(`${BASE}/embed/pipelines/${id}?token=${token}${extra}`), ctx(id));
const badge = (id: string, token: string, headers: HeadersInit = {}) => badgeGET(new Request(`${BASE}/api/badge/${id}.svg?token=${token}`, { headers }), ctx(`${id}.svg`));
const diagram = (id: string, token: string, headers: HeadersInit = {}) =>
  diagramGET(new Request(`${BASE}/api/diagram/${id}.svg?token=${token}`, { headers }), ctx(`${id}.svg`));
const oembed = (query: string) => oembedGET(new Request(`${BASE}/api/oembed?${query}`));

const positioned = (name: string, command = 'true') =>
  spec(
    name,
    [
      { ...cmd('build', command), name: 'Build', position: { x: 0, y: 0 } },
      { ...cmd('test', 'true'), name: 'Test', position: { x: 260, y: 0 } },
    ],
    [['build', 'test']],
  );

async function share(pipelineId: string, opts: { scope?: 'view' | 'badge'; origins?: string[]; days?: number | null } = {}) {
  return h.as(h.users.author).embeds.create({
    pipelineId,
    scope: opts.scope ?? 'view',
    allowedOrigins: opts.origins ?? [WIKI],
    expiresInDays: opts.days ?? null,
    label: 'test',
  });
}

/** Reads Server-Sent Events from a Response. */
function sse(res: Response) {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const events: { event: string; data: string; at: number }[] = [];
  let ended = false;
  const pump = (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let i: number;
      while ((i = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data !== undefined) events.push({ event, data, at: Date.now() });
      }
    }
    ended = true;
  })();
  return {
    events,
    get ended() {
      return ended;
    },
    async waitFor(pred: (e: { event: string; data: unknown }) => boolean, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      let seen = 0;
      while (Date.now() < deadline) {
        for (; seen < events.length; seen++) {
          const e = events[seen]!;
          const parsed = { event: e.event, data: JSON.parse(e.data) as unknown };
          if (pred(parsed)) return { ...parsed, at: e.at };
        }
        if (ended) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error(`no matching event within ${timeoutMs} ms; got ${events.map((e) => `${e.event}:${e.data.slice(0, 120)}`).join(' | ')}`);
    },
    cancel: () => reader.cancel().catch(() => undefined),
    done: pump,
  };
}

type Snapshot = { run: { runId: string; status: string; stages: Record<string, { status: string }> } | null };

describe('share links', () => {
  it('authors create them (token shown once), list them without the token, and revoke them; others may not', async () => {
    const pipelineId = await h.createPipeline(positioned('share crud'));
    const created = await share(pipelineId, { origins: [' HTTPS://Wiki.Example.com/ ', 'http://localhost:4000'], days: 7 });
    expect(created.token).toMatch(/^pwe_[A-Za-z0-9_-]{43}$/);
    expect(created.allowedOrigins).toEqual([WIKI, 'http://localhost:4000']);
    expect(created.expiresAt!.getTime() - Date.now()).toBeGreaterThan(6.9 * 86_400_000);
    expect(created.urls.embed).toBe(`${BASE}/embed/pipelines/${pipelineId}?token=${created.token}`);
    expect(created.urls.badge).toBe(`${BASE}/api/badge/${pipelineId}.svg?token=${created.token}`);

    // Only the hash is stored.
    const row = await h.db.select().from(shareTokens).where(eq(shareTokens.id, created.id)).get();
    expect(row!.tokenHash).toBe(hashShareToken(created.token));
    expect(JSON.stringify(row)).not.toContain(created.token);

    const admin = await h.as(h.users.admin).embeds.create({ pipelineId, scope: 'badge', allowedOrigins: [], expiresInDays: null });
    const listed = await h.as(h.users.admin).embeds.list({ pipelineId });
    expect(listed.defaultOrigins).toEqual(['https://default.example.com']);
    expect(listed.tokens.map((t) => [t.id, t.scope, t.status])).toEqual([
      [admin.id, 'badge', 'active'],
      [created.id, 'view', 'active'],
    ]);
    expect(listed.tokens[1]!.createdBy).toBe('ada');
    expect(JSON.stringify(listed)).not.toContain(created.token);
    expect(JSON.stringify(listed)).not.toContain(row!.tokenHash);

    for (const who of [h.users.viewer, h.users.alan]) {
      await expect(h.as(who).embeds.create({ pipelineId, scope: 'view', allowedOrigins: [], expiresInDays: null })).rejects.toMatchObject({ code: 'FORBIDDEN' });
      await expect(h.as(who).embeds.list({ pipelineId })).rejects.toMatchObject({ code: 'FORBIDDEN' });
      await expect(h.as(who).embeds.revoke({ id: created.id })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    }
    await expect(h.as(null).embeds.list({ pipelineId })).rejects.toMatchObject({ code: 'UNAUTHORIZED' });

    await h.as(h.users.author).embeds.revoke({ id: created.id });
    const after = await h.as(h.users.author).embeds.list({ pipelineId });
    expect(after.tokens.find((t) => t.id === created.id)!.status).toBe('revoked');
    const audit = await h.db.select().from(auditLog).where(eq(auditLog.pipelineId, pipelineId));
    expect(audit.map((a) => a.action)).toEqual(expect.arrayContaining(['share.create', 'share.revoke']));
  });

  it('refuses bad origins, unknown pipelines and silly expiries', async () => {
    const pipelineId = await h.createPipeline(positioned('share validation'));
    await expect(share(pipelineId, { origins: ['http://wiki.example.com'] })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('https') });
    await expect(share(pipelineId, { origins: ["https://a.example.com; script-src *"] })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(share(pipelineId, { origins: ['*'] })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(share('no-such-pipeline')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(share(pipelineId, { days: 0 })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });
});

describe('the embed page', () => {
  it('renders the graph with the token alone, framed only by the allowed origins', async () => {
    const pipelineId = await h.createPipeline(positioned('embed page <b>"quoted"</b>', 'echo CONFIG-SENTINEL'));
    const { token } = await share(pipelineId, { origins: [WIKI, 'http://localhost:4000'] });
    const res = await embed(pipelineId, token, '&theme=dark');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain(`frame-ancestors 'self' ${WIKI} http://localhost:4000`);
    expect(csp).toMatch(/script-src 'nonce-[A-Za-z0-9+/=]+'/);
    expect(csp).toContain("default-src 'none'");
    expect(res.headers.get('x-frame-options')).toBeNull();
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    const html = await res.text();
    expect(html).toContain('embed page &lt;b&gt;&quot;quoted&quot;&lt;/b&gt;');
    expect(html).toContain('data-stage="build"');
    expect(html).toContain('No runs yet');
    expect(html).toContain('class="pw dark"');
    expect(html).not.toContain('CONFIG-SENTINEL'); // stage config (the command) is never shown
  });

  it('uses the workspace default origins when the link names none', async () => {
    const pipelineId = await h.createPipeline(positioned('embed default origins'));
    const { token } = await share(pipelineId, { origins: [] });
    const res = await embed(pipelineId, token);
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'self' https://default.example.com");
  });

  it('stops working at once when revoked, shows why inside the allowed frame, and refuses other pipelines', async () => {
    const a = await h.createPipeline(positioned('embed revoke A'));
    const b = await h.createPipeline(positioned('embed revoke B'));
    const { id, token } = await share(a);
    expect((await embed(a, token)).status).toBe(200);

    const other = await embed(b, token);
    expect(other.status).toBe(404);
    expect(other.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(other.headers.get('x-frame-options')).toBe('DENY');
    expect(await other.text()).not.toContain('embed revoke');

    await h.as(h.users.author).embeds.revoke({ id });
    const res = await embed(a, token);
    expect(res.status).toBe(401);
    expect(res.headers.get('content-security-policy')).toContain(`frame-ancestors 'self' ${WIKI}`);
    const html = await res.text();
    expect(html).toContain('This link was revoked.');
    expect(html).not.toContain('embed revoke A');
    expect((await badge(a, token)).status).toBe(401);
    expect((await diagram(a, token)).status).toBe(401);
    expect((await streamGET(new Request(`${BASE}/api/embed/stream?token=${token}`))).status).toBe(401);
  });

  it('refuses missing, malformed, unknown and expired tokens, and deleted pipelines', async () => {
    const pipelineId = await h.createPipeline(positioned('embed refusals'));
    expect((await embedGET(new Request(`${BASE}/embed/pipelines/${pipelineId}`), ctx(pipelineId))).status).toBe(401);
    expect((await embed(pipelineId, 'nonsense')).status).toBe(404);
    expect((await embed(pipelineId, `pwe_${'A'.repeat(43)}`)).status).toBe(404);

    const expiring = await share(pipelineId, { days: 1 });
    await h.db.update(shareTokens).set({ expiresAt: new Date(Date.now() - 1000) }).where(eq(shareTokens.id, expiring.id));
    const expired = await embed(pipelineId, expiring.token);
    expect(expired.status).toBe(401);
    expect(await expired.text()).toContain('This link has expired.');
    expect((await h.as(h.users.author).embeds.list({ pipelineId })).tokens[0]!.status).toBe('expired');

    const live = await share(pipelineId);
    await h.as(h.users.author).pipelines.delete({ id: pipelineId });
    expect((await embed(pipelineId, live.token)).status).toBe(404);
    expect((await badge(pipelineId, live.token)).status).toBe(404);
  });

  it('shows a chosen run of this pipeline only', async () => {
    const a = await h.createPipeline(positioned('embed run A'));
    const b = await h.createPipeline(positioned('embed run B'));
    const runA = (await h.as(h.users.author).runs.start({ pipelineId: a })).id;
    const runB = (await h.as(h.users.author).runs.start({ pipelineId: b })).id;
    await h.waitForEnd(runA);
    const { token } = await share(a);
    const ok = await embed(a, token, `&run=${runA}`);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('Run #1');
    expect((await embed(a, token, `&run=${runB}`)).status).toBe(404);
    expect((await embed(a, token, '&run=../../x')).status).toBe(400);
    expect((await streamGET(new Request(`${BASE}/api/embed/stream?token=${token}&run=${runB}`))).status).toBe(200); // …but it only ever closes:
    const s = sse(await streamGET(new Request(`${BASE}/api/embed/stream?token=${token}&run=${runB}`)));
    await s.done;
    expect(s.events.filter((e) => e.event === 'snapshot')).toHaveLength(0);
  });

  it('records the last use at most once a minute', async () => {
    const pipelineId = await h.createPipeline(positioned('embed last use'));
    const { id, token } = await share(pipelineId);
    const lastUsed = async () => (await h.db.select({ t: shareTokens.lastUsedAt }).from(shareTokens).where(eq(shareTokens.id, id)).get())!.t;
    expect(await lastUsed()).toBeNull();
    await embed(pipelineId, token);
    const first = await lastUsed();
    expect(first).toBeInstanceOf(Date);
    await embed(pipelineId, token);
    await badge(pipelineId, token);
    expect((await lastUsed())!.getTime()).toBe(first!.getTime());
    // A minute later (another process, or this one after the minute) it moves again.
    expect(await touchShareToken(h.db, id, first!.getTime() + 30_000)).toBe(false);
    expect(await touchShareToken(h.db, id, first!.getTime() + 61_000)).toBe(true);
    expect((await lastUsed())!.getTime()).toBe(first!.getTime() + 61_000);
  });
});

describe('live updates over SSE', () => {
  it('streams a real run from running to succeeded, and ends with `gone` when the link is revoked', async () => {
    const pipelineId = await h.createPipeline(positioned('live run', 'sleep 1.5'));
    const { id, token } = await share(pipelineId);
    const ac = new AbortController();
    const res = await streamGET(new Request(`${BASE}/api/embed/stream?token=${token}&run=latest`, { signal: ac.signal }));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache, no-transform');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const s = sse(res);
    await s.waitFor((e) => e.event === 'snapshot' && (e.data as Snapshot).run === null);

    const runId = (await h.as(h.users.author).runs.start({ pipelineId })).id;
    await s.waitFor((e) => e.event === 'snapshot' && (e.data as Snapshot).run?.stages.build?.status === 'running', 30_000);
    await s.waitFor((e) => e.event === 'snapshot' && (e.data as Snapshot).run?.status === 'succeeded', 30_000);
    const done = s.events.map((e) => JSON.parse(e.data) as Snapshot).filter((d) => d.run?.runId === runId);
    expect(done.at(-1)!.run!.stages.test!.status).toBe('succeeded');
    // Statuses and times only: no outputs, logs, errors or config.
    expect(Object.keys(done.at(-1)!.run!.stages.build!).sort()).toEqual(['attempt', 'endedAt', 'startedAt', 'status']);

    // A change written by another process (straight into the database) arrives by polling.
    await h.db.update(stageRuns).set({ status: 'failed' }).where(eq(stageRuns.runId, runId));
    await s.waitFor((e) => e.event === 'snapshot' && (e.data as Snapshot).run?.stages.build?.status === 'failed', 30_000);

    await h.as(h.users.author).embeds.revoke({ id });
    const gone = await s.waitFor((e) => e.event === 'gone', 30_000);
    expect(gone.data).toMatchObject({ reason: 'revoked', message: 'This link was revoked.' });
    await s.done;
    expect(s.ended).toBe(true);
    ac.abort();
  });

  it('shares one poll between many viewers and unsubscribes them when they leave', async () => {
    const pipelineId = await h.createPipeline(positioned('live many'));
    const runId = (await h.as(h.users.author).runs.start({ pipelineId })).id;
    await h.waitForEnd(runId);
    const { token } = await share(pipelineId);
    const hub = getRunHub();
    const before = hub.stats();
    const viewers = await Promise.all(
      Array.from({ length: 25 }, async () => {
        const ac = new AbortController();
        const s = sse(await streamGET(new Request(`${BASE}/api/embed/stream?token=${token}&run=${runId}`, { signal: ac.signal })));
        return { ac, s };
      }),
    );
    await Promise.all(viewers.map((v) => v.s.waitFor((e) => e.event === 'snapshot')));
    const during = hub.stats();
    expect(during.run!.topics - (before.run?.topics ?? 0)).toBe(1);
    expect(during.run!.subscribers - (before.run?.subscribers ?? 0)).toBe(25);
    for (const v of viewers) v.ac.abort();
    await new Promise((r) => setTimeout(r, 100));
    const after = hub.stats();
    expect(after.run?.subscribers ?? 0).toBe(before.run?.subscribers ?? 0);
    expect(after.token?.subscribers ?? 0).toBe(before.token?.subscribers ?? 0);
  });
});

describe('a run waiting at a gate', () => {
  it('says whom it waits for on the embed, the diagram and the badge, and the gate reads decided before the stage behind it runs', async () => {
    const pipelineId = await h.createPipeline(
      spec(
        'gated embed',
        [
          { ...cmd('build', 'true'), name: 'Build', position: { x: 0, y: 0 } },
          { ...gate('qa', { users: ['alan'], groups: ['qa'] }), name: 'QA', position: { x: 260, y: 0 } },
          { ...cmd('deploy', 'sleep 3'), name: 'Deploy', position: { x: 520, y: 0 } },
        ],
        [
          ['build', 'qa'],
          ['qa', 'deploy'],
        ],
      ),
    );
    const { token } = await share(pipelineId);
    const runId = (await h.as(h.users.author).runs.start({ pipelineId })).id;
    await h.waitForStage(runId, 'qa', 'waiting');

    const page = await (await embed(pipelineId, token)).text();
    expect(/<span id="pw-run-status"[^>]*>([^<]*)</.exec(page)?.[1]).toBe('Waiting for approval — alan, group qa');
    const image = await (await diagram(pipelineId, token)).text();
    expect(image).toContain('Waiting for approval — alan, group qa</text>');
    expect(await (await badge(pipelineId, token)).text()).toContain('waiting for approval — alan, group qa');
    expect((await fetchRunSnapshot(h.db, runId))?.display).toEqual({ key: 'waiting', text: 'Waiting for approval — alan, group qa' });

    await h.as(h.users.alan).approvals.decide({ runId, gateId: 'qa', decision: 'approve' });
    // Once the stage behind the gate has begun, the gate reads approved (not still waiting) in what embeds show.
    const deadline = Date.now() + 60_000;
    let snap = await fetchRunSnapshot(h.db, runId);
    while (Date.now() < deadline && !['running', 'succeeded'].includes(snap?.stages.deploy?.status ?? '')) {
      await new Promise((r) => setTimeout(r, 50));
      snap = await fetchRunSnapshot(h.db, runId);
    }
    expect(snap?.stages.deploy?.status).toMatch(/^(running|succeeded)$/);
    expect(snap?.stages.qa?.status).toBe('succeeded');
    expect(snap?.display).toEqual({ key: 'running', text: 'Running' });
    await h.waitForEnd(runId);
  });
});

describe('badge and diagram images', () => {
  it('serve SVG with no-cache and a strong ETag, answer 304 while nothing changed, and follow the last run', async () => {
    const pipelineId = await h.createPipeline(positioned('images <script>alert(1)</script>'));
    const { token } = await share(pipelineId);
    const first = await badge(pipelineId, token);
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toBe('image/svg+xml; charset=utf-8');
    expect(first.headers.get('cache-control')).toBe('no-cache');
    expect(first.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(first.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    const svg = await first.text();
    expect(svg).toContain('no runs');
    expect(svg).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(svg).not.toContain('<script');

    const again = await badge(pipelineId, token, { 'if-none-match': etag });
    expect(again.status).toBe(304);
    expect(again.headers.get('etag')).toBe(etag);
    expect(await again.text()).toBe('');

    const d1 = await diagram(pipelineId, token);
    expect(d1.status).toBe(200);
    const dEtag = d1.headers.get('etag')!;
    expect((await d1.text()).startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect((await diagram(pipelineId, token, { 'if-none-match': `"nope", ${dEtag}` })).status).toBe(304);

    const runId = (await h.as(h.users.author).runs.start({ pipelineId })).id;
    await h.waitForEnd(runId);
    const changed = await badge(pipelineId, token, { 'if-none-match': etag });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).not.toBe(etag);
    expect(await changed.text()).toContain('passing');
    const d2 = await diagram(pipelineId, token, { 'if-none-match': dEtag });
    expect(d2.status).toBe(200);
    expect(await d2.text()).toContain('data-status="succeeded"');
  });

  it('lets a badge-scope link fetch the badge and nothing else', async () => {
    const pipelineId = await h.createPipeline(positioned('badge scope'));
    const { token } = await share(pipelineId, { scope: 'badge' });
    expect((await badge(pipelineId, token)).status).toBe(200);
    expect((await diagram(pipelineId, token)).status).toBe(403);
    const page = await embed(pipelineId, token);
    expect(page.status).toBe(403);
    expect(await page.text()).not.toContain('data-stage');
    expect((await streamGET(new Request(`${BASE}/api/embed/stream?token=${token}`))).status).toBe(403);
    const shareUrl = `${BASE}/share/pipelines/${pipelineId}?token=${token}`;
    expect((await oembed(`url=${encodeURIComponent(shareUrl)}`)).status).toBe(401);
  });
});

describe('oEmbed', () => {
  it('answers type rich with an iframe, sizes within maxwidth/maxheight, and the required fields', async () => {
    const pipelineId = await h.createPipeline(positioned('oembed "<svg onload=alert(1)>"'));
    const { token, urls } = await share(pipelineId);
    const res = await oembed(`url=${encodeURIComponent(urls.share)}&format=json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const text = await res.text();
    expect(text).not.toMatch(/<svg onload/); // even inside JSON strings, markup is \u-escaped
    const body = JSON.parse(text) as Record<string, unknown>;
    expect(body).toMatchObject({ type: 'rich', version: '1.0', provider_name: 'Pipewright', provider_url: `${BASE}/`, title: 'oembed "<svg onload=alert(1)>"' });
    for (const k of ['html', 'width', 'height', 'cache_age', 'thumbnail_url', 'thumbnail_width', 'thumbnail_height']) expect(body).toHaveProperty(k);
    expect(body.thumbnail_url).toBe(urls.diagram);
    const html = body.html as string;
    expect(html).toMatch(/^<iframe src="[^"]+" width="\d+" height="\d+" title="[^"]*" sandbox="allow-scripts"[^>]*><\/iframe>$/);
    expect(html).toContain(`src="${BASE}/embed/pipelines/${pipelineId}?token=${token}"`);
    expect(html).toContain('title="oembed &quot;&lt;svg onload=alert(1)&gt;&quot; (Pipewright)"');
    expect(body.width).toBeGreaterThan(400);

    const small = (await (await oembed(`url=${encodeURIComponent(urls.share)}&maxwidth=300&maxheight=150`)).json()) as Record<string, number>;
    expect(small.width).toBeLessThanOrEqual(300);
    expect(small.height).toBeLessThanOrEqual(150);
    expect(small.thumbnail_width).toBeLessThanOrEqual(300);
    expect(small.thumbnail_height).toBeLessThanOrEqual(150);

    // The embed URL itself is accepted too.
    expect((await oembed(`url=${encodeURIComponent(urls.embed)}`)).status).toBe(200);
    expect((await oembed(`url=${encodeURIComponent(urls.share)}&format=xml`)).status).toBe(501);
    expect((await oembed('')).status).toBe(400);
    expect((await oembed(`url=${encodeURIComponent(urls.share.replace(BASE, 'https://evil.example'))}`)).status).toBe(404);
    expect((await oembed(`url=${encodeURIComponent(`${BASE}/pipelines/${pipelineId}?token=${token}`)}`)).status).toBe(404);
  });
});
