/**
 * A run's execution plan, parsed once per process: the run page, the runs
 * lists and the live hub (embeds) read it often, and a run's plan never changes.
 * Kept apart from runs.ts so the live hub can use it without importing the
 * runs service (which imports the live hub).
 */
import { executionPlanSchema, type ExecutionPlan } from '../../workflows/model';

/** Parsed plans by run id. */
const planCache = new Map<string, { hash: string; plan: ExecutionPlan }>();
const PLAN_CACHE_SIZE = 500;

/** A run's execution plan, parsed once per process. */
export function parsedPlan(runId: string, hash: string, raw: unknown): ExecutionPlan {
  const hit = planCache.get(runId);
  if (hit && hit.hash === hash) return hit.plan;
  const plan = executionPlanSchema.parse(raw);
  if (planCache.size >= PLAN_CACHE_SIZE) planCache.delete(planCache.keys().next().value!);
  planCache.set(runId, { hash, plan });
  return plan;
}
