/**
 * Config pieces shared by the Kubernetes stage kinds (pure: zod only, loaded by
 * the editor, the compiler and the workflow sandbox through the definitions).
 */
import { z } from 'zod';
import { LIMITS } from '../model/limits';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Name of a cluster connection an admin registered (Admin → Clusters). */
export const connectionName = z
  .string()
  .min(1, 'choose a cluster connection')
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$/, 'lower-case letters, digits, "-", "_" and "."');

export const namespaceName = z.string().min(1, 'enter a namespace').max(63).regex(DNS_LABEL, 'not a valid namespace name');

export const objectName = z.string().min(1).max(253).regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'not a valid object name');

/** Multi-document YAML. */
export const manifestsText = z.string().max(LIMITS.valueLength);

export const smokeTestSchema = z.object({
  /** URL requested until it answers `expectStatus` (e.g. the preview Service through an ingress). */
  url: z.string().min(1).max(2048),
  expectStatus: z.number().int().min(100).max(599).default(200),
  timeoutSeconds: z.number().min(1).max(3600).default(60),
  intervalSeconds: z.number().min(0.1).max(300).default(2),
});
