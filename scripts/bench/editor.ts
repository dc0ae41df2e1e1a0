/**
 * `npm run bench:editor`: how the pipeline editor performs, measured against
 * the production build (`next start`) in headless Chromium on this machine.
 *
 * 1. Starts what it needs and nothing else: a temporary app database (migrated,
 *    one author, pipelines of 100, 500 and 1,000 stages laid out on a grid),
 *    the production build (rebuilt with `next build` when a source file is
 *    newer, unless `--no-build`) served by `next start` on a free port. No
 *    Temporal: the editor does not need it.
 * 2. Measures:
 *    a. navigation → interactive canvas for each size: from the start of the
 *       navigation (the browser's clock) to the first moment the stages are in
 *       the DOM and the main thread has run a task after the next frame;
 *       median of `--loads` cold loads (a fresh browser context each time);
 *    b. frame time while dragging a stage and while panning the 500-stage
 *       pipeline: intervals between animation frames during 90 pointer moves,
 *       median and p95;
 *    c. first-load JavaScript of the editor route: script bytes as transferred
 *       (gzip, as `next start` serves them) plus inline scripts gzipped.
 * 3. Prints a table on stdout (progress on stderr) and rewrites its own section
 *    of docs/benchmarks.md (between `bench:editor` markers; `--no-doc` skips).
 * 4. Stops the server and removes the data folder, also on error and Ctrl-C.
 *
 * Options: `--loads=3`, `--sizes=100,500,1000`, `--no-build`, `--no-doc`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { chromium, type Browser, type Page } from 'playwright-core';
import { getFreePort } from '../ports';
import { buildIsStale, nextFreeFrameScript, percentile, replaceDocSection } from './common';

const args = process.argv.slice(2);
const arg = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const LOADS = Math.max(1, Number(arg('loads') ?? 3));
const SIZES = (arg('sizes') ?? '100,500,1000').split(',').map(Number).filter((n) => n > 0);
const BUILD = !args.includes('--no-build');
const WRITE_DOC = !args.includes('--no-doc');
/** Prints where the main thread spends the load of the largest pipeline (CPU profile, top functions by self time). */
const PROFILE = args.includes('--profile');
const TIME_LIMIT_MS = 20 * 60_000;
const GOALS = { interactive500Ms: 2000, frameMs: 20, firstLoadKb: 350 };

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const NEXT_BIN = path.join(ROOT, 'node_modules', 'next', 'dist', 'bin', 'next');
const DOC_FILE = path.join(ROOT, 'docs', 'benchmarks.md');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const PASSWORD = 'bench-editor-password';

const log = (line: string) => process.stderr.write(`[bench:editor] ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ms = (v: number) => (Number.isFinite(v) ? `${v < 100 ? v.toFixed(1) : Math.round(v)} ms` : 'n/a');
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pipewright-bench-editor-'));
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


/**
 * A pipeline of `n` stages on a grid of 10 rows: each row a chain of stages,
 * and along the top row a connection down to the second row at every step
 * (fan-out), so it is one connected graph that validates cleanly.
 */
function gridSpec(n: number) {
  const rows = 10;
  const kinds = ['command', 'http-check', 'wait', 'command', 'webhook'] as const;
  const configs: Record<(typeof kinds)[number], Record<string, unknown>> = {
    command: { command: 'echo "step"' },
    'http-check': { url: 'http://localhost/health' },
    wait: { seconds: 1 },
    webhook: { url: 'https://example.com/hook', body: { text: 'hi' } },
  };
  const nodes = Array.from({ length: n }, (_, i) => {
    const c = Math.floor(i / rows);
    const r = i % rows;
    const kind = kinds[(c + r) % kinds.length]!;
    return { id: `s${c}_${r}`, kind, name: `Stage ${c}.${r}`, config: configs[kind], position: { x: c * 300, y: r * 120 } };
  });
  const ids = new Set(nodes.map((x) => x.id));
  const edges: { id: string; from: string; to: string; on: 'success' }[] = [];
  for (const node of nodes) {
    const [c, r] = node.id.slice(1).split('_').map(Number) as [number, number];
    const left = `s${c - 1}_${r}`;
    if (ids.has(left)) edges.push({ id: `${left}-${node.id}`, from: left, to: node.id, on: 'success' });
    const diag = `s${c - 1}_0`;
    if (r === 1 && ids.has(diag)) edges.push({ id: `${diag}-${node.id}`, from: diag, to: node.id, on: 'success' });
  }
  return { schemaVersion: 1 as const, name: `Bench ${n} stages`, nodes, edges, parameters: [] };
}

/** Records the intervals between animation frames until stopped (in the page). */
async function recordFrames(page: Page, during: () => Promise<void>): Promise<number[]> {
  // A string, so the bundler's helpers (`__name`) do not leak into the page.
  await page.evaluate(`(() => {
    window.__frames = [];
    window.__recording = true;
    let last = 0;
    const tick = (t) => {
      if (last) window.__frames.push(t - last);
      last = t;
      if (window.__recording) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  })()`);
  await during();
  return (await page.evaluate('(() => { window.__recording = false; return window.__frames; })()')) as number[];
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
  Object.assign(process.env, { DATABASE_URL: env.DATABASE_URL, PIPEWRIGHT_DATA_DIR: dir, PIPEWRIGHT_URL: appUrl, PORT: String(port), BETTER_AUTH_SECRET: env.BETTER_AUTH_SECRET });

  // Modules that read the environment are loaded only now.
  const { migrate } = await import('../../db/migrate');
  const { getDb } = await import('../../db/client');
  const { createPipeline } = await import('../../server/services/pipelines');
  const { createUser } = await import('../../server/auth/users');
  await migrate();
  const db = await getDb();
  await createUser(db, { username: 'bench', name: 'Bench', email: 'bench@example.com', password: PASSWORD, role: 'author' });
  const system = { id: 'bench', username: 'bench' };
  const pipelines = new Map<number, string>();
  for (const n of SIZES) {
    const res = await createPipeline(db, system, { name: `Bench ${n} stages`, spec: gridSpec(n) });
    if (!res.valid) throw new Error(`the ${n}-stage pipeline does not validate: ${res.issues[0]?.message}`);
    pipelines.set(n, res.id);
  }
  log(`database ready (${SIZES.join(', ')} stages)`);

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
    const ok = await fetch(`${appUrl}/api/health`, { signal: AbortSignal.timeout(3000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) throw new Error('next start did not answer /api/health within 90 s');
    await sleep(250);
  }
  log(`server up at ${appUrl}`);

  // A session cookie for the author.
  const signIn = await fetch(`${appUrl}/api/auth/sign-in/username`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: appUrl },
    body: JSON.stringify({ username: 'bench', password: PASSWORD }),
  });
  if (!signIn.ok) throw new Error(`sign-in failed: HTTP ${signIn.status} ${await signIn.text()}`);
  const cookies = signIn.headers.getSetCookie().map((c) => {
    const [pair] = c.split(';');
    const eq = pair!.indexOf('=');
    return { name: pair!.slice(0, eq), value: pair!.slice(eq + 1), url: appUrl };
  });

  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const interactive = new Map<number, number[]>();
  let firstLoad = { external: 0, inline: 0, scripts: 0 };
  let drag: number[] = [];
  let pan: number[] = [];
  try {
    for (const n of SIZES) {
      const times: number[] = [];
      for (let i = 0; i < LOADS + 1; i++) {
        const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
        await context.addCookies(cookies);
        const page = await context.newPage();
        const scripts: Promise<number>[] = [];
        page.on('response', (r) => {
          if (r.request().resourceType() === 'script') scripts.push(r.request().sizes().then((s) => s.responseBodySize));
        });
        const profiling = PROFILE && i === LOADS && n === SIZES.at(-1) ? await context.newCDPSession(page) : null;
        if (profiling) {
          await profiling.send('Profiler.enable');
          await profiling.send('Profiler.setSamplingInterval', { interval: 200 });
          await profiling.send('Profiler.start');
        }
        await page.goto(`${appUrl}/pipelines/${pipelines.get(n)}/edit`, { waitUntil: 'commit' });
        // Stages visible *and* React Flow initialised (hydrated, viewport set: it answers input), then one frame.
        await page.waitForSelector('.react-flow__node', { state: 'visible', timeout: 120_000 });
        await page.waitForFunction('performance.getEntriesByName("pw-editor-canvas-ready").length > 0', undefined, { timeout: 120_000, polling: 'raf' });
        const at = (await page.evaluate(nextFreeFrameScript)) as number;
        const nav = (await page.evaluate(
          '(() => { const n = performance.getEntriesByType("navigation")[0]; const m = (k) => performance.getEntriesByName(k)[0]?.startTime ?? NaN; return { ttfb: n.responseStart, dcl: n.domContentLoadedEventEnd, mounted: m("pw-editor-mounted"), canvas: m("pw-editor-canvas-ready") }; })()',
        )) as { ttfb: number; dcl: number; mounted: number; canvas: number };
        log(`  ${n} stages, load ${i}: first byte ${ms(nav.ttfb)}, DOMContentLoaded ${ms(nav.dcl)}, editor mounted ${ms(nav.mounted)}, canvas ready ${ms(nav.canvas)}, interactive ${ms(at)}`);
        if (i > 0) times.push(at); // the first load warms the server
        if (profiling) {
          const { profile } = (await profiling.send('Profiler.stop')) as { profile: { nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[]; samples: number[]; timeDeltas: number[] } };
          const self = new Map<number, number>();
          profile.samples.forEach((id, k) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[k] ?? 0)));
          const byFn = new Map<string, number>();
          for (const node of profile.nodes) {
            const f = node.callFrame;
            const key = `${f.functionName || '(anonymous)'} ${f.url.split('/').pop()}:${f.lineNumber}`;
            byFn.set(key, (byFn.get(key) ?? 0) + (self.get(node.id) ?? 0) / 1000);
          }
          for (const [k, v] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, 25)) log(`  profile ${v.toFixed(0).padStart(6)} ms  ${k}`);
        }
        if (i === 1 && n === SIZES[0]) {
          const inline = (await page.evaluate('[...document.scripts].filter((s) => !s.src && s.type !== "application/json").map((s) => s.textContent ?? "")')) as string[];
          const sizes = await Promise.all(scripts);
          firstLoad = { external: sizes.reduce((a, b) => a + b, 0), inline: inline.reduce((a, t) => a + gzipSync(t).length, 0), scripts: sizes.length };
        }
        if (i === LOADS && n === 500) {
          // Frame times in the 500-stage pipeline.
          await page.waitForTimeout(1500);
          const box = (await page.locator('.react-flow__node[data-id="s1_3"]').boundingBox())!;
          const start = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
          drag = await recordFrames(page, async () => {
            await page.mouse.move(start.x, start.y);
            await page.mouse.down();
            for (let k = 1; k <= 90; k++) await page.mouse.move(start.x + k * 3, start.y + Math.sin(k / 9) * 60);
            await page.mouse.up();
          });
          const emptyAt = { x: box.x + box.width + 30, y: box.y + box.height + 20 };
          pan = await recordFrames(page, async () => {
            await page.mouse.move(emptyAt.x, emptyAt.y);
            await page.mouse.down();
            for (let k = 1; k <= 90; k++) await page.mouse.move(emptyAt.x + k * 4, emptyAt.y - k * 2);
            await page.mouse.up();
          });
        }
        await context.close();
      }
      interactive.set(n, times);
      log(`${n} stages: interactive after ${times.map(ms).join(', ')}`);
    }
  } finally {
    await browser.close();
  }

  const firstLoadTotal = firstLoad.external + firstLoad.inline;
  const dragP50 = percentile(drag.slice(2), 50);
  const panP50 = percentile(pan.slice(2), 50);
  const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');
  const rows: [string, string, string, string][] = [
    ...SIZES.map((n): [string, string, string, string] => {
      const t = percentile(interactive.get(n) ?? [], 50);
      return [`Navigation → interactive canvas, ${n} stages (median of ${LOADS})`, ms(t), n === 500 ? `≤ ${GOALS.interactive500Ms} ms` : '', n === 500 ? verdict(t <= GOALS.interactive500Ms) : ''];
    }),
    [`Frame time while dragging a stage, 500 stages: median / p95 (${drag.length} frames)`, `${ms(dragP50)} / ${ms(percentile(drag.slice(2), 95))}`, `median ≤ ${GOALS.frameMs} ms`, verdict(dragP50 <= GOALS.frameMs)],
    [`Frame time while panning, 500 stages: median / p95 (${pan.length} frames)`, `${ms(panP50)} / ${ms(percentile(pan.slice(2), 95))}`, `median ≤ ${GOALS.frameMs} ms`, verdict(panP50 <= GOALS.frameMs)],
    [`First-load JavaScript of the editor route, gzipped (${firstLoad.scripts} scripts + inline)`, kb(firstLoadTotal), `≤ ${GOALS.firstLoadKb} KB`, verdict(firstLoadTotal <= GOALS.firstLoadKb * 1024)],
  ];
  const table = ['| Measurement | Result | Goal | |', '|---|---:|---:|---|', ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
  process.stdout.write(`${table}\n`);

  if (WRITE_DOC) {
    const cpu = os.cpus();
    const section = [
      '<!-- bench:editor:start (generated by `npm run bench:editor`; edits inside are overwritten) -->',
      `## Editor benchmark (${new Date().toISOString().slice(0, 10)})`,
      '',
      `Machine: ${cpu.length} CPUs (${cpu[0]?.model.trim() ?? 'unknown'}), ${Math.round(os.totalmem() / 2 ** 30)} GB memory, Node ${process.version}; 1-min load average ${loadBefore.toFixed(1)} before, ${os.loadavg()[0]!.toFixed(1)} after (other work shares the machine). Production build served by \`next start\`, headless Chromium (${CHROMIUM}), 1440×900 viewport, a fresh browser context (cold cache) per load. Pipelines: ${SIZES.join(', ')} stages on a grid of 10 chained rows, laid out and valid. Whole run: ${Math.round((Date.now() - started) / 1000)} s.`,
      '',
      '- *Interactive*: from the start of the navigation (browser clock) until the stages are visible, React Flow has initialised (the page is hydrated and the viewport set; the editor marks it `pw-editor-canvas-ready`) and a task queued after the next animation frame has run — the canvas answers input from then on. The editor opens large pipelines at a readable zoom on their first stages and renders only the stages in view.',
      '- *Frame time*: intervals between animation frames while 90 pointer moves drag a stage (or pan the empty canvas); 16.7 ms is one frame at 60 Hz.',
      '- *First-load JavaScript*: every script the route loads, as transferred (`next start` compresses them), plus inline scripts gzipped. ELK (auto-layout) is loaded only when used and is not part of it.',
      '',
      table,
      '<!-- bench:editor:end -->',
    ].join('\n');
    replaceDocSection('editor', section);
    log(`wrote ${path.relative(ROOT, DOC_FILE)}`);
  }
}

main()
  .then(() => cleanUp())
  .then(() => process.exit(0))
  .catch(async (err) => {
    log(err instanceof Error ? (err.stack ?? err.message) : String(err));
    await cleanUp();
    process.exit(1);
  });
