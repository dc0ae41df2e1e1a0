import { z } from 'zod';
import { connectionName, namespaceName, objectName } from '../../k8s/config';
import { defineStage } from '../types';

export const k8sRollbackConfigSchema = z.object({
  connection: connectionName,
  namespace: namespaceName,
  /**
   * The app's Deployment name as given to k8s-deploy. The stage finds what the
   * last deploy did: blue/green → the previous colour goes live again; a
   * canary or A/B split → the new version is removed and the stable one gets
   * all traffic; rolling → the previous revision.
   */
  deployment: objectName,
  /** Rolling only: go back to this revision instead of the previous one. */
  toRevision: z.number().int().min(1).optional(),
  /** Limit for the rollback's own rollout. */
  progressDeadlineSeconds: z.number().int().min(1).max(86_400).default(600),
});
export type K8sRollbackConfig = z.infer<typeof k8sRollbackConfigSchema>;

export const k8sRollbackStage = defineStage({
  kind: 'k8s-rollback',
  label: 'Roll back on Kubernetes',
  description: 'Return a Deployment to its previous revision, or the previous live colour, or end a canary.',
  icon: '↶',
  category: 'deploy',
  runtime: 'activity',
  configSchema: k8sRollbackConfigSchema,
  defaults: { connection: '', namespace: 'default', deployment: 'web', progressDeadlineSeconds: 600 },
  outputs: { names: ['rolledBackTo', 'strategy'], dynamic: false },
});
