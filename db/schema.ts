/**
 * The app database (Drizzle on SQLite).
 *
 * 1. Pipelines are a head row plus immutable versions: every save is a new
 *    `pipeline_versions` row; nothing is ever updated in place.
 * 2. A run stores the execution plan it ran (`runs.plan`), so history stays
 *    true when the pipeline changes.
 * 3. Stage state, gates and logs are written by the worker's activities; the
 *    workflow itself never touches this database.
 * 4. `user`, `session`, `account`, `verification` follow the auth library's
 *    (better-auth) expected shape.
 */
import { sql } from 'drizzle-orm';
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

const now = sql`(unixepoch('subsec') * 1000)`;
const createdAt = () => integer('created_at', { mode: 'timestamp_ms' }).notNull().default(now);

// ── People ───────────────────────────────────────────────────────────────────

export const ROLES = ['viewer', 'author', 'approver', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export const user = sqliteTable('user', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  email: text('email').notNull().unique(),
  emailVerified: integer('email_verified', { mode: 'boolean' }).notNull().default(false),
  image: text('image'),
  username: text('username').unique(),
  displayUsername: text('display_username'),
  role: text('role', { enum: ROLES }).notNull().default('viewer'),
  createdAt: createdAt(),
  updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull().default(now),
});

export const session = sqliteTable(
  'session',
  {
    id: text('id').primaryKey(),
    expiresAt: integer('expires_at', { mode: 'timestamp_ms' }).notNull(),
    token: text('token').notNull().unique(),
    createdAt: createdAt(),
    updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull().default(now),
    ipAddress: text('ip_address'),
    userAgent: text('user_agent'),
    userId: text('user_id')
      .notNull()
      .references(() => user.id, { onDelete: 'cascade' }),
  },
  (t) => [index('session_user_idx').on(t.userId)],
);

export const account = sqliteTable(
  'account',
  {
    id: text('id').primaryKey(),
    accountId: text('account_id').notNull(),
    providerId: text('provider_id').notNull(),
    userId: text('user_id')
      .notNull()
      .references(() => user.id, { onDelete: 'cascade' }),
    accessToken: text('access_token'),
    refreshToken: text('refresh_token'),
    idToken: text('id_token'),
    accessTokenExpiresAt: integer('access_token_expires_at', { mode: 'timestamp_ms' }),
    refreshTokenExpiresAt: integer('refresh_token_expires_at', { mode: 'timestamp_ms' }),
    scope: text('scope'),
    password: text('password'),
    createdAt: createdAt(),
    updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull().default(now),
  },
  (t) => [index('account_user_idx').on(t.userId)],
);

export const verification = sqliteTable('verification', {
  id: text('id').primaryKey(),
  identifier: text('identifier').notNull(),
  value: text('value').notNull(),
  expiresAt: integer('expires_at', { mode: 'timestamp_ms' }).notNull(),
  createdAt: createdAt(),
  updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull().default(now),
});

/** Group membership; groups can be named as gate approvers. */
export const groupMembers = sqliteTable(
  'group_members',
  {
    group: text('group_name').notNull(),
    userId: text('user_id')
      .notNull()
      .references(() => user.id, { onDelete: 'cascade' }),
  },
  (t) => [primaryKey({ columns: [t.group, t.userId] }), index('group_members_user_idx').on(t.userId)],
);

// ── Pipelines ────────────────────────────────────────────────────────────────

export const pipelines = sqliteTable('pipelines', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  description: text('description').notNull().default(''),
  /** Number of the newest version (versions are 1, 2, 3, …). */
  latestVersion: integer('latest_version').notNull().default(1),
  createdBy: text('created_by'),
  createdAt: createdAt(),
  updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull().default(now),
  /** Soft delete: runs keep pointing at their pipeline. */
  deletedAt: integer('deleted_at', { mode: 'timestamp_ms' }),
});

/** What `pipeline_versions.import_source` holds. */
export type ImportSourceRecord = {
  format: 'github-actions' | 'gitlab-ci' | 'spinnaker';
  fileName: string;
  text: string;
  /** Other files supplied alongside (reusable workflows), by path. */
  supplied?: Record<string, string>;
  report: unknown;
};

export const pipelineVersions = sqliteTable(
  'pipeline_versions',
  {
    pipelineId: text('pipeline_id')
      .notNull()
      .references(() => pipelines.id),
    version: integer('version').notNull(),
    /** The PipelineSpec as JSON (parsed again when read back). */
    spec: text('spec', { mode: 'json' }).notNull(),
    /** Whether the validator found errors when it was saved (drafts may have them). */
    valid: integer('valid', { mode: 'boolean' }).notNull(),
    message: text('message').notNull().default(''),
    /**
     * The file an imported version was made from (GitHub Actions, GitLab CI, Spinnaker), kept unchanged
     * for reference with the mapping report shown when it was imported; null for versions drawn here.
     */
    importSource: text('import_source', { mode: 'json' }).$type<ImportSourceRecord>(),
    createdBy: text('created_by'),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.pipelineId, t.version] })],
);

// ── Cluster connections ──────────────────────────────────────────────────────

/**
 * Kubernetes clusters the k8s stages deploy to, registered by admins. The
 * credentials (bearer token or whole kubeconfig) are sealed with AES-256-GCM
 * (server/clusters/crypto.ts) and only ever opened on a worker when a stage
 * runs; the API never returns them. `allowedNamespaces` (JSON array; empty =
 * any) limits what a stage may touch through the connection.
 */
export const clusterConnections = sqliteTable('cluster_connections', {
  id: text('id').primaryKey(),
  name: text('name').notNull().unique(),
  description: text('description').notNull().default(''),
  /** `token`: server URL + bearer token (+ CA); `kubeconfig`: a whole self-contained kubeconfig. */
  authType: text('auth_type', { enum: ['token', 'kubeconfig'] }).notNull(),
  /** API server URL (for kubeconfigs: the current context's, for display). */
  server: text('server').notNull(),
  /** PEM of the CA that signs the API server's certificate (public; not secret). */
  caPem: text('ca_pem'),
  insecureSkipTlsVerify: integer('insecure_skip_tls_verify', { mode: 'boolean' }).notNull().default(false),
  /** Sealed JSON `{ token }` or `{ kubeconfig }`. */
  secret: text('secret').notNull(),
  allowedNamespaces: text('allowed_namespaces', { mode: 'json' }).$type<string[]>().notNull(),
  createdBy: text('created_by'),
  createdAt: createdAt(),
  lastCheckedAt: integer('last_checked_at', { mode: 'timestamp_ms' }),
  lastCheckOk: integer('last_check_ok', { mode: 'boolean' }),
  lastCheckMessage: text('last_check_message'),
});

// ── Runs ─────────────────────────────────────────────────────────────────────

export const RUN_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export const runs = sqliteTable(
  'runs',
  {
    id: text('id').primaryKey(),
    pipelineId: text('pipeline_id')
      .notNull()
      .references(() => pipelines.id),
    pipelineVersion: integer('pipeline_version').notNull(),
    /** Sequence number of the run within its pipeline (#1, #2, …). */
    number: integer('number').notNull(),
    /** The ExecutionPlan as JSON. */
    plan: text('plan', { mode: 'json' }).notNull(),
    planHash: text('plan_hash').notNull(),
    params: text('params', { mode: 'json' }).notNull(),
    status: text('status', { enum: RUN_STATUSES }).notNull().default('queued'),
    /** Who or what started it: a user id, or `schedule:…`, `webhook:…`. */
    triggeredBy: text('triggered_by').notNull(),
    /** `manual`, `webhook`, `schedule`, `upstream`, `rerun` or `promotion`. */
    trigger: text('trigger').notNull().default('manual'),
    /**
     * What exactly started it, as JSON (server/triggers/config.ts): the webhook delivery (provider, delivery id,
     * branch, commit, author), the schedule, the upstream run, the run re-run or the build promoted. Null for
     * manual runs.
     */
    triggerDetails: text('trigger_details', { mode: 'json' }).$type<Record<string, unknown>>(),
    workflowId: text('workflow_id').notNull(),
    cancelledBy: text('cancelled_by'),
    error: text('error'),
    /** The run this one took stage results from (re-run from the failed stage, promotion), if any. */
    reusedFromRunId: text('reused_from_run_id'),
    /**
     * A rehearsal: commands replaced by no-ops that print what would run, deploys only checked, webhooks not
     * sent, gates as usual. Shown as such everywhere and left out of delivery metrics.
     */
    rehearsal: integer('rehearsal', { mode: 'boolean' }).notNull().default(false),
    createdAt: createdAt(),
    startedAt: integer('started_at', { mode: 'timestamp_ms' }),
    endedAt: integer('ended_at', { mode: 'timestamp_ms' }),
  },
  (t) => [
    index('runs_pipeline_idx').on(t.pipelineId, t.number),
    index('runs_status_idx').on(t.status),
    uniqueIndex('runs_pipeline_number_idx').on(t.pipelineId, t.number),
    // Delivery insight: covers every column the metrics read, so 10,000 runs are read from the index
    // without touching their (large) plan JSON.
    index('runs_insights_idx').on(t.pipelineId, t.createdAt, t.rehearsal, t.id, t.number, t.status, t.trigger, t.planHash, t.reusedFromRunId),
    // One plan per hash (delivery insight reads each plan once).
    index('runs_plan_hash_idx').on(t.planHash),
  ],
);

export const STAGE_STATUSES = ['pending', 'running', 'waiting', 'succeeded', 'failed', 'skipped', 'cancelled'] as const;
export type StageStatus = (typeof STAGE_STATUSES)[number];

export const stageRuns = sqliteTable(
  'stage_runs',
  {
    runId: text('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    nodeId: text('node_id').notNull(),
    status: text('status', { enum: STAGE_STATUSES }).notNull(),
    attempt: integer('attempt').notNull().default(0),
    startedAt: integer('started_at', { mode: 'timestamp_ms' }),
    endedAt: integer('ended_at', { mode: 'timestamp_ms' }),
    summary: text('summary'),
    error: text('error'),
    outputs: text('outputs', { mode: 'json' }),
    /** How many times the executor really started (infrastructure retries included). */
    executions: integer('executions').notNull().default(0),
    /** Run whose result this stage reused instead of executing (the run where it really ran). */
    reusedFrom: text('reused_from'),
    /** The last heartbeat details of a running stage (e.g. a Kubernetes rollout's ready counts, step, weights), written at most twice a second. */
    progress: text('progress', { mode: 'json' }),
    /** The runner that began the current attempt (null while it waits for one, and for stages that run on no runner). */
    runnerId: text('runner_id'),
  },
  (t) => [
    primaryKey({ columns: [t.runId, t.nodeId] }),
    // Delivery insight: covers the columns the metrics read (not summaries, outputs or errors).
    index('stage_runs_insights_idx').on(t.runId, t.nodeId, t.status, t.attempt, t.startedAt, t.endedAt, t.reusedFrom),
  ],
);

export const logChunks = sqliteTable(
  'log_chunks',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    runId: text('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    nodeId: text('node_id').notNull(),
    attempt: integer('attempt').notNull(),
    stream: text('stream', { enum: ['stdout', 'stderr', 'system'] }).notNull(),
    /** Offset of this chunk's first character in the stage's whole log. */
    offset: integer('offset').notNull(),
    text: text('text').notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('log_chunks_stage_idx').on(t.runId, t.nodeId, t.offset)],
);

/**
 * Files stages produced, stored once in the artifact store by sha256 (several
 * rows, in several runs, may name the same blob). A reused stage's artifacts are
 * rows of the new run pointing at the same digest (no copy, no rebuild).
 */
export const artifacts = sqliteTable(
  'artifacts',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    runId: text('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    nodeId: text('node_id').notNull(),
    name: text('name').notNull(),
    /** Base name of the file the stage produced (used as the download's file name). */
    fileName: text('file_name'),
    /** `sha256:<64 hex>`: the key of the blob in the store. */
    digest: text('digest').notNull(),
    size: integer('size').notNull(),
    /** Run where the artifact was really built, when this run reused the stage. */
    reusedFrom: text('reused_from'),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('artifacts_stage_name_idx').on(t.runId, t.nodeId, t.name), index('artifacts_digest_idx').on(t.digest)],
);

export const GATE_STATUSES = ['waiting', 'approved', 'rejected', 'cancelled'] as const;
export type GateStatus = (typeof GATE_STATUSES)[number];

export const gates = sqliteTable(
  'gates',
  {
    runId: text('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    nodeId: text('node_id').notNull(),
    status: text('status', { enum: GATE_STATUSES }).notNull(),
    /** Votes so far as JSON: [{ userId, userName, decision, comment, at }]. */
    votes: text('votes', { mode: 'json' }).notNull(),
    waitingSince: integer('waiting_since', { mode: 'timestamp_ms' }).notNull(),
    deadlineAt: integer('deadline_at', { mode: 'timestamp_ms' }),
    decidedAt: integer('decided_at', { mode: 'timestamp_ms' }),
    decidedBy: text('decided_by'),
  },
  (t) => [primaryKey({ columns: [t.runId, t.nodeId] }), index('gates_status_idx').on(t.status)],
);

/** Every decision and every refused attempt, and other security-relevant actions. */
export const auditLog = sqliteTable(
  'audit_log',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    at: createdAt(),
    actorId: text('actor_id'),
    actorName: text('actor_name'),
    /** e.g. `gate.approve`, `gate.reject`, `run.start`, `run.cancel`, `pipeline.save`. */
    action: text('action').notNull(),
    outcome: text('outcome', { enum: ['ok', 'refused'] }).notNull(),
    pipelineId: text('pipeline_id'),
    runId: text('run_id'),
    nodeId: text('node_id'),
    reason: text('reason'),
    details: text('details', { mode: 'json' }),
  },
  (t) => [index('audit_at_idx').on(t.at), index('audit_run_idx').on(t.runId)],
);

// ── Embeds ───────────────────────────────────────────────────────────────────

export const SHARE_SCOPES = ['view', 'badge'] as const;
export type ShareScope = (typeof SHARE_SCOPES)[number];

/**
 * Share links for embeds (wikis, READMEs). Only the sha256 of a token is kept:
 * the token itself is shown once, when it is created. `view` links show the
 * read-only graph, live run status and the diagram image; `badge` links only
 * the status badge (for places where the link ends up public).
 */
export const shareTokens = sqliteTable(
  'share_tokens',
  {
    id: text('id').primaryKey(),
    pipelineId: text('pipeline_id')
      .notNull()
      .references(() => pipelines.id),
    /** Hex sha256 of the token. */
    tokenHash: text('token_hash').notNull(),
    scope: text('scope', { enum: SHARE_SCOPES }).notNull(),
    /** Origins that may frame the embed, as a JSON array (empty = the workspace default). */
    allowedOrigins: text('allowed_origins', { mode: 'json' }).notNull(),
    label: text('label').notNull().default(''),
    expiresAt: integer('expires_at', { mode: 'timestamp_ms' }),
    createdBy: text('created_by'),
    createdAt: createdAt(),
    revokedAt: integer('revoked_at', { mode: 'timestamp_ms' }),
    revokedBy: text('revoked_by'),
    lastUsedAt: integer('last_used_at', { mode: 'timestamp_ms' }),
  },
  (t) => [uniqueIndex('share_tokens_hash_idx').on(t.tokenHash), index('share_tokens_pipeline_idx').on(t.pipelineId)],
);

// ── Settings and notifications ───────────────────────────────────────────────

/**
 * Workspace settings admins change in the app (Admin → Settings), one JSON
 * value per key, e.g. `notifications.webhook` = `{ url, secret }`. Values set
 * here take precedence over the matching environment variables.
 */
export const settings = sqliteTable('settings', {
  key: text('key').primaryKey(),
  value: text('value', { mode: 'json' }).notNull(),
  updatedBy: text('updated_by'),
  updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull().default(now),
});

export const NOTIFICATION_STATUSES = ['sending', 'sent', 'failed', 'skipped'] as const;

/**
 * One row per notification event (`gate.waiting:<run>:<node>`,
 * `gate.decided:<run>:<node>`, `run.ended:<run>`): inserting it claims the
 * event, so a retried activity or a second worker never sends it twice.
 */
export const notifications = sqliteTable(
  'notifications',
  {
    id: text('id').primaryKey(),
    event: text('event').notNull(),
    runId: text('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    status: text('status', { enum: NOTIFICATION_STATUSES }).notNull(),
    attempts: integer('attempts').notNull().default(0),
    /** HTTP status of the last attempt, or the error. */
    lastResult: text('last_result'),
    createdAt: createdAt(),
    sentAt: integer('sent_at', { mode: 'timestamp_ms' }),
  },
  (t) => [index('notifications_run_idx').on(t.runId), index('notifications_created_idx').on(t.createdAt)],
);

// ── Triggers ─────────────────────────────────────────────────────────────────

export const TRIGGER_TYPES = ['webhook', 'schedule', 'upstream'] as const;
export type TriggerType = (typeof TRIGGER_TYPES)[number];

/**
 * What starts a pipeline besides a person (server/services/triggers.ts):
 * - `webhook`: a signed push from GitHub or GitLab to `/api/hooks/<pipelineId>`;
 *   `secret` is the HMAC key (GitHub) or token (GitLab), sealed with the
 *   workspace key (AES-256-GCM, AAD `triggers:<id>`), never returned by the API;
 * - `schedule`: a Temporal Schedule (id `pipewright-trigger-<id>`) whose action
 *   starts the small `scheduledTrigger` workflow, which starts the run;
 * - `upstream`: a successful run of `upstreamPipelineId` starts this pipeline.
 * `config` is JSON checked by the zod schemas in server/triggers/config.ts.
 */
export const triggers = sqliteTable(
  'triggers',
  {
    id: text('id').primaryKey(),
    pipelineId: text('pipeline_id')
      .notNull()
      .references(() => pipelines.id),
    type: text('type', { enum: TRIGGER_TYPES }).notNull(),
    name: text('name').notNull().default(''),
    enabled: integer('enabled', { mode: 'boolean' }).notNull().default(true),
    config: text('config', { mode: 'json' }).notNull(),
    secret: text('secret'),
    upstreamPipelineId: text('upstream_pipeline_id'),
    createdBy: text('created_by'),
    createdAt: createdAt(),
    lastFiredAt: integer('last_fired_at', { mode: 'timestamp_ms' }),
    /** What the last delivery or firing did (`started run #12`, `ignored: branch …`, an error). */
    lastResult: text('last_result'),
  },
  (t) => [index('triggers_pipeline_idx').on(t.pipelineId), index('triggers_upstream_idx').on(t.upstreamPipelineId)],
);

/**
 * One row per event a trigger received: inserting it claims the event, so a
 * replayed webhook delivery (same `X-GitHub-Delivery` / `X-Gitlab-Event-UUID`),
 * a retried schedule activity or a re-recorded upstream run end starts nothing
 * the second time. `deliveryId`: `github:<id>`, `gitlab:<id>`, `schedule:<workflow id>`, `run:<upstream run id>`.
 */
export const triggerDeliveries = sqliteTable(
  'trigger_deliveries',
  {
    triggerId: text('trigger_id').notNull(),
    deliveryId: text('delivery_id').notNull(),
    /** `started`, `ignored` or `failed`. */
    outcome: text('outcome').notNull(),
    runId: text('run_id'),
    message: text('message').notNull().default(''),
    receivedAt: integer('received_at', { mode: 'timestamp_ms' }).notNull().default(now),
  },
  (t) => [primaryKey({ columns: [t.triggerId, t.deliveryId] }), index('trigger_deliveries_received_idx').on(t.triggerId, t.receivedAt)],
);

// ── Environments and promotions ──────────────────────────────────────────────

/** A secret of an environment: the sealed value and who set it when (the value is never returned). */
export type EnvironmentSecret = { sealed: string; updatedBy: string; updatedAt: number };

/**
 * Environments (dev → test → staging → production): workspace-wide, ordered
 * by `position` (the promotion path). Stages bound to one (`environment` in
 * the spec) resolve `${{ env.NAME }}` from `variables` and
 * `${{ secrets.NAME }}` from `secrets`, sealed with the workspace key
 * (server/clusters/crypto.ts; AAD `environments:<id>:<NAME>`), opened only by
 * the worker when a stage runs. `promoteRoles` (JSON array of roles) may
 * promote into it; `requireGate`: a promotion into it must pass an approval
 * gate bound to it.
 */
export const environments = sqliteTable('environments', {
  id: text('id').primaryKey(),
  name: text('name').notNull().unique(),
  displayName: text('display_name').notNull(),
  position: integer('position').notNull(),
  description: text('description').notNull().default(''),
  variables: text('variables', { mode: 'json' }).$type<Record<string, string>>().notNull(),
  secrets: text('secrets', { mode: 'json' }).$type<Record<string, EnvironmentSecret>>().notNull(),
  promoteRoles: text('promote_roles', { mode: 'json' }).$type<Role[]>().notNull(),
  requireGate: integer('require_gate', { mode: 'boolean' }).notNull().default(false),
  /** Default cluster connection (by name) and namespace for Kubernetes stages bound to it. */
  clusterConnection: text('cluster_connection'),
  namespace: text('namespace'),
  createdBy: text('created_by'),
  createdAt: createdAt(),
  updatedBy: text('updated_by'),
  updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull().default(now),
});

/**
 * One row per Promote: the run it started (`runId`, trigger `promotion`), the
 * build it promotes (`buildRunId`, a run of the same pipeline) and where to.
 * The promotion board's history, and how the board finds a build's later runs.
 */
export const promotions = sqliteTable(
  'promotions',
  {
    runId: text('run_id')
      .primaryKey()
      .references(() => runs.id, { onDelete: 'cascade' }),
    pipelineId: text('pipeline_id')
      .notNull()
      .references(() => pipelines.id),
    buildRunId: text('build_run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    environment: text('environment').notNull(),
    promotedBy: text('promoted_by').notNull(),
    promotedByName: text('promoted_by_name').notNull(),
    /** Set when this promotion goes back to an older build than the one live. */
    rollback: integer('rollback', { mode: 'boolean' }).notNull().default(false),
    createdAt: createdAt(),
  },
  (t) => [index('promotions_pipeline_idx').on(t.pipelineId, t.createdAt), index('promotions_build_idx').on(t.buildRunId)],
);

// ── Runners ──────────────────────────────────────────────────────────────────

/**
 * Processes that execute stages (`npm run runner`), registered by an admin.
 * Only the sha256 of a runner's token is kept; the token is shown once.
 * `lastSeenAt`, `version`, `host` and `currentStage` come from its heartbeats.
 */
export const runners = sqliteTable('runners', {
  id: text('id').primaryKey(),
  name: text('name').notNull().unique(),
  labels: text('labels', { mode: 'json' }).$type<string[]>().notNull(),
  tokenHash: text('token_hash').notNull().unique(),
  createdBy: text('created_by'),
  createdAt: createdAt(),
  revokedAt: integer('revoked_at', { mode: 'timestamp_ms' }),
  lastSeenAt: integer('last_seen_at', { mode: 'timestamp_ms' }),
  version: text('version'),
  host: text('host'),
  /** `<runId>/<nodeId>#<attempt>` of the stage it is running, if any. */
  currentStage: text('current_stage'),
});

/**
 * Short-lived credentials a runner gets for one stage attempt: they fetch that
 * stage's secrets and ship its log, progress and artifacts, nothing else.
 * Stored hashed; expire with the stage timeout; revoked when the attempt finishes.
 */
export const stageCredentials = sqliteTable(
  'stage_credentials',
  {
    id: text('id').primaryKey(),
    tokenHash: text('token_hash').notNull().unique(),
    runId: text('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    nodeId: text('node_id').notNull(),
    attempt: integer('attempt').notNull(),
    runnerId: text('runner_id')
      .notNull()
      .references(() => runners.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
    expiresAt: integer('expires_at', { mode: 'timestamp_ms' }).notNull(),
    revokedAt: integer('revoked_at', { mode: 'timestamp_ms' }),
  },
  (t) => [index('stage_credentials_stage_idx').on(t.runId, t.nodeId)],
);

// ── Release plans and the issue log ──────────────────────────────────────────

/**
 * What people write in a pipeline's release plan where nothing can be derived (backup/restore, data
 * migrations, monitoring, support, capacity). Append-only: every edit is a new row against the pipeline
 * version it was written for, so the plan of any version reads as it was; the newest row wins.
 */
export const releasePlanSections = sqliteTable(
  'release_plan_sections',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    pipelineId: text('pipeline_id')
      .notNull()
      .references(() => pipelines.id),
    pipelineVersion: integer('pipeline_version').notNull(),
    section: text('section').notNull(),
    body: text('body').notNull(),
    createdBy: text('created_by').notNull(),
    createdByName: text('created_by_name').notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('release_plan_sections_idx').on(t.pipelineId, t.section, t.pipelineVersion, t.id)],
);

/** When someone last reviewed a derived section of a release plan, and the hash of the facts it showed then. */
export const releasePlanReviews = sqliteTable(
  'release_plan_reviews',
  {
    pipelineId: text('pipeline_id')
      .notNull()
      .references(() => pipelines.id),
    section: text('section').notNull(),
    factsHash: text('facts_hash').notNull(),
    reviewedBy: text('reviewed_by').notNull(),
    reviewedByName: text('reviewed_by_name').notNull(),
    reviewedAt: integer('reviewed_at', { mode: 'timestamp_ms' }).notNull().default(now),
  },
  (t) => [primaryKey({ columns: [t.pipelineId, t.section] })],
);

/** Cause and fix people recorded for a failed or rolled-back deployment (run × environment) in the issue log. */
export const issueLogEntries = sqliteTable(
  'issue_log_entries',
  {
    runId: text('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    environment: text('environment').notNull(),
    pipelineId: text('pipeline_id').notNull(),
    cause: text('cause').notNull().default(''),
    fix: text('fix').notNull().default(''),
    /** The run that fixed it (a run of the same pipeline). */
    fixRunId: text('fix_run_id'),
    updatedBy: text('updated_by').notNull(),
    updatedByName: text('updated_by_name').notNull(),
    updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull().default(now),
  },
  (t) => [primaryKey({ columns: [t.runId, t.environment] }), index('issue_log_pipeline_idx').on(t.pipelineId)],
);

// ── Delivery insight facts (kept by the control plane; read by the metrics) ────

/**
 * Per run: whether its delivery facts below are current. `changes` is raised by triggers (migration
 * 0013_insights_facts) in the same transaction as any write to what the facts derive from — the run, its
 * stage results, its promotion — and the facts count only while `derivedAt` equals it; the control plane
 * derives them right after recording a run's state, and the metrics derive any run still behind before
 * reading (also how runs recorded before the migration are back-filled, once).
 */
export const insightRunFacts = sqliteTable(
  'insight_run_facts',
  {
    runId: text('run_id')
      .primaryKey()
      .references(() => runs.id, { onDelete: 'cascade' }),
    pipelineId: text('pipeline_id').notNull(),
    changes: integer('changes').notNull().default(1),
    derivedAt: integer('derived_at').notNull().default(0),
  },
  (t) => [index('insight_run_facts_behind_idx').on(t.runId).where(sql`changes <> derived_at`)],
);

/**
 * A run's deployments into environments and its rollback (kind `deploy` | `rollback`), as
 * server/services/insights/metrics.ts `runDeployments` derives them from the run alone (rehearsals have none).
 * Times in ms. Restores and rollbacks across runs are linked when the metrics are read.
 */
export const insightDeployments = sqliteTable(
  'insight_deployments',
  {
    runId: text('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    environment: text('environment').notNull(),
    kind: text('kind', { enum: ['deploy', 'rollback'] }).notNull(),
    pipelineId: text('pipeline_id').notNull(),
    runNumber: integer('run_number').notNull(),
    runCreatedAt: integer('run_created_at').notNull(),
    /** The environment's position in the run's plan (orders a run's deployments that end at the same time). */
    ord: integer('ord').notNull(),
    at: integer('at').notNull(),
    ok: integer('ok', { mode: 'boolean' }).notNull(),
    /** When the change entered the pipeline (the build run's creation). */
    changeAt: integer('change_at').notNull(),
    failure: text('failure'),
    failedStage: text('failed_stage'),
    /**
     * The columns above as the JSON array the metrics read (server/services/insights/index.ts), built once when
     * written: 20,000 deployments are then handed over as one string concatenated by SQLite from the index.
     */
    row: text('row').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.runId, t.environment, t.kind] }),
    index('insight_deployments_read_idx').on(t.pipelineId, t.runCreatedAt, t.environment, t.row),
  ],
);

/** A run's executed stage results (succeeded or failed, not reused; rehearsals have none): duration and flakiness. */
export const insightStages = sqliteTable(
  'insight_stages',
  {
    runId: text('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    nodeId: text('node_id').notNull(),
    pipelineId: text('pipeline_id').notNull(),
    runCreatedAt: integer('run_created_at').notNull(),
    durationMs: integer('duration_ms'),
    flaky: integer('flaky', { mode: 'boolean' }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.runId, t.nodeId] }),
    // By stage first: the metrics group by stage, in index order.
    index('insight_stages_read_idx').on(t.pipelineId, t.nodeId, t.runCreatedAt, t.durationMs, t.flaky, t.runId),
  ],
);

/**
 * Change counters raised by triggers on every write the metrics can see: per pipeline (its runs, stage results,
 * promotions, gates), `*` (any of those), `catalog` (pipelines, environments). The metrics' data fingerprint.
 */
export const insightChanges = sqliteTable('insight_changes', {
  scope: text('scope').primaryKey(),
  seq: integer('seq').notNull().default(0),
});
