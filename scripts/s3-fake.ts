/**
 * An S3-compatible server for tests of the S3 artifact store: gofakes3, built
 * once from its Go module into the git-ignored `tools/bin` (like the Temporal
 * CLI). Nothing is downloaded from anywhere but Go's own module proxy.
 *
 * 1. `tools/bin/gofakes3` is reused when its stamp names the pinned version.
 * 2. Else `go install github.com/johannesboyne/gofakes3/cmd/gofakes3@v1.2.0`
 *    with GOBIN=<repo>/tools/bin (about 40 s on a cold module cache).
 * 3. `startS3Fake()` runs it on a free local port with an in-memory backend.
 *
 * Run directly (`npx tsx scripts/s3-fake.ts`) it ensures the binary and
 * prints its path.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getFreePort } from './ports';

export const GOFAKES3_VERSION = 'v1.2.0';
const PACKAGE = 'github.com/johannesboyne/gofakes3/cmd/gofakes3';
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const s3FakeBinPath = (repoRoot = REPO_ROOT) => path.join(repoRoot, 'tools', 'bin', 'gofakes3');
const stampPath = (repoRoot = REPO_ROOT) => path.join(repoRoot, 'tools', 'bin', '.gofakes3-version');

/** Path of the gofakes3 binary, built with `go install` when missing or of another version. */
export function ensureS3Fake(repoRoot = REPO_ROOT): string {
  const bin = s3FakeBinPath(repoRoot);
  const stamp = stampPath(repoRoot);
  if (fs.existsSync(bin) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8').trim() === GOFAKES3_VERSION) return bin;
  fs.mkdirSync(path.dirname(bin), { recursive: true });
  process.stderr.write(`Building gofakes3 ${GOFAKES3_VERSION} into tools/bin (go install, about a minute)…\n`);
  const res = spawnSync('go', ['install', `${PACKAGE}@${GOFAKES3_VERSION}`], {
    env: { ...process.env, GOBIN: path.dirname(bin) },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (res.error) throw new Error(`could not run go to build gofakes3: ${res.error.message} (install Go 1.21 or newer)`);
  if (res.status !== 0 || !fs.existsSync(bin)) throw new Error(`go install ${PACKAGE}@${GOFAKES3_VERSION} failed (exit ${res.status})`);
  fs.writeFileSync(stamp, `${GOFAKES3_VERSION}\n`);
  return bin;
}

export type S3Fake = { endpoint: string; bucket: string; process: ChildProcess; stop(): Promise<void> };

/** Starts gofakes3 (in-memory) on a free port with `bucket` created; resolves when it accepts connections. */
export async function startS3Fake(bucket = 'pipewright-test'): Promise<S3Fake> {
  const bin = ensureS3Fake();
  const port = await getFreePort();
  const child = spawn(bin, ['-backend', 'memory', '-host', `127.0.0.1:${port}`, '-initialbucket', bucket, '-quiet'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 10_000;
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ port, host: '127.0.0.1' }, () => {
        socket.end();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (up) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`gofakes3 did not start on port ${port}: ${stderr.trim() || `exit ${child.exitCode}`}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    process: child,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${ensureS3Fake()}\n`);
}
