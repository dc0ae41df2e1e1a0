/**
 * `npm run bench:embed`: what embeds cost, measured against the production
 * build (`next start`) on this machine.
 *
 * 1. Starts what it needs and nothing else: a temporary app database (migrated,
 *    one six-stage pipeline, one run that stays "running", one share link), the
 *    production build (rebuilt with `next build` when a source file is newer,
 *    unless `--no-build`) served by `next start` on a free port. No Temporal:
 *    the bench writes stage changes into the database itself, as the worker
 *    would from another process.
 * 2. Measures (the method in prose goes to docs/benchmarks.md):
 *    a. the embed page in headless Chromium: JavaScript transferred
 *       (gzipped) and time from navigation to a painted graph, median and p95
 *       of N fresh loads;
 *    b. V concurrent SSE viewers of the one running pipeline on loopback:
 *       server memory (RSS of the `next start` process group) before and with
 *       them, and the delay from a committed stage change to each viewer
 *       receiving it, over U changes;
 *    c. badge and diagram SVG: requests per second with C keep-alive clients
 *       for S seconds, full responses and the 304 path (matching If-None-Match).
 * 3. Prints a table on stdout (progress on stderr) and rewrites its own section
 *    of docs/benchmarks.md (between `bench:embed` markers; `--no-doc` skips).
 * 4. Stops the server and removes the data folder, also on error and Ctrl-C.
 *
 * Options: `--viewers=1000`, `--updates=20`, `--loads=20`, `--seconds=5`,
 * `--concurrency=16`, `--no-build`, `--no-doc`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { getFreePort } from '../ports';
import { buildIsStale, percentile, replaceDocSection } from './common';

// ── Options ─────────────────────────────────────────────────────────────────
const args = process.argv.slice(2);
const arg = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const VIEWERS = Math.max(1, Number(arg('viewers') ?? 1000));
const UPDATES = Math.max(1, Number(arg('updates') ?? 20));
const LOADS = Math.max(1, Number(arg('loads') ?? 20));
const SECONDS = Math.max(1, Number(arg('seconds') ?? 5));
const CONCURRENCY = Math.max(1, Number(arg('concurrency') ?? 16));
const BUILD = !args.includes('--no-build');
const WRITE_DOC = !args.includes('--no-doc');
const TIME_LIMIT_MS = 15 * 60_000;
const UPDATE_GAP_MS = 1500;

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const NEXT_BIN = path.join(ROOT, 'node_modules', 'next', 'dist', 'bin', 'next');
const DOC_FILE = path.join(ROOT, 'docs', 'benchmarks.md');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const log = (line: string) => process.stderr.write(`[bench:embed] ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const ms = (v: number) => `${Math.round(v)} ms`;
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
const mb = (kbytes: number) => `${(kbytes / 1024).toFixed(0)} MB`;

// ── Set-up ───────────────────────────────────────────────────────────────────
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pipewright-bench-embed-'));
let server: ChildProcess | undefined;
let cleaned = false;

async function cleanUp() {
  if (cleaned) return;
  cleaned = true;
  if (server?.pid && server.exitCode === null) {
    try {
      process.kill(-server.pid, 'SIGTERM');
    } catch {
      // already gone
    }
    await Promise.race([new Promise((r) => server!.once('exit', r)), sleep(5000)]);
    try {
      process.kill(-server.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
}
process.once('SIGINT', () => void cleanUp().then(() => process.exit(130)));
const limit = setTimeout(() => {
  log(`time limit (${TIME_LIMIT_MS / 60_000} min) reached`);
  void cleanUp().then(() => process.exit(2));
}, TIME_LIMIT_MS);
limit.unref();



/** Resident memory of a process group, in KB (the `next start` process and any children). */
function groupRssKb(pgid: number): number {
  const out = spawnSync('ps', ['-o', 'rss=', '-g', String(pgid)], { encoding: 'utf8' }).stdout;
  return out
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((n) => Number.isFinite(n))
    .reduce((a, b) => a + b, 0);
}

async function main() {
  const started = Date.now();
  const loadBefore = os.loadavg()[0]!;
  const port = await getFreePort();
  const appUrl = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'production',
    NEXT_TELEMETRY_DISABLED: '1',
    PORT: String(port),
    PIPEWRIGHT_URL: appUrl,
    PIPEWRIGHT_DATA_DIR: dir,
    DATABASE_URL: `file:${path.join(dir, 'app.db')}`,
    BETTER_AUTH_SECRET: randomBytes(32).toString('base64url'),
    PIPEWRIGHT_NO_SEED: 'true',
    PIPEWRIGHT_DEMO_USERS: 'false',
  };
  Object.assign(process.env, { DATABASE_URL: env.DATABASE_URL, PIPEWRIGHT_DATA_DIR: dir, PIPEWRIGHT_URL: appUrl, PORT: String(port) });

  // Modules that read the environment are loaded only now.
  const { migrate } = await import('../../db/migrate');
  const { getDb } = await import('../../db/client');
  const { runs, stageRuns } = await import('../../db/schema');
  const { createPipeline } = await import('../../server/services/pipelines');
  const { createShareToken } = await import('../../server/services/embeds');
  const { examplePipelines } = await import('../../db/seed');
  const { compileValidSpec, validatePipeline } = await import('../../workflows/model');
  const { and, eq } = await import('drizzle-orm');

  await migrate();
  const db = await getDb();
  const example = examplePipelines(appUrl)[0]!;
  const system = { id: 'bench', username: 'bench' };
  const { id: pipelineId } = await createPipeline(db, system, { name: example.name, spec: example });
  const spec = validatePipeline(example).spec!;
  const plan = compileValidSpec(spec);
  const runId = randomUUID();
  const t = Date.now();
  await db.insert(runs).values({
    id: runId,
    pipelineId,
    pipelineVersion: 1,
    number: 1,
    plan,
    planHash: plan.hash,
    params: { version: '1.0.0' },
    status: 'running',
    triggeredBy: 'bench',
    workflowId: `bench-${runId}`,
    startedAt: new Date(t),
  });
  await db.insert(stageRuns).values(
    spec.nodes.map((n, i) => ({
      runId,
      nodeId: n.id,
      status: i === 0 ? ('succeeded' as const) : i < 3 ? ('running' as const) : ('pending' as const),
      attempt: i < 3 ? 1 : 0,
      startedAt: i < 3 ? new Date(t) : null,
      endedAt: i === 0 ? new Date(t + 3000) : null,
    })),
  );
  const link = await createShareToken(db, system, { pipelineId, scope: 'view', allowedOrigins: [], expiresInDays: null, label: 'bench' });
  const embedUrl = `${link.urls.embed}&run=latest`;
  log(`database ready (${spec.nodes.length} stages, run ${runId.slice(0, 8)} running)`);

  // Build (when stale) and start the production server.
  const stale = BUILD ? buildIsStale() : undefined;
  if (stale) {
    log(`next build (${stale})…`);
    const b = spawnSync(process.execPath, [NEXT_BIN, 'build'], { cwd: ROOT, env, encoding: 'utf8' });
    if (b.status !== 0) throw new Error(`next build failed:\n${(b.stdout + b.stderr).split('\n').slice(-40).join('\n')}`);
    log('next build done');
  } else log(BUILD ? 'reusing the production build in .next' : 'using .next as it is (--no-build)');
  const output: string[] = [];
  server = spawn(process.execPath, [NEXT_BIN, 'start', '-p', String(port), '-H', '127.0.0.1'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  for (const s of [server.stdout!, server.stderr!]) s.on('data', (b: Buffer) => output.push(...b.toString('utf8').split('\n').filter(Boolean)));
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (server.exitCode !== null) throw new Error(`next start exited (${server.exitCode}):\n${output.slice(-30).join('\n')}`);
    const ok = await fetch(`${appUrl}/api/health`, { signal: AbortSignal.timeout(3000) }).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) throw new Error('next start did not answer /api/health within 90 s');
    await sleep(250);
  }
  const pgid = server.pid!;
  log(`server up at ${appUrl}`);

  // ── a. The embed page in Chromium ─────────────────────────────────────────
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const renderTimes: number[] = [];
  const paintTimes: number[] = [];
  const ttfbs: number[] = [];
  const fcps: number[] = [];
  let jsGzip = 0;
  let externalJs = 0;
  let externalScripts = 0;
  let documentBytes = 0;
  let dataGzip = 0;
  try {
    for (let i = 0; i < LOADS + 2; i++) {
      const context = await browser.newContext();
      // In the page, on the browser's clock: when the first frame containing the graph has been presented
      // (a task queued from the animation frame after the graph is in the DOM runs after that frame).
      await context.addInitScript(() => {
        const w = window as unknown as { __pwPainted?: number };
        document.addEventListener('DOMContentLoaded', () => {
          if (!document.querySelector('svg.pw-graph g.node')) return;
          requestAnimationFrame(() => setTimeout(() => (w.__pwPainted = performance.now()), 0));
        });
      });
      const page = await context.newPage();
      const scriptResponses: Promise<number>[] = [];
      page.on('response', (r) => {
        if (r.request().resourceType() === 'script') scriptResponses.push(r.request().sizes().then((s) => s.responseBodySize));
      });
      const t0 = performance.now();
      const response = await page.goto(embedUrl, { waitUntil: 'commit' });
      await page.waitForSelector('svg.pw-graph g.node', { state: 'visible' });
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(null)))));
      const t1 = performance.now();
      if (i >= 2) {
        renderTimes.push(t1 - t0);
        const inPage = await page.waitForFunction(() => {
          const w = window as unknown as { __pwPainted?: number };
          const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined;
          return w.__pwPainted !== undefined && nav ? { painted: w.__pwPainted, ttfb: nav.responseStart } : null;
        });
        const v = (await inPage.jsonValue())!;
        paintTimes.push(v.painted);
        ttfbs.push(v.ttfb);
        const fcp = await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN);
        if (Number.isFinite(fcp)) fcps.push(fcp);
      }
      if (i === 2) {
        const inline = await page.evaluate(() =>
          [...document.scripts].map((s) => ({ src: s.src, type: s.type, text: s.textContent ?? '' })),
        );
        jsGzip = inline.filter((s) => !s.src && s.type !== 'application/json').reduce((a, s) => a + gzipSync(s.text).length, 0);
        dataGzip = inline.filter((s) => s.type === 'application/json').reduce((a, s) => a + gzipSync(s.text).length, 0);
        const sizes = await Promise.all(scriptResponses);
        externalScripts = sizes.length;
        externalJs = sizes.reduce((a, b) => a + b, 0);
        documentBytes = (await response!.request().sizes()).responseBodySize;
      }
      await context.close();
    }
  } finally {
    await browser.close();
  }
  log(`embed page: graph painted p50 ${ms(percentile(paintTimes, 50))} (wall ${ms(percentile(renderTimes, 50))}), JS ${kb(jsGzip + externalJs)} gzipped`);

  // ── b. Many SSE viewers of one running pipeline ───────────────────────────
  await sleep(1000);
  const rssBefore = groupRssKb(pgid);
  const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  const streamUrl = `${appUrl}/api/embed/stream?token=${encodeURIComponent(link.token)}&run=latest`;
  type Viewer = { req: http.ClientRequest; firstAt?: number; seen: Map<number, number> };
  const viewers: Viewer[] = [];
  const openViewer = () =>
    new Promise<Viewer>((resolve, reject) => {
      const v: Viewer = { req: undefined as unknown as http.ClientRequest, seen: new Map() };
      v.req = http.get(streamUrl, { agent, headers: { accept: 'text/event-stream' } }, (res) => {
        if (res.statusCode !== 200) return reject(new Error(`stream answered ${res.statusCode}`));
        res.setEncoding('utf8');
        let buffer = '';
        res.on('data', (chunk: string) => {
          const now = performance.now();
          buffer += chunk;
          let i: number;
          while ((i = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, i);
            buffer = buffer.slice(i + 2);
            if (!block.startsWith('event: snapshot')) continue;
            const data = JSON.parse(block.slice(block.indexOf('data: ') + 6)) as { run: { stages: Record<string, { attempt: number }> } | null };
            const attempt = data.run?.stages.smoke?.attempt ?? 0;
            if (!v.seen.has(attempt)) v.seen.set(attempt, now);
            if (v.firstAt === undefined) {
              v.firstAt = now;
              resolve(v);
            }
          }
        });
        res.on('error', () => undefined);
      });
      v.req.on('error', reject);
    });
  const connectStart = performance.now();
  for (let i = 0; i < VIEWERS; i += 50) {
    const batch = await Promise.all(Array.from({ length: Math.min(50, VIEWERS - i) }, openViewer));
    viewers.push(...batch);
  }
  const connectMs = performance.now() - connectStart;
  await sleep(2000);
  const rssWith = groupRssKb(pgid);
  log(`${viewers.length} viewers connected in ${ms(connectMs)}; RSS ${mb(rssBefore)} → ${mb(rssWith)}`);

  const delays: number[] = [];
  const perUpdateP95: number[] = [];
  let missed = 0;
  for (let k = 1; k <= UPDATES; k++) {
    await db
      .update(stageRuns)
      .set({ attempt: k, status: k % 2 ? 'running' : 'pending' })
      .where(and(eq(stageRuns.runId, runId), eq(stageRuns.nodeId, 'smoke')));
    const committed = performance.now();
    const until = committed + 5000;
    while (performance.now() < until && viewers.some((v) => !v.seen.has(k))) await sleep(20);
    const these: number[] = [];
    for (const v of viewers) {
      const at = v.seen.get(k);
      if (at === undefined) missed++;
      else these.push(at - committed);
    }
    delays.push(...these);
    perUpdateP95.push(percentile(these, 95));
    await sleep(UPDATE_GAP_MS);
  }
  const rssAfterUpdates = groupRssKb(pgid);
  log(`update delay p50 ${ms(percentile(delays, 50))}, p95 ${ms(percentile(delays, 95))}, max ${ms(Math.max(...delays))}, missed ${missed}`);
  for (const v of viewers) v.req.destroy();
  agent.destroy();
  await sleep(3000);
  const rssAfterClose = groupRssKb(pgid);

  // ── c. Badge and diagram ──────────────────────────────────────────────────
  async function hammer(url: string, headers: Record<string, string>, expect: number) {
    const run = async (seconds: number) => {
      const end = performance.now() + seconds * 1000;
      let n = 0;
      let wrong = 0;
      const lat: number[] = [];
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (performance.now() < end) {
            const t0 = performance.now();
            const r = await fetch(url, { headers });
            await r.arrayBuffer();
            lat.push(performance.now() - t0);
            if (r.status !== expect) wrong++;
            n++;
          }
        }),
      );
      return { rps: n / seconds, p50: percentile(lat, 50), p99: percentile(lat, 99), wrong };
    };
    await run(1); // warm-up
    return run(SECONDS);
  }
  const etagOf = async (url: string) => {
    const r = await fetch(url);
    return { etag: r.headers.get('etag')!, bytes: (await r.arrayBuffer()).byteLength };
  };
  const badgeTag = await etagOf(link.urls.badge);
  const diagramTag = await etagOf(link.urls.diagram);
  const badgeFull = await hammer(link.urls.badge, {}, 200);
  const badge304 = await hammer(link.urls.badge, { 'if-none-match': badgeTag.etag }, 304);
  const diagramFull = await hammer(link.urls.diagram, {}, 200);
  const diagram304 = await hammer(link.urls.diagram, { 'if-none-match': diagramTag.etag }, 304);
  log(`badge ${badgeFull.rps.toFixed(0)} req/s (304: ${badge304.rps.toFixed(0)}), diagram ${diagramFull.rps.toFixed(0)} req/s (304: ${diagram304.rps.toFixed(0)})`);

  // ── Report ────────────────────────────────────────────────────────────────
  const jsTotal = jsGzip + externalJs;
  const paintP50 = percentile(paintTimes, 50);
  const paintP95 = percentile(paintTimes, 95);
  const delayP95 = percentile(delays, 95);
  const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');
  const rows: [string, string, string, string][] = [
    ['Embed page: JavaScript transferred, gzipped', `${kb(jsTotal)} (${externalScripts} script files)`, '≤ 120 KB', verdict(jsTotal <= 120 * 1024)],
    ['↳ whole HTML document as sent (gzip), incl. inline SVG and data', kb(documentBytes), '', ''],
    ['↳ run data (JSON block), gzipped', kb(dataGzip), '', ''],
    [`Embed page: navigation → graph painted (browser clock), p50 / p95 of ${paintTimes.length}`, `${ms(paintP50)} / ${ms(paintP95)}`, '≤ 500 ms', verdict(paintP50 <= 500)],
    ['↳ first byte / first contentful paint (browser clock), p50', `${ms(percentile(ttfbs, 50))} / ${ms(percentile(fcps, 50))}`, '', ''],
    ['↳ `page.goto` → graph visible and painted, from the benchmark process (adds automation round trips), p50 / p95', `${ms(percentile(renderTimes, 50))} / ${ms(percentile(renderTimes, 95))}`, '', ''],
    [`${viewers.length} SSE viewers: server RSS before → with them`, `${mb(rssBefore)} → ${mb(rssWith)} (+${((rssWith - rssBefore) / viewers.length).toFixed(1)} KB each)`, '', ''],
    [`${viewers.length} SSE viewers: time to open all streams`, ms(connectMs), '', ''],
    [`${viewers.length} SSE viewers: update delay p50 / p95 / max (${UPDATES} updates, ${delays.length} deliveries)`, `${ms(percentile(delays, 50))} / ${ms(delayP95)} / ${ms(Math.max(...delays))}`, 'p95 ≤ 1 s', verdict(delayP95 <= 1000 && missed === 0)],
    ['↳ deliveries missed (not within 5 s)', String(missed), '0', verdict(missed === 0)],
    ['↳ server RSS after the updates / 3 s after all viewers left', `${mb(rssAfterUpdates)} / ${mb(rssAfterClose)}`, '', ''],
    [`Badge SVG (${badgeTag.bytes} B): requests/s, ${CONCURRENCY} clients, 200`, `${badgeFull.rps.toFixed(0)} (p50 ${badgeFull.p50.toFixed(1)} ms, p99 ${badgeFull.p99.toFixed(1)} ms)`, '', badgeFull.wrong ? `${badgeFull.wrong} wrong` : ''],
    ['Badge SVG: requests/s, 304 (If-None-Match)', `${badge304.rps.toFixed(0)} (p50 ${badge304.p50.toFixed(1)} ms, p99 ${badge304.p99.toFixed(1)} ms)`, '', badge304.wrong ? `${badge304.wrong} wrong` : ''],
    [`Diagram SVG (${diagramTag.bytes} B): requests/s, 200`, `${diagramFull.rps.toFixed(0)} (p50 ${diagramFull.p50.toFixed(1)} ms, p99 ${diagramFull.p99.toFixed(1)} ms)`, '', diagramFull.wrong ? `${diagramFull.wrong} wrong` : ''],
    ['Diagram SVG: requests/s, 304 (If-None-Match)', `${diagram304.rps.toFixed(0)} (p50 ${diagram304.p50.toFixed(1)} ms, p99 ${diagram304.p99.toFixed(1)} ms)`, '', diagram304.wrong ? `${diagram304.wrong} wrong` : ''],
  ];
  const table = ['| Measurement | Result | Goal | |', '|---|---:|---:|---|', ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
  const machine = `${os.cpus().length} CPUs (${os.cpus()[0]?.model?.trim() ?? 'unknown'}), ${Math.round(os.totalmem() / 2 ** 30)} GB memory, Node ${process.version}, ${os.platform()} ${os.arch()}; 1-min load average ${loadBefore.toFixed(1)} before, ${os.loadavg()[0]!.toFixed(1)} after`;
  const seconds = Math.round((Date.now() - started) / 1000);
  const date = new Date().toISOString().slice(0, 10);
  process.stdout.write(`\nPipewright embed benchmark — ${date}; ${machine}; ${seconds} s in all\n\n${table}\n\nPer-update p95 (ms): ${perUpdateP95.map((v) => Math.round(v)).join(', ')}\n`);

  if (WRITE_DOC) {
    const section = [
      '<!-- bench:embed:start (generated by `npm run bench:embed`; edits inside are overwritten) -->',
      `## Embed benchmark (${date})`,
      '',
      `Machine: ${machine} (other work shares the machine). Server: the production build under \`next start\` (one Node process), a temporary SQLite app database. Load generators (Chromium, the SSE clients, the HTTP clients) run on the same 2 CPUs as the server. Whole run: ${seconds} s. Command: \`npm run bench:embed\`.`,
      '',
      table,
      '',
      `- Per-update p95 of the viewer delay (ms), in order: ${perUpdateP95.map((v) => Math.round(v)).join(', ')}.`,
      '',
      '### How it is measured',
      '',
      `- **Set-up.** A temporary database with the example pipeline "Hello, Pipewright" (six stages, positions as drawn), one run of it marked \`running\` (two stages running, one finished), and one \`view\` share link with no origin list. No Temporal and no worker: the benchmark itself writes stage changes into the database, as the worker does from its own process.`,
      `- **Embed page.** Headless Chromium (\`${CHROMIUM}\`, playwright-core) loads \`/embed/pipelines/[id]?token=…&run=latest\` ${LOADS} times, each in a fresh browser context (no cache), after 2 warm-up loads. Time to the rendered graph is measured in the page on the browser's clock: from navigation start until the first frame containing the graph has been presented (an init script waits for DOMContentLoaded, checks the graph's stage nodes are in the DOM, and notes the time in a task queued from the next animation frame). The goal is checked against the median. For comparison, the time from \`page.goto\` in the benchmark process until the graph is visible and two animation frames have passed is listed too; it adds the DevTools-protocol round trips of the automation. JavaScript transferred = the gzipped size of the page's inline script (the embed has no script files; any script responses would be added with their transferred body size). The JSON data block is data, not code, and is listed separately; the document row is the whole HTML as sent (Next compresses it).`,
      `- **Viewers.** ${VIEWERS} Server-Sent Events streams (\`/api/embed/stream?token=…&run=latest\`, one HTTP/1.1 connection each, opened 50 at a time) from one Node process on loopback. Memory = resident set size of the \`next start\` process group (\`ps -o rss -g\`), 1 s after the page loads (before) and 2 s after the last stream opened (with). Then ${UPDATES} times, ${UPDATE_GAP_MS / 1000} s apart, one stage row (\`smoke\`: status and attempt) is updated in the database; the delay is from the committed UPDATE to the moment each viewer's socket delivered a \`snapshot\` event carrying that attempt. The server polls a watched run every 500 ms (one query for all viewers), so delays spread between a few ms and ~0.5 s plus the fan-out to every stream.`,
      `- **Images.** ${CONCURRENCY} concurrent keep-alive clients (Node \`fetch\`) request the badge or the diagram for ${SECONDS} s after a 1 s warm-up; each request checks the token and reads the latest run from the database and renders the SVG. The 304 rows send the ETag of the previous response in If-None-Match (the server still checks the token and renders, then answers 304 with no body).`,
      '',
      '<!-- bench:embed:end -->',
    ].join('\n');
    replaceDocSection('embed', section);
    log(`wrote ${path.relative(ROOT, DOC_FILE)}`);
  }
}

main()
  .then(async () => {
    await cleanUp();
    clearTimeout(limit);
    process.exit(0);
  })
  .catch(async (err: unknown) => {
    log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    await cleanUp();
    process.exit(1);
  });
