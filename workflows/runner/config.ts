/**
 * The runner's configuration: command-line flags, else environment variables.
 * Its own small module on purpose: a runner reads none of the control plane's
 * configuration (server/env.ts), and holds no database URL or key.
 *
 *   --url        PIPEWRIGHT_RUNNER_URL        the Pipewright app (control plane), e.g. http://ci.example.com:3000
 *   --token      PIPEWRIGHT_RUNNER_TOKEN      the token shown when the runner was registered (Admin → Runners)
 *   --labels     PIPEWRIGHT_RUNNER_LABELS     labels to serve, comma-separated (default: all it was registered with)
 *   --temporal   TEMPORAL_ADDRESS             Temporal frontend (default localhost:7233)
 *   --namespace  TEMPORAL_NAMESPACE           Temporal namespace (default default)
 *   --workspace  PIPEWRIGHT_RUNNER_WORKSPACE  where stages get their working folders (default ~/.pipewright-runner/workspaces)
 *   --max-stages PIPEWRIGHT_RUNNER_MAX_STAGES stages run at once (default 20)
 */
import { homedir } from 'node:os';
import path from 'node:path';
import { normaliseLabels, runnerLabelsSchema } from '../model/runners';

export type RunnerConfig = {
  url: string;
  token: string;
  /** Undefined: serve every label the runner was registered with. */
  labels?: string[];
  temporalAddress: string;
  namespace: string;
  workspaceDir: string;
  maxStages: number;
  heartbeatMs: number;
};

export class RunnerConfigError extends Error {}

const FLAGS = {
  url: 'PIPEWRIGHT_RUNNER_URL',
  token: 'PIPEWRIGHT_RUNNER_TOKEN',
  labels: 'PIPEWRIGHT_RUNNER_LABELS',
  temporal: 'TEMPORAL_ADDRESS',
  namespace: 'TEMPORAL_NAMESPACE',
  workspace: 'PIPEWRIGHT_RUNNER_WORKSPACE',
  'max-stages': 'PIPEWRIGHT_RUNNER_MAX_STAGES',
  'heartbeat-ms': 'PIPEWRIGHT_RUNNER_HEARTBEAT_MS',
} as const;
type Flag = keyof typeof FLAGS;

export function parseRunnerConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): RunnerConfig {
  const given: Partial<Record<Flag, string>> = {};
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i]!);
    if (!m || !Object.hasOwn(FLAGS, m[1]!)) throw new RunnerConfigError(`unknown argument ${argv[i]} (flags: ${Object.keys(FLAGS).map((f) => `--${f}`).join(', ')})`);
    given[m[1] as Flag] = m[2] ?? argv[++i] ?? '';
  }
  const get = (f: Flag) => (given[f] ?? env[FLAGS[f]] ?? '').trim();
  const url = get('url');
  if (!url) throw new RunnerConfigError('the control plane URL is missing: --url http://… or PIPEWRIGHT_RUNNER_URL');
  try {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error();
  } catch {
    throw new RunnerConfigError(`--url must be an http(s) URL, got ${JSON.stringify(url)}`);
  }
  const token = get('token');
  if (!token) throw new RunnerConfigError('the runner token is missing: --token … or PIPEWRIGHT_RUNNER_TOKEN (an admin registers runners under Admin → Runners)');
  let labels: string[] | undefined;
  const rawLabels = get('labels');
  if (rawLabels) {
    const parsed = runnerLabelsSchema.safeParse(rawLabels.split(',').map((l) => l.trim()).filter(Boolean));
    if (!parsed.success) throw new RunnerConfigError(`--labels: ${parsed.error.issues[0]?.message}`);
    labels = normaliseLabels(parsed.data);
  }
  const num = (f: Flag, dflt: number) => {
    const v = get(f);
    if (!v) return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new RunnerConfigError(`--${f} must be a positive whole number`);
    return n;
  };
  return {
    url,
    token,
    labels,
    temporalAddress: get('temporal') || 'localhost:7233',
    namespace: get('namespace') || 'default',
    workspaceDir: path.resolve(get('workspace') || path.join(homedir(), '.pipewright-runner', 'workspaces')),
    maxStages: num('max-stages', 20),
    heartbeatMs: num('heartbeat-ms', 10_000),
  };
}

/** The environment stages see: the runner's own, without its token. */
export function scrubbedEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string | undefined> {
  const out = { ...env };
  delete out.PIPEWRIGHT_RUNNER_TOKEN;
  return out;
}
