/**
 * A Kubernetes stage's heartbeat details (stage_runs.progress, see
 * workflows/k8s/deploy.ts) as the run page draws them: ready/updated/available
 * per Deployment, the canary step and the traffic split. Pure; tolerant of
 * missing or foreign fields (anything unexpected is left out).
 */

export type RolloutDeployment = { name: string; replicas: number; ready: number; updated: number; available: number };
export type RolloutProgressView = {
  phase: string | null;
  deployments: RolloutDeployment[];
  /** 1-based step and the number of steps (canary). */
  step: { n: number; of: number } | null;
  /** Traffic split in percent: HTTPRoute weights, else the replica ratio. */
  weights: { stable: number; canary: number; by: 'route' | 'replicas' } | null;
};

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const obj = (v: unknown): Record<string, unknown> | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);

export function rolloutProgressView(progress: unknown): RolloutProgressView | null {
  const p = obj(progress);
  if (!p) return null;
  const deployments: RolloutDeployment[] = [];
  for (const [name, raw] of Object.entries(obj(p.rollout) ?? {})) {
    const d = obj(raw);
    const replicas = num(d?.replicas);
    if (replicas === undefined) continue;
    deployments.push({ name, replicas, ready: num(d?.ready) ?? 0, updated: num(d?.updated) ?? 0, available: num(d?.available) ?? 0 });
  }
  const stepIndex = num(p.step);
  const steps = num(p.steps);
  const step = stepIndex !== undefined && steps !== undefined && steps > 0 ? { n: Math.min(stepIndex + 1, steps), of: steps } : null;
  const route = obj(p.weights);
  const routeStable = num(route?.stable);
  const routeCanary = num(route?.canary);
  const effective = num(p.effectiveWeight);
  const weights =
    routeStable !== undefined && routeCanary !== undefined
      ? { stable: routeStable, canary: routeCanary, by: 'route' as const }
      : effective !== undefined
        ? { stable: 100 - effective, canary: effective, by: 'replicas' as const }
        : null;
  const phase = typeof p.phase === 'string' ? p.phase : null;
  if (!phase && deployments.length === 0 && !step && !weights) return null;
  return { phase, deployments, step, weights };
}
