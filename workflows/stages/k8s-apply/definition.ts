import { z } from 'zod';
import { connectionName, manifestsText, namespaceName } from '../../k8s/config';
import { defineStage } from '../types';

export const k8sApplyConfigSchema = z.object({
  /** Cluster connection registered by an admin. */
  connection: connectionName,
  /** Namespace for objects that do not name one. */
  namespace: namespaceName,
  /** One or more YAML documents (`---`), applied in order with server-side apply (field manager `pipewright`). */
  manifests: manifestsText.min(1, 'paste the manifests to apply'),
  /** Ask the API server to validate everything without changing anything. */
  dryRun: z.boolean().default(false),
});
export type K8sApplyConfig = z.infer<typeof k8sApplyConfigSchema>;

export const k8sApplyStage = defineStage({
  kind: 'k8s-apply',
  label: 'Apply to Kubernetes',
  description: 'Server-side apply of YAML manifests to a cluster; idempotent, annotated with the pipeline, run and stage.',
  icon: '⎈',
  category: 'deploy',
  runtime: 'activity',
  configSchema: k8sApplyConfigSchema,
  defaults: {
    connection: '',
    namespace: 'default',
    manifests: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: example\ndata:\n  greeting: hello\n',
    dryRun: false,
  },
  outputs: { names: ['applied', 'objects'], dynamic: false },
});
