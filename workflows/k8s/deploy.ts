/**
 * The rollout strategies of `k8s-deploy` and the undo of `k8s-rollback`
 * (Node only). Every strategy reads the cluster's state first, so running it
 * again — a retried activity, a resumed run, the same version deployed twice —
 * continues or does nothing instead of deploying twice.
 *
 * - rolling: server-side apply of the Deployment; wait; on failure copy the
 *   previous revision's template back (`kubectl rollout undo`).
 * - blue/green: `<name>-blue` / `<name>-green`; the active Service's selector
 *   carries `pipewright.dev/color` and is switched only after the new colour is
 *   available and its smoke test passed; the old colour is scaled down after a
 *   delay. Before the new colour starts, the active Service selects only the
 *   live version: the live colour, a plain `<name>` Deployment found on the
 *   first blue/green deploy (adopted: pinned by its `pod-template-hash`), or
 *   no pod at all when nothing is live. Failure before the switch: the new
 *   colour is scaled to 0 and live traffic never moved.
 * - canary / A/B: `<name>-canary` (or `<name>-b`) beside the stable Deployment,
 *   stepped through weights — by replica ratio, or by HTTPRoute backend weights
 *   when the cluster serves Gateway API — with pauses; promotion updates the
 *   stable Deployment (with a route: while the canary carries all traffic) and
 *   deletes the canary Deployment. Failure: canary to 0, weights back to
 *   stable, stable back to full size.
 *
 * The heartbeat details (see `Progress`) carry the state a retried attempt
 * resumes from: the previous revision, the new colour, the current step.
 */
import type { ExecutorContext, ExecutorResult } from '../stages/executor-types';
import { StageFailure } from '../stages/executor-types';
import type { K8sDeployConfig } from '../stages/k8s-deploy/definition';
import { K8sClient, type K8sObject, type ObjectRef } from './client';
import { toStageError } from './errors';
import { ANN, LABEL, annotate, describeObject, parseManifests, type RunIds } from './manifests';
import {
  asColor,
  colorDeploymentName,
  deriveDeployment,
  describeSplit,
  otherColor,
  podTemplateOf,
  replicasOf,
  setRouteWeights,
  splitFor,
  templateHash,
  type CanaryStep,
  type Color,
  type RolloutStatus,
} from './plan';
import {
  Progress,
  RolloutFailed,
  imagesOf,
  replicaSetsOf,
  revisionOf,
  runSmokeTest,
  sleep,
  undoToRevision,
  waitForRollout,
  withRetries,
  type SmokeTest,
} from './rollout';

const HTTPROUTE = { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute' } as const;
const DEPLOYMENT = { apiVersion: 'apps/v1', kind: 'Deployment' } as const;
const SERVICE = { apiVersion: 'v1', kind: 'Service' } as const;
const IMAGE_FIELD_MANAGER = 'pipewright-image';

type Resume = Record<string, unknown> | undefined;

export type Env = {
  client: K8sClient;
  ctx: ExecutorContext;
  namespace: string;
  ids: RunIds;
  progress: Progress;
  resume: Resume;
  signal: AbortSignal;
};

// ── Opening a connection ─────────────────────────────────────────────────────

export async function openClient(ctx: ExecutorContext, connection: string, namespace: string): Promise<K8sClient> {
  if (!ctx.clusters) {
    throw new StageFailure('this worker has no access to cluster connections (it was started without the app database)', 'InvalidConfig');
  }
  const conn = await ctx.clusters.get(connection);
  const client = new K8sClient(conn, ctx.signal);
  client.assertNamespace(namespace, `namespace ${namespace}`);
  return client;
}

export function runIds(ctx: ExecutorContext): RunIds {
  return { pipelineId: ctx.pipelineId, runId: ctx.runId, stageId: ctx.nodeId };
}

/** The last heartbeat of an earlier try of this attempt, when it was for the same stage kind. */
export function resumeState(ctx: ExecutorContext, kind: string): Resume {
  const hb = ctx.lastHeartbeat;
  const details = Array.isArray(hb) ? hb[0] : hb;
  if (details && typeof details === 'object' && (details as { kind?: unknown }).kind === kind) return details as Record<string, unknown>;
  return undefined;
}

// ── Applying ─────────────────────────────────────────────────────────────────

/** Puts each object in its namespace (or checks it is cluster-scoped) and checks the connection allows it — before anything is applied. */
export async function placeObjects(env: Pick<Env, 'client' | 'namespace' | 'signal'>, objects: K8sObject[]): Promise<K8sObject[]> {
  const placed: K8sObject[] = [];
  for (const obj of objects) {
    const r = await withRetries(`discovering ${obj.kind}`, env.signal, () => env.client.resource(obj.apiVersion, obj.kind));
    const copy = { ...obj, metadata: { ...obj.metadata } };
    if (r.namespaced) {
      copy.metadata.namespace ??= env.namespace;
      env.client.assertNamespace(copy.metadata.namespace, describeObject(copy));
    } else {
      if (copy.metadata.namespace) delete copy.metadata.namespace;
      env.client.assertNamespace(undefined, describeObject(copy));
    }
    placed.push(copy);
  }
  return placed;
}

export type ApplyOutcome = 'created' | 'configured' | 'unchanged';

export async function applyObject(
  env: Pick<Env, 'client' | 'signal' | 'ids'>,
  obj: K8sObject,
  opts: { dryRun?: boolean; fieldManager?: string } = {},
): Promise<{ outcome: ApplyOutcome; object: K8sObject }> {
  const ref = refOf(obj);
  const what = `apply ${describeObject(obj)}`;
  const before = await withRetries(what, env.signal, () => env.client.get(ref));
  const object = await withRetries(what, env.signal, () => env.client.apply(annotate(obj, env.ids), opts));
  const outcome: ApplyOutcome = !before ? 'created' : before.metadata.resourceVersion === object.metadata.resourceVersion ? 'unchanged' : 'configured';
  return { outcome, object };
}

export function refOf(obj: { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } }): ObjectRef {
  return { apiVersion: obj.apiVersion, kind: obj.kind, namespace: obj.metadata.namespace, name: obj.metadata.name };
}

const depRef = (namespace: string, name: string): ObjectRef => ({ ...DEPLOYMENT, namespace, name });
const svcRef = (namespace: string, name: string): ObjectRef => ({ ...SERVICE, namespace, name });

// ── What to deploy ───────────────────────────────────────────────────────────

type Desired = {
  /** The app's Deployment as the user wants it (full object; namespaced). */
  deployment: K8sObject;
  /** Other objects from the manifests, applied before the Deployment. */
  others: K8sObject[];
  /** Image-only mode: the partial object to apply for a rolling update. */
  partial?: K8sObject;
};

async function desiredState(env: Env, config: K8sDeployConfig): Promise<Desired> {
  if (config.manifests?.trim()) {
    const objects = await placeObjects(env, parseManifests(config.manifests));
    const deployments = objects.filter((o) => o.kind === 'Deployment' && o.apiVersion === 'apps/v1');
    if (deployments.length !== 1) {
      throw new StageFailure(
        `the manifests must hold exactly one apps/v1 Deployment (the app to roll out); found ${deployments.length}`,
        'InvalidConfig',
      );
    }
    const deployment = structuredClone(deployments[0]!);
    if (deployment.metadata.namespace !== env.namespace) {
      throw new StageFailure(`the Deployment must be in the stage's namespace ${env.namespace}`, 'InvalidConfig');
    }
    (deployment.spec ??= {}).progressDeadlineSeconds = config.progressDeadlineSeconds;
    return { deployment, others: objects.filter((o) => o !== deployments[0]) };
  }

  const name = config.deployment!;
  const image = config.image!;
  // The current state of the app: the Deployment itself, or its live colour for blue/green.
  // Blue/green: the live colour first (a plain Deployment of that name adopted by an earlier deploy is kept at 0 replicas).
  let live: K8sObject | undefined;
  if (config.strategy.type === 'blue-green') {
    const svc = await get(env, svcRef(env.namespace, config.strategy.activeService));
    const color = asColor((svc?.spec?.selector as Record<string, string> | undefined)?.[LABEL.color]);
    if (color) live = await get(env, depRef(env.namespace, colorDeploymentName(name, color)));
  }
  live ??= await get(env, depRef(env.namespace, name));
  if (!live) {
    throw new StageFailure(
      `Deployment ${env.namespace}/${name} does not exist; the first deploy needs manifests (a Deployment), not only an image`,
      'InvalidConfig',
    );
  }
  const deployment = cleanForApply(live, name);
  const containers = (podTemplateOf(deployment).spec as { containers?: { name: string; image?: string }[] } | undefined)?.containers ?? [];
  const target = config.container ? containers.find((c) => c.name === config.container) : containers[0];
  if (!target) {
    throw new StageFailure(`Deployment ${name} has no container ${config.container ?? '(none at all)'}`, 'InvalidConfig');
  }
  target.image = image;
  deployment.spec!.progressDeadlineSeconds = config.progressDeadlineSeconds;
  const partial: K8sObject = {
    ...DEPLOYMENT,
    metadata: { name, namespace: env.namespace },
    spec: {
      progressDeadlineSeconds: config.progressDeadlineSeconds,
      template: { spec: { containers: [{ name: target.name, image }] } },
    },
  };
  return { deployment, others: [], partial };
}

/** A live Deployment as an object to apply again: no status, no server-side metadata, no Pipewright colour/track labels. */
function cleanForApply(live: K8sObject, name: string): K8sObject {
  const spec = structuredClone(live.spec ?? {}) as Record<string, unknown> & {
    selector?: { matchLabels?: Record<string, string> };
    template?: { metadata?: { labels?: Record<string, string>; creationTimestamp?: unknown } };
  };
  for (const key of [LABEL.color, LABEL.track]) {
    if (spec.selector?.matchLabels) delete spec.selector.matchLabels[key];
    if (spec.template?.metadata?.labels) delete spec.template.metadata.labels[key];
  }
  if (spec.template?.metadata) delete spec.template.metadata.creationTimestamp;
  const labels = { ...(live.metadata.labels ?? {}) };
  delete labels[LABEL.color];
  delete labels[LABEL.track];
  const annotations = Object.fromEntries(
    Object.entries(live.metadata.annotations ?? {}).filter(
      ([k]) => !k.startsWith('pipewright.dev/') && k !== 'deployment.kubernetes.io/revision' && k !== 'kubectl.kubernetes.io/last-applied-configuration',
    ),
  );
  return { ...DEPLOYMENT, metadata: { name, namespace: live.metadata.namespace, labels, annotations }, spec };
}

async function get(env: Pick<Env, 'client' | 'signal'>, ref: ObjectRef): Promise<K8sObject | undefined> {
  return withRetries(`read ${ref.kind} ${ref.namespace}/${ref.name}`, env.signal, () => env.client.get(ref));
}

async function mergePatch(env: Pick<Env, 'client' | 'signal'>, ref: ObjectRef, patch: unknown): Promise<K8sObject> {
  return withRetries(`patch ${ref.kind} ${ref.namespace}/${ref.name}`, env.signal, () => env.client.mergePatch(ref, patch));
}

async function scale(env: Pick<Env, 'client' | 'signal'>, namespace: string, name: string, replicas: number): Promise<void> {
  await mergePatch(env, depRef(namespace, name), { spec: { replicas } });
}

async function applyAll(env: Env, objects: K8sObject[]): Promise<void> {
  for (const obj of objects) {
    const { outcome } = await applyObject(env, obj);
    env.progress.log(`${describeObject(obj)} ${outcome}`);
  }
}

function statusLine(statuses: Map<string, RolloutStatus>): string {
  return [...statuses].map(([name, s]) => `${name}: ${s.ready}/${s.replicas} ready, ${s.updated} updated${s.old ? `, ${s.old} old` : ''}`).join('; ');
}

async function wait(env: Env, names: string[], deadlineS: number, phase: string): Promise<Map<string, RolloutStatus>> {
  return waitForRollout(env.client, env.namespace, names, {
    signal: env.signal,
    progressDeadlineMs: deadlineS * 1000,
    onStatus: (statuses) => {
      const ready: Record<string, string> = {};
      const rollout: Record<string, { replicas: number; ready: number; updated: number; available: number }> = {};
      for (const [name, s] of statuses) {
        ready[name] = `${s.ready}/${s.replicas}`;
        rollout[name] = { replicas: s.replicas, ready: s.ready, updated: s.updated, available: s.available };
      }
      env.progress.update({ phase, ready, rollout }, `${phase}: ${statusLine(statuses)}`);
    },
  });
}

// ── k8s-deploy ───────────────────────────────────────────────────────────────

export async function deploy(config: K8sDeployConfig, ctx: ExecutorContext): Promise<ExecutorResult> {
  const client = await openClient(ctx, config.connection, config.namespace);
  const resume = resumeState(ctx, 'k8s-deploy');
  const progress = new Progress(ctx, { kind: 'k8s-deploy', strategy: config.strategy.type, ...(resume ?? {}) });
  if (resume) progress.log(`resuming after an interrupted try (last phase: ${String(resume.phase ?? 'unknown')})`);
  const env: Env = { client, ctx, namespace: config.namespace, ids: runIds(ctx), progress, resume, signal: ctx.signal };
  try {
    const desired = await desiredState(env, config);
    switch (config.strategy.type) {
      case 'rolling':
        return await rolling(env, config, desired);
      case 'blue-green':
        return await blueGreen(env, config, config.strategy, desired);
      case 'canary':
      case 'ab':
        return await canary(env, config, config.strategy, desired);
    }
  } catch (err) {
    if (err instanceof RolloutFailed) throw new StageFailure(err.message);
    throw toStageError(err, 'k8s-deploy');
  } finally {
    progress.stop();
  }
}

// ── Rolling ──────────────────────────────────────────────────────────────────

async function rolling(env: Env, config: K8sDeployConfig, desired: Desired): Promise<ExecutorResult> {
  const { namespace, progress } = env;
  const name = desired.deployment.metadata.name;
  const before = await get(env, depRef(namespace, name));
  // A retried try has already applied: the revision before the change is in the heartbeat.
  const previousRevision = typeof env.resume?.previousRevision === 'number' ? env.resume.previousRevision : revisionOf(before);
  progress.update({ phase: 'applying', previousRevision: previousRevision ?? null });

  await applyAll(env, desired.others);
  // Image-only updates apply just the image, as their own field manager (see K8sClient.apply).
  const { outcome, object } = desired.partial
    ? await applyObject(env, desired.partial, { fieldManager: IMAGE_FIELD_MANAGER })
    : await applyObject(env, desired.deployment);
  progress.log(`${describeObject(desired.deployment)} ${outcome}`);
  try {
    await wait(env, [name], config.progressDeadlineSeconds, 'rollout');
  } catch (err) {
    if (!(err instanceof RolloutFailed)) throw err;
    const now = await get(env, depRef(namespace, name));
    const changed = now && previousRevision !== undefined && revisionOf(now) !== previousRevision;
    if (!config.autoRollback || !now || !changed) {
      throw new StageFailure(`rollout failed: ${err.message}${config.autoRollback ? '; no earlier revision to roll back to' : ''}`);
    }
    progress.update({ phase: 'rolling back' }, `rollout failed (${err.message}); rolling back to revision ${previousRevision}`);
    await markFailedRevision(env, now, err.message);
    const undo = await withRetries(`roll back Deployment ${name}`, env.signal, () => undoToRevision(env.client, now, previousRevision));
    if (!undo) throw new StageFailure(`rollout failed: ${err.message}; revision ${previousRevision} is gone, nothing rolled back`);
    const to = `revision ${undo.revision} (${undo.images})`;
    try {
      await wait(env, [name], config.progressDeadlineSeconds, 'rollback');
    } catch (again) {
      if (!(again instanceof RolloutFailed)) throw again;
      throw new StageFailure(`rollout failed: ${err.message}; rolled back to ${to}, but that rollout failed too: ${again.message}`, 'StageFailed', { rolledBackTo: to });
    }
    progress.update({ phase: 'rolled back', rolledBackTo: to }, `rolled back to ${to}`);
    throw new StageFailure(`rollout failed: ${err.message}; rolled back to ${to}`, 'StageFailed', { rolledBackTo: to });
  }
  const done = (await get(env, depRef(namespace, name))) ?? object;
  const revision = String(revisionOf(done) ?? '');
  const image = imagesOf(podTemplateOf(done));
  const same = outcome === 'unchanged' || (before !== undefined && revisionOf(before) === revisionOf(done));
  progress.update({ phase: 'complete' });
  return {
    outputs: { deployment: name, revision, image },
    summary: same
      ? `${name} already ran this version (revision ${revision}, ${image}); nothing rolled out`
      : `${name} revision ${revision} rolled out (${image}), ${replicasOf(done)} replicas ready`,
  };
}

/** Marks the ReplicaSet of the Deployment's current (failed) revision, so a later rollback never goes back to it. */
async function markFailedRevision(env: Env, dep: K8sObject, reason: string): Promise<void> {
  const sets = await withRetries('list ReplicaSets', env.signal, () => replicaSetsOf(env.client, dep));
  const failed = sets.find((rs) => revisionOf(rs) === revisionOf(dep));
  if (failed) await mergePatch(env, { apiVersion: 'apps/v1', kind: 'ReplicaSet', namespace: env.namespace, name: failed.metadata.name }, { metadata: { annotations: { [ANN.failed]: reason.slice(0, 500) } } });
}

// ── Blue/green ───────────────────────────────────────────────────────────────

type BlueGreen = Extract<K8sDeployConfig['strategy'], { type: 'blue-green' }>;

async function blueGreen(env: Env, config: K8sDeployConfig, s: BlueGreen, desired: Desired): Promise<ExecutorResult> {
  const { namespace, progress } = env;
  const base = desired.deployment.metadata.name;
  const previewName = s.previewService ?? `${s.activeService}-preview`;
  const fromManifests = desired.others.find((o) => o.kind === 'Service' && o.apiVersion === 'v1' && o.metadata.name === s.activeService);
  const activeLive = await get(env, svcRef(namespace, s.activeService));
  const activeBase = fromManifests ?? activeLive;
  if (!activeBase) {
    throw new StageFailure(`blue/green needs the Service ${s.activeService}: put it in the manifests or create it in ${namespace}`, 'InvalidConfig');
  }
  const liveColor = asColor((activeLive?.spec?.selector as Record<string, string> | undefined)?.[LABEL.color]);
  const hash = templateHash(podTemplateOf(desired.deployment));
  const replicas = replicasOf(desired.deployment);

  if (liveColor && !env.resume?.newColor) {
    const live = await get(env, depRef(namespace, colorDeploymentName(base, liveColor)));
    if (live && live.metadata.annotations?.[ANN.templateHash] === hash && replicasOf(live) === replicas) {
      await applyAll(env, desired.others.map((o) => withSelector(o, { [s.activeService]: colorSelector(liveColor), [previewName]: colorSelector(liveColor) })));
      progress.update({ phase: 'complete', color: liveColor }, `${base}-${liveColor} already runs this version and is live; nothing to switch`);
      return { outputs: { deployment: live.metadata.name, color: liveColor, image: imagesOf(podTemplateOf(live)) }, summary: `${liveColor} already live with this version` };
    }
  }
  const newColor: Color = asColor(env.resume?.newColor) ?? otherColor(liveColor);
  const newName = colorDeploymentName(base, newColor);

  if (env.resume?.phase === 'switched' || env.resume?.phase === 'scaling down') {
    // The switch happened before the interruption; only the scale-down is left.
    const old = typeof env.resume.oldDeployment === 'string' ? env.resume.oldDeployment : undefined;
    return finishBlueGreen(env, s, base, newColor, old, replicas);
  }

  // What carries live traffic now: a colour, or (first blue/green deploy) a plain Deployment of the same name, which is adopted as the live version.
  const live = await liveVersion(env, base, liveColor);
  progress.update(
    { phase: 'deploying', newColor, liveColor: liveColor ?? null, oldDeployment: live?.name ?? null },
    `deploying ${newName} beside ${live ? `${live.what} (live)` : 'nothing (first deploy)'}`,
  );
  if (live?.adopted) progress.log(`Service ${s.activeService} pinned to the pods of Deployment ${base} (pod-template-hash ${live.hash}) until the switch`);

  // The Services, before the new colour starts: the active one selects only the live version (nothing on a first deploy), the preview one the new colour.
  const activeSelector = live ? live.selector : colorSelector(NO_COLOR);
  const previewSelector = colorSelector(newColor);
  await applyAll(env, desired.others.map((o) => withSelector(o, { [s.activeService]: activeSelector, [previewName]: previewSelector })));
  if (!fromManifests) await mergePatch(env, svcRef(namespace, s.activeService), { spec: { selector: activeSelector } });
  if (!desired.others.some((o) => o.kind === 'Service' && o.metadata.name === previewName)) {
    await applyObject(env, previewServiceFrom(activeBase, previewName, newColor, namespace));
  }
  const newDep = deriveDeployment(desired.deployment, {
    name: newName,
    labelKey: LABEL.color,
    labelValue: newColor,
    annotations: { [ANN.strategy]: 'blue-green', [ANN.base]: base },
  });
  await applyObject(env, newDep);

  try {
    await wait(env, [newName], config.progressDeadlineSeconds, `rollout of ${newColor}`);
    if (s.smokeTest) {
      progress.update({ phase: 'smoke test' }, `smoke-testing ${newColor} (${s.smokeTest.url})`);
      await runSmokeTest(s.smokeTest as SmokeTest, env.signal, progress);
    }
  } catch (err) {
    if (!(err instanceof RolloutFailed)) throw err;
    const to = live ? live.what : 'nothing (first deploy)';
    if (!config.autoRollback) throw new StageFailure(`blue/green rollout of ${newColor} failed: ${err.message}; the Service was not switched: ${to} stays live`);
    progress.update({ phase: 'rolling back' }, `${newColor} failed (${err.message}); scaling it down, ${to} stays live`);
    await scale(env, namespace, newName, 0);
    if (live) {
      await mergePatch(env, svcRef(namespace, previewName), { spec: { selector: live.selector } });
      // The new colour's Deployment now holds the failed version: it is no longer a version to go back to.
      if (liveColor) await mergePatch(env, svcRef(namespace, s.activeService), { metadata: { annotations: { [ANN.previousColor]: '' } } });
    }
    throw new StageFailure(`blue/green rollout of ${newColor} failed: ${err.message}; the live Service never switched: ${to} stays live`, 'StageFailed', {
      rolledBackTo: to,
    });
  }

  // Switch live traffic.
  await mergePatch(env, svcRef(namespace, s.activeService), {
    metadata: {
      annotations: {
        [ANN.activeColor]: newColor,
        [ANN.previousColor]: liveColor ?? '',
        [ANN.previousDeployment]: live?.adopted ? base : '',
        [ANN.base]: base,
      },
    },
    spec: { selector: colorSelector(newColor) },
  });
  progress.update({ phase: 'switched', newColor, liveColor: liveColor ?? null, oldDeployment: live?.name ?? null }, `Service ${s.activeService} now selects ${newColor}`);
  return finishBlueGreen(env, s, base, newColor, live?.name, replicas);
}

/** Colour that no pod carries: the active Service of an app with no live version selects nothing until the first switch. */
const NO_COLOR = 'none';
const POD_TEMPLATE_HASH = 'pod-template-hash';

/** Selector changes (merged into a Service's selector; null removes a key) that select one colour. */
function colorSelector(color: string): Record<string, string | null> {
  return { [LABEL.color]: color, [POD_TEMPLATE_HASH]: null };
}

type LiveVersion = { name: string; what: string; selector: Record<string, string | null>; adopted: boolean; hash?: string };

/**
 * The version live traffic goes to before this deploy: the live colour, or a
 * running plain Deployment named like the app (what a first blue/green deploy
 * finds when the app was deployed some other way). Its pods carry the app's
 * labels but no colour, so the active Service is pinned to its current
 * ReplicaSet's `pod-template-hash` — the new colour's pods, which carry the
 * same app labels, never match.
 */
async function liveVersion(env: Env, base: string, liveColor: Color | undefined): Promise<LiveVersion | undefined> {
  if (liveColor) {
    const name = colorDeploymentName(base, liveColor);
    return { name, what: `colour ${liveColor}`, selector: colorSelector(liveColor), adopted: false };
  }
  const plain = await get(env, depRef(env.namespace, base));
  if (!plain || replicasOf(plain) === 0) return undefined;
  const hash = await currentPodTemplateHash(env, plain);
  if (!hash) throw new RolloutFailed(`could not find the ReplicaSet of the live Deployment ${base}`);
  return {
    name: base,
    what: `Deployment ${base} (${imagesOf(podTemplateOf(plain))})`,
    selector: { [LABEL.color]: null, [POD_TEMPLATE_HASH]: hash },
    adopted: true,
    hash,
  };
}

async function finishBlueGreen(env: Env, s: BlueGreen, base: string, newColor: Color, oldName: string | undefined, replicas: number): Promise<ExecutorResult> {
  const { namespace, progress } = env;
  if (oldName && s.scaleDownDelaySeconds >= 0) {
    const until = typeof env.resume?.scaleDownAt === 'number' ? env.resume.scaleDownAt : Date.now() + s.scaleDownDelaySeconds * 1000;
    progress.update({ phase: 'scaling down', scaleDownAt: until }, `${oldName} kept for ${s.scaleDownDelaySeconds} s for an instant rollback, then scaled to 0`);
    await sleep(Math.max(0, until - Date.now()), env.signal);
    await scale(env, namespace, oldName, 0);
    progress.log(`${oldName} scaled to 0`);
  }
  const live = await get(env, depRef(namespace, colorDeploymentName(base, newColor)));
  progress.update({ phase: 'complete', color: newColor });
  return {
    outputs: { deployment: colorDeploymentName(base, newColor), color: newColor, image: live ? imagesOf(podTemplateOf(live)) : '', revision: '' },
    summary: `${newColor} is live (${replicas} replicas)${oldName ? `; ${oldName} ${s.scaleDownDelaySeconds >= 0 ? 'scaled to 0' : 'kept running'}` : ''}`,
  };
}

/** A manifest Service with its selector changed (null removes a key) when `changes` names it. */
function withSelector(obj: K8sObject, changes: Record<string, Record<string, string | null>>): K8sObject {
  if (obj.kind !== 'Service' || obj.apiVersion !== 'v1') return obj;
  const change = changes[obj.metadata.name];
  if (!change) return obj;
  const copy = structuredClone(obj);
  const spec = (copy.spec ??= {}) as { selector?: Record<string, string | null> };
  spec.selector = applySelector(spec.selector, change);
  return copy;
}

function applySelector(selector: Record<string, string | null> | undefined, change: Record<string, string | null>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...(selector ?? {}), ...change })) if (typeof v === 'string') out[k] = v;
  return out;
}

function previewServiceFrom(active: K8sObject, name: string, color: Color, namespace: string): K8sObject {
  const spec = (active.spec ?? {}) as { selector?: Record<string, string>; ports?: Record<string, unknown>[]; type?: string };
  return {
    ...SERVICE,
    metadata: { name, namespace, labels: { ...(active.metadata.labels ?? {}) } },
    spec: {
      selector: applySelector(spec.selector, colorSelector(color)),
      ports: (spec.ports ?? []).map((p) => {
        const copy = { ...p };
        delete copy.nodePort;
        return copy;
      }),
    },
  };
}

// ── Canary and A/B ───────────────────────────────────────────────────────────

type CanaryLike = Extract<K8sDeployConfig['strategy'], { type: 'canary' | 'ab' }>;
type Route = { name: string; stableService: string; canaryService: string };

async function canary(env: Env, config: K8sDeployConfig, s: CanaryLike, desired: Desired): Promise<ExecutorResult> {
  const { namespace, progress } = env;
  const base = desired.deployment.metadata.name;
  const suffix = s.type === 'ab' ? 'b' : 'canary';
  const canaryName = `${base}-${suffix}`;
  const steps: CanaryStep[] = s.type === 'ab' ? [{ weight: s.weightB }] : s.steps;
  const promote = s.type === 'canary' && s.promote;
  const label = s.type === 'ab' ? 'version B' : 'canary';

  const stable = await get(env, depRef(namespace, base));
  if (!stable) {
    progress.log(`no stable ${base} yet: deploying it directly (a ${label} needs a stable version to compare with)`);
    return rolling(env, config, desired);
  }
  const total = replicasOf(desired.deployment);
  const hash = templateHash(podTemplateOf(desired.deployment));
  const existing = await get(env, depRef(namespace, canaryName));
  if (templateHash(podTemplateOf(stable)) === hash && !(existing && replicasOf(existing) > 0)) {
    await applyAll(env, desired.others);
    progress.update({ phase: 'complete', weight: 100 }, `${base} already runs this version; nothing to do`);
    return { outputs: { deployment: base, weight: '100', image: imagesOf(podTemplateOf(stable)) }, summary: 'already the stable version' };
  }

  let route: Route | undefined;
  if (s.httpRoute) {
    if (await withRetries('discovering HTTPRoute', env.signal, () => env.client.serves(HTTPROUTE.apiVersion, HTTPROUTE.kind))) {
      route = s.httpRoute;
    } else {
      progress.log(`the cluster does not serve Gateway API HTTPRoute: splitting traffic by replica ratio instead`);
    }
  }

  await applyAll(env, desired.others);
  const canaryDep = (replicas: number) =>
    deriveDeployment(desired.deployment, {
      name: canaryName,
      labelKey: LABEL.track,
      labelValue: suffix,
      replicas,
      annotations: {
        [ANN.strategy]: s.type,
        [ANN.base]: base,
        [ANN.replicas]: String(total),
        ...(route ? { 'pipewright.dev/http-route': JSON.stringify(route) } : {}),
      },
    });
  if (route) await prepareRouteServices(env, stable, route, suffix);

  const first = typeof env.resume?.step === 'number' ? env.resume.step : 0;
  let lastWeight = typeof env.resume?.weight === 'number' ? env.resume.weight : 0;
  let at = 'the start';
  try {
    for (let i = first; i < steps.length; i++) {
      const step = steps[i]!;
      if ('weight' in step) {
        const split = splitFor(total, step.weight, route !== undefined);
        at = `step ${i + 1} (${step.weight}%)`;
        progress.update({ phase: label, step: i, steps: steps.length, weight: step.weight }, `${label} ${describeSplit(i + 1, steps.length, split)}`);
        await applyObject(env, canaryDep(split.canary));
        if (!route || split.stable !== total) await scale(env, namespace, base, split.stable);
        await wait(env, [canaryName, base], config.progressDeadlineSeconds, `${label} step ${i + 1}`);
        if (route) await setWeights(env, route, split.routeWeights!);
        lastWeight = step.weight;
        progress.update({
          step: i,
          weight: step.weight,
          effectiveWeight: split.effectiveWeight,
          canaryReplicas: split.canary,
          stableReplicas: split.stable,
          weights: split.routeWeights ?? null,
        });
        if (s.type === 'canary' && s.smokeTest) await runSmokeTest(s.smokeTest as SmokeTest, env.signal, progress);
      } else {
        const until = env.resume?.step === i && typeof env.resume.pauseUntil === 'number' ? env.resume.pauseUntil : Date.now() + step.pause * 1000;
        progress.update({ phase: 'paused', step: i, steps: steps.length, pauseUntil: until }, `paused for ${step.pause} s (step ${i + 1}/${steps.length})`);
        await sleep(Math.max(0, until - Date.now()), env.signal);
      }
    }
    if (promote) {
      at = 'promotion';
      progress.update({ phase: 'promoting', step: steps.length }, `promoting: updating ${base} to the new version`);
      if (route && (await get(env, depRef(namespace, canaryName)))) {
        // The stable Service stays pinned to the old pods while the stable Deployment is replaced: it gets no traffic
        // meanwhile (else its share would land on fewer and fewer old pods, then on none). The canary, which passed
        // every step, carries all of it at full size.
        await applyObject(env, canaryDep(total));
        await wait(env, [canaryName], config.progressDeadlineSeconds, 'promotion: canary at full size');
        await setWeights(env, route, { stable: 0, canary: 100 });
      }
      await applyObject(env, { ...desired.deployment, spec: { ...desired.deployment.spec, replicas: total } });
      await wait(env, [base], config.progressDeadlineSeconds, 'promotion');
      if (route) {
        await pointStableServiceAtCurrent(env, base, route);
        await setWeights(env, route, { stable: 100, canary: 0 });
      }
      // Nothing is left to go back to in the canary Deployment (the stable one runs its version): it is removed, not
      // left at 0 replicas. With an HTTPRoute the canary Service stays: the route names it (weight 0, no endpoints).
      await withRetries(`delete Deployment ${namespace}/${canaryName}`, env.signal, () => env.client.delete(depRef(namespace, canaryName)));
      progress.update({ phase: 'complete', weight: 100 }, `${base} promoted; ${canaryName} removed`);
      const done = await get(env, depRef(namespace, base));
      return {
        outputs: { deployment: base, weight: '100', image: imagesOf(podTemplateOf(done ?? desired.deployment)), revision: String(revisionOf(done) ?? '') },
        summary: `canary promoted after ${steps.length} steps; ${base} runs the new version`,
      };
    }
  } catch (err) {
    if (!(err instanceof RolloutFailed)) throw err;
    if (!config.autoRollback) throw new StageFailure(`${label} failed at ${at}: ${err.message}`);
    progress.update({ phase: 'rolling back' }, `${label} failed (${err.message}); sending all traffic back to ${base}`);
    await abortCanary(env, base, canaryName, total, route, config.progressDeadlineSeconds);
    const to = `stable ${base} (${imagesOf(podTemplateOf(stable))})`;
    throw new StageFailure(`${label} failed at ${at}: ${err.message}; rolled back to ${to}`, 'StageFailed', { rolledBackTo: to });
  }
  progress.update({ phase: 'holding', weight: lastWeight }, `${label} holds ${lastWeight}% (not promoted)`);
  return {
    outputs: { deployment: canaryName, weight: String(lastWeight), image: imagesOf(podTemplateOf(desired.deployment)) },
    summary: `${label} at ${lastWeight}% beside ${base}${s.type === 'canary' ? '; promote with another k8s-deploy stage' : ''}`,
  };
}

/** Services for HTTPRoute weights: stable selects the stable ReplicaSet's pods (pod-template-hash), canary the canary's. */
async function prepareRouteServices(env: Env, stable: K8sObject, route: Route, suffix: string): Promise<void> {
  const { namespace } = env;
  const routeObj = await get(env, { ...HTTPROUTE, namespace, name: route.name });
  if (!routeObj) throw new StageFailure(`HTTPRoute ${namespace}/${route.name} does not exist`, 'InvalidConfig');
  const template = (stable.spec as { selector?: { matchLabels?: Record<string, string> } }).selector?.matchLabels ?? {};
  const stableSvc = await get(env, svcRef(namespace, route.stableService));
  const ports = ((stableSvc?.spec as { ports?: Record<string, unknown>[] } | undefined)?.ports ?? [{ port: 80, targetPort: 80 }]).map((p) => {
    const copy = { ...p };
    delete copy.nodePort;
    return copy;
  });
  const hashLabel = await currentPodTemplateHash(env, stable);
  if (!hashLabel) throw new RolloutFailed(`could not find the ReplicaSet of the stable Deployment ${stable.metadata.name}`);
  await applyObject(env, {
    ...SERVICE,
    metadata: { name: route.stableService, namespace },
    spec: { selector: { ...template, 'pod-template-hash': hashLabel }, ports },
  });
  await applyObject(env, {
    ...SERVICE,
    metadata: { name: route.canaryService, namespace },
    spec: { selector: { ...template, [LABEL.track]: suffix }, ports },
  });
}

async function currentPodTemplateHash(env: Env, dep: K8sObject): Promise<string | undefined> {
  const sets = await withRetries('list ReplicaSets', env.signal, () => replicaSetsOf(env.client, dep));
  const current = sets.find((rs) => revisionOf(rs) === revisionOf(dep)) ?? sets[0];
  return current?.metadata.labels?.['pod-template-hash'];
}

async function pointStableServiceAtCurrent(env: Env, base: string, route: Route): Promise<void> {
  const dep = await get(env, depRef(env.namespace, base));
  if (!dep) return;
  const hashLabel = await currentPodTemplateHash(env, dep);
  if (hashLabel) await mergePatch(env, svcRef(env.namespace, route.stableService), { spec: { selector: { 'pod-template-hash': hashLabel } } });
}

async function setWeights(env: Env, route: Route, weights: { stable: number; canary: number }): Promise<void> {
  const ref = { ...HTTPROUTE, namespace: env.namespace, name: route.name };
  const obj = await get(env, ref);
  if (!obj) throw new StageFailure(`HTTPRoute ${env.namespace}/${route.name} does not exist`, 'InvalidConfig');
  const rules = setRouteWeights((obj.spec as { rules?: unknown }).rules, { stable: route.stableService, canary: route.canaryService }, weights);
  if (!rules) throw new StageFailure(`HTTPRoute ${route.name} has no rule sending traffic to ${route.stableService} or ${route.canaryService}`, 'InvalidConfig');
  await mergePatch(env, ref, {
    metadata: { annotations: { [ANN.weight]: `${route.stableService}=${weights.stable},${route.canaryService}=${weights.canary}` } },
    spec: { rules },
  });
  env.progress.update({ weights }, `HTTPRoute ${route.name}: ${route.stableService} ${weights.stable}, ${route.canaryService} ${weights.canary}`);
}

/** All traffic back to the stable Deployment at full size; the canary to 0. */
async function abortCanary(env: Env, base: string, canaryName: string, total: number, route: Route | undefined, deadlineS: number): Promise<void> {
  if (route) await setWeights(env, route, { stable: 100, canary: 0 });
  await scale(env, env.namespace, base, total);
  await scale(env, env.namespace, canaryName, 0);
  try {
    await wait(env, [base], deadlineS, 'rollback');
  } catch (err) {
    if (!(err instanceof RolloutFailed)) throw err;
    throw new StageFailure(`rolled back, but the stable Deployment ${base} is not healthy either: ${err.message}`);
  }
}

// ── k8s-rollback ─────────────────────────────────────────────────────────────

export type RollbackRequest = { namespace: string; deployment: string; toRevision?: number; progressDeadlineSeconds: number };

/** Undoes the last deploy of `deployment` by the means of the strategy it used. */
export async function rollbackDeployment(env: Env, req: RollbackRequest): Promise<ExecutorResult> {
  const { namespace, progress } = env;
  const base = req.deployment;

  // Blue/green: a Service Pipewright switched for this app.
  const services = await withRetries('list Services', env.signal, () => env.client.list('v1', 'Service', namespace));
  const active = services.find((svc) => svc.metadata.annotations?.[ANN.base] === base && asColor(svc.metadata.annotations?.[ANN.activeColor]));
  if (active) {
    const live = asColor(active.metadata.annotations![ANN.activeColor])!;
    const previous = asColor(active.metadata.annotations?.[ANN.previousColor]);
    const adopted = active.metadata.annotations?.[ANN.previousDeployment];
    if (!previous && adopted) return rollbackToAdopted(env, req, active, live, adopted);
    if (!previous) throw new StageFailure(`${base} has only ever had one colour (${live}) live; there is nothing to go back to`);
    const prevName = colorDeploymentName(base, previous);
    const prevDep = await get(env, depRef(namespace, prevName));
    if (!prevDep) throw new StageFailure(`Deployment ${prevName} is gone; cannot go back to ${previous}`);
    const liveDep = await get(env, depRef(namespace, colorDeploymentName(base, live)));
    const replicas = Math.max(replicasOf(prevDep), liveDep ? replicasOf(liveDep) : 1, 1);
    progress.update({ phase: 'rolling back', strategy: 'blue-green', to: previous }, `bringing ${prevName} back (${replicas} replicas)`);
    if (replicasOf(prevDep) !== replicas) await scale(env, namespace, prevName, replicas);
    await wait(env, [prevName], req.progressDeadlineSeconds, `rollback to ${previous}`);
    await mergePatch(env, svcRef(namespace, active.metadata.name), {
      metadata: { annotations: { [ANN.activeColor]: previous, [ANN.previousColor]: live } },
      spec: { selector: { [LABEL.color]: previous } },
    });
    progress.log(`Service ${active.metadata.name} now selects ${previous}`);
    if (liveDep) await scale(env, namespace, liveDep.metadata.name, 0);
    const to = `colour ${previous} (${imagesOf(podTemplateOf(prevDep))})`;
    progress.update({ phase: 'complete', rolledBackTo: to });
    return { outputs: { rolledBackTo: to, strategy: 'blue-green' }, summary: `rolled back to ${to}; ${live} scaled to 0` };
  }

  // Canary or A/B split in progress (a promoted canary's Deployment is deleted; one left at 0 replicas is not in progress).
  for (const suffix of ['canary', 'b']) {
    const c = await get(env, depRef(namespace, `${base}-${suffix}`));
    if (c && replicasOf(c) > 0) {
      const total = Number(c.metadata.annotations?.[ANN.replicas] ?? '') || replicasOf(c);
      let route: Route | undefined;
      try {
        route = c.metadata.annotations?.['pipewright.dev/http-route'] ? (JSON.parse(c.metadata.annotations['pipewright.dev/http-route']) as Route) : undefined;
      } catch {
        route = undefined;
      }
      progress.update({ phase: 'rolling back', strategy: suffix === 'b' ? 'ab' : 'canary' }, `removing ${c.metadata.name}; ${base} gets all traffic`);
      await abortCanary(env, base, c.metadata.name, total, route, req.progressDeadlineSeconds);
      const stable = await get(env, depRef(namespace, base));
      const to = `stable ${base} (${stable ? imagesOf(podTemplateOf(stable)) : '?'})`;
      progress.update({ phase: 'complete', rolledBackTo: to });
      return { outputs: { rolledBackTo: to, strategy: suffix === 'b' ? 'ab' : 'canary' }, summary: `rolled back to ${to}` };
    }
  }

  // Rolling: the previous revision.
  const dep = await get(env, depRef(namespace, base));
  if (!dep) throw new StageFailure(`Deployment ${namespace}/${base} does not exist`);
  progress.update({ phase: 'rolling back', strategy: 'rolling' });
  const undo = await withRetries(`roll back Deployment ${base}`, env.signal, () => undoToRevision(env.client, dep, req.toRevision));
  if (!undo) {
    throw new StageFailure(req.toRevision ? `Deployment ${base} has no revision ${req.toRevision}` : `Deployment ${base} has no earlier revision`);
  }
  const to = `revision ${undo.revision} (${undo.images})`;
  progress.log(`rolling back ${base} to ${to}`);
  await wait(env, [base], req.progressDeadlineSeconds, 'rollback');
  progress.update({ phase: 'complete', rolledBackTo: to });
  return { outputs: { rolledBackTo: to, strategy: 'rolling' }, summary: `rolled back to ${to}` };
}

/** Blue/green back to the plain Deployment that was live before the first switch: scaled up, the active Service pinned to its pods again. */
async function rollbackToAdopted(env: Env, req: RollbackRequest, active: K8sObject, live: Color, adopted: string): Promise<ExecutorResult> {
  const { namespace, progress } = env;
  const base = req.deployment;
  const prevDep = await get(env, depRef(namespace, adopted));
  if (!prevDep) throw new StageFailure(`Deployment ${adopted} is gone; cannot go back to the version that was live before blue/green`);
  const liveDep = await get(env, depRef(namespace, colorDeploymentName(base, live)));
  const replicas = Math.max(replicasOf(prevDep), liveDep ? replicasOf(liveDep) : 1, 1);
  progress.update({ phase: 'rolling back', strategy: 'blue-green', to: adopted }, `bringing ${adopted} back (${replicas} replicas)`);
  if (replicasOf(prevDep) !== replicas) await scale(env, namespace, adopted, replicas);
  await wait(env, [adopted], req.progressDeadlineSeconds, `rollback to ${adopted}`);
  const hash = await currentPodTemplateHash(env, (await get(env, depRef(namespace, adopted))) ?? prevDep);
  if (!hash) throw new StageFailure(`could not find the ReplicaSet of Deployment ${adopted}`);
  await mergePatch(env, svcRef(namespace, active.metadata.name), {
    metadata: { annotations: { [ANN.activeColor]: null, [ANN.previousColor]: live, [ANN.previousDeployment]: null } },
    spec: { selector: { [LABEL.color]: null, [POD_TEMPLATE_HASH]: hash } },
  });
  progress.log(`Service ${active.metadata.name} now selects the pods of ${adopted} again`);
  if (liveDep) await scale(env, namespace, liveDep.metadata.name, 0);
  const to = `Deployment ${adopted} (${imagesOf(podTemplateOf(prevDep))})`;
  progress.update({ phase: 'complete', rolledBackTo: to });
  return { outputs: { rolledBackTo: to, strategy: 'blue-green' }, summary: `rolled back to ${to}; ${live} scaled to 0` };
}
