/**
 * What the benchmarks share: the repository root, the nearest-rank
 * percentile, "is the production build older than the sources?", and
 * rewriting one generated section of docs/benchmarks.md.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const DOC_FILE = path.join(ROOT, 'docs', 'benchmarks.md');

/** Nearest-rank percentile (NaN for no values). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function newestMtime(p: string): number {
  let newest = 0;
  for (const e of fs.readdirSync(p, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
    const full = path.join(p, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestMtime(full));
    else if (e.isFile()) newest = Math.max(newest, fs.statSync(full).mtimeMs);
  }
  return newest;
}

/** Why `.next` must be rebuilt before measuring (a source newer than the build), or undefined when it is current. */
export function buildIsStale(): string | undefined {
  const id = path.join(ROOT, '.next', 'BUILD_ID');
  if (!fs.existsSync(id)) return 'no build yet';
  const built = fs.statSync(id).mtimeMs;
  for (const d of ['app', 'server', 'workflows', 'db', 'public']) {
    if (fs.existsSync(path.join(ROOT, d)) && newestMtime(path.join(ROOT, d)) > built) return `${d}/ changed`;
  }
  for (const f of ['next.config.js', 'package.json', 'tsconfig.json']) if (fs.statSync(path.join(ROOT, f)).mtimeMs > built) return `${f} changed`;
  return undefined;
}

/**
 * Puts `section` (which starts with `<!-- bench:NAME:start` and ends with
 * `<!-- bench:NAME:end -->`) in place of the previous one in
 * docs/benchmarks.md, or appends it the first time.
 */
export function replaceDocSection(name: string, section: string) {
  let text = fs.existsSync(DOC_FILE) ? fs.readFileSync(DOC_FILE, 'utf8') : '# Benchmarks\n';
  const endMarker = `<!-- bench:${name}:end -->`;
  const start = text.indexOf(`<!-- bench:${name}:start`);
  const end = text.indexOf(endMarker);
  if (start >= 0 && end > start) text = text.slice(0, start) + section + text.slice(end + endMarker.length);
  else text = `${text.trimEnd()}\n\n${section}\n`;
  fs.writeFileSync(DOC_FILE, text);
}

/** `next start` of the production build on 127.0.0.1:`port` in its own process group, once it answers /api/health. */
export async function startNextServer(env: NodeJS.ProcessEnv, port: number): Promise<{ server: ChildProcess; output: string[] }> {
  const nextBin = path.join(ROOT, 'node_modules', 'next', 'dist', 'bin', 'next');
  const output: string[] = [];
  const server = spawn(process.execPath, [nextBin, 'start', '-p', String(port), '-H', '127.0.0.1'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  for (const s of [server.stdout!, server.stderr!]) s.on('data', (buf: Buffer) => output.push(...buf.toString('utf8').split('\n').filter(Boolean)));
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (server.exitCode !== null) throw new Error(`next start exited (${server.exitCode}):\n${output.slice(-30).join('\n')}`);
    const ok = await fetch(`http://127.0.0.1:${port}/api/health`, { signal: AbortSignal.timeout(3000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { server, output };
    if (Date.now() > deadline) throw new Error('next start did not answer /api/health within 90 s');
    await sleep(250);
  }
}

/** Signs `username` in over HTTP and returns the session cookies in Playwright's shape. */
export async function signInCookies(appUrl: string, username: string, password: string) {
  const signIn = await fetch(`${appUrl}/api/auth/sign-in/username`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: appUrl },
    body: JSON.stringify({ username, password }),
  });
  if (!signIn.ok) throw new Error(`sign-in failed: HTTP ${signIn.status}`);
  return signIn.headers.getSetCookie().map((c) => {
    const [pair] = c.split(';');
    const eq = pair!.indexOf('=');
    return { name: pair!.slice(0, eq), value: pair!.slice(eq + 1), url: appUrl };
  });
}

/**
 * How the benches start the runner `npm start` starts beside the app: `workflows/runner/main.ts` with only
 * its token (written by tests/e2e/prepare-db.ts into the data folder), the runner API's URL (the app's own
 * runner-API port, `PIPEWRIGHT_RUNNER_API_PORT`, as `npm start` gives it) and Temporal.
 * Pass to the bench's own `start(name, argv, env)`; the runner says "polling" once it takes stages.
 */
export function localRunnerCommand(o: { runnerApiUrl: string; temporalAddress: string; dataDir: string }): { argv: string[]; env: NodeJS.ProcessEnv } {
  return {
    argv: ['--import', 'tsx', 'workflows/runner/main.ts', '--url', o.runnerApiUrl, '--temporal', o.temporalAddress, '--namespace', 'default', '--workspace', path.join(o.dataDir, 'workspaces')],
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'production',
      PIPEWRIGHT_RUNNER_TOKEN: fs.readFileSync(path.join(o.dataDir, 'runner-token'), 'utf8').trim(),
    } as unknown as NodeJS.ProcessEnv,
  };
}

/**
 * The page's clock once the main thread is free after the next frame (a task queued after the next animation
 * frame has run): for "interactive", and for what a page draws with its own script. Pass to `evaluate`.
 */
export const nextFreeFrameScript = 'new Promise((r) => requestAnimationFrame(() => setTimeout(() => r(performance.now()), 0)))';

/**
 * When the browser painted every element marked `elementtiming="<identifier>"` for `identifiers` (the Element
 * Timing API's renderTime of their text, on the page's clock): the latest of them. Pass the result to the
 * page's `evaluate`. Used by the benches of pages rendered on the server, whose HTML is painted before their
 * script has run.
 */
export function paintedAtScript(identifiers: readonly string[]): string {
  return `new Promise((resolve) => {
    const want = ${JSON.stringify(identifiers)};
    const seen = new Map();
    const obs = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) if (want.includes(e.identifier)) seen.set(e.identifier, e.renderTime || e.loadTime);
      if (seen.size === want.length) { obs.disconnect(); resolve(Math.max(...seen.values())); }
    });
    obs.observe({ type: 'element', buffered: true });
  })`;
}
