/**
 * The control plane's side of the runner API: one fetch-style handler
 * (`(req) => Promise<Response>`), mounted by Next at `/api/runner/*` and
 * startable on its own with node:http for tests (`serveRunnerApi`).
 *
 * 1. Runner calls (`heartbeat`, `stage/begin`) authenticate with the runner's
 *    token; a revoked or unknown token gets 401 on its next call.
 * 2. `stage/begin` checks that the runner's labels satisfy the stage's
 *    `runsOn` and that the run is still going, marks the stage running on
 *    that runner and issues a stage credential for this attempt only.
 * 3. Every `stage/*` call authenticates with that credential and names its
 *    stage; a credential is refused for any other stage, once the attempt
 *    finished, after it expired or once its runner was revoked.
 * 4. Secrets leave the control plane only in `stage/context` (environment) and
 *    `stage/cluster` (a connection the stage names), never through Temporal.
 *    Log text and results are masked again here, in case a runner did not.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { logChunks, runs, stageRuns } from '../../db/schema';
import { labelsSatisfy, describeLabels } from '../../workflows/model/runners';
import type { ExecutionPlan, PlanNode } from '../../workflows/model/plan';
import { maskSecrets, type EnvironmentScope } from '../../workflows/model/template';
import { StageFailure } from '../../workflows/stages/executor-types';
import {
  RUNNER_API_PREFIX,
  ARTIFACT_HEADERS,
  type BeginRequest,
  type BeginResponse,
  type FinishRequest,
  type HeartbeatRequest,
  type LogRequest,
  type ProgressRequest,
  type StageContextResponse,
  type StageKey,
} from '../../workflows/runner/protocol';
import { createStageArtifacts } from '../artifacts/stage-artifacts';
import { hashFile, type ArtifactStore } from '../artifacts/store';
import { getConnectionSecret } from '../clusters/connections';
import { EnvironmentUnavailableError, loadEnvironmentScope } from '../services/environments';
import { refreshRunFactsSoon } from '../services/insights/facts';
import { bindClustersToEnvironment, type EnvironmentClusterBinding } from '../../workflows/k8s/environment-binding';
import {
  revokeStageCredentialStatement,
  runnerByToken,
  stageCredentialByToken,
  stageCredentialStatements,
  touchRunner,
  touchRunnerStatement,
  type AuthenticatedRunner,
  type StageCredential,
} from '../services/runners';

export type RunnerApiDeps = {
  db: Db;
  /** Base of the runner task queues (told to runners in the heartbeat answer). */
  queueBase: string;
  /** The artifact store (made on first use). */
  artifactStore: () => ArtifactStore;
  /**
   * Told after a stage began, reported progress or finished (the write is committed), so pages
   * following the run hear of it at once instead of at their next poll (the web app pushes it to
   * its live topics; tests and benchmarks may leave it out).
   */
  onStageChanged?: (runId: string, nodeId: string) => void;
};

const MAX_JSON_BYTES = 4 * 1024 * 1024;
const MAX_ARTIFACT_BYTES = 2 * 1024 * 1024 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type?: string,
  ) {
    super(message);
  }
}

const json = (body: unknown, status = 200) => Response.json(body, { status, headers: { 'Cache-Control': 'no-store' } });
const bearer = (req: Request) => /^Bearer (\S+)$/.exec(req.headers.get('authorization') ?? '')?.[1] ?? '';

async function readJson<T>(req: Request): Promise<T> {
  const text = await req.text();
  if (text.length > MAX_JSON_BYTES) throw new HttpError(413, 'request too large');
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new HttpError(400, 'the body is not JSON');
  }
}

function stageKeyOf(body: Partial<StageKey>): StageKey {
  if (typeof body.runId !== 'string' || typeof body.nodeId !== 'string' || !Number.isInteger(body.attempt)) {
    throw new HttpError(400, 'runId, nodeId and attempt are required');
  }
  return { runId: body.runId, nodeId: body.nodeId, attempt: body.attempt! };
}

/** Plans by run id (a run's plan never changes). */
const planCache = new Map<string, { nodes: Map<string, PlanNode>; deploys: boolean }>();

/**
 * Whether a stage's begin or end can change its run's delivery facts before the run's next record does: only in
 * runs that deploy to an environment (a deployment starting, going live or failing, its smoke tests). Other runs'
 * facts (stage durations) are derived when the control worker records the run (gates, its end), and any read
 * derives a run still behind first, so nothing stale is read either way; a busy runner pool of plain build
 * chains is spared a derivation per run and second (a tenth of the control plane's work in the throughput bench).
 */
const runDeploys = (runId: string) => planCache.get(runId)?.deploys ?? true;
/** Secret values by stage credential id, for masking what that stage sends (best effort: per process). */
const secretsByCredential = new Map<string, string[]>();

function remember<K, V>(m: Map<K, V>, k: K, v: V, max = 500) {
  if (m.size >= max) m.delete(m.keys().next().value!);
  m.set(k, v);
}

export function createRunnerApiHandler(deps: RunnerApiDeps): (req: Request) => Promise<Response> {
  const { db } = deps;
  const changed = (key: StageKey) => {
    try {
      deps.onStageChanged?.(key.runId, key.nodeId);
    } catch (err) {
      console.error('[runner-api] telling the live pages failed:', err);
    }
  };

  /** The run's current status and the stage's plan node (the plan is read and parsed once per run, then kept). */
  async function runAndNode(runId: string, nodeId: string) {
    let cached = planCache.get(runId);
    // The plan only while it is not kept yet: it is the run's largest column, and it never changes.
    const [row] = await db
      .select({ status: runs.status, rehearsal: runs.rehearsal, pipelineId: runs.pipelineId, ...(cached ? {} : { plan: runs.plan }) })
      .from(runs)
      .where(eq(runs.id, runId));
    if (!row) throw new HttpError(404, `no run ${runId}`);
    if (!cached) {
      const nodes = (row.plan as ExecutionPlan).nodes;
      cached = { nodes: new Map(nodes.map((n) => [n.id, n])), deploys: nodes.some((n) => n.environment) };
      remember(planCache, runId, cached, 200);
    }
    const node = cached.nodes.get(nodeId);
    if (!node) throw new HttpError(404, `run ${runId} has no stage ${nodeId}`);
    return { pipelineId: row.pipelineId, runStatus: row.status, node, rehearsal: row.rehearsal };
  }

  async function authRunner(req: Request): Promise<AuthenticatedRunner> {
    const runner = await runnerByToken(db, bearer(req));
    if (!runner) throw new HttpError(401, 'this runner token is unknown or was revoked');
    return runner;
  }

  async function authStage(req: Request, key: StageKey): Promise<StageCredential> {
    const cred = await stageCredentialByToken(db, bearer(req));
    if (!cred) throw new HttpError(401, 'this stage credential is unknown, expired or no longer valid (the attempt finished or the runner was revoked)');
    if (cred.runId !== key.runId || cred.nodeId !== key.nodeId || cred.attempt !== key.attempt) {
      throw new HttpError(403, 'this stage credential belongs to another stage attempt');
    }
    return cred;
  }

  const mask = (credId: string, text: string) => {
    const secrets = secretsByCredential.get(credId);
    return secrets && secrets.length > 0 ? maskSecrets(text, secrets) : text;
  };

  // ── Runner calls ───────────────────────────────────────────────────────────

  async function heartbeat(req: Request) {
    const runner = await authRunner(req);
    const body = await readJson<Partial<HeartbeatRequest>>(req);
    await touchRunner(db, runner.id, {
      version: typeof body.version === 'string' ? body.version : undefined,
      host: typeof body.host === 'string' ? body.host : undefined,
      currentStage: typeof body.currentStage === 'string' || body.currentStage === null ? body.currentStage : undefined,
    });
    return json({ runnerId: runner.id, name: runner.name, labels: runner.labels, queueBase: deps.queueBase });
  }

  async function begin(req: Request) {
    const runner = await authRunner(req);
    const body = await readJson<Partial<BeginRequest>>(req);
    const key = stageKeyOf(body);
    const found = await runAndNode(key.runId, key.nodeId);
    const { runStatus, node } = found;
    if (!labelsSatisfy(runner.labels, node.runsOn)) {
      throw new HttpError(403, `runner "${runner.name}" (labels ${describeLabels(runner.labels)}) may not run a stage that needs ${describeLabels(node.runsOn)}`);
    }
    if (runStatus !== 'queued' && runStatus !== 'running') throw new HttpError(409, `the run is ${runStatus}`);
    if (body.kind !== node.kind) throw new HttpError(400, `stage ${key.nodeId} is a ${node.kind} stage, not ${String(body.kind)}`);
    const now = new Date();
    // Valid for the stage's own limit plus the slack the workflow gives the activity.
    const credential = stageCredentialStatements(db, runner.id, key, node.timeoutMs + 120_000);
    // One batch, one commit: the stage running, the run started, the runner's current stage and the stage's
    // credential (five statements, each its own commit and its own turn at the write lock before).
    await db.batch([
      db
        .insert(stageRuns)
        .values({ ...key, status: 'running', startedAt: now, executions: 1, runnerId: runner.id })
        .onConflictDoUpdate({
          target: [stageRuns.runId, stageRuns.nodeId],
          set: {
            status: 'running',
            attempt: key.attempt,
            startedAt: sql`case when ${stageRuns.attempt} = ${key.attempt} and ${stageRuns.startedAt} is not null then ${stageRuns.startedAt} else ${now.getTime()} end`,
            endedAt: null,
            error: null,
            executions: sql`${stageRuns.executions} + 1`,
            runnerId: runner.id,
          },
        }),
      db.update(runs).set({ status: 'running', startedAt: now }).where(and(eq(runs.id, key.runId), eq(runs.status, 'queued'))),
      touchRunnerStatement(db, runner.id, { currentStage: `${key.runId}/${key.nodeId}#${key.attempt}` }),
      ...credential.statements,
    ]);
    changed(key);
    // A new attempt of a deploy stage is no deployment (yet): the run's delivery facts follow, off the stage's path.
    if (runDeploys(key.runId)) refreshRunFactsSoon(db, key.runId);
    const { id, token, expiresAt } = credential;
    // The context comes with the credential: one round trip instead of two before the stage can start.
    const out: BeginResponse = { credential: token, expiresAt: expiresAt.getTime(), context: await stageContext(key, id, found) };
    return json(out);
  }

  // ── Stage calls ────────────────────────────────────────────────────────────

  async function context(req: Request) {
    const key = stageKeyOf(await readJson<Partial<StageKey>>(req));
    const cred = await authStage(req, key);
    return json(await stageContext(key, cred.id));
  }

  /** What a stage attempt needs to start: its plan config, where its log continues, its environment (secrets only when released). */
  async function stageContext(key: StageKey, credId: string, found?: Awaited<ReturnType<typeof runAndNode>>): Promise<StageContextResponse> {
    const { pipelineId, node, rehearsal } = found ?? (await runAndNode(key.runId, key.nodeId));
    const [len] = await db
      .select({ end: sql<number | null>`max(${logChunks.offset} + length(${logChunks.text}))` })
      .from(logChunks)
      .where(and(eq(logChunks.runId, key.runId), eq(logChunks.nodeId, key.nodeId)));
    const out: StageContextResponse = { pipelineId, planConfig: node.config, logOffset: len?.end ?? 0, ...(rehearsal ? { rehearsal: true } : {}) };
    if (node.environment) {
      try {
        // Released only when the environment's protection allows it for this stage of this run (a gate passed).
        const { name, variables, secrets } = await loadEnvironmentScope(db, node.environment, { runId: key.runId, nodeId: key.nodeId });
        const scope: EnvironmentScope = { name, variables, secrets };
        out.environment = scope;
        remember(secretsByCredential, credId, Object.values(scope.secrets).filter(Boolean));
      } catch (err) {
        if (!(err instanceof EnvironmentUnavailableError)) throw err;
        out.environmentProblem = err.message;
      }
    }
    return out;
  }

  async function log(req: Request) {
    const body = await readJson<Partial<LogRequest>>(req);
    const key = stageKeyOf(body);
    const cred = await authStage(req, key);
    await storeLog(key, cred.id, body.chunks);
    return json({ ok: true });
  }

  function logRowsOf(key: StageKey, credId: string, chunks: unknown) {
    return (Array.isArray(chunks) ? (chunks as LogRequest['chunks']) : [])
      .filter((c) => typeof c.text === 'string' && c.text && Number.isInteger(c.offset) && ['stdout', 'stderr', 'system'].includes(c.stream))
      .map((c) => ({ ...key, stream: c.stream, offset: c.offset, text: mask(credId, c.text) }));
  }

  async function storeLog(key: StageKey, credId: string, chunks: unknown) {
    const rows = logRowsOf(key, credId, chunks);
    if (rows.length > 0) await db.insert(logChunks).values(rows);
  }

  async function progress(req: Request) {
    const body = await readJson<Partial<ProgressRequest>>(req);
    const key = stageKeyOf(body);
    await authStage(req, key);
    if (body.progress && typeof body.progress === 'object') {
      await db.update(stageRuns).set({ progress: body.progress }).where(and(eq(stageRuns.runId, key.runId), eq(stageRuns.nodeId, key.nodeId)));
      changed(key);
    }
    return json({ ok: true });
  }

  async function finish(req: Request) {
    const body = await readJson<Partial<FinishRequest>>(req);
    const key = stageKeyOf(body);
    const cred = await authStage(req, key);
    if (!body.status || !['succeeded', 'failed', 'cancelled'].includes(body.status)) throw new HttpError(400, 'status must be succeeded, failed or cancelled');
    const m = (t: string | undefined) => (typeof t === 'string' ? mask(cred.id, t) : undefined);
    const outputs =
      body.outputs && typeof body.outputs === 'object' ? Object.fromEntries(Object.entries(body.outputs).map(([k, v]) => [k, mask(cred.id, String(v))])) : undefined;
    // One batch, one commit: the log's tail (listed first: whoever sees the stage finished sees its whole log), the
    // stage's end, its credential revoked and the runner free again.
    const logRows = logRowsOf(key, cred.id, body.chunks);
    const ended = [
      db
        .update(stageRuns)
        .set({ status: body.status, endedAt: new Date(), summary: m(body.summary), error: m(body.error), outputs })
        .where(and(eq(stageRuns.runId, key.runId), eq(stageRuns.nodeId, key.nodeId), eq(stageRuns.attempt, key.attempt))),
      revokeStageCredentialStatement(db, cred.id),
      touchRunnerStatement(db, cred.runnerId, { currentStage: null }),
    ] as const;
    await (logRows.length > 0 ? db.batch([db.insert(logChunks).values(logRows), ...ended]) : db.batch(ended));
    secretsByCredential.delete(cred.id);
    changed(key);
    // The run's delivery facts (a deployment live or failed, a smoke test, the stage's duration), off the stage's path.
    if (runDeploys(key.runId)) refreshRunFactsSoon(db, key.runId);
    return json({ ok: true });
  }

  async function cluster(req: Request, url: URL) {
    const key = stageKeyOf({ runId: url.searchParams.get('runId') ?? undefined, nodeId: url.searchParams.get('nodeId') ?? undefined, attempt: Number(url.searchParams.get('attempt')) });
    await authStage(req, key);
    const name = url.searchParams.get('name') ?? '';
    const { node } = await runAndNode(key.runId, key.nodeId);
    const drawn = node.config.connection;
    // Only a Kubernetes stage, and only the connection it names (or one chosen through a reference or its environment).
    const mayUse = node.kind.startsWith('k8s-') && (drawn === undefined || drawn === '' || drawn === name || (typeof drawn === 'string' && drawn.includes('${{')));
    if (!mayUse) throw new HttpError(403, `stage ${key.nodeId} does not use the cluster connection "${name}"`);
    try {
      // Deploys go only where the stage's environment points: its connection and namespace (k8s/environment-binding.ts).
      let binding: EnvironmentClusterBinding | undefined;
      if (node.environment) {
        try {
          binding = await loadEnvironmentScope(db, node.environment, { runId: key.runId, nodeId: key.nodeId });
        } catch (err) {
          if (err instanceof EnvironmentUnavailableError) throw new StageFailure(`environment: ${err.message}`, 'InvalidConfig');
          throw err;
        }
      }
      const bound = bindClustersToEnvironment({ get: (n) => getConnectionSecret(db, n) }, binding);
      return json(await bound.get(name));
    } catch (err) {
      if (err instanceof StageFailure) throw new HttpError(422, err.message, err.type);
      throw err;
    }
  }

  function artifactKey(url: URL): StageKey {
    return stageKeyOf({ runId: url.searchParams.get('runId') ?? undefined, nodeId: url.searchParams.get('nodeId') ?? undefined, attempt: Number(url.searchParams.get('attempt')) });
  }

  async function publish(req: Request, url: URL) {
    const key = artifactKey(url);
    await authStage(req, key);
    const name = url.searchParams.get('name') ?? '';
    const fileName = path.basename(url.searchParams.get('fileName') ?? '') || 'artifact';
    const digest = url.searchParams.get('digest') ?? '';
    if (!name || !/^sha256:[0-9a-f]{64}$/.test(digest)) throw new HttpError(400, 'name and a sha256 digest are required');
    if (Number(req.headers.get('content-length') ?? '0') > MAX_ARTIFACT_BYTES) throw new HttpError(413, 'artifact too large');
    const dir = await mkdtemp(path.join(tmpdir(), 'pipewright-upload-'));
    try {
      // A temporary folder of the upload, never a project file: not something for the build to trace.
      const file = path.join(/*turbopackIgnore: true*/ dir, fileName);
      await pipeline(req.body ? Readable.fromWeb(req.body as import('node:stream/web').ReadableStream) : Readable.from([]), createWriteStream(file));
      const got = await hashFile(file);
      if (got.digest !== digest) {
        throw new HttpError(422, `artifact "${name}" arrived damaged: the runner said ${digest}, the bytes received hash to ${got.digest}`, 'StageFailed');
      }
      const stored = await createStageArtifacts(db, deps.artifactStore(), key).publish(name, file);
      return json(stored);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async function fetchArtifact(req: Request, url: URL) {
    const key = artifactKey(url);
    await authStage(req, key);
    const ref = url.searchParams.get('ref') ?? '';
    const dir = await mkdtemp(path.join(tmpdir(), 'pipewright-download-'));
    const file = path.join(dir, 'blob');
    let found: { stage: string; name: string; digest: string; size: number };
    try {
      found = await createStageArtifacts(db, deps.artifactStore(), key).materialise(ref, file);
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      if (err instanceof StageFailure) throw new HttpError(422, err.message, err.type);
      throw err;
    }
    const stream = createReadStream(file);
    stream.once('close', () => void rm(dir, { recursive: true, force: true }));
    return new Response(Readable.toWeb(stream) as ReadableStream, {
      headers: {
        'content-type': 'application/octet-stream',
        'content-length': String(found.size),
        [ARTIFACT_HEADERS.digest]: found.digest,
        [ARTIFACT_HEADERS.stage]: found.stage,
        [ARTIFACT_HEADERS.name]: found.name,
      },
    });
  }

  return async function handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const at = url.pathname.indexOf(RUNNER_API_PREFIX);
    const route = `${req.method} ${at >= 0 ? url.pathname.slice(at + RUNNER_API_PREFIX.length) : url.pathname}`;
    try {
      switch (route) {
        case 'POST heartbeat':
          return await heartbeat(req);
        case 'POST stage/begin':
          return await begin(req);
        case 'POST stage/context':
          return await context(req);
        case 'POST stage/log':
          return await log(req);
        case 'POST stage/progress':
          return await progress(req);
        case 'POST stage/finish':
          return await finish(req);
        case 'GET stage/cluster':
          return await cluster(req, url);
        case 'PUT stage/artifact':
          return await publish(req, url);
        case 'GET stage/artifact':
          return await fetchArtifact(req, url);
        default:
          return json({ error: 'not found' }, 404);
      }
    } catch (err) {
      if (err instanceof HttpError) return json({ error: err.message, ...(err.type ? { type: err.type } : {}) }, err.status);
      console.error(`[runner-api] ${route}:`, err);
      return json({ error: 'internal error' }, 500);
    }
  };
}

/** A request's body, read whole; at most `max` bytes are kept (more makes the handler answer 413). */
async function readCapped(req: NodeJS.ReadableStream, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    if (size >= max) continue;
    chunks.push(chunk);
    size += chunk.length;
  }
  return Buffer.concat(chunks);
}

/** The handler on its own HTTP server (tests, or a control plane without Next). */
export async function serveRunnerApi(handler: (req: Request) => Promise<Response>, port = 0, host = '127.0.0.1'): Promise<{ url: string; server: Server; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    void (async () => {
      try {
        const headers = new Headers();
        for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers.set(k, v);
        // JSON calls (every call but an artifact upload) are read whole: a web stream per small body costs more than the call.
        let body: ReadableStream | Buffer | undefined;
        if (req.method === 'PUT') body = Readable.toWeb(req) as ReadableStream;
        else if (req.method !== 'GET' && req.method !== 'HEAD') body = await readCapped(req, MAX_JSON_BYTES + 1);
        const request = new Request(`http://${req.headers.host ?? host}${req.url ?? '/'}`, { method: req.method, headers, body, duplex: 'half' } as RequestInit);
        const response = await handler(request);
        res.writeHead(response.status, Object.fromEntries(response.headers));
        if (!response.body) res.end();
        else if (response.headers.get('content-type')?.startsWith('application/json')) res.end(Buffer.from(await response.arrayBuffer()));
        else await pipeline(Readable.fromWeb(response.body as import('node:stream/web').ReadableStream), res);
      } catch (err) {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: err instanceof Error ? err.message : 'internal error' }));
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  const address = server.address();
  const url = `http://${host}:${typeof address === 'object' && address ? address.port : port}`;
  return {
    url,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
