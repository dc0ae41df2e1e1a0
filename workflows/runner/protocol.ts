/**
 * The runner ↔ control plane API: paths and message shapes, shared by the
 * runner's client (workflows/runner/client.ts) and the control plane's handler
 * (server/runner-api/handler.ts). Plain JSON over HTTP under `/api/runner/`.
 *
 * Runner calls carry `Authorization: Bearer <runner token>`; stage calls carry
 * the stage credential `begin` returned, and name the stage they are about
 * (checked against the credential's binding).
 */
import type { EnvironmentScope } from '../model/template';
import type { ClusterConnectionSecret, LogStream } from '../stages/executor-types';

export const RUNNER_API_PREFIX = '/api/runner/';

export type HeartbeatRequest = { version: string; host: string; labels: string[]; currentStage?: string | null };
export type HeartbeatResponse = {
  runnerId: string;
  name: string;
  /** Labels the admin registered (the runner may poll a subset of them). */
  labels: string[];
  /** Base of the runner task queues (`<base>`, `<base>:a,b`). */
  queueBase: string;
};

export type StageKey = { runId: string; nodeId: string; attempt: number };

export type BeginRequest = StageKey & { kind: string; activityId: string; activityAttempt: number };
export type BeginResponse = {
  credential: string;
  expiresAt: number;
  /**
   * What `stage/context` would answer, sent with the credential to save a round
   * trip. Its presence also says the control plane takes the last log chunks
   * with `stage/finish`. Absent from control planes older than both.
   */
  context?: StageContextResponse;
};

export type StageContextResponse = {
  pipelineId?: string;
  /** The plan node's config as drawn (environment references are resolved against it). */
  planConfig: Record<string, unknown>;
  /** Where this attempt's log continues (a new attempt appends after the earlier ones). */
  logOffset: number;
  environment?: EnvironmentScope;
  /** Why the bound environment could not be loaded (the stage fails with it). */
  environmentProblem?: string;
  /** The run is a rehearsal: the stage is rehearsed (runner/rehearsal.ts) instead of executed. */
  rehearsal?: boolean;
};

export type LogRequest = StageKey & { chunks: { stream: LogStream; offset: number; text: string }[] };
export type ProgressRequest = StageKey & { progress: Record<string, unknown> };
export type FinishRequest = StageKey & {
  /** The log's last chunks (stored before the status changes), when `begin` answered with a context. */
  chunks?: LogRequest['chunks'];
  status: 'succeeded' | 'failed' | 'cancelled';
  summary?: string;
  error?: string;
  outputs?: Record<string, string>;
};
export type ClusterResponse = ClusterConnectionSecret;
export type ArtifactPublishResponse = { digest: string; size: number; written: boolean };
export type ApiError = { error: string; type?: 'StageFailed' | 'StageTimeout' | 'InvalidConfig' };

/** Headers of an artifact download. */
export const ARTIFACT_HEADERS = { digest: 'x-pipewright-digest', stage: 'x-pipewright-stage', name: 'x-pipewright-name' } as const;
