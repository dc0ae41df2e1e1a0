/**
 * Watching rollouts, reporting progress, smoke tests, and undoing a
 * Deployment to an earlier revision (Node only).
 *
 * 1. `waitForRollout` watches the namespace's Deployments (a watch is the
 *    trigger; every event and a 1 s fallback poll re-read the Deployments) until
 *    every named one is complete, or one fails: the controller's
 *    ProgressDeadlineExceeded condition, or no progress at all for the deadline
 *    plus a margin (a cluster without the deployment controller). The watch
 *    stops when the wait ends or the stage is cancelled.
 * 2. `Progress` heartbeats the current state (phase, ready replicas, step,
 *    weights) at least once a second and writes a log line whenever it changes,
 *    so the run page shows the rollout live. The last heartbeat is also what a
 *    retried attempt resumes from.
 * 3. `undoToRevision` does what `kubectl rollout undo` does: it copies the pod
 *    template of the ReplicaSet of the wanted revision back into the Deployment.
 */
import type { ExecutorContext } from '../stages/executor-types';
import { StageFailure } from '../stages/executor-types';
import type { K8sClient, K8sObject } from './client';
import { isRetryable, toStageError } from './errors';
import { ANN } from './manifests';
import { rolloutStatus, type RolloutStatus } from './plan';

/** A rollout that did not succeed: the strategy rolls back, then the stage fails with this message. */
export class RolloutFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RolloutFailed';
  }
}

const POLL_MS = 1000;
const NO_PROGRESS_MARGIN_MS = 15_000;
const MAX_TRANSIENT_ERRORS = 30;

export class Progress {
  private details: Record<string, unknown> = {};
  private lastLine = '';
  private timer: NodeJS.Timeout;

  constructor(
    private readonly ctx: ExecutorContext,
    initial: Record<string, unknown> = {},
  ) {
    this.details = { ...initial };
    this.timer = setInterval(() => this.beat(), 1000);
    this.timer.unref();
    this.beat();
  }

  /** Merges `patch` into the heartbeat details; logs `line` when it differs from the last one. */
  update(patch: Record<string, unknown>, line?: string): void {
    this.details = { ...this.details, ...patch, logOffset: this.ctx.log.offset };
    if (line && line !== this.lastLine) {
      this.lastLine = line;
      this.ctx.log.write('system', `${line}\n`);
    }
    this.beat();
  }

  get current(): Readonly<Record<string, unknown>> {
    return this.details;
  }

  log(line: string): void {
    this.ctx.log.write('system', `${line}\n`);
  }

  private beat(): void {
    this.ctx.heartbeat({ ...this.details, logOffset: this.ctx.log.offset });
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw abortError(signal);
}

export function abortError(signal: AbortSignal): unknown {
  if (signal.reason !== undefined) return signal.reason;
  const err = new Error('the stage was cancelled');
  err.name = 'AbortError';
  return err;
}

/** Sleeps, waking early (with the abort error) when the stage is cancelled. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortError(signal));
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Calls a Kubernetes API function; infrastructure errors are retried a few
 * times in place (a blip should not restart a long rollout), then thrown.
 */
export async function withRetries<T>(what: string, signal: AbortSignal, fn: () => Promise<T>, tries = 4): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (signal.aborted) throw abortError(signal);
      if (i >= tries || !isRetryable(err)) throw toStageError(err, what);
      await sleep(Math.min(5000, 250 * 2 ** i), signal);
    }
  }
}

export type WaitOptions = {
  signal: AbortSignal;
  /** No progress for this long fails the rollout (the Deployment's progressDeadlineSeconds). */
  progressDeadlineMs: number;
  onStatus?: (statuses: Map<string, RolloutStatus>) => void;
};

/** Waits until every named Deployment's rollout is complete; throws RolloutFailed when one fails. */
export async function waitForRollout(client: K8sClient, namespace: string, names: string[], opts: WaitOptions): Promise<Map<string, RolloutStatus>> {
  const stopWatch = new AbortController();
  const onAbort = () => stopWatch.abort();
  opts.signal.addEventListener('abort', onAbort, { once: true });
  let wake: (() => void) | undefined;
  client.watch('apps/v1', 'Deployment', namespace, () => wake?.(), stopWatch.signal);

  let lastKey = '';
  let lastProgressAt = Date.now();
  let transient = 0;
  try {
    for (;;) {
      throwIfAborted(opts.signal);
      const statuses = new Map<string, RolloutStatus>();
      try {
        for (const name of names) {
          const dep = await client.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace, name });
          if (!dep) throw new RolloutFailed(`Deployment ${namespace}/${name} disappeared during the rollout`);
          statuses.set(name, rolloutStatus(dep));
        }
        transient = 0;
      } catch (err) {
        if (err instanceof RolloutFailed || err instanceof StageFailure) throw err;
        if (opts.signal.aborted) throw abortError(opts.signal);
        if (!isRetryable(err) || ++transient > MAX_TRANSIENT_ERRORS) throw toStageError(err, `watching Deployments ${names.join(', ')}`);
        await sleep(POLL_MS, opts.signal);
        continue;
      }
      opts.onStatus?.(statuses);
      const failed = [...statuses].find(([, s]) => s.phase === 'failed');
      if (failed) throw new RolloutFailed(`Deployment ${failed[0]} ${failed[1].message}`);
      if ([...statuses.values()].every((s) => s.phase === 'complete')) return statuses;
      const key = [...statuses.values()].map((s) => `${s.updated}/${s.ready}/${s.available}/${s.old}`).join(';');
      if (key !== lastKey) {
        lastKey = key;
        lastProgressAt = Date.now();
      } else if (Date.now() - lastProgressAt > opts.progressDeadlineMs + NO_PROGRESS_MARGIN_MS) {
        const [name, s] = [...statuses].find(([, x]) => x.phase !== 'complete')!;
        throw new RolloutFailed(`Deployment ${name} made no progress for ${Math.round((Date.now() - lastProgressAt) / 1000)} s (${s.message})`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, POLL_MS);
        function done() {
          clearTimeout(timer);
          wake = undefined;
          opts.signal.removeEventListener('abort', done);
          resolve();
        }
        wake = done;
        opts.signal.addEventListener('abort', done, { once: true });
      });
    }
  } finally {
    stopWatch.abort();
    opts.signal.removeEventListener('abort', onAbort);
  }
}

// ── Smoke test ───────────────────────────────────────────────────────────────

export type SmokeTest = { url: string; expectStatus: number; timeoutSeconds: number; intervalSeconds: number };

/** Requests the URL until it answers with the expected status; throws RolloutFailed when it never does. */
export async function runSmokeTest(test: SmokeTest, signal: AbortSignal, progress: Progress): Promise<void> {
  const until = Date.now() + test.timeoutSeconds * 1000;
  let last = '';
  for (let attempt = 1; ; attempt++) {
    throwIfAborted(signal);
    try {
      const res = await fetch(test.url, { signal: AbortSignal.any([signal, AbortSignal.timeout(10_000)]), redirect: 'manual' });
      await res.body?.cancel().catch(() => undefined);
      if (res.status === test.expectStatus) {
        progress.update({ smokeTest: 'passed' }, `smoke test passed: ${test.url} answered ${res.status} (attempt ${attempt})`);
        return;
      }
      last = `answered ${res.status}, expected ${test.expectStatus}`;
    } catch (err) {
      if (signal.aborted) throw abortError(signal);
      last = (err as Error).message;
    }
    progress.update({ smokeTest: `attempt ${attempt}: ${last}` });
    if (Date.now() + test.intervalSeconds * 1000 > until) {
      throw new RolloutFailed(`smoke test failed: ${test.url} ${last} (after ${attempt} attempts)`);
    }
    await sleep(test.intervalSeconds * 1000, signal);
  }
}

// ── Undo ─────────────────────────────────────────────────────────────────────

const REVISION = 'deployment.kubernetes.io/revision';

export function revisionOf(obj: K8sObject | undefined): number | undefined {
  const v = obj?.metadata.annotations?.[REVISION];
  return v ? Number(v) : undefined;
}

export function imagesOf(template: unknown): string {
  const containers = (template as { spec?: { containers?: { name: string; image?: string }[] } } | undefined)?.spec?.containers ?? [];
  return containers.map((c) => c.image ?? '?').join(', ');
}

/** The Deployment's ReplicaSets, newest revision first. */
export async function replicaSetsOf(client: K8sClient, dep: K8sObject): Promise<K8sObject[]> {
  const namespace = dep.metadata.namespace!;
  const all = await client.list('apps/v1', 'ReplicaSet', namespace);
  return all
    .filter((rs) => rs.metadata.ownerReferences?.some((o) => o.controller && o.uid === dep.metadata.uid))
    .sort((a, b) => (revisionOf(b) ?? 0) - (revisionOf(a) ?? 0));
}

/**
 * Puts the pod template of `revision` (default: the one before the current)
 * back into the Deployment. Returns the revision and images rolled back to,
 * or undefined when there is no earlier revision.
 */
export async function undoToRevision(
  client: K8sClient,
  dep: K8sObject,
  revision?: number,
): Promise<{ revision: number; images: string } | undefined> {
  const current = revisionOf(dep) ?? 0;
  const sets = await replicaSetsOf(client, dep);
  // Without an explicit revision: the newest earlier one that did not fail (Pipewright marks failed ones).
  const target =
    revision !== undefined
      ? sets.find((rs) => revisionOf(rs) === revision)
      : sets.find((rs) => (revisionOf(rs) ?? 0) < current && !rs.metadata.annotations?.[ANN.failed]);
  if (!target) return undefined;
  const template = structuredClone((target.spec as { template: { metadata?: { labels?: Record<string, string> } } }).template);
  if (template.metadata?.labels) delete template.metadata.labels['pod-template-hash'];
  await client.jsonPatch(
    { apiVersion: 'apps/v1', kind: 'Deployment', namespace: dep.metadata.namespace, name: dep.metadata.name },
    [{ op: 'replace', path: '/spec/template', value: template }],
  );
  return { revision: revisionOf(target)!, images: imagesOf(template) };
}
