/** Entry point of the workflow bundle: every workflow type the worker serves. */
export { pipelineRun } from './interpreter';
export { scheduledTrigger } from './scheduled-trigger';
export { queuedTrigger } from './queued-trigger';
