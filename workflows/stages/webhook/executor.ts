/**
 * Executor of the `webhook` stage (Node only): POSTs the JSON body, signed with
 * HMAC-SHA256 when the worker has the signing key.
 *
 * Headers sent (on top of `config.headers`):
 * - `Content-Type: application/json`;
 * - `X-Pipewright-Timestamp: <unix seconds>`;
 * - `X-Pipewright-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`
 *   when `env[config.secretEnv]` is set (only `PIPEWRIGHT_WEBHOOK_SECRET` or
 *   `PIPEWRIGHT_WEBHOOK_KEY_*` may be named; any other name fails the stage);
 * - `X-Pipewright-Delivery: <runId>:<nodeId>:<attempt>`, the same for every
 *   infrastructure retry of one attempt, so receivers can drop duplicates.
 *
 * Outcomes: 2xx → success; 3xx and other 4xx → `StageFailure` (the receiver
 * refused; not retried by the infrastructure); 429, 5xx, network errors and
 * timeouts → a plain `Error` (retryable). Redirects are not followed, so the
 * signature never goes to another host. Only the URL's origin is logged (hook
 * URLs often carry a token in their path), never the key or the signature, and
 * of the answer only its status and size (never its body: it may come from a
 * service the author should not read). The target must pass the egress policy
 * (../egress.ts); a refused one fails the stage at once.
 */
import { createHmac } from 'node:crypto';
import { isWebhookKeyEnv, WEBHOOK_DEFAULT_KEY_ENV, WEBHOOK_KEY_ENV_PREFIX, type WebhookConfig } from './definition';
import { describeNetworkError, egressRequest, policyFromStageEnv } from '../egress-request';
import { StageFailure, type ExecutorContext, type StageExecutor } from '../executor-types';

export const executeWebhook: StageExecutor<WebhookConfig> = async (config, ctx) => {
  try {
    return await run(config, ctx);
  } catch (err) {
    if (ctx.signal.aborted) {
      ctx.log.write('system', 'cancelled\n');
      throw abortReason(ctx.signal);
    }
    throw err;
  } finally {
    await ctx.log.flush();
  }
};

/** `sha256=<hex>` signature of `<timestamp>.<body>`; exported so receivers and tests share one definition. */
export function signWebhook(key: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', key).update(`${timestamp}.${body}`).digest('hex')}`;
}

async function run(config: WebhookConfig, ctx: ExecutorContext) {
  if (ctx.signal.aborted) throw abortReason(ctx.signal);
  const target = parseUrl(config.url);
  if (!isWebhookKeyEnv(config.secretEnv)) {
    throw new StageFailure(
      `secretEnv "${config.secretEnv}" is not a webhook signing key: name ${WEBHOOK_DEFAULT_KEY_ENV} or a variable starting with ${WEBHOOK_KEY_ENV_PREFIX}`,
      'InvalidConfig',
    );
  }
  const policy = policyFromStageEnv(ctx.env);
  const body = JSON.stringify(config.body ?? null) ?? 'null';
  const timestamp = String(Math.floor(Date.now() / 1000));

  // Lower-case names, so the ones set here replace any the author wrote in another case.
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(config.headers)) headers[name.toLowerCase()] = value;
  headers['content-type'] = 'application/json';
  headers['x-pipewright-timestamp'] = timestamp;
  headers['x-pipewright-delivery'] = `${ctx.runId}:${ctx.nodeId}:${ctx.attempt}`;
  const key = ctx.env[config.secretEnv];
  if (key) {
    headers['x-pipewright-signature'] = signWebhook(key, timestamp, body);
  } else {
    delete headers['x-pipewright-signature'];
    ctx.log.write('system', `warning: ${config.secretEnv} is not set on the worker; sending the webhook unsigned\n`);
  }

  const requestMs = config.timeoutSeconds * 1000;
  const limitedByStage = Number.isFinite(ctx.timeoutMs) && ctx.timeoutMs > 0 && ctx.timeoutMs < requestMs;
  const limitMs = limitedByStage ? ctx.timeoutMs : requestMs;
  const timeout = AbortSignal.timeout(limitMs);

  ctx.heartbeat({ logOffset: ctx.log.offset });
  const beat = setInterval(() => ctx.heartbeat({ logOffset: ctx.log.offset }), 1000);
  const started = Date.now();
  let res: { status: number; size: number };
  try {
    res = await egressRequest(target, { method: 'POST', headers, body, signal: AbortSignal.any([ctx.signal, timeout]), readBody: false }, policy);
  } catch (err) {
    if (ctx.signal.aborted) throw abortReason(ctx.signal);
    if (err instanceof StageFailure) {
      ctx.log.write('system', `POST ${target.origin}: ${err.message}\n`);
      throw err;
    }
    const limit = `${trimNumber(limitMs / 1000)}s`;
    if (timeout.aborted) {
      ctx.log.write('system', `POST ${target.origin}: no answer within ${limit}\n`);
      if (limitedByStage) throw new StageFailure(`timed out after ${limit}`, 'StageTimeout');
      throw new Error(`webhook to ${target.origin} did not answer within ${limit}`);
    }
    const problem = describeNetworkError(err);
    ctx.log.write('system', `POST ${target.origin}: ${problem}\n`);
    throw new Error(`webhook to ${target.origin} failed: ${problem}`);
  } finally {
    clearInterval(beat);
  }
  const took = formatSeconds(Date.now() - started);
  const status = res.status;
  const answered = `${status}, ${describeSize(res.size)}`;
  ctx.log.write('system', `POST ${target.origin} answered ${answered} in ${took}\n`);

  if (status >= 200 && status < 300) {
    return { outputs: { status: String(status) }, summary: `delivered to ${target.origin} (${status}) in ${took}` };
  }
  if (status === 429 || status >= 500) {
    throw new Error(`webhook to ${target.origin} answered ${answered}`);
  }
  if (status >= 300 && status < 400) {
    throw new StageFailure(`webhook to ${target.origin} answered ${status} (redirects are not followed; use the final URL)`, 'StageFailed', {
      status: String(status),
    });
  }
  throw new StageFailure(`webhook to ${target.origin} answered ${answered}`, 'StageFailed', { status: String(status) });
}

function parseUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new StageFailure('the webhook URL is not a valid URL', 'InvalidConfig');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new StageFailure('the webhook URL must use http or https', 'InvalidConfig');
  }
  return parsed;
}

function describeSize(bytes: number): string {
  return bytes < 1024 ? `${bytes} bytes` : `${trimNumber(bytes / 1024)} KiB`;
}

function abortReason(signal: AbortSignal): unknown {
  if (signal.reason !== undefined) return signal.reason;
  const err = new Error('the stage was cancelled');
  err.name = 'AbortError';
  return err;
}

function trimNumber(n: number): string {
  return String(Math.round(n * 10) / 10);
}

function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
