/**
 * Build once, promote the same build: on a real Temporal server with the disk
 * artifact store, a build stage stores its file once by sha256, later stages get
 * it by reference with the same digest, a tampered or missing blob fails the
 * consuming stage, re-running from the failed stage reuses the artifact without
 * rebuilding, and downloads are for signed-in people only.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GET as downloadGET } from '../../app/api/runs/[runId]/artifacts/[artifactId]/route';
import { createDiskStore } from '../../server/artifacts/store';
import { cmd, spec, startHarness, type Harness } from './harness';
import { freshAuth, signedIn, type SignedIn } from './sessions';

const BASE = 'http://localhost:3000';
let h: Harness;
let viewer: SignedIn;
beforeAll(async () => {
  h = await startHarness({ env: { PIPEWRIGHT_URL: BASE } });
  freshAuth();
  viewer = await signedIn(h.db, { username: 'art_viewer', role: 'viewer' });
});
afterAll(async () => {
  await h?.close();
});

const sha = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;
const count = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').length : 0);
const store = () => createDiskStore(join(h.dir, 'artifacts'));
const blobs = () => {
  const root = join(h.dir, 'artifacts', 'sha256');
  return existsSync(root) ? readdirSync(root).flatMap((d) => readdirSync(join(root, d))) : [];
};
const download = (runId: string, id: number, cookie?: string) =>
  downloadGET(new Request(`${BASE}/api/runs/${runId}/artifacts/${id}`, { headers: cookie ? { cookie } : {} }), {
    params: Promise.resolve({ runId, artifactId: String(id) }),
  });

describe('artifacts', () => {
  it('stores a build once, hands the same bytes to later stages by reference, and serves downloads to signed-in people only', async () => {
    const content = `release 1 built at ${Date.now()}\n`;
    const d = h.shared;
    const runId = await h.run(
      spec(
        'build once',
        [
          cmd('build', '', {
            config: { command: `mkdir -p out; printf '%s\\n' "${content.trim()}" > out/app.tgz`, artifacts: [{ name: 'app', path: 'out/app.tgz' }] },
          }),
          // The same bytes under another name: one blob in the store.
          cmd('twin', '', { config: { command: `printf '%s\\n' "${content.trim()}" > same.tgz`, artifacts: [{ name: 'copy', path: 'same.tgz' }] } }),
          cmd('deploy', '', {
            config: {
              command: `sha256sum in/app.tgz | cut -d' ' -f1 > ${d}/deploy.sha; echo "digest=\${{ stages.build.outputs.artifact.app.digest }}" >> "$PIPEWRIGHT_OUTPUT"`,
              inputs: [{ artifact: 'build.app', path: 'in/app.tgz' }],
            },
          }),
          cmd('verify', '', {
            config: { command: `cat pkg.tgz > ${d}/verify.out`, inputs: [{ artifact: '${{ stages.build.outputs.artifact.app.digest }}', path: 'pkg.tgz' }] },
          }),
        ],
        [
          ['build', 'twin'],
          ['twin', 'deploy'],
          ['deploy', 'verify'],
        ],
      ),
    );
    const r = await h.waitForEnd(runId);
    expect(r.status, JSON.stringify(r.stages.map((s) => [s.id, s.status, s.error]))).toBe('succeeded');
    const digest = sha(content);
    expect(h.stageOf(r, 'build').outputs).toMatchObject({ 'artifact.app.digest': digest, 'artifact.app.size': String(Buffer.byteLength(content)) });
    expect(h.stageOf(r, 'twin').outputs['artifact.copy.digest']).toBe(digest);
    expect(r.artifacts.map((a) => [a.stage, a.name, a.digest, a.size])).toEqual([
      ['build', 'app', digest, Buffer.byteLength(content)],
      ['twin', 'copy', digest, Buffer.byteLength(content)],
    ]);
    // Stored once: one blob, and the second stage's log says it was already there.
    expect(blobs().filter((b) => `sha256:${b}` === digest)).toHaveLength(1);
    const twinLog = await h.as(h.users.viewer).runs.logs({ runId, nodeId: 'twin' });
    expect(twinLog.text).toContain('already in the store');
    // The later stages got exactly those bytes, by name and by digest template.
    expect(`sha256:${readFileSync(join(d, 'deploy.sha'), 'utf8').trim()}`).toBe(digest);
    expect(h.stageOf(r, 'deploy').outputs.digest).toBe(digest);
    expect(readFileSync(join(d, 'verify.out'), 'utf8')).toBe(content);
    const deployLog = await h.as(h.users.viewer).runs.logs({ runId, nodeId: 'deploy' });
    expect(deployLog.text).toContain(`${digest} verified`);

    // Download: 401 signed out; the exact bytes with the digest for a viewer.
    const id = r.artifacts[0]!.id;
    const anon = await download(runId, id);
    expect(anon.status).toBe(401);
    const res = await download(runId, id, viewer.cookie);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toContain('attachment; filename="app.tgz"');
    expect(res.headers.get('x-pipewright-digest')).toBe(digest);
    expect(res.headers.get('digest')).toBe(`sha-256=${createHash('sha256').update(content).digest('base64')}`);
    expect(Buffer.from(await res.arrayBuffer()).toString()).toBe(content);
    expect((await download(runId, 999_999, viewer.cookie)).status).toBe(404);
    expect((await download('another-run', id, viewer.cookie)).status).toBe(404);
  });

  it('re-run from the failed stage reuses the build artifact; a tampered or missing blob fails the consuming stage', async () => {
    const d = h.shared;
    const marker = join(d, 'deploy-fixed');
    const content = `release 2 ${Date.now()}\n`;
    const pipelineId = await h.createPipeline(
      spec(
        'promote the same build',
        [
          cmd('build', '', {
            config: { command: `echo x >> ${d}/build.count; printf '%s\\n' "${content.trim()}" > app.bin`, artifacts: [{ name: 'app', path: 'app.bin' }] },
          }),
          cmd('deploy', '', {
            config: {
              command: `test -f ${marker} || exit 7; sha256sum app.bin | cut -d' ' -f1 > ${d}/deployed.sha`,
              inputs: [{ artifact: 'build.app', path: 'app.bin' }],
            },
          }),
        ],
        [['build', 'deploy']],
      ),
    );
    const first = await h.as(h.users.author).runs.start({ pipelineId });
    const r1 = await h.waitForEnd(first.id);
    expect(h.stageOf(r1, 'deploy').status).toBe('failed');
    const digest = sha(content);
    expect(r1.artifacts.map((a) => a.digest)).toEqual([digest]);

    // Re-run: the build is not executed again; deploy gets the same digest.
    writeFileSync(marker, 'ok');
    const second = await h.as(h.users.author).runs.rerunFromFailed({ runId: first.id });
    const r2 = await h.waitForEnd(second.id);
    expect(r2.status, JSON.stringify(r2.stages.map((s) => [s.id, s.status, s.error]))).toBe('succeeded');
    expect(count(join(d, 'build.count'))).toBe(1);
    expect(h.stageOf(r2, 'build').reusedFrom?.id).toBe(first.id);
    expect(`sha256:${readFileSync(join(d, 'deployed.sha'), 'utf8').trim()}`).toBe(digest);
    expect(r2.artifacts).toEqual([expect.objectContaining({ stage: 'build', name: 'app', digest, reusedFrom: first.id })]);

    // A fresh run builds again (same bytes, same digest) and fails at deploy;
    // then the stored blob is tampered with: the re-run's deploy refuses it.
    rmSync(marker);
    const fresh = await h.as(h.users.author).runs.start({ pipelineId });
    const r3 = await h.waitForEnd(fresh.id);
    expect(h.stageOf(r3, 'deploy').status).toBe('failed');
    expect(count(join(d, 'build.count'))).toBe(2);
    const blob = store().blobPath(digest);
    chmodSync(blob, 0o644);
    writeFileSync(blob, 'tampered\n');
    writeFileSync(marker, 'ok');
    const tampered = await h.as(h.users.author).runs.rerunFromFailed({ runId: fresh.id });
    const r4 = await h.waitForEnd(tampered.id);
    expect(r4.status).toBe('failed');
    expect(h.stageOf(r4, 'deploy').error).toMatch(new RegExp(`artifact "build.app" does not match its digest: expected ${digest}`));
    expect(h.stageOf(r4, 'deploy').attempt).toBe(1);
    expect(count(join(d, 'build.count'))).toBe(2);

    // A blob gone from the store fails the stage just as clearly.
    rmSync(blob);
    const missing = await h.as(h.users.author).runs.rerunFromFailed({ runId: tampered.id });
    const r5 = await h.waitForEnd(missing.id);
    expect(h.stageOf(r5, 'deploy').error).toContain(`artifact "build.app" (${digest}) is missing from the artifact store`);
    // The reused build points at the run where it really ran.
    expect(h.stageOf(r5, 'build').reusedFrom?.id).toBe(fresh.id);
  });
});
