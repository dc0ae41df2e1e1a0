/**
 * Every stage kind, in palette order. Pure: safe for the browser, the API and
 * the compiler. To add a kind, add its folder and one line here.
 */
import { approvalStage } from './approval/definition';
import { commandStage } from './command/definition';
import { httpCheckStage } from './http-check/definition';
import { k8sApplyStage } from './k8s-apply/definition';
import { k8sDeployStage } from './k8s-deploy/definition';
import { k8sRollbackStage } from './k8s-rollback/definition';
import type { StageDefinition } from './types';
import { waitStage } from './wait/definition';
import { webhookStage } from './webhook/definition';

export const STAGE_DEFINITIONS = [
  commandStage,
  httpCheckStage,
  approvalStage,
  waitStage,
  webhookStage,
  k8sApplyStage,
  k8sDeployStage,
  k8sRollbackStage,
] as const;

const byKind = new Map<string, StageDefinition>(
  STAGE_DEFINITIONS.map((d) => [d.kind, d as unknown as StageDefinition]),
);

export function getStageDefinition(kind: string): StageDefinition | undefined {
  return byKind.get(kind);
}

export const STAGE_KINDS = STAGE_DEFINITIONS.map((d) => d.kind);
