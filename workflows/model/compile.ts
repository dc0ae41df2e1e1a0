/**
 * The compiler: spec → immutable ExecutionPlan. Pure and deterministic: the same
 * spec always gives the same plan and the same hash.
 */
import { getStageDefinition } from '../stages/registry';
import { contentHash } from './canonical';
import { PLAN_VERSION, type ExecutionPlan, type PlanNode, type ResolvedRetry } from './plan';
import { normaliseLabels } from './runners';
import type { PipelineSpec, RetryPolicySpec } from './spec';
import { validatePipeline, type ValidationIssue } from './validate';

/** Thrown by `compilePipeline` when the spec has errors; carries the issues to show. */
export class PipelineInvalidError extends Error {
  constructor(readonly issues: ValidationIssue[]) {
    super(`the pipeline has ${issues.length} problem(s): ${issues.slice(0, 3).map((i) => i.message).join('; ')}`);
    this.name = 'PipelineInvalidError';
  }
}

const RETRY_DEFAULTS = { maxAttempts: 1, initialIntervalSeconds: 5, backoffCoefficient: 2, maxIntervalSeconds: 300 };

function resolveRetry(stage: RetryPolicySpec | undefined, pipeline: RetryPolicySpec): ResolvedRetry {
  const r = { ...RETRY_DEFAULTS, ...stripUndefined(pipeline), ...stripUndefined(stage ?? {}) };
  return {
    maxAttempts: r.maxAttempts,
    initialIntervalMs: Math.round(r.initialIntervalSeconds * 1000),
    backoffCoefficient: r.backoffCoefficient,
    maxIntervalMs: Math.round(Math.max(r.maxIntervalSeconds, r.initialIntervalSeconds) * 1000),
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Validates and compiles a pipeline document.
 * @throws PipelineInvalidError when the document has errors (warnings are fine).
 */
export function compilePipeline(input: unknown): ExecutionPlan {
  const { spec, issues, ok } = validatePipeline(input);
  if (!ok || !spec) throw new PipelineInvalidError(issues.filter((i) => i.severity === 'error'));
  return compileValidSpec(spec);
}

export type CompileOptions = {
  /**
   * Environments whose protection requires an approval gate: their gates never
   * let the person who started the run approve, whatever `allowTriggerer` says
   * (the workflow's own validator then refuses that person too).
   */
  gatedEnvironments?: readonly string[];
};

/** Compiles a spec that `validatePipeline` accepted. */
export function compileValidSpec(spec: PipelineSpec, options: CompileOptions = {}): ExecutionPlan {
  const gated = new Set(options.gatedEnvironments ?? []);
  const byId = new Map(spec.nodes.map((n) => [n.id, n]));
  const needs = new Map<string, PlanNode['needs']>(spec.nodes.map((n) => [n.id, []]));
  const handled = new Set<string>();
  const outgoing = new Map<string, string[]>(spec.nodes.map((n) => [n.id, []]));
  for (const e of spec.edges) {
    needs.get(e.to)!.push({ from: e.from, on: e.on });
    outgoing.get(e.from)!.push(e.to);
    if (e.on !== 'success') handled.add(e.from);
  }
  // Topological order (Kahn), deterministic: roots in drawing order, then edge order.
  const position = new Map(spec.nodes.map((n, i) => [n.id, i]));
  const indegree = new Map(spec.nodes.map((n) => [n.id, needs.get(n.id)!.length]));
  const ready = spec.nodes.filter((n) => indegree.get(n.id) === 0).map((n) => n.id);
  const order: string[] = [];
  for (let head = 0; head < ready.length; head++) {
    const id = ready[head]!;
    order.push(id);
    for (const next of outgoing.get(id)!) {
      const d = indegree.get(next)! - 1;
      indegree.set(next, d);
      if (d === 0) ready.push(next);
    }
  }

  const nodes: PlanNode[] = order.map((id) => {
    const node = byId.get(id)!;
    const def = getStageDefinition(node.kind)!;
    const config = def.configSchema.parse(node.config);
    const planNode: PlanNode = {
      id,
      kind: node.kind,
      name: node.name,
      runtime: def.runtime,
      config,
      needs: needs.get(id)!.slice().sort((a, b) => position.get(a.from)! - position.get(b.from)!),
      failureHandled: handled.has(id),
      retry: resolveRetry(node.retry, spec.settings.defaultRetry),
      timeoutMs: (node.timeoutSeconds ?? spec.settings.stageTimeoutSeconds) * 1000,
    };
    // Only when set, so plans (and their hashes) of unbound pipelines stay as they were.
    if (node.environment) planNode.environment = node.environment;
    if (def.runtime === 'activity' && node.runsOn && node.runsOn.length > 0) planNode.runsOn = normaliseLabels(node.runsOn);
    if (def.runtime === 'gate') {
      const c = config as {
        users: string[];
        groups: string[];
        quorum: number;
        allowTriggerer: boolean;
        instructions: string;
        timeoutSeconds: number;
        onTimeout: 'approve' | 'reject';
      };
      planNode.gate = {
        users: c.users,
        groups: c.groups,
        quorum: c.quorum,
        allowTriggerer: c.allowTriggerer && !(node.environment && gated.has(node.environment)),
        instructions: c.instructions,
        timeoutMs: c.timeoutSeconds * 1000,
        onTimeout: c.onTimeout,
      };
    }
    return planNode;
  });

  const body: Omit<ExecutionPlan, 'hash'> = {
    planVersion: PLAN_VERSION,
    name: spec.name,
    nodes,
    parameters: spec.parameters,
    runTimeoutMs: spec.settings.runTimeoutSeconds * 1000,
  };
  return { ...body, hash: contentHash(body) };
}
