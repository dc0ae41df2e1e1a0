/**
 * What "Roll back" on a k8s-deploy stage aims at (pure: used by the run page
 * data and by the rollback service, server/services/k8s-rollback.ts).
 */
import { TRPCError } from '@trpc/server';
import { resolveTemplates } from '../../workflows/model/template';

/** The node id of the one stage of a rollback run. */
export const ROLLBACK_NODE_ID = 'rollback';
/** Id of the approval gate before it, when the environment requires one. */
export const ROLLBACK_GATE_ID = 'approve-rollback';

export type RollbackTarget = {
  connection: string;
  namespace: string;
  deployment: string;
  strategy: string;
  progressDeadlineSeconds: number;
};

const refuse = (message: string) => new TRPCError({ code: 'BAD_REQUEST', message });

/**
 * What a rollback of a deploy stage would aim at, from the stage's plan config
 * (templates resolved with the run's parameters and stage outputs) and its
 * outputs. Pure; throws a readable refusal when the stage cannot be rolled back.
 */
export function rollbackTarget(
  stage: { kind: string; config: Record<string, unknown>; status: string; outputs: Record<string, string> },
  scope: { params: Record<string, string | number | boolean>; outputs: Record<string, Record<string, string>> },
): RollbackTarget {
  if (stage.kind !== 'k8s-deploy') throw refuse('Only a "Deploy to Kubernetes" stage can be rolled back.');
  if (stage.status !== 'succeeded' && stage.status !== 'failed') {
    throw refuse(`Only a succeeded or failed deploy can be rolled back; this stage is ${stage.status}.`);
  }
  if (stage.status === 'failed' && stage.outputs.rolledBackTo) {
    throw refuse(`This deploy was already rolled back automatically (to ${stage.outputs.rolledBackTo}).`);
  }
  const config = resolveTemplates(stage.config, scope);
  const str = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : undefined);
  const strategy = (config.strategy as { type?: unknown } | undefined)?.type;
  const target = {
    connection: str(config.connection),
    namespace: str(config.namespace),
    deployment: str(stage.outputs.deployment) ?? str(config.deployment),
    strategy: typeof strategy === 'string' ? strategy : 'rolling',
    progressDeadlineSeconds: typeof config.progressDeadlineSeconds === 'number' ? config.progressDeadlineSeconds : 600,
  };
  if (!target.connection || !target.namespace || !target.deployment) {
    throw refuse('This deploy stage does not name its cluster connection, namespace and Deployment, so there is nothing to roll back to.');
  }
  return target as RollbackTarget;
}

/** What a rollback returns to, in words (for the confirmation and the run). */
export function rollbackReturnsTo(strategy: string): string {
  switch (strategy) {
    case 'blue-green':
      return 'the version live before it (the previous colour, or the Deployment its first blue/green deploy took over)';
    case 'canary':
    case 'ab':
      return 'the stable Deployment, with all the traffic';
    default:
      return 'the previous revision';
  }
}

/** `rollbackTarget` without throwing: the target with what it returns to, or why there is none. */
export function describeRollback(
  ...args: Parameters<typeof rollbackTarget>
): { ok: true; target: RollbackTarget; returnsTo: string } | { ok: false; reason: string } {
  try {
    const target = rollbackTarget(...args);
    return { ok: true, target, returnsTo: rollbackReturnsTo(target.strategy) };
  } catch (err) {
    return { ok: false, reason: err instanceof Error ? err.message : String(err) };
  }
}
