/**
 * What a stage executor gets and returns. Node-only side of a stage kind
 * (`workflows/stages/<kind>/executor.ts`); never imported by workflow code.
 */

export type LogStream = 'stdout' | 'stderr' | 'system';

/** Where an executor writes what a person should read about the stage. */
export interface StageLog {
  /** Appends text; buffered and flushed to the app's store in small batches so it is readable while the stage runs. */
  write(stream: LogStream, text: string): void;
  /** Waits until everything written so far is stored. */
  flush(): Promise<void>;
  /** Characters written so far in this attempt (reported in heartbeats). */
  readonly offset: number;
}

export interface ExecutorContext {
  runId: string;
  nodeId: string;
  /** User-level attempt number (1-based). */
  attempt: number;
  /** Aborted when the run or the stage is cancelled (the process must die with its group). */
  signal: AbortSignal;
  /** Limit for this attempt, in ms; the executor enforces it itself and fails with `StageTimeout`. */
  timeoutMs: number;
  log: StageLog;
  /** Report liveness and progress (cheap; throttled by the caller). */
  heartbeat(details?: unknown): void;
  /** Root folder for stage working directories on this worker. */
  workspaceDir: string;
  /**
   * The part of the worker's environment stage kinds need by name (stage-env.ts): the command
   * allow-list, webhook signing keys, egress settings. Never the control plane's secrets.
   */
  env: Readonly<Record<string, string | undefined>>;
  /** Pipeline the run belongs to (for labelling what a stage creates), when known. */
  pipelineId?: string;
  /**
   * Details of the last heartbeat of a previous try of this same attempt (after a
   * worker crash or an infrastructure retry), so a long stage can resume where it was.
   */
  lastHeartbeat?: unknown;
  /** Cluster connections registered by admins, decrypted on the worker when a stage asks (never through workflow history). */
  clusters?: ClusterConnections;
  /** The artifact store, scoped to this run and stage (absent on workers without one). */
  artifacts?: StageArtifacts;
  /**
   * Runs `work` once this stage's result has been reported (preparing for the next stage, e.g. its sandbox),
   * so it does not delay the report. Without it (tests), executors run such work on the next turn of the event loop.
   */
  afterReport?: (work: () => void) => void;
}

/** What a stage may do with artifacts: store files it produced, fetch files earlier stages stored. */
export interface StageArtifacts {
  /**
   * Stores `file` once by its sha256 digest and records it as this stage's artifact `name`;
   * downloads are named `fileName` (default: the file's own name).
   */
  publish(name: string, file: string, fileName?: string): Promise<{ digest: string; size: number; written: boolean }>;
  /**
   * Writes the artifact `ref` (`<stage>.<name>` or a `sha256:` digest of an artifact
   * of this run) to `dest`, verifying its digest; a StageFailure when it is
   * unknown, missing from the store or does not match its digest.
   */
  materialise(ref: string, dest: string): Promise<{ stage: string; name: string; digest: string; size: number }>;
}

/** A cluster connection with its secrets, as a Kubernetes stage gets it. */
export type ClusterConnectionSecret = {
  name: string;
  /** A self-contained kubeconfig (inline certificates and tokens) … */
  kubeconfig?: string;
  /** … or an API server URL with a bearer token and the CA that signed its certificate. */
  server?: string;
  token?: string;
  caPem?: string;
  /** Skip TLS verification of the API server (test clusters only). */
  insecureSkipTlsVerify?: boolean;
  /** Namespaces stages may touch through this connection; empty = any namespace and cluster-scoped objects. */
  allowedNamespaces: string[];
};

export interface ClusterConnections {
  /** The connection, or a StageFailure when there is none by that name. */
  get(name: string): Promise<ClusterConnectionSecret>;
}

export type ExecutorResult = {
  /** Small `name → value` map other stages can reference as `${{ stages.<id>.outputs.<name> }}`. */
  outputs: Record<string, string>;
  /** One line for the run page. */
  summary: string;
};

/** Config has already been parsed with the kind's schema and had its templates resolved. */
export type StageExecutor<C> = (config: C, ctx: ExecutorContext) => Promise<ExecutorResult>;

/**
 * A failure of the user's own work (exit code ≠ 0, smoke test never passed,
 * webhook answered 4xx). Not retried by the infrastructure; retried only when
 * the stage's own retry policy asks for it.
 */
export class StageFailure extends Error {
  constructor(
    message: string,
    readonly type: 'StageFailed' | 'StageTimeout' | 'InvalidConfig' = 'StageFailed',
    readonly outputs: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'StageFailure';
  }
}
