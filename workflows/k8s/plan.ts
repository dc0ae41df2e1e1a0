/**
 * The pure parts of the rollout strategies: no I/O, unit-tested on their own.
 *
 * - `rolloutStatus`: where a Deployment's rollout is (the rules of
 *   `kubectl rollout status`, plus the progress-deadline condition).
 * - Blue/green: colours, and the Deployment of one colour derived from the
 *   user's Deployment (name suffix, colour label in selector and template).
 * - Canary and A/B: the replica split of a traffic weight, with or without a
 *   router (HTTPRoute weights), and the canary Deployment derived the same way.
 * - `templateHash`: a content hash of a pod template, kept in an annotation so
 *   a strategy can tell "this version is already deployed" (idempotent runs).
 */
import { createHash } from 'node:crypto';
import type { K8sObject } from './client';
import { ANN, LABEL, canonicalJson, isObject } from './manifests';

// ── Rollout status ───────────────────────────────────────────────────────────

export type RolloutStatus = {
  phase: 'progressing' | 'complete' | 'failed';
  message: string;
  replicas: number;
  updated: number;
  ready: number;
  available: number;
  /** Replicas still running an older template. */
  old: number;
};

type DeploymentStatus = {
  observedGeneration?: number;
  replicas?: number;
  updatedReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  conditions?: { type: string; status: string; reason?: string; message?: string }[];
};

export function rolloutStatus(dep: K8sObject): RolloutStatus {
  const spec = (dep.spec ?? {}) as { replicas?: number };
  const st = (dep.status ?? {}) as DeploymentStatus;
  const want = spec.replicas ?? 1;
  const counts = {
    replicas: want,
    updated: st.updatedReplicas ?? 0,
    ready: st.readyReplicas ?? 0,
    available: st.availableReplicas ?? 0,
    old: Math.max(0, (st.replicas ?? 0) - (st.updatedReplicas ?? 0)),
  };
  const observed = (st.observedGeneration ?? 0) >= (dep.metadata.generation ?? 0);
  if (!observed) return { phase: 'progressing', message: 'waiting for the controller to observe the new spec', ...counts };
  const progressing = st.conditions?.find((c) => c.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    return { phase: 'failed', message: `exceeded its progress deadline (${progressing.message ?? 'no progress'})`, ...counts };
  }
  if (counts.updated < want) return { phase: 'progressing', message: `${counts.updated} of ${want} replicas updated`, ...counts };
  if (counts.old > 0) return { phase: 'progressing', message: `${counts.old} old replicas pending termination`, ...counts };
  if (counts.available < counts.updated) {
    return { phase: 'progressing', message: `${counts.available} of ${counts.updated} updated replicas available`, ...counts };
  }
  return { phase: 'complete', message: `${counts.available} of ${want} replicas available`, ...counts };
}

// ── Templates ────────────────────────────────────────────────────────────────

/** Hash of a pod template without the labels Pipewright adds itself. */
export function templateHash(template: unknown): string {
  const t = structuredClone(template) as { metadata?: { labels?: Record<string, string>; creationTimestamp?: unknown } };
  if (t?.metadata?.labels) {
    delete t.metadata.labels[LABEL.color];
    delete t.metadata.labels[LABEL.track];
    delete t.metadata.labels['pod-template-hash'];
  }
  if (t?.metadata) delete t.metadata.creationTimestamp;
  return createHash('sha256').update(canonicalJson(t)).digest('hex').slice(0, 16);
}

export function podTemplateOf(dep: K8sObject): Record<string, unknown> {
  const t = (dep.spec as { template?: unknown } | undefined)?.template;
  if (!isObject(t)) throw new Error(`Deployment ${dep.metadata.name} has no spec.template`);
  return t;
}

export function replicasOf(dep: K8sObject): number {
  const r = (dep.spec as { replicas?: unknown } | undefined)?.replicas;
  return typeof r === 'number' ? r : 1;
}

export function matchLabelsOf(dep: K8sObject): Record<string, string> {
  const sel = (dep.spec as { selector?: { matchLabels?: Record<string, string> } } | undefined)?.selector;
  return { ...(sel?.matchLabels ?? {}) };
}

export function labelSelector(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/**
 * A Deployment derived from the user's one: another name, one more label in
 * its selector and pod template (`key=value`), and the template hash annotation.
 */
export function deriveDeployment(dep: K8sObject, a: { name: string; labelKey: string; labelValue: string; replicas?: number; annotations?: Record<string, string> }): K8sObject {
  const copy = structuredClone(dep);
  const spec = (copy.spec ??= {}) as Record<string, unknown> & {
    selector?: { matchLabels?: Record<string, string> };
    template?: { metadata?: { labels?: Record<string, string> } };
    replicas?: number;
  };
  const hash = templateHash(spec.template);
  spec.selector = { ...(spec.selector ?? {}), matchLabels: { ...(spec.selector?.matchLabels ?? {}), [a.labelKey]: a.labelValue } };
  spec.template ??= {};
  spec.template.metadata = { ...(spec.template.metadata ?? {}), labels: { ...(spec.template.metadata?.labels ?? {}), [a.labelKey]: a.labelValue } };
  if (a.replicas !== undefined) spec.replicas = a.replicas;
  copy.metadata = {
    ...copy.metadata,
    name: a.name,
    labels: { ...(copy.metadata.labels ?? {}), [a.labelKey]: a.labelValue },
    annotations: { ...(copy.metadata.annotations ?? {}), [ANN.templateHash]: hash, ...(a.annotations ?? {}) },
  };
  return copy;
}

// ── Blue/green ───────────────────────────────────────────────────────────────

export type Color = 'blue' | 'green';
export const COLORS: readonly Color[] = ['blue', 'green'];

export function otherColor(c: Color | undefined): Color {
  return c === 'blue' ? 'green' : 'blue';
}

export function asColor(v: unknown): Color | undefined {
  return v === 'blue' || v === 'green' ? v : undefined;
}

export function colorDeploymentName(base: string, color: Color): string {
  return `${base}-${color}`;
}

// ── Canary and A/B ───────────────────────────────────────────────────────────

export type CanaryStep = { weight: number } | { pause: number };

export type Split = {
  /** Replicas of the canary (new) version. */
  canary: number;
  /** Replicas of the stable version. */
  stable: number;
  /** Traffic weights when a router splits traffic (HTTPRoute); undefined for a replica-ratio split. */
  routeWeights?: { stable: number; canary: number };
  /** The share of traffic the split actually gives the canary, in percent. */
  effectiveWeight: number;
};

/**
 * The replicas (and router weights) for a canary weight.
 *
 * - Replica ratio (no router): traffic follows ready pods, so the total stays
 *   `total` and the canary gets round(total × weight / 100), at least 1 for a
 *   weight above 0 and at most total − 1 below 100. The effective weight can
 *   differ from the asked one for small totals: it is reported.
 * - Router (HTTPRoute): the router splits traffic exactly; the stable version
 *   keeps all its replicas and the canary gets ceil(total × weight / 100), at
 *   least 1 for a weight above 0.
 */
export function splitFor(total: number, weight: number, routed: boolean): Split {
  const w = Math.min(100, Math.max(0, weight));
  if (routed) {
    const canary = w === 0 ? 0 : Math.max(1, Math.ceil((total * w) / 100));
    return { canary, stable: w === 100 ? 0 : total, routeWeights: { stable: 100 - w, canary: w }, effectiveWeight: w };
  }
  let canary = Math.round((total * w) / 100);
  if (w > 0 && canary === 0) canary = 1;
  if (w < 100 && canary >= total) canary = Math.max(0, total - 1);
  if (w === 100) canary = total;
  const stable = total - canary;
  const effectiveWeight = total === 0 ? 0 : Math.round((canary / total) * 1000) / 10;
  return { canary, stable, effectiveWeight };
}

/** Checks a step list; returns problems (empty when fine). */
export function checkSteps(steps: CanaryStep[]): string[] {
  const problems: string[] = [];
  if (!steps.some((s) => 'weight' in s)) problems.push('a canary needs at least one weight step');
  steps.forEach((s, i) => {
    if ('weight' in s && (s.weight < 0 || s.weight > 100)) problems.push(`step ${i + 1}: weight must be between 0 and 100`);
    if ('pause' in s && s.pause < 0) problems.push(`step ${i + 1}: pause must not be negative`);
  });
  return problems;
}

/** One line describing where a canary is, for the run page. */
export function describeSplit(step: number, steps: number, split: Split): string {
  const traffic = split.routeWeights
    ? `route weights stable ${split.routeWeights.stable} / canary ${split.routeWeights.canary}`
    : `~${split.effectiveWeight}% of pods`;
  return `step ${step}/${steps}: canary ${split.canary} replicas, stable ${split.stable} (${traffic})`;
}

/**
 * HTTPRoute rules with the weights of the two backends set. Rules that name
 * neither backend are left as they are; returns undefined when no rule names
 * either (the route does not route this app).
 */
export function setRouteWeights(
  rules: unknown,
  services: { stable: string; canary: string },
  weights: { stable: number; canary: number },
): unknown[] | undefined {
  if (!Array.isArray(rules)) return undefined;
  let touched = false;
  const out = rules.map((rule) => {
    if (!isObject(rule) || !Array.isArray(rule.backendRefs)) return rule;
    const refs = rule.backendRefs as Record<string, unknown>[];
    const names = refs.map((r) => r.name);
    if (!names.includes(services.stable) && !names.includes(services.canary)) return rule;
    touched = true;
    const template = refs.find((r) => r.name === services.stable) ?? refs[0] ?? {};
    const others = refs.filter((r) => r.name !== services.stable && r.name !== services.canary);
    const backendRefs = [
      ...others,
      { ...template, name: services.stable, weight: weights.stable },
      { ...template, name: services.canary, weight: weights.canary },
    ];
    return { ...rule, backendRefs };
  });
  return touched ? out : undefined;
}
