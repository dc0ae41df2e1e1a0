/**
 * The live state of a run and the messages the API exchanges with the
 * interpreter workflow (query, updates). Imported by the workflow and by the
 * API, so both agree on names and shapes.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { ExecutionPlan } from './model/plan';

export type StageStatus = 'pending' | 'running' | 'waiting' | 'succeeded' | 'failed' | 'skipped' | 'cancelled';
export type RunStatus = 'running' | 'succeeded' | 'failed' | 'cancelled';

export type Vote = {
  userId: string;
  userName: string;
  decision: 'approve' | 'reject';
  comment: string;
  at: number;
};

export type GateState = {
  status: 'waiting' | 'approved' | 'rejected' | 'cancelled';
  votes: Vote[];
  waitingSince: number;
  /** When the timeout applies its default decision (undefined = never). */
  deadlineAt?: number;
  decidedAt?: number;
  /** A user name, or `timeout`. */
  decidedBy?: string;
};

export type StageState = {
  status: StageStatus;
  /** User-level attempt number (0 = not started). */
  attempt: number;
  startedAt?: number;
  endedAt?: number;
  error?: string;
  outputs: Record<string, string>;
  gate?: GateState;
  /** Set when the stage was not executed but reused from an earlier run (`RunInput.reused`): that run's id. */
  reusedFrom?: string;
  /** Why a stage was skipped without being considered (`RunInput.omitted`), e.g. "not part of this promotion". */
  skipReason?: string;
};

export type RunState = {
  runId: string;
  status: RunStatus;
  startedAt: number;
  endedAt?: number;
  stages: Record<string, StageState>;
  cancelledBy?: string;
  error?: string;
};

/** Input of the interpreter workflow. */
export type RunInput = {
  runId: string;
  pipelineId: string;
  plan: ExecutionPlan;
  params: Record<string, string | number | boolean>;
  /** User id of whoever started the run (or `schedule:…`). */
  triggeredBy: string;
  /** Activity heartbeat timeout in ms: how fast a lost worker's stage is retried. */
  heartbeatTimeoutMs?: number;
  /** How long a stage may wait for a runner with its labels before it fails, in ms (absent: 10 minutes). */
  runnerWaitTimeoutMs?: number;
  /**
   * Nodes not executed in this run but reused from an earlier one: they are
   * succeeded at once with these outputs (visible to `${{ stages.<id>.outputs.x }}`
   * as if they had run), and their dependents proceed normally.
   */
  reused?: Record<string, ReusedStage>;
  /**
   * Nodes left out of this run: skipped at once with `omittedReason`; normal edge
   * semantics then apply to their dependents (success-dependents are skipped too).
   */
  omitted?: string[];
  /** Reason shown on omitted stages. Default "not part of this run". */
  omittedReason?: string;
  /**
   * Hex Ed25519 public key of the control plane (workflows/decision-signature.ts):
   * when present, the `decide` and `cancelRun` updates must be signed with its
   * private key for this run. Absent on runs started before signing existed,
   * which keep accepting unsigned updates.
   */
  decisionKey?: string;
};

/** A stage of an earlier run whose result a new run takes over instead of executing it. */
export type ReusedStage = { fromRunId: string; outputs: Record<string, string> };

/** A decision on a gate, as the API sends it after authenticating the person. */
export type DecideInput = {
  gateId: string;
  userId: string;
  userName: string;
  /** Groups of the person, resolved by the API from the app database. */
  groups: string[];
  decision: 'approve' | 'reject';
  comment: string;
  /** When the control plane signed it (ms since epoch). */
  issuedAt?: number;
  /** Hex Ed25519 signature of `decisionMessage(runId, …)`; required when the run has a `decisionKey`. */
  signature?: string;
};

export type DecideResult = {
  gateStatus: GateState['status'];
  approvals: number;
  quorum: number;
};

export type CancelInput = {
  userId: string;
  userName: string;
  reason?: string;
  /** When the control plane signed it (ms since epoch). */
  issuedAt?: number;
  /** Hex Ed25519 signature of `cancelMessage(runId, …)`; required when the run has a `decisionKey`. */
  signature?: string;
};

export const getStateQuery = defineQuery<RunState>('getState');
export const decideUpdate = defineUpdate<DecideResult, [DecideInput]>('decide');
export const cancelRunUpdate = defineUpdate<void, [CancelInput]>('cancelRun');

/** Workflow id of a run (stable: one workflow per run). */
export const workflowIdForRun = (runId: string) => `run-${runId}`;
