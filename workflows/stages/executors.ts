/**
 * Stage kinds that run on a worker, with the schema their config is parsed
 * with. Node only: never import this from workflow code or the browser.
 * To add a kind with an executor, add one line here.
 */
import type { z } from 'zod';
import { commandConfigSchema } from './command/definition';
import { executeCommand } from './command/executor';
import type { StageExecutor } from './executor-types';
import { httpCheckConfigSchema } from './http-check/definition';
import { executeHttpCheck } from './http-check/executor';
import { k8sApplyConfigSchema } from './k8s-apply/definition';
import { executeK8sApply } from './k8s-apply/executor';
import { k8sDeployConfigSchema } from './k8s-deploy/definition';
import { executeK8sDeploy } from './k8s-deploy/executor';
import { k8sRollbackConfigSchema } from './k8s-rollback/definition';
import { executeK8sRollback } from './k8s-rollback/executor';
import { webhookConfigSchema } from './webhook/definition';
import { executeWebhook } from './webhook/executor';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each entry pairs a schema with the executor of its own parsed type
export type ExecutorEntry = { schema: z.ZodType; execute: StageExecutor<any> };

export const EXECUTORS: Record<string, ExecutorEntry> = {
  command: { schema: commandConfigSchema, execute: executeCommand },
  'http-check': { schema: httpCheckConfigSchema, execute: executeHttpCheck },
  webhook: { schema: webhookConfigSchema, execute: executeWebhook },
  'k8s-apply': { schema: k8sApplyConfigSchema, execute: executeK8sApply },
  'k8s-deploy': { schema: k8sDeployConfigSchema, execute: executeK8sDeploy },
  'k8s-rollback': { schema: k8sRollbackConfigSchema, execute: executeK8sRollback },
};

/** The executor of a kind, or undefined for kinds that do not run on a worker (approval, wait). */
export function getExecutor(kind: string): ExecutorEntry | undefined {
  return Object.hasOwn(EXECUTORS, kind) ? EXECUTORS[kind] : undefined;
}
