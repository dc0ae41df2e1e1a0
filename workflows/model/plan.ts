/**
 * The execution plan: the compiled, immutable, fully-resolved form of a spec.
 *
 * A run stores the plan it ran and passes it to the interpreter workflow as its
 * input, so editing a pipeline never changes a run in flight. Parsed with this
 * schema before `workflow.start` (a trust boundary).
 */
import { z } from 'zod';
import { edgeConditionSchema, parameterSchema, type EdgeCondition } from './spec';

export const PLAN_VERSION = 1;

export const resolvedRetrySchema = z.object({
  maxAttempts: z.number().int().min(1),
  initialIntervalMs: z.number().min(0),
  backoffCoefficient: z.number().min(1),
  maxIntervalMs: z.number().min(0),
});
export type ResolvedRetry = z.infer<typeof resolvedRetrySchema>;

/** Whether an edge lets its stage run, given how the stage it comes from ended (for good: no attempt left). */
export function needMet(on: EdgeCondition, ended: string | undefined): boolean {
  return on === 'success' ? ended === 'succeeded' : on === 'failure' ? ended === 'failed' : ended === 'succeeded' || ended === 'failed';
}

/** How long a stage waits before its next attempt, after attempt `attempt` failed (the interpreter waits this long). */
export function retryDelayMs(retry: ResolvedRetry, attempt: number): number {
  return Math.min(retry.maxIntervalMs, retry.initialIntervalMs * retry.backoffCoefficient ** (attempt - 1));
}

export const gateRulesSchema = z.object({
  users: z.array(z.string()),
  groups: z.array(z.string()),
  quorum: z.number().int().min(1),
  allowTriggerer: z.boolean(),
  instructions: z.string(),
  /** 0 = no timeout. */
  timeoutMs: z.number().min(0),
  onTimeout: z.enum(['approve', 'reject']),
});
export type GateRules = z.infer<typeof gateRulesSchema>;

export const planNodeSchema = z.object({
  id: z.string(),
  kind: z.string(),
  name: z.string(),
  runtime: z.enum(['activity', 'timer', 'gate']),
  /** Config as drawn; `${{ … }}` references are resolved by the interpreter just before the stage runs. */
  config: z.record(z.string(), z.unknown()),
  /** Incoming edges: the node starts when all of them are satisfied. */
  needs: z.array(z.object({ from: z.string(), on: edgeConditionSchema })),
  /** True when some outgoing `failure`/`always` edge handles this node's failure (no stop-the-line). */
  failureHandled: z.boolean(),
  retry: resolvedRetrySchema,
  timeoutMs: z.number().min(1),
  gate: gateRulesSchema.optional(),
  /** Environment the stage is bound to (its `env.`/`secrets.` references are resolved by the worker from it). */
  environment: z.string().optional(),
  /** Runner labels (sorted, de-duplicated) for executing stages; absent = the default pool. */
  runsOn: z.array(z.string()).optional(),
});
export type PlanNode = z.infer<typeof planNodeSchema>;

export const executionPlanSchema = z.object({
  planVersion: z.literal(PLAN_VERSION),
  name: z.string(),
  /** sha256 of the canonical plan body (everything but this field). */
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  /** Nodes in topological order. */
  nodes: z.array(planNodeSchema),
  parameters: z.array(parameterSchema),
  /** 0 = no limit. */
  runTimeoutMs: z.number().min(0),
});
export type ExecutionPlan = z.infer<typeof executionPlanSchema>;
