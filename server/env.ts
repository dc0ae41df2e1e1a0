/**
 * All configuration, validated once.
 *
 * 1. Every variable Pipewright reads is declared here with its default and an
 *    example; the README's configuration table is written from this list.
 * 2. A bad value fails at start-up with the variable's name, not at the first
 *    request.
 * 3. Read by the start script, the worker, the Next.js server and the tests.
 */
import { z } from 'zod';
import { checkOrigins, splitOriginList } from './embeds/origins';
import { parseEgressAllowList } from '../workflows/stages/egress';

const bool = z
  .enum(['true', 'false', '1', '0', ''])
  .optional()
  .transform((v) => v === 'true' || v === '1');
/** A switch that is on unless set to `false` or `0`. */
const boolDefaultOn = z
  .enum(['true', 'false', '1', '0', ''])
  .optional()
  .transform((v) => v !== 'false' && v !== '0');

export const envSchema = z.object({
  /** Node environment. Default `development` for `npm run dev`, `production` for `npm start`. */
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  /** Port of the web app. Default `3000`. */
  PORT: z.coerce.number().int().min(1).max(65535).default(3000),
  /** Public URL of the app, used in links and embeds. Default `http://localhost:$PORT`. Example `https://pipewright.example.com`. */
  PIPEWRIGHT_URL: z.string().url().optional(),
  /** Folder for everything the embedded stack writes (databases, logs, workspaces). Default `./data`. */
  PIPEWRIGHT_DATA_DIR: z.string().default('data'),
  /**
   * Port on which the web app also serves the runner API (`/api/runner/*`) directly, without Next's routing (a stage
   * waits for two runner-API calls). `npm start` picks a free one for its local runner when unset. Runners elsewhere
   * may use it or the app's own URL. Default: not served apart (only under the app's URL). Example `3100`.
   */
  PIPEWRIGHT_RUNNER_API_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  /** Address the runner-API port listens on. Default `127.0.0.1` (only runners on this machine); `0.0.0.0` for all. */
  PIPEWRIGHT_RUNNER_API_HOST: z.string().default('127.0.0.1'),
  /** App database. Default `file:data/pipewright.db`. Example `file:/var/lib/pipewright/app.db`. */
  DATABASE_URL: z.string().optional(),
  /** Temporal frontend. When set, `npm start` uses that cluster instead of starting the embedded dev server. Example `temporal.example.com:7233`. */
  TEMPORAL_ADDRESS: z.string().optional(),
  /** Temporal namespace. Default `default`. */
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  /** Task queue the worker polls. Default `pipewright`. */
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('pipewright'),
  /** Use TLS to reach Temporal. Default `false` (`true` when a client certificate is set). */
  TEMPORAL_TLS: bool,
  /** PEM file of the client certificate for mTLS. Example `/etc/pipewright/client.pem`. */
  TEMPORAL_TLS_CERT_PATH: z.string().optional(),
  /** PEM file of the client key for mTLS. Example `/etc/pipewright/client.key`. */
  TEMPORAL_TLS_KEY_PATH: z.string().optional(),
  /** PEM file of a CA to trust for the Temporal server. */
  TEMPORAL_TLS_CA_PATH: z.string().optional(),
  /** Server name to verify on the Temporal certificate. */
  TEMPORAL_TLS_SERVER_NAME: z.string().optional(),
  /** API key for Temporal Cloud (sent as a bearer token; implies TLS). */
  TEMPORAL_API_KEY: z.string().optional(),
  /** An existing `temporal` CLI binary to run the embedded dev server with, instead of building one into `tools/bin`. Example `/usr/local/bin/temporal`. */
  PIPEWRIGHT_TEMPORAL_BIN: z.string().optional(),
  /** Port of the embedded Temporal dev server. Default `7233`. */
  TEMPORAL_DEV_PORT: z.coerce.number().int().default(7233),
  /**
   * Start the embedded dev server with its Web UI. Default `false`: the UI and its HTTP API have no sign-in, and
   * anything on the machine could use them to act as anybody on runs. Enable it on a machine only you use.
   */
  PIPEWRIGHT_TEMPORAL_UI: bool,
  /** Port of the embedded Temporal Web UI when `PIPEWRIGHT_TEMPORAL_UI` is on (0 = no UI). Default `8233`. */
  TEMPORAL_DEV_UI_PORT: z.coerce.number().int().default(8233),
  /** Port of the embedded dev server's HTTP API (fixed, so stages can be kept away from it). Default `7243`. */
  TEMPORAL_DEV_HTTP_PORT: z.coerce.number().int().min(1).max(65535).default(7243),
  /** Base URL of the Temporal Web UI, for "open in Temporal" links. Default the embedded UI. */
  TEMPORAL_UI_URL: z.string().optional(),
  /** How long an approval or cancel call waits for a worker before saying the runner is offline, in ms. Default `5000`. */
  PIPEWRIGHT_UPDATE_DEADLINE_MS: z.coerce.number().int().min(100).default(5000),
  /** Heartbeat timeout of stage activities, in seconds: how fast a dead worker's stage is retried elsewhere. Default `15`. */
  PIPEWRIGHT_HEARTBEAT_TIMEOUT_S: z.coerce.number().int().min(1).default(15),
  /** How long a stage waits for a runner with its labels before it fails ("no runner with labels … picked the stage up"), in seconds. Default `600`. */
  PIPEWRIGHT_RUNNER_WAIT_S: z.coerce.number().int().min(1).default(600),
  /** Root folder for command stages' working directories. Default `$PIPEWRIGHT_DATA_DIR/workspaces`. */
  PIPEWRIGHT_WORKSPACE_DIR: z.string().optional(),
  /**
   * Run command stages WITHOUT the bubblewrap sandbox. Default `false`: the worker refuses to start when the sandbox
   * does not work (install the `bubblewrap` package). Set `true` only where every pipeline author may read the worker's
   * secrets (data directory, keys, database); it is then announced on every start and on every page of the app.
   */
  PIPEWRIGHT_UNSAFE_NO_SANDBOX: bool,
  /**
   * Host folders every command stage may read and write besides its run's workspace (absolute paths separated by `:`),
   * e.g. a package cache shared by all runs. Default none. They may not contain or lie inside the data directory.
   * Example `/var/cache/pipewright-npm`.
   */
  PIPEWRIGHT_SANDBOX_SHARED_DIRS: z.string().optional(),
  /**
   * Pre-start the next command's sandbox. Default `true`: after a command stage a runner starts the sandbox for the
   * next command of the same run in the background (the same mounts, holding no command or value until one is handed
   * to it), so the next stage does not wait for bubblewrap (15–50 ms). Needs `/usr/bin/perl` (Debian: always there);
   * without it, or with `false`, every command's sandbox starts when the command does.
   */
  PIPEWRIGHT_SANDBOX_PRESTART: boolDefaultOn,
  /**
   * Key for HMAC signatures of webhook stages (the stage names the variable; this is the default one). Other keys
   * go in variables named `PIPEWRIGHT_WEBHOOK_KEY_<NAME>`; a stage may name no other variable.
   */
  PIPEWRIGHT_WEBHOOK_SECRET: z.string().optional(),
  /**
   * Targets that http-check and webhook stages may reach although they are loopback, private, link-local or
   * carrier-grade NAT addresses (refused by default): comma-separated `host:port`, `host`, `CIDR` or `CIDR:port`
   * (IPv6 in brackets before a port). The Temporal server's ports stay refused unless an entry names the port.
   * Default empty. Example `10.0.0.0/8:443, build.internal:8080, [fd00::/8]:443`.
   */
  PIPEWRIGHT_STAGE_EGRESS_ALLOW: z
    .string()
    .optional()
    .superRefine((value, ctx) => {
      for (const message of parseEgressAllowList(value).errors) ctx.addIssue({ code: 'custom', message });
    }),
  /**
   * Ed25519 private key (32-byte seed, base64 or 64 hex characters) with which the control plane signs gate decisions
   * and cancellations; runs carry its public key and refuse anything unsigned. Default: generated on first use and kept
   * in `$PIPEWRIGHT_DATA_DIR/decision-key`. The web server and every worker (workers start runs for triggers) must share it, as they share `PIPEWRIGHT_SECRET_KEY`; a new key leaves runs waiting at gates undecidable. Example `openssl rand -base64 32`.
   */
  PIPEWRIGHT_DECISION_KEY: z
    .string()
    .optional()
    .refine((v) => v === undefined || /^[0-9a-fA-F]{64}$/.test(v) || Buffer.from(v, 'base64').length === 32, {
      message: 'must be 32 bytes as base64 (e.g. `openssl rand -base64 32`) or 64 hex characters',
    }),
  /**
   * Key that encrypts the credentials of cluster connections at rest (AES-256-GCM): 32 bytes as base64 or as 64 hex
   * characters. The web server and the workers must share it. Default: generated on first use and kept in
   * `$PIPEWRIGHT_DATA_DIR/secret-key`. Example `openssl rand -base64 32`.
   */
  PIPEWRIGHT_SECRET_KEY: z
    .string()
    .optional()
    .refine((v) => v === undefined || /^[0-9a-fA-F]{64}$/.test(v) || Buffer.from(v, 'base64').length === 32, {
      message: 'must be 32 bytes as base64 (e.g. `openssl rand -base64 32`) or 64 hex characters',
    }),
  /** Do not seed example pipelines and demo users on start (the admin account is still created). Default `false`. */
  PIPEWRIGHT_NO_SEED: bool,
  /**
   * Sites that may frame embeds (wikis) when a share link names none itself: comma- or space-separated
   * origins, https only (or `http://localhost:PORT` for trying things out), a leading `*.` label allowed.
   * Default empty: such embeds show only on Pipewright's own share page. Example
   * `https://wiki.example.com, https://*.atlassian.net`.
   */
  PIPEWRIGHT_EMBED_DEFAULT_ORIGINS: z
    .string()
    .optional()
    .transform((value, ctx) => {
      const checked = checkOrigins(splitOriginList(value));
      if (checked.ok) return checked.origins;
      for (const message of checked.errors) ctx.addIssue({ code: 'custom', message });
      return z.NEVER;
    }),

  // ── Artifacts ──
  /** Where stage artifacts are stored, once per sha256 digest: `disk` (under `PIPEWRIGHT_ARTIFACT_DIR`) or `s3` (an S3-compatible bucket). Default `disk`. */
  PIPEWRIGHT_ARTIFACT_STORE: z.enum(['disk', 's3']).default('disk'),
  /** Folder of the `disk` artifact store. Default `$PIPEWRIGHT_DATA_DIR/artifacts`. */
  PIPEWRIGHT_ARTIFACT_DIR: z.string().optional(),
  /** Bucket of the `s3` artifact store (required with `PIPEWRIGHT_ARTIFACT_STORE=s3`). Example `pipewright-artifacts`. */
  PIPEWRIGHT_S3_BUCKET: z.string().min(3).max(63).optional(),
  /** Key prefix inside the bucket. Default none. Example `pipewright/`. */
  PIPEWRIGHT_S3_PREFIX: z.string().max(512).optional(),
  /** Region of the bucket. Default `us-east-1`. */
  PIPEWRIGHT_S3_REGION: z.string().min(1).default('us-east-1'),
  /** URL of an S3-compatible service instead of AWS (MinIO, Ceph, …). Example `https://s3.example.com:9000`. */
  PIPEWRIGHT_S3_ENDPOINT: z.string().url().optional(),
  /** Address buckets as `endpoint/bucket` instead of `bucket.endpoint`. Default `true` when `PIPEWRIGHT_S3_ENDPOINT` is set, else `false`. */
  PIPEWRIGHT_S3_FORCE_PATH_STYLE: z
    .enum(['true', 'false', '1', '0'])
    .optional()
    .transform((v) => (v === undefined ? undefined : v === 'true' || v === '1')),
  /** Access key id for the bucket. Default: the AWS SDK's own chain (`AWS_ACCESS_KEY_ID`, instance role, …). */
  PIPEWRIGHT_S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  /** Secret access key for the bucket (with `PIPEWRIGHT_S3_ACCESS_KEY_ID`). */
  PIPEWRIGHT_S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),

  // ── Sign-in ──
  /** Secret that signs session cookies and encrypts OAuth tokens (≥ 32 characters). Default: generated on first start and kept in `$PIPEWRIGHT_DATA_DIR/auth-secret`. Example `openssl rand -base64 32`. */
  BETTER_AUTH_SECRET: z.string().min(32).optional(),
  /** Alias of `BETTER_AUTH_SECRET` (used when that one is unset). */
  PIPEWRIGHT_AUTH_SECRET: z.string().min(32).optional(),
  /** Email of the `admin` account created on first start. Default `admin@example.com`. */
  PIPEWRIGHT_ADMIN_EMAIL: z.string().email().default('admin@example.com'),
  /** Password of the `admin` account created on first start (≥ 8 characters). Default: a random 16-character one, printed once. Ignored when `admin` already exists. */
  PIPEWRIGHT_ADMIN_PASSWORD: z.string().min(8).max(128).optional(),
  /**
   * Create the demo users `ada` (author), `alan` and `grace` (approvers) and `vera` (viewer), password
   * `pipewright-demo`, on first start. Default `true`, in production too; set `false` on any instance
   * reachable by people you do not trust (the password is public).
   */
  PIPEWRIGHT_DEMO_USERS: z
    .enum(['true', 'false', '1', '0', ''])
    .optional()
    .transform((v) => v === undefined || v === '' || v === 'true' || v === '1'),
  /** OpenID Connect issuer for single sign-on; SSO is offered when issuer, client id and secret are all set. Example `https://login.example.com/realms/acme`. */
  PIPEWRIGHT_OIDC_ISSUER: z.string().url().optional(),
  /** OIDC client id. Example `pipewright`. The redirect URI to register is `$PIPEWRIGHT_URL/api/auth/callback/oidc`. */
  PIPEWRIGHT_OIDC_CLIENT_ID: z.string().min(1).optional(),
  /** OIDC client secret. */
  PIPEWRIGHT_OIDC_CLIENT_SECRET: z.string().min(1).optional(),
  /**
   * Set `true` when Pipewright runs behind a reverse proxy that appends the client's address to `X-Forwarded-For`:
   * sign-in attempts are then throttled per client address (the right-most entry). Default `false`: the header
   * is ignored (a client could forge it); a browser that signed in as the person before is throttled on its own
   * (device cookie) and all other browsers together per account, so nobody can lock a person out of their own browser.
   */
  PIPEWRIGHT_TRUST_PROXY: bool,
  /**
   * Sign-in attempts allowed per minute for one client (a known browser, a trusted address, or the unknown browsers
   * of one account), successful ones included. Default `5`. After 5 failures in a row a client waits 2 s, 4 s, 8 s, …
   * (at most 15 min) between tries. Everybody together but known browsers is capped at 60 times this per minute.
   */
  PIPEWRIGHT_SIGN_IN_LIMIT: z.coerce.number().int().min(1).max(10_000).default(5),
  /**
   * Live-update streams (`/api/events`) one session may hold open at once; the next one is refused with 429 until one
   * closes. Each browser tab holds one. Default `8`.
   */
  PIPEWRIGHT_MAX_STREAMS_PER_SESSION: z.coerce.number().int().min(1).max(10_000).default(8),
  /**
   * Largest request body the JSON endpoints accept (`/api/trpc`, `/api/auth`), in bytes; bigger ones are refused with
   * 413 before they are parsed. Webhook deliveries have their own 5 MB cap. Default `1048576` (1 MiB).
   */
  PIPEWRIGHT_MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(100 * 1024 * 1024).default(1024 * 1024),

  // ── Notifications ──
  /**
   * Webhook that gets a Slack-compatible JSON message when a gate starts waiting, when it is decided and when a run
   * ends (e.g. a Slack incoming webhook). An admin can also set it under Admin → Settings, which takes precedence.
   * Example `https://hooks.slack.com/services/T000/B000/XXXX`.
   */
  PIPEWRIGHT_NOTIFY_WEBHOOK_URL: z.string().url().optional(),
  /** Key for the HMAC-SHA256 signature of notifications (`X-Pipewright-Signature`, as webhook stages sign). Default: unsigned. */
  PIPEWRIGHT_NOTIFY_WEBHOOK_SECRET: z.string().optional(),
});

export type Env = z.infer<typeof envSchema>;

let cached: (Env & { databaseUrl: string; publicUrl: string; workspaceDir: string; artifactDir: string }) | undefined;

/** Parses `process.env` once; throws a readable error naming each bad variable. */
export function getEnv(source: NodeJS.ProcessEnv = process.env) {
  if (cached && source === process.env) return cached;
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const env = parsed.data;
  if (env.PIPEWRIGHT_ARTIFACT_STORE === 's3' && !env.PIPEWRIGHT_S3_BUCKET) {
    throw new Error('Invalid configuration:\n  PIPEWRIGHT_S3_BUCKET: required when PIPEWRIGHT_ARTIFACT_STORE=s3');
  }
  const value = {
    ...env,
    databaseUrl: env.DATABASE_URL ?? `file:${env.PIPEWRIGHT_DATA_DIR}/pipewright.db`,
    publicUrl: env.PIPEWRIGHT_URL ?? `http://localhost:${env.PORT}`,
    workspaceDir: env.PIPEWRIGHT_WORKSPACE_DIR ?? `${env.PIPEWRIGHT_DATA_DIR}/workspaces`,
    artifactDir: env.PIPEWRIGHT_ARTIFACT_DIR ?? `${env.PIPEWRIGHT_DATA_DIR}/artifacts`,
  };
  if (source === process.env) cached = value;
  return value;
}

/** Forget the cached parse (tests change `process.env`). */
export function resetEnvCache() {
  cached = undefined;
}
