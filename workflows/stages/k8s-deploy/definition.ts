import { z } from 'zod';
import { connectionName, manifestsText, namespaceName, objectName, smokeTestSchema } from '../../k8s/config';
import { defineStage, type ConfigProblem } from '../types';

/** A canary step: send `weight` percent of the traffic to the new version, or wait `pause` seconds. */
export const canaryStepSchema = z.union([
  z.object({ weight: z.number().int().min(0).max(100) }).strict(),
  z.object({ pause: z.number().min(0).max(7 * 24 * 3600) }).strict(),
]);

/** Traffic split by Gateway API HTTPRoute weights (when the cluster serves HTTPRoute) instead of by replica ratio. */
export const httpRouteSchema = z.object({
  /** An HTTPRoute in the stage's namespace whose rules send traffic to `stableService`. */
  name: objectName,
  /** Service selecting the stable pods (created from the app's Service when missing). */
  stableService: objectName,
  /** Service selecting the canary pods (created by Pipewright when missing). */
  canaryService: objectName,
});

export const deployStrategySchema = z.discriminatedUnion('type', [
  /** Update the Deployment in place; Kubernetes replaces pods gradually. */
  z.object({ type: z.literal('rolling') }),
  /**
   * Two Deployments, `<name>-blue` and `<name>-green`. The new colour comes up
   * beside the live one, is smoke-tested through the preview Service, then the
   * active Service's selector switches to it; the old colour is scaled down
   * after a delay (kept until then for an instant rollback).
   */
  z.object({
    type: z.literal('blue-green'),
    /** Service that carries live traffic (its selector gets `pipewright.dev/color`). */
    activeService: objectName,
    /** Service that always selects the newest colour. Default `<activeService>-preview` (created from the active one). */
    previewService: objectName.optional(),
    /** Seconds the old colour keeps running after the switch; -1 keeps it running. */
    scaleDownDelaySeconds: z.number().int().min(-1).max(86_400).default(30),
    smokeTest: smokeTestSchema.optional(),
  }),
  /**
   * A `<name>-canary` Deployment beside the stable one, stepped through traffic
   * weights (replica ratio, or HTTPRoute weights) with pauses in between; then
   * the stable Deployment is updated and the canary removed. For a manual
   * decision between steps, end this stage with `promote: false` and put an
   * approval gate and a second k8s-deploy stage after it.
   */
  z.object({
    type: z.literal('canary'),
    steps: z.array(canaryStepSchema).min(1).max(50),
    httpRoute: httpRouteSchema.optional(),
    /** Update the stable Deployment and remove the canary after the last step. */
    promote: z.boolean().default(true),
    /** Checked after every weight step. */
    smokeTest: smokeTestSchema.optional(),
  }),
  /**
   * A fixed split between version A (the current Deployment) and version B
   * (`<name>-b`) for an experiment; the stage ends with both running. End the
   * experiment with another k8s-deploy (rolling) or a k8s-rollback.
   */
  z.object({
    type: z.literal('ab'),
    /** Percent of traffic for version B. */
    weightB: z.number().int().min(1).max(99).default(50),
    httpRoute: httpRouteSchema.optional(),
  }),
]);
export type DeployStrategy = z.infer<typeof deployStrategySchema>;

export const k8sDeployConfigSchema = z.object({
  connection: connectionName,
  namespace: namespaceName,
  /**
   * YAML documents with exactly one Deployment (the app) and anything it needs
   * (Services, ConfigMaps, an HTTPRoute, …), applied first …
   */
  manifests: manifestsText.optional(),
  /** … or just a new image for an existing Deployment. */
  deployment: objectName.optional(),
  image: z.string().min(1).max(1024).optional(),
  /** Container to update (default: the first one). */
  container: z.string().min(1).max(63).optional(),
  strategy: deployStrategySchema.default({ type: 'rolling' }),
  /** No progress for this long fails the rollout (set on the Deployment, enforced by Kubernetes). */
  progressDeadlineSeconds: z.number().int().min(1).max(86_400).default(600),
  /** Roll back by the strategy's own means when the rollout, the smoke test or a step fails. */
  autoRollback: z.boolean().default(true),
});
export type K8sDeployConfig = z.infer<typeof k8sDeployConfigSchema>;

export function checkDeployConfig(c: K8sDeployConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const hasManifests = Boolean(c.manifests?.trim());
  if (hasManifests && (c.image || c.deployment)) {
    problems.push({ path: 'image', message: 'give either manifests or a deployment and image, not both' });
  }
  if (!hasManifests && !(c.deployment && c.image)) {
    problems.push({ path: 'manifests', message: 'give the manifests to deploy, or a deployment name and an image' });
  }
  if (c.strategy.type === 'canary' && !c.strategy.steps.some((s) => 'weight' in s)) {
    problems.push({ path: 'strategy.steps', message: 'a canary needs at least one weight step' });
  }
  return problems;
}

export const k8sDeployStage = defineStage({
  kind: 'k8s-deploy',
  label: 'Deploy to Kubernetes',
  description: 'Roll out a Deployment: rolling, blue/green, canary in steps or an A/B split, with automatic rollback.',
  icon: '⎈',
  category: 'deploy',
  runtime: 'activity',
  configSchema: k8sDeployConfigSchema,
  defaults: {
    connection: '',
    namespace: 'default',
    deployment: 'web',
    image: 'nginx:1.27',
    strategy: { type: 'rolling' },
    progressDeadlineSeconds: 600,
    autoRollback: true,
  },
  outputs: { names: ['deployment', 'revision', 'image', 'color', 'weight', 'rolledBackTo'], dynamic: false },
  check: checkDeployConfig,
});
