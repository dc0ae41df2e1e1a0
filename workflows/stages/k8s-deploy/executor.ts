/** Executor of `k8s-deploy` (Node only); the strategies live in workflows/k8s/deploy.ts. */
import { deploy } from '../../k8s/deploy';
import type { StageExecutor } from '../executor-types';
import { StageFailure } from '../executor-types';
import { checkDeployConfig, type K8sDeployConfig } from './definition';

export const executeK8sDeploy: StageExecutor<K8sDeployConfig> = async (config, ctx) => {
  const problems = checkDeployConfig(config);
  if (problems.length > 0) throw new StageFailure(problems.map((p) => `${p.path}: ${p.message}`).join('; '), 'InvalidConfig');
  try {
    return await deploy(config, ctx);
  } finally {
    await ctx.log.flush();
  }
};
