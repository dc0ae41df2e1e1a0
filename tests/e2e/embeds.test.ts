/**
 * Embeds in real Chromium: pages served from other local origins frame the
 * embed in `<iframe sandbox="allow-scripts">` (opaque origin, no cookies).
 * The allowed origin sees the graph and a stage turn from running to
 * succeeded without a reload, and the frame's height; an origin not on the
 * allow-list is refused by the browser (CSP frame-ancestors); revoking the
 * link shows an error inside the frame within a second. Plus: a token for one
 * pipeline cannot show another, no tRPC mutation works with an embed token,
 * and hostile names stay text in the embed, the SVGs and the oEmbed JSON.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { apiAs, openBrowser, signIn, type Browser } from './browser';

const appUrl = inject('appUrl');
const EVIL = `<script>alert("pwned")</script>'"&<svg onload=alert(1)><b>x</b>`;

type Api = Awaited<ReturnType<typeof apiAs>>;
let ada: Api;
let browser: Browser | undefined;

/** A tiny web server on its own port: `localhost:PORT` is an origin other than the app's `127.0.0.1:PORT`. */
async function hostServer(): Promise<{ origin: string; setPage: (html: string) => void; close: () => Promise<void> }> {
  let page = '<!doctype html><p>empty</p>';
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(page);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://localhost:${port}`,
    setPage: (html) => void (page = html),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const wikiPage = (src: string) => `<!doctype html><html><head><title>Team wiki</title></head><body>
<h1>Release status</h1>
<iframe id="embed" sandbox="allow-scripts" src="${src.replace(/"/g, '&quot;')}" width="900" height="200" style="border:0"></iframe>
<script>window.heights=[];addEventListener('message',function(e){if(e.data&&e.data.type==='pipewright:embed:resize'){window.heights.push(e.data.height);document.getElementById('embed').style.height=e.data.height+'px'}})</script>
</body></html>`;

function twoStages(name: string, buildCommand: string) {
  return {
    schemaVersion: 1 as const,
    name,
    nodes: [
      { id: 'build', kind: 'command', name: 'Build', position: { x: 0, y: 0 }, config: { command: buildCommand } },
      { id: 'test', kind: 'command', name: 'Test', position: { x: 260, y: 0 }, config: { command: 'sleep 1' } },
    ],
    edges: [{ id: 'build-test', from: 'build', to: 'test', on: 'success' as const }],
    parameters: [],
  };
}

let wiki: Awaited<ReturnType<typeof hostServer>>;
let stranger: Awaited<ReturnType<typeof hostServer>>;

beforeAll(async () => {
  ada = await apiAs(appUrl, 'ada');
  wiki = await hostServer();
  stranger = await hostServer();
});
afterAll(async () => {
  await wiki?.close();
  await stranger?.close();
});
afterEach(async () => {
  await browser?.close();
  browser = undefined;
});

describe('embedding a pipeline in another site', () => {
  it('shows the graph live in a sandboxed frame on an allowed origin, and is refused on others', async () => {
    const { id: pipelineId } = await ada.pipelines.create.mutate({ name: 'Embedded live', spec: twoStages('Embedded live', 'sleep 2') });
    const link = await ada.embeds.create.mutate({ pipelineId, scope: 'view', allowedOrigins: [wiki.origin], expiresInDays: 1, label: 'e2e wiki' });
    wiki.setPage(wikiPage(link.urls.embed));
    stranger.setPage(wikiPage(link.urls.embed));

    browser = await openBrowser();
    const { page, context } = browser;
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await page.goto(`${wiki.origin}/`);
    const frame = page.frameLocator('#embed');
    await frame.locator('g.node[data-stage="build"]').waitFor();
    expect(await frame.locator('.pw-title').innerText()).toBe('Embedded live');
    expect(await frame.locator('g.node[data-stage="build"]').getAttribute('data-status')).toBe('pending');
    // The frame is sandboxed: an opaque origin, no cookies.
    const embedFrame = page.frames().find((f) => f.url().startsWith(`${appUrl}/embed/`))!;
    expect(await embedFrame.evaluate(() => window.origin)).toBe('null');
    // Mark the frame's document: if it reloaded, the mark would be gone.
    await embedFrame.evaluate(() => ((window as unknown as { mark: number }).mark = 42));

    const { id: runId } = await ada.runs.start.mutate({ pipelineId });
    await frame.locator('g.node[data-stage="build"][data-status="running"]').waitFor({ timeout: 60_000 });
    expect(await frame.locator('#pw-run-number').innerText()).toBe('Run #1');
    await frame.locator('g.node[data-stage="build"][data-status="succeeded"]').waitFor({ timeout: 60_000 });
    await frame.locator('g.node[data-stage="test"][data-status="succeeded"]').waitFor({ timeout: 60_000 });
    await frame.locator('#pw-run-status[data-status="succeeded"]').waitFor({ timeout: 10_000 });
    expect(await embedFrame.evaluate(() => (window as unknown as { mark?: number }).mark)).toBe(42); // no reload
    expect(await frame.locator('g.node[data-stage="build"] .n-dur').textContent()).toMatch(/· \d/);
    // The frame reported its height and the host page applied it.
    const heights = await page.evaluate(() => (window as unknown as { heights: number[] }).heights);
    expect(heights.length).toBeGreaterThan(0);
    expect(heights.at(-1)).toBeGreaterThan(100);
    // No links, buttons or forms in the embed: nothing to click that changes anything.
    expect(await frame.locator('a, button, form, input').count()).toBe(0);

    // A specific run by id works as well.
    await page.goto(`${wiki.origin}/`);
    await frame.locator('g.node').first().waitFor();
    wiki.setPage(wikiPage(`${link.urls.embed}&run=${runId}&theme=dark`));
    await page.goto(`${wiki.origin}/`);
    await frame.locator('html.pw.dark g.node[data-stage="build"][data-status="succeeded"]').waitFor();

    // An origin that is not on the allow-list: the browser refuses to render the frame (and says so on the console).
    browser.expectConsoleError(/frame-ancestors/);
    const refused = new Promise<string>((resolve) => {
      page.on('console', (m) => m.text().includes('frame-ancestors') && resolve(m.text()));
    });
    await page.goto(`${stranger.origin}/`);
    const message = await Promise.race([refused, new Promise<string>((r) => setTimeout(() => r(''), 10_000))]);
    expect(message).toContain('frame-ancestors');
    expect(await page.frameLocator('#embed').locator('g.node').count()).toBe(0);
    expect(dialogs).toEqual([]);
    await context.clearCookies();
  });

  it('fails inside the open frame when the link is revoked, and on every load after', async () => {
    const { id: pipelineId } = await ada.pipelines.create.mutate({ name: 'Embedded revoke', spec: twoStages('Embedded revoke', 'true') });
    const link = await ada.embeds.create.mutate({ pipelineId, scope: 'view', allowedOrigins: [wiki.origin], expiresInDays: null });
    wiki.setPage(wikiPage(link.urls.embed));
    browser = await openBrowser();
    const { page } = browser;
    await page.goto(`${wiki.origin}/`);
    const frame = page.frameLocator('#embed');
    await frame.locator('g.node[data-stage="build"]').waitFor();

    // The open frame learns of it from its stream (no reload); how fast is measured by bench:embed.
    await ada.embeds.revoke.mutate({ id: link.id });
    await frame.locator('#pw-error').filter({ hasText: 'This link was revoked.' }).waitFor({ timeout: 30_000 });
    expect(await frame.locator('g.node').count()).toBe(0);

    // Loading it again shows the same message inside the frame (framing allowed for the link's own sites).
    await page.reload();
    await page.frameLocator('#embed').locator('#pw-error').filter({ hasText: 'This link was revoked.' }).waitFor();

    const listed = await ada.embeds.list.query({ pipelineId });
    expect(listed.tokens.find((t) => t.id === link.id)).toMatchObject({ status: 'revoked' });
    expect(listed.tokens[0]!.lastUsedAt).toBeInstanceOf(Date);
  });
});

describe('what an embed token cannot do', () => {
  it('cannot show another pipeline, and no tRPC call succeeds with it', async () => {
    const a = await ada.pipelines.create.mutate({ name: 'Token A', spec: twoStages('Token A', 'true') });
    const b = await ada.pipelines.create.mutate({ name: 'Token B', spec: twoStages('Token B', 'true') });
    const link = await ada.embeds.create.mutate({ pipelineId: a.id, scope: 'view', allowedOrigins: [], expiresInDays: null });
    const token = link.token;

    for (const path of [`/embed/pipelines/${b.id}`, `/api/badge/${b.id}.svg`, `/api/diagram/${b.id}.svg`]) {
      const res = await fetch(`${appUrl}${path}?token=${token}`);
      expect(res.status, path).toBe(404);
      expect(await res.text(), path).not.toContain('Token B');
    }
    const oembed = await fetch(`${appUrl}/api/oembed?url=${encodeURIComponent(`${appUrl}/share/pipelines/${b.id}?token=${token}`)}`);
    expect(oembed.status).toBe(404);

    const attempts: [string, unknown][] = [
      ['runs.start', { pipelineId: a.id }],
      ['pipelines.delete', { id: a.id }],
      ['embeds.create', { pipelineId: a.id, scope: 'view', allowedOrigins: [], expiresInDays: null }],
      ['embeds.revoke', { id: link.id }],
    ];
    for (const [proc, input] of attempts) {
      const inits: { url: string; headers: Record<string, string> }[] = [
        { url: `${appUrl}/api/trpc/${proc}?token=${token}`, headers: { 'content-type': 'application/json' } },
        { url: `${appUrl}/api/trpc/${proc}`, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` } },
        { url: `${appUrl}/api/trpc/${proc}`, headers: { 'content-type': 'application/json', cookie: `token=${token}; better-auth.session_token=${token}` } },
      ];
      for (const init of inits) {
        const res = await fetch(init.url, { method: 'POST', headers: init.headers, body: JSON.stringify({ json: input }) });
        expect(res.status, `${proc} ${JSON.stringify(init.headers)}`).toBe(401);
      }
    }
    // Still there, still live.
    expect((await ada.pipelines.get.query({ id: a.id })).pipeline.name).toBe('Token A');
    expect((await ada.embeds.list.query({ pipelineId: a.id })).tokens[0]!.status).toBe('active');
  });
});

describe('hostile names', () => {
  it('stay text in the embed, the SVGs and the oEmbed JSON', async () => {
    const spec = twoStages(EVIL, 'true');
    spec.nodes[0]!.name = EVIL.slice(0, 60);
    const { id: pipelineId } = await ada.pipelines.create.mutate({ name: EVIL, spec });
    const { id: runId } = await ada.runs.start.mutate({ pipelineId });
    const link = await ada.embeds.create.mutate({ pipelineId, scope: 'view', allowedOrigins: [wiki.origin], expiresInDays: null });
    const badgeLink = await ada.embeds.create.mutate({ pipelineId, scope: 'badge', allowedOrigins: [], expiresInDays: null });
    for (let i = 0; i < 100; i++) {
      const r = await ada.runs.get.query({ id: runId });
      if (r.status === 'succeeded' || r.status === 'failed') break;
      await new Promise((r) => setTimeout(r, 300));
    }

    browser = await openBrowser();
    const { page } = browser;
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    wiki.setPage(wikiPage(link.urls.embed));
    await page.goto(`${wiki.origin}/`);
    const frame = page.frameLocator('#embed');
    await frame.locator('g.node[data-stage="build"]').waitFor();
    expect(await frame.locator('.pw-title').textContent()).toBe(EVIL);
    expect(await frame.locator('title').first().textContent()).toBe(`${EVIL} · Pipewright`);
    expect(await frame.locator('g.node[data-stage="build"] title').textContent()).toContain(EVIL.slice(0, 60));
    expect(await frame.locator('b, svg svg, [onload]').count()).toBe(0);
    expect(await frame.locator('script').count()).toBe(2); // the JSON data and the embed's own script, nothing else

    // The SVGs parse as XML and carry the name as text, without script or extra elements.
    await page.goto(`${appUrl}/api/health`); // any page of the app origin, to fetch from
    for (const url of [link.urls.diagram, link.urls.badge, badgeLink.urls.badge]) {
      const result = await page.evaluate(async (u) => {
        const text = await (await fetch(u)).text();
        const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
        return {
          error: doc.getElementsByTagName('parsererror').length,
          scripts: doc.getElementsByTagName('script').length,
          nested: doc.documentElement.getElementsByTagName('svg').length,
          bold: doc.getElementsByTagName('b').length,
          onload: doc.querySelectorAll('[onload]').length,
          text: doc.documentElement.textContent ?? '',
        };
      }, url);
      expect(result, url).toMatchObject({ error: 0, scripts: 0, nested: 0, bold: 0, onload: 0 });
      expect(result.text, url).toContain('<script>alert("pwned")</script>');
    }

    const oembed = await fetch(`${appUrl}/api/oembed?url=${encodeURIComponent(link.urls.share)}&maxwidth=640&maxheight=480&format=json`);
    expect(oembed.status).toBe(200);
    const raw = await oembed.text();
    expect(raw).not.toContain('<script');
    const body = JSON.parse(raw) as Record<string, unknown>;
    // The spec's required fields for type "rich", and the thumbnail trio together.
    expect(body.type).toBe('rich');
    expect(body.version).toBe('1.0');
    expect(typeof body.html).toBe('string');
    expect(Number.isInteger(body.width) && (body.width as number) <= 640).toBe(true);
    expect(Number.isInteger(body.height) && (body.height as number) <= 480).toBe(true);
    expect(body.title).toBe(EVIL);
    expect(typeof body.thumbnail_url === 'string' && Number.isInteger(body.thumbnail_width) && Number.isInteger(body.thumbnail_height)).toBe(true);
    expect(body.thumbnail_width as number).toBeLessThanOrEqual(640);
    // The html is one iframe and nothing else, its title escaped.
    const html = body.html as string;
    const parsed = await page.evaluate((h) => {
      const doc = new DOMParser().parseFromString(h, 'text/html');
      const all = [...doc.body.querySelectorAll('*')].map((e) => e.tagName.toLowerCase());
      const f = doc.querySelector('iframe');
      return { all, title: f?.getAttribute('title'), sandbox: f?.getAttribute('sandbox'), src: f?.getAttribute('src') };
    }, html);
    expect(parsed.all).toEqual(['iframe']);
    expect(parsed.title).toBe(`${EVIL} (Pipewright)`);
    expect(parsed.sandbox).toBe('allow-scripts');
    expect(parsed.src).toBe(link.urls.embed);
    expect(dialogs).toEqual([]);
  });
});

describe('headers and the share page', () => {
  it('frames only embeds, per link; the share page carries the oEmbed discovery link', async () => {
    const { id: pipelineId } = await ada.pipelines.create.mutate({ name: 'Headers', spec: twoStages('Headers', 'true') });
    const link = await ada.embeds.create.mutate({ pipelineId, scope: 'view', allowedOrigins: ['https://wiki.example.com'], expiresInDays: null });

    const embed = await fetch(link.urls.embed);
    expect(embed.status).toBe(200);
    expect(embed.headers.get('content-security-policy')).toContain("frame-ancestors 'self' https://wiki.example.com");
    expect(embed.headers.get('content-security-policy')).not.toContain("frame-ancestors 'none'");
    expect(embed.headers.get('x-frame-options')).toBeNull();
    await embed.body?.cancel();

    for (const url of [`${appUrl}/`, `${appUrl}/sign-in`, link.urls.share, `${appUrl}/api/embed/stream?token=x`, `${appUrl}/api/oembed?url=x`, `${appUrl}/embed/pipelines/${pipelineId}/x`]) {
      const res = await fetch(url, { redirect: 'manual' });
      await res.body?.cancel();
      // App pages also carry a nonce-based script-src; what matters here is that nothing may frame them.
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp.match(/frame-ancestors [^;]*/g), url).toEqual(["frame-ancestors 'none'"]);
      expect(res.headers.get('x-frame-options'), url).toBe('DENY');
    }
    for (const url of [link.urls.badge, link.urls.diagram]) {
      const res = await fetch(url);
      await res.body?.cancel();
      expect(res.headers.get('content-security-policy'), url).toContain("frame-ancestors 'none'");
      expect(res.headers.get('content-security-policy'), url).toContain("default-src 'none'");
      expect(res.headers.get('x-frame-options'), url).toBe('DENY');
      const again = await fetch(url, { headers: { 'if-none-match': res.headers.get('etag')! } });
      expect(again.status, url).toBe(304);
    }

    browser = await openBrowser();
    const { page } = browser;
    await page.goto(link.urls.share);
    const href = await page.locator('link[rel="alternate"][type="application/json+oembed"]').getAttribute('href');
    expect(href).toBe(link.urls.oembed);
    await page.frameLocator('iframe').locator('g.node[data-stage="build"]').waitFor();
    const oembed = (await (await fetch(href!)).json()) as { type: string };
    expect(oembed.type).toBe('rich');
  });
});

describe('the Share dialog', () => {
  it('creates a link with sites and expiry, shows the snippets once, lists it with its last use and revokes it after confirmation', async () => {
    const { id: pipelineId } = await ada.pipelines.create.mutate({ name: 'Shared from the UI', spec: twoStages('Shared from the UI', 'true') });
    browser = await openBrowser();
    const { page, context } = browser;
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: appUrl });
    await page.goto(`${appUrl}/pipelines/${pipelineId}`);
    await page.waitForURL((u) => u.pathname === '/sign-in');
    await signIn(page, 'ada');
    await page.getByTestId('share-button').click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('heading', { name: 'Share Shared from the UI' }).waitFor();

    // A bad origin is flagged as typed, and the link cannot be created.
    const origins = dialog.getByLabel('Sites that may show it');
    await origins.fill('http://wiki.example.com');
    await dialog.getByText(/must use https/).waitFor();
    expect(await dialog.getByTestId('share-create').isDisabled()).toBe(true);
    await origins.fill(`${wiki.origin}\nhttps://*.atlassian.net`);
    await dialog.getByLabel('Expires').selectOption('30');
    await dialog.getByLabel(/^Label/).fill('Team wiki');
    await dialog.getByTestId('share-create').click();

    const created = dialog.getByTestId('share-created');
    await created.waitFor();
    const iframe = await created.locator('[data-snippet="iframe"]').inputValue();
    const token = /token=(pwe_[A-Za-z0-9_-]{43})/.exec(iframe)?.[1];
    expect(token).toBeDefined();
    expect(iframe).toContain('sandbox="allow-scripts"');
    expect(await created.locator('[data-snippet="markdown"]').inputValue()).toContain(`/api/badge/${pipelineId}.svg?token=${token}`);
    await created.getByRole('button', { name: 'Copy Iframe' }).click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(iframe);

    // The snippet works in the wiki.
    wiki.setPage(wikiPage(`${appUrl}/embed/pipelines/${pipelineId}?token=${token}`));
    const wikiTab = await context.newPage();
    await wikiTab.goto(`${wiki.origin}/`);
    await wikiTab.frameLocator('#embed').locator('g.node[data-stage="build"]').waitFor();

    // The list shows it, used; the token is shown nowhere else.
    await created.getByRole('button', { name: 'Done' }).click();
    const row = dialog.locator('[data-share-link]').filter({ hasText: 'Team wiki' });
    await page.reload();
    await page.getByTestId('share-button').click();
    await row.waitFor();
    expect(await row.getAttribute('data-status')).toBe('active');
    expect(await row.innerText()).toContain(wiki.origin);
    expect(await row.innerText()).toMatch(/last used\s+(just now|\d+ s ago)/);
    expect(await dialog.innerText()).not.toContain(token!);

    // Revoke, with a confirmation step; the wiki's frame fails at once.
    await row.getByRole('button', { name: 'Revoke…' }).click();
    await row.getByRole('button', { name: 'Keep it' }).click();
    expect(await row.getAttribute('data-status')).toBe('active');
    await row.getByRole('button', { name: 'Revoke…' }).click();
    await row.getByRole('button', { name: 'Revoke', exact: true }).click();
    await dialog.locator('[data-share-link][data-status="revoked"]').filter({ hasText: 'Team wiki' }).waitFor();
    await wikiTab.frameLocator('#embed').locator('#pw-error').filter({ hasText: 'This link was revoked.' }).waitFor({ timeout: 3000 });
  });

  it('is not offered to viewers', async () => {
    const pipeline = (await ada.pipelines.list.query())[0]!;
    browser = await openBrowser();
    const { page } = browser;
    await page.goto(`${appUrl}/pipelines/${pipeline.id}`);
    await page.waitForURL((u) => u.pathname === '/sign-in');
    await signIn(page, 'vera');
    await page.getByRole('heading', { name: pipeline.name }).waitFor();
    expect(await page.getByTestId('share-button').count()).toBe(0);
  });
});
