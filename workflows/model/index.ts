/** The pipeline model: import from here in the editor, the API and the worker. */
export * from './spec';
export * from './plan';
export * from './limits';
export * from './template';
export * from './validate';
export * from './compile';
export * from './runners';
export * from './approvers';
export * from './run-status';
export { canonicalJson, contentHash } from './canonical';
export { STAGE_DEFINITIONS, STAGE_KINDS, getStageDefinition } from '../stages/registry';
export type { StageDefinition, StageCategory, StageRuntime } from '../stages/types';
export * from './protection';
export * from './shell-env';
export * from './depth';
