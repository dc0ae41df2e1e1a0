/**
 * The artifact store: files stages produce, kept once by their sha256 digest.
 *
 * 1. Content-addressed: a blob's key is its digest (`sha256:<64 hex>`), so the
 *    same bytes are stored once however many stages, runs or pipelines name
 *    them, and a digest already in the store is never written again.
 * 2. Two implementations behind one interface, chosen by configuration
 *    (`PIPEWRIGHT_ARTIFACT_STORE`): `disk` (default, under
 *    `$PIPEWRIGHT_DATA_DIR/artifacts`) and `s3` (any S3-compatible service).
 * 3. Never half-written: the disk store writes a temporary file and renames it
 *    into place; S3 makes an object visible only once its upload completed.
 * 4. Reading back always re-hashes (`materialise`): a blob that was changed or
 *    damaged after it was stored is refused with a `DigestMismatch`.
 */
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { getEnv } from '../env';

export const DIGEST = /^sha256:[0-9a-f]{64}$/;

export interface ArtifactStore {
  readonly kind: 'disk' | 's3';
  has(digest: string): Promise<boolean>;
  /**
   * Stores the bytes of `file` under `digest` unless the store already has that
   * digest. The bytes are hashed again while they are copied and refused if they
   * no longer match (the file changed meanwhile). Returns whether it wrote.
   */
  putFile(digest: string, size: number, file: string): Promise<boolean>;
  /** The blob's bytes (not yet verified); throws `ArtifactMissing` when the store has no such digest. */
  open(digest: string): Promise<{ stream: Readable; size: number }>;
}

export class ArtifactMissing extends Error {
  constructor(readonly digest: string) {
    super(`${digest} is missing from the artifact store`);
    this.name = 'ArtifactMissing';
  }
}

export class DigestMismatch extends Error {
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`expected ${expected}, got ${actual}`);
    this.name = 'DigestMismatch';
  }
}

function checkDigest(digest: string) {
  if (!DIGEST.test(digest)) throw new Error(`not a sha256 digest: ${JSON.stringify(digest)}`);
  return digest.slice('sha256:'.length);
}

/** A pass-through stream that hashes and counts what flows through it. */
function hasher() {
  const hash = createHash('sha256');
  let size = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  return { stream, result: () => ({ digest: `sha256:${hash.digest('hex')}`, size }) };
}

/** sha256 digest and size of a file. */
export async function hashFile(file: string): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

/** Hashes `file` and stores it (once). */
export async function storeFile(store: ArtifactStore, file: string): Promise<{ digest: string; size: number; written: boolean }> {
  const { digest, size } = await hashFile(file);
  const written = await store.putFile(digest, size, file);
  return { digest, size, written };
}

/**
 * Writes the blob `digest` to `dest` (temporary file + rename) after checking
 * every byte against the digest; on a mismatch nothing is left at `dest`.
 */
export async function materialise(store: ArtifactStore, digest: string, dest: string): Promise<{ size: number }> {
  checkDigest(digest);
  const { stream } = await store.open(digest);
  await mkdir(path.dirname(dest), { recursive: true });
  const tmp = path.join(path.dirname(dest), `.${path.basename(dest)}.${randomUUID()}.part`);
  const h = hasher();
  try {
    await pipeline(stream, h.stream, createWriteStream(tmp, { mode: 0o644 }));
    const got = h.result();
    if (got.digest !== digest) throw new DigestMismatch(digest, got.digest);
    await rename(tmp, dest);
    return { size: got.size };
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}

// ── Disk ─────────────────────────────────────────────────────────────────────

/** Blobs under `<root>/sha256/<2 hex>/<64 hex>`; temporary files under `<root>/tmp`. */
export function createDiskStore(root: string): ArtifactStore & { blobPath(digest: string): string } {
  const blobPath = (digest: string) => {
    const hex = checkDigest(digest);
    return path.join(root, 'sha256', hex.slice(0, 2), hex);
  };
  const exists = async (file: string) => (await stat(file).catch(() => undefined))?.isFile() ?? false;
  return {
    kind: 'disk',
    blobPath,
    has: async (digest) => exists(blobPath(digest)),
    async putFile(digest, _size, file) {
      const final = blobPath(digest);
      if (await exists(final)) return false;
      const tmpDir = path.join(root, 'tmp');
      await mkdir(tmpDir, { recursive: true });
      await mkdir(path.dirname(final), { recursive: true });
      const tmp = path.join(tmpDir, randomUUID());
      const h = hasher();
      try {
        await pipeline(createReadStream(file), h.stream, createWriteStream(tmp, { mode: 0o444 }));
        const got = h.result();
        if (got.digest !== digest) throw new DigestMismatch(digest, got.digest);
        // Atomic: readers see no blob or the whole blob. A concurrent writer of
        // the same digest renames identical bytes over it, which is harmless.
        await rename(tmp, final);
        return true;
      } catch (err) {
        await rm(tmp, { force: true }).catch(() => undefined);
        throw err;
      }
    },
    async open(digest) {
      const file = blobPath(digest);
      const info = await stat(file).catch(() => undefined);
      if (!info?.isFile()) throw new ArtifactMissing(digest);
      return { stream: createReadStream(file), size: info.size };
    },
  };
}

// ── S3 ───────────────────────────────────────────────────────────────────────

export type S3StoreOptions = {
  bucket: string;
  /** Key prefix, e.g. `pipewright/`. */
  prefix?: string;
  region: string;
  /** S3-compatible service URL (MinIO, Ceph, …); unset = AWS. */
  endpoint?: string;
  forcePathStyle?: boolean;
  /** Unset = the SDK's default chain (environment, instance role, …). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
};

const notFound = (err: unknown) =>
  err instanceof S3ServiceException && (err.name === 'NotFound' || err.name === 'NoSuchKey' || err.$metadata.httpStatusCode === 404);

export function createS3Store(o: S3StoreOptions): ArtifactStore {
  const client = new S3Client({
    region: o.region,
    endpoint: o.endpoint,
    forcePathStyle: o.forcePathStyle,
    credentials: o.credentials,
    // Only what S3 requires: S3-compatible services do not all know the newer checksum headers.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const key = (digest: string) => `${o.prefix ?? ''}sha256/${checkDigest(digest)}`;
  const has = async (digest: string) => {
    try {
      await client.send(new HeadObjectCommand({ Bucket: o.bucket, Key: key(digest) }));
      return true;
    } catch (err) {
      if (notFound(err)) return false;
      throw err;
    }
  };
  return {
    kind: 's3',
    has,
    async putFile(digest, size, file) {
      if (await has(digest)) return false;
      // Upload a private copy checked against the digest, so bytes that changed
      // after hashing can never land under the digest's key.
      const dir = await mkdtemp(path.join(tmpdir(), 'pipewright-upload-'));
      try {
        const copy = path.join(dir, 'blob');
        const h = hasher();
        await pipeline(createReadStream(file), h.stream, createWriteStream(copy, { mode: 0o600 }));
        const got = h.result();
        if (got.digest !== digest) throw new DigestMismatch(digest, got.digest);
        await client.send(
          new PutObjectCommand({
            Bucket: o.bucket,
            Key: key(digest),
            Body: createReadStream(copy),
            ContentLength: size,
            ContentType: 'application/octet-stream',
            // Services that check it refuse the upload unless the bytes hash to the digest.
            ChecksumSHA256: Buffer.from(checkDigest(digest), 'hex').toString('base64'),
          }),
        );
        return true;
      } finally {
        await rm(dir, { recursive: true, force: true }).catch(() => undefined);
      }
    },
    async open(digest) {
      try {
        const res = await client.send(new GetObjectCommand({ Bucket: o.bucket, Key: key(digest) }));
        if (!(res.Body instanceof Readable)) throw new Error('unexpected response body from the S3 store');
        return { stream: res.Body, size: Number(res.ContentLength ?? 0) };
      } catch (err) {
        if (notFound(err)) throw new ArtifactMissing(digest);
        throw err;
      }
    },
  };
}

// ── Configuration ────────────────────────────────────────────────────────────

type Env = ReturnType<typeof getEnv>;

/** The store the configuration names (`PIPEWRIGHT_ARTIFACT_STORE`). */
export function createArtifactStore(env: Env): ArtifactStore {
  if (env.PIPEWRIGHT_ARTIFACT_STORE === 's3') {
    const bucket = env.PIPEWRIGHT_S3_BUCKET;
    if (!bucket) throw new Error('PIPEWRIGHT_ARTIFACT_STORE=s3 needs PIPEWRIGHT_S3_BUCKET');
    const id = env.PIPEWRIGHT_S3_ACCESS_KEY_ID;
    const secret = env.PIPEWRIGHT_S3_SECRET_ACCESS_KEY;
    return createS3Store({
      bucket,
      prefix: env.PIPEWRIGHT_S3_PREFIX,
      region: env.PIPEWRIGHT_S3_REGION,
      endpoint: env.PIPEWRIGHT_S3_ENDPOINT,
      forcePathStyle: env.PIPEWRIGHT_S3_FORCE_PATH_STYLE ?? Boolean(env.PIPEWRIGHT_S3_ENDPOINT),
      credentials: id && secret ? { accessKeyId: id, secretAccessKey: secret } : undefined,
    });
  }
  return createDiskStore(env.artifactDir);
}
