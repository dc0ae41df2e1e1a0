/**
 * The runner's client of the control plane API (see protocol.ts): the only
 * way a runner reaches the database, secrets, cluster credentials and the
 * artifact store. JSON calls over undici, artifacts over fetch (streams); every call authenticated.
 */
import { createHash } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import { Agent, request as undiciRequest } from 'undici';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { StageFailure, type ClusterConnectionSecret, type StageArtifacts } from '../stages/executor-types';
import {
  ARTIFACT_HEADERS,
  RUNNER_API_PREFIX,
  type ApiError,
  type ArtifactPublishResponse,
  type BeginRequest,
  type BeginResponse,
  type FinishRequest,
  type HeartbeatRequest,
  type HeartbeatResponse,
  type StageContextResponse,
  type StageKey,
} from './protocol';
import type { LogChunk } from './stage-log';

/** The control plane refused the runner's token (revoked or unknown). */
export class RunnerRevokedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunnerRevokedError';
  }
}

/** The control plane answered with an error. */
export class ControlPlaneError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type?: ApiError['type'],
  ) {
    super(message);
    this.name = 'ControlPlaneError';
  }
}

async function sha256File(file: string): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

export class ControlPlaneClient {
  /** Called once when the control plane refuses the runner's token. */
  onRevoked?: (message: string) => void;
  /** Connections to the control plane, kept alive between calls. */
  private readonly agent = new Agent({ keepAliveTimeout: 30_000 });

  constructor(
    readonly baseUrl: string,
    private readonly token: string,
  ) {}

  private url(route: string, query?: Record<string, string | number>) {
    const u = new URL(`${RUNNER_API_PREFIX}${route}`, this.baseUrl);
    for (const [k, v] of Object.entries(query ?? {})) u.searchParams.set(k, String(v));
    return u;
  }

  /** A streamed call (artifacts, cluster connections) over fetch; JSON calls go through `post`. */
  private async call(route: string, auth: string, init: RequestInit & { query?: Record<string, string | number> } = {}): Promise<Response> {
    const res = await fetch(this.url(route, init.query), { ...init, headers: { authorization: `Bearer ${auth}`, ...init.headers } });
    if (res.ok) return res;
    throw this.failure(res.status, await res.text().catch(() => ''), auth);
  }

  /**
   * A JSON call (every call but artifacts): undici's `request` on a kept-alive connection, which costs
   * less per call than `fetch` (no WHATWG streams) — two of them sit on every stage's path.
   */
  private async post<T>(route: string, auth: string, body: unknown): Promise<T> {
    const res = await undiciRequest(this.url(route), {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { authorization: `Bearer ${auth}`, 'content-type': 'application/json' },
      dispatcher: this.agent,
    });
    const text = await res.body.text();
    if (res.statusCode >= 200 && res.statusCode < 300) return JSON.parse(text) as T;
    throw this.failure(res.statusCode, text, auth);
  }

  /** The error for a refused call, from its status and body (the API's `{ error, type }`, or the status line). */
  private failure(status: number, body: string, auth: string): Error {
    let err: ApiError = { error: `${status} ${STATUS_CODES[status] ?? ''}`.trim() };
    try {
      err = JSON.parse(body) as ApiError;
    } catch {
      // not JSON
    }
    if (status === 401 && auth === this.token) {
      const message = `the control plane refused this runner's token: ${err.error}`;
      this.onRevoked?.(message);
      return new RunnerRevokedError(message);
    }
    return new ControlPlaneError(status, err.error, err.type);
  }

  heartbeat(body: HeartbeatRequest): Promise<HeartbeatResponse> {
    return this.post('heartbeat', this.token, body);
  }

  begin(body: BeginRequest): Promise<BeginResponse> {
    return this.post('stage/begin', this.token, body);
  }

  /** Calls scoped to one stage attempt, with the credential `begin` returned. */
  stage(key: StageKey, credential: string) {
    const q = { runId: key.runId, nodeId: key.nodeId, attempt: key.attempt };
    return {
      context: () => this.post<StageContextResponse>('stage/context', credential, key),
      log: (chunks: LogChunk[]) => this.post<unknown>('stage/log', credential, { ...key, chunks }).then(() => undefined),
      progress: (progress: Record<string, unknown>) => this.post<unknown>('stage/progress', credential, { ...key, progress }).then(() => undefined),
      finish: (result: Omit<FinishRequest, keyof StageKey>) => this.post<unknown>('stage/finish', credential, { ...key, ...result }).then(() => undefined),
      cluster: async (name: string): Promise<ClusterConnectionSecret> => {
        try {
          const res = await this.call('stage/cluster', credential, { query: { ...q, name } });
          return (await res.json()) as ClusterConnectionSecret;
        } catch (err) {
          if (err instanceof ControlPlaneError && err.type) throw new StageFailure(err.message, err.type);
          throw err;
        }
      },
      artifacts: (): StageArtifacts => ({
        publish: async (name, file, fileName) => {
          const { digest, size } = await sha256File(file);
          try {
            const res = await this.call('stage/artifact', credential, {
              method: 'PUT',
              query: { ...q, name, fileName: fileName ?? path.basename(file), digest },
              headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
              body: Readable.toWeb(createReadStream(file)) as ReadableStream,
              duplex: 'half',
            } as RequestInit & { query: Record<string, string | number> });
            return (await res.json()) as ArtifactPublishResponse;
          } catch (err) {
            if (err instanceof ControlPlaneError && err.type) throw new StageFailure(err.message, err.type);
            throw err;
          }
        },
        materialise: async (ref, dest) => {
          let res: Response;
          try {
            res = await this.call('stage/artifact', credential, { query: { ...q, ref } });
          } catch (err) {
            if (err instanceof ControlPlaneError && err.type) throw new StageFailure(err.message, err.type);
            throw err;
          }
          const expected = res.headers.get(ARTIFACT_HEADERS.digest) ?? '';
          const stage = res.headers.get(ARTIFACT_HEADERS.stage) ?? '';
          const name = res.headers.get(ARTIFACT_HEADERS.name) ?? '';
          // Verified again here: what is written to `dest` is exactly what the digest names.
          await mkdir(path.dirname(dest), { recursive: true });
          const tmp = `${dest}.part-${process.pid}`;
          const hash = createHash('sha256');
          let size = 0;
          const counter = new Transform({
            transform(chunk: Buffer, _enc, done) {
              hash.update(chunk);
              size += chunk.length;
              done(null, chunk);
            },
          });
          try {
            await pipeline(Readable.fromWeb(res.body as NodeReadableStream), counter, createWriteStream(tmp));
            const actual = `sha256:${hash.digest('hex')}`;
            if (actual !== expected) {
              throw new StageFailure(`artifact "${stage}.${name}" does not match its digest after download: expected ${expected}, got ${actual}; refusing to use it`);
            }
            await rename(tmp, dest);
          } finally {
            await rm(tmp, { force: true });
          }
          return { stage, name, digest: expected, size: (await stat(dest)).size || size };
        },
      }),
    };
  }
}
