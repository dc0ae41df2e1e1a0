/** Executor of `k8s-rollback` (Node only): undo the last deploy by the means of the strategy it used. */
import { openClient, resumeState, rollbackDeployment, runIds } from '../../k8s/deploy';
import { toStageError } from '../../k8s/errors';
import { Progress, RolloutFailed } from '../../k8s/rollout';
import type { StageExecutor } from '../executor-types';
import { StageFailure } from '../executor-types';
import type { K8sRollbackConfig } from './definition';

export const executeK8sRollback: StageExecutor<K8sRollbackConfig> = async (config, ctx) => {
  const progress = new Progress(ctx, { kind: 'k8s-rollback', phase: 'starting' });
  try {
    const client = await openClient(ctx, config.connection, config.namespace);
    const env = {
      client,
      ctx,
      namespace: config.namespace,
      ids: runIds(ctx),
      progress,
      resume: resumeState(ctx, 'k8s-rollback'),
      signal: ctx.signal,
    };
    return await rollbackDeployment(env, config);
  } catch (err) {
    if (err instanceof RolloutFailed) throw new StageFailure(`rollback failed: ${err.message}`);
    throw toStageError(err, 'k8s-rollback');
  } finally {
    progress.stop();
    await ctx.log.flush();
  }
};
