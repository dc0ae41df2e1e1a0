/**
 * The S3 artifact store against a real S3-compatible server (gofakes3, built
 * from its Go module by scripts/s3-fake.ts): the store itself, and a pipeline
 * whose build and deploy stages exchange an artifact through the bucket, with
 * the download route streaming it back.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GET as downloadGET } from '../../app/api/runs/[runId]/artifacts/[artifactId]/route';
import { startS3Fake, type S3Fake } from '../../scripts/s3-fake';
import { ArtifactMissing, createS3Store, materialise, storeFile } from '../../server/artifacts/store';
import { cmd, spec, startHarness, type Harness } from './harness';
import { freshAuth, signedIn } from './sessions';

const BASE = 'http://localhost:3000';
const KEYS = { accessKeyId: 'test-key', secretAccessKey: 'test-secret' };
let s3: S3Fake;
let h: Harness;
const dir = mkdtempSync(join(tmpdir(), 'pipewright-s3-'));

beforeAll(async () => {
  s3 = await startS3Fake();
  h = await startHarness({
    env: {
      PIPEWRIGHT_URL: BASE,
      PIPEWRIGHT_ARTIFACT_STORE: 's3',
      // The deploy stage writes what it received here, for the test to compare.
      PIPEWRIGHT_SANDBOX_SHARED_DIRS: dir,
      PIPEWRIGHT_S3_BUCKET: s3.bucket,
      PIPEWRIGHT_S3_ENDPOINT: s3.endpoint,
      PIPEWRIGHT_S3_PREFIX: 'it/',
      PIPEWRIGHT_S3_ACCESS_KEY_ID: KEYS.accessKeyId,
      PIPEWRIGHT_S3_SECRET_ACCESS_KEY: KEYS.secretAccessKey,
    },
  });
  freshAuth();
}, 180_000);
afterAll(async () => {
  await h?.close();
  await s3?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const sha = (b: string | Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('S3 artifact store (gofakes3)', () => {
  it('stores a digest once and reads it back verified; an unknown digest is missing', async () => {
    const store = createS3Store({ bucket: s3.bucket, region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, credentials: KEYS, prefix: 'unit/' });
    const file = join(dir, 'blob.bin');
    const bytes = Buffer.from(Array.from({ length: 200_000 }, (_, i) => i % 251));
    writeFileSync(file, bytes);
    expect(await storeFile(store, file)).toEqual({ digest: sha(bytes), size: bytes.length, written: true });
    expect((await storeFile(store, file)).written).toBe(false);
    expect(await store.has(sha(bytes))).toBe(true);
    const dest = join(dir, 'out', 'copy.bin');
    expect(await materialise(store, sha(bytes), dest)).toEqual({ size: bytes.length });
    expect(readFileSync(dest).equals(bytes)).toBe(true);
    await expect(materialise(store, sha('nothing'), join(dir, 'none'))).rejects.toBeInstanceOf(ArtifactMissing);
    expect(await store.has(sha('nothing'))).toBe(false);
  });

  it('a pipeline builds once into the bucket, a later stage gets the same bytes, and the download streams them', async () => {
    const content = `built for s3 ${Date.now()}\n`;
    const runId = await h.run(
      spec(
        's3 artifacts',
        [
          cmd('build', '', { config: { command: `printf '%s\\n' "${content.trim()}" > app.bin`, artifacts: [{ name: 'app', path: 'app.bin' }] } }),
          cmd('deploy', '', { config: { command: `cat app.bin > ${dir}/deployed.bin`, inputs: [{ artifact: 'build.app', path: 'app.bin' }] } }),
        ],
        [['build', 'deploy']],
      ),
    );
    const r = await h.waitForEnd(runId);
    expect(r.status, JSON.stringify(r.stages.map((s) => [s.id, s.status, s.error]))).toBe('succeeded');
    expect(r.artifacts.map((a) => a.digest)).toEqual([sha(content)]);
    expect(readFileSync(join(dir, 'deployed.bin'), 'utf8')).toBe(content);
    // It really is in the bucket under the configured prefix.
    const store = createS3Store({ bucket: s3.bucket, region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, credentials: KEYS, prefix: 'it/' });
    expect(await store.has(sha(content))).toBe(true);

    const viewer = await signedIn(h.db, { username: 's3_viewer', role: 'viewer' });
    const res = await downloadGET(new Request(`${BASE}/api/runs/${runId}/artifacts/${r.artifacts[0]!.id}`, { headers: { cookie: viewer.cookie } }), {
      params: Promise.resolve({ runId, artifactId: String(r.artifacts[0]!.id) }),
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(content);
  });
});
