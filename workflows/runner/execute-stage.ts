/**
 * `executeStage`: the activity a runner performs, one attempt of one stage.
 *
 * 1. Begins the attempt with the control plane (which checks this runner may
 *    run the stage and marks it running here), receiving a credential scoped to
 *    this attempt; with it, fetches what the stage needs just in time: the
 *    environment's variables and secrets, cluster connections, artifacts.
 * 2. Runs the stage through its kind's executor; the log streams to the control
 *    plane while the stage runs, with every secret value masked first.
 * 3. Finishes the attempt (status, summary, outputs), which revokes the
 *    credential, and returns only a small summary and outputs through Temporal.
 * Nothing here imports the control plane's server or database code.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { resolveStageEnvironmentRefs } from '../model/shell-env';
import { EnvironmentRefError, maskSecrets } from '../model/template';
import { stageEnvironment } from '../stages/stage-env';
import { createThrottledWriter, progressOf } from '../progress-writer';
import { getExecutor } from '../stages/executors';
import { StageFailure, type StageLog } from '../stages/executor-types';
import { ControlPlaneClient, ControlPlaneError } from './client';
import type { StageContextResponse, StageKey } from './protocol';
import { rehearseStage } from './rehearsal';
import { BatchingStageLog, MaskingStageLog } from './stage-log';

export type ExecuteStageInput = {
  runId: string;
  nodeId: string;
  kind: string;
  attempt: number;
  config: Record<string, unknown>;
  timeoutMs: number;
};

export type ExecuteStageResult = { outputs: Record<string, string>; summary: string };

export type RunnerActivityDeps = {
  client: ControlPlaneClient;
  workspaceDir: string;
  /** Environment visible to executors (the runner's own, scrubbed of its token). */
  env: Readonly<Record<string, string | undefined>>;
  /** How often buffered log text is sent, in ms. */
  logFlushMs?: number;
  /** Told when a stage begins and ends (the heartbeat reports it). */
  onStage?: (stage: string | null) => void;
};

const maskOutputs = (outputs: Record<string, string> | undefined, secrets: readonly string[]): Record<string, string> | undefined =>
  outputs && secrets.length > 0 ? Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, maskSecrets(v, secrets)])) : outputs;

/** How often a stage that is still being set up tells Temporal it is alive (its heartbeat timeout is 15 s by default). */
const SETUP_HEARTBEAT_MS = 1000;

export function createRunnerActivities(deps: RunnerActivityDeps) {
  const { client } = deps;

  async function executeStage(input: ExecuteStageInput): Promise<ExecuteStageResult> {
    const ctx = Context.current();
    const { runId, nodeId, attempt } = input;
    const key = { runId, nodeId, attempt };
    // Alive while setting up (calls to the control plane can take a while on a busy machine): a heartbeat
    // each second until the executor heartbeats for itself. A stage set up within a second sends none (each
    // one is a write on the Temporal server). The previous try's details are passed on, so a resumable stage
    // still finds them after a crash here.
    const setupBeat = setInterval(() => ctx.heartbeat(ctx.info.heartbeatDetails), SETUP_HEARTBEAT_MS);
    try {
      return await beginAndRun(input, ctx, key, () => clearInterval(setupBeat));
    } finally {
      clearInterval(setupBeat);
    }
  }

  async function beginAndRun(input: ExecuteStageInput, ctx: Context, key: StageKey, setupDone: () => void) {
    const { runId, nodeId, attempt } = key;
    let credential: string;
    let given: StageContextResponse | undefined;
    try {
      ({ credential, context: given } = await client.begin({ ...key, kind: input.kind, activityId: ctx.info.activityId, activityAttempt: ctx.info.attempt }));
    } catch (err) {
      // This runner may not take it (labels) or the run is over: not worth retrying here.
      if (err instanceof ControlPlaneError && (err.status === 403 || err.status === 409 || err.status === 404)) {
        throw ApplicationFailure.nonRetryable(err.message, 'InvalidConfig');
      }
      throw err;
    }
    deps.onStage?.(`${runId}/${nodeId}#${attempt}`);
    const stage = client.stage(key, credential);
    const later: (() => void)[] = [];
    try {
      return await runAttempt(input, ctx, stage, setupDone, given, (work) => later.push(work));
    } finally {
      deps.onStage?.(null);
      // After the result goes back to Temporal (its completion is sent before timers run).
      if (later.length > 0) setTimeout(() => later.forEach((work) => work()), 0);
    }
  }

  async function runAttempt(
    input: ExecuteStageInput,
    ctx: Context,
    stage: ReturnType<ControlPlaneClient['stage']>,
    setupDone: () => void,
    given: StageContextResponse | undefined,
    afterReport: (work: () => void) => void,
  ): Promise<ExecuteStageResult> {
    const { runId, nodeId, attempt } = input;
    // A control plane that sent the context with `begin` also takes the log's tail with `finish`.
    const context = given ?? (await stage.context());
    const tailWithFinish = given !== undefined;
    const scope = context.environment;
    const secretValues = scope ? Object.values(scope.secrets).filter(Boolean) : [];
    const sent = new BatchingStageLog((chunks) => stage.log(chunks), context.logOffset, deps.logFlushMs ?? 200);
    const masking = secretValues.length > 0 ? new MaskingStageLog(sent, secretValues) : undefined;
    const log: StageLog = masking ?? sent;
    const mask = (text: string | undefined) => (text === undefined ? text : maskSecrets(text, secretValues));
    if (ctx.info.attempt > 1) {
      log.write('system', `— attempt ${attempt} restarted after an infrastructure failure (try ${ctx.info.attempt}) —\n`);
    } else if (attempt > 1) {
      log.write('system', `— attempt ${attempt} —\n`);
    }

    // Heartbeat details shown on the run page: at most two sends a second per stage.
    const progress = createThrottledWriter<Record<string, unknown>>((value) => stage.progress(value).catch(() => undefined), 500);
    const executor = getExecutor(input.kind);
    const finish = async (status: 'succeeded' | 'failed' | 'cancelled', fields: { summary?: string; error?: string; outputs?: Record<string, string> }) => {
      let chunks: Awaited<ReturnType<BatchingStageLog['drain']>> | undefined;
      if (tailWithFinish) {
        masking?.release();
        chunks = await sent.drain();
      } else {
        await (masking ? masking.end() : log.flush()).catch(() => undefined);
      }
      await progress.flush();
      await stage.finish({
        status,
        ...(chunks?.length ? { chunks } : {}),
        ...fields,
        error: mask(fields.error),
        summary: mask(fields.summary),
        outputs: maskOutputs(fields.outputs, secretValues),
      });
    };

    if (!executor) {
      await finish('failed', { error: `no executor for stage kind "${input.kind}" on this runner` });
      throw ApplicationFailure.nonRetryable(`no executor for stage kind "${input.kind}" on this runner`, 'InvalidConfig');
    }
    let config = input.config;
    try {
      if (context.environmentProblem) throw new EnvironmentRefError(context.environmentProblem);
      config = resolveStageEnvironmentRefs(input.kind, input.config, context.planConfig ?? {}, scope);
    } catch (err) {
      if (!(err instanceof EnvironmentRefError)) throw err;
      const message = `environment: ${err.message}`;
      log.write('system', `${message}\n`);
      await finish('failed', { error: message });
      throw ApplicationFailure.nonRetryable(message, 'InvalidConfig');
    }
    if (scope) log.write('system', `environment: ${scope.name}\n`);
    const parsed = executor.schema.safeParse(config);
    if (!parsed.success) {
      const message = mask(`invalid configuration: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`)!;
      log.write('system', `${message}\n`);
      await finish('failed', { error: message });
      throw ApplicationFailure.nonRetryable(message, 'InvalidConfig');
    }

    try {
      // The executor heartbeats for itself from here on (with its own details).
      setupDone();
      const run = context.rehearsal ? (data: unknown, c: Parameters<typeof executor.execute>[1]) => rehearseStage(input.kind, data as Record<string, unknown>, c) : executor.execute;
      const result = await run(parsed.data, {
        runId,
        nodeId,
        attempt,
        signal: ctx.cancellationSignal,
        timeoutMs: input.timeoutMs,
        log,
        heartbeat: (details) => {
          ctx.heartbeat(details);
          const shown = progressOf(details);
          if (shown) progress.offer(shown);
        },
        workspaceDir: deps.workspaceDir,
        // Only what stage kinds need by name (stage-env.ts), never anything else of the runner's environment.
        env: stageEnvironment(deps.env),
        pipelineId: context.pipelineId,
        lastHeartbeat: ctx.info.heartbeatDetails,
        clusters: { get: (name) => stage.cluster(name) },
        artifacts: stage.artifacts(),
        afterReport,
      });
      await finish('succeeded', { summary: result.summary, outputs: result.outputs });
      // What goes back to the workflow (and so into its history) is masked too.
      return secretValues.length > 0 ? { summary: mask(result.summary)!, outputs: maskOutputs(result.outputs, secretValues)! } : result;
    } catch (err) {
      if (ctx.cancellationSignal.aborted) {
        await finish('cancelled', { error: 'cancelled' }).catch(() => undefined);
        throw ctx.cancellationSignal.reason ?? err;
      }
      if (err instanceof StageFailure) {
        await finish('failed', { error: err.message, outputs: err.outputs });
        throw ApplicationFailure.nonRetryable(mask(err.message)!, err.type, { outputs: maskOutputs(err.outputs, secretValues) });
      }
      const message = mask(err instanceof Error ? err.message : String(err))!;
      log.write('system', `infrastructure error (will be retried): ${message}\n`);
      await finish('failed', { error: message }).catch(() => undefined);
      // Retried by Temporal; the message it keeps in history must not hold a secret either.
      throw secretValues.length > 0 ? ApplicationFailure.retryable(message, err instanceof Error ? err.name : 'Error') : err;
    }
  }

  return { executeStage };
}
