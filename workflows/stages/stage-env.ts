/**
 * The part of the worker's environment stage executors get (`ExecutorContext.env`).
 *
 * The worker process holds the control plane's secrets (database URL, auth
 * secret, admin password, encryption keys). A stage is configured by any
 * author, so executors see only what some stage kind needs by name: the
 * command stage's allow-list, webhook signing keys, the egress policy's
 * and the sandbox's settings. Anything else a stage names is simply not there.
 */
import { ENV_ALLOW_LIST } from './command/executor';
import { isWebhookKeyEnv } from './webhook/definition';
import { EGRESS_ALLOW_VAR } from './egress';
import { UNSAFE_NO_SANDBOX_VAR } from './command/sandbox';
import { PRESTART_VAR } from './command/warm-sandbox';

/** Read by the egress policy (egress.ts) to keep stages away from Temporal's ports. */
/** Read by the command sandbox (command/sandbox.ts): paths and switches, no secrets. */
const SANDBOX_SETTINGS = [UNSAFE_NO_SANDBOX_VAR, PRESTART_VAR, 'PIPEWRIGHT_SANDBOX_SHARED_DIRS', 'PIPEWRIGHT_DATA_DIR', 'TEMPORAL_TLS_KEY_PATH'];

const EGRESS_SETTINGS = [EGRESS_ALLOW_VAR, 'TEMPORAL_ADDRESS', 'TEMPORAL_UI_URL', 'TEMPORAL_DEV_PORT', 'TEMPORAL_DEV_UI_PORT', 'TEMPORAL_DEV_HTTP_PORT'];

export function stageEnvironment(env: Readonly<Record<string, string | undefined>>): Readonly<Record<string, string | undefined>> {
  const keep = new Set<string>([...ENV_ALLOW_LIST, ...EGRESS_SETTINGS, ...SANDBOX_SETTINGS]);
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && (keep.has(name) || isWebhookKeyEnv(name))) out[name] = value;
  }
  return Object.freeze(out);
}
