/**
 * Executor of the `http-check` stage (Node only): requests a URL every
 * `intervalSeconds` until it answers as expected (status, body text, JSON
 * value) and every listed dependency answers its expected status, or until
 * `deadlineSeconds` have passed since the start. The failure message says
 * which check failed on the last attempt, with the status code and size of the
 * answer but never its body (it may come from a service the author should not
 * read). Requests go through the egress policy (../egress.ts): a refused target
 * fails the stage at once.
 */
import type { HttpCheckConfig } from './definition';
import type { EgressPolicy } from '../egress';
import { describeNetworkError, egressRequest, policyFromStageEnv } from '../egress-request';
import { StageFailure, type ExecutorContext, type StageExecutor } from '../executor-types';

const HEARTBEAT_MS = 1000;

type CheckResult = { ok: true; status: number } | { ok: false; status?: number; problem: string };

export const executeHttpCheck: StageExecutor<HttpCheckConfig> = async (config, ctx) => {
  const progress = { attempt: 0 };
  // Requests and intervals can be long; keep reporting liveness between attempts too.
  const beat = setInterval(() => ctx.heartbeat({ attempt: progress.attempt, logOffset: ctx.log.offset }), HEARTBEAT_MS);
  try {
    return await run(config, ctx, progress);
  } catch (err) {
    if (ctx.signal.aborted) {
      ctx.log.write('system', 'cancelled\n');
      throw abortReason(ctx.signal);
    }
    throw err;
  } finally {
    clearInterval(beat);
    await ctx.log.flush();
  }
};

async function run(config: HttpCheckConfig, ctx: ExecutorContext, progress: { attempt: number }) {
  checkUrl(config.url, 'url');
  for (const d of config.dependencies) checkUrl(d.url, `dependency "${d.name}"`);
  const policy = policyFromStageEnv(ctx.env);
  const started = Date.now();
  const deadlineMs = config.deadlineSeconds * 1000;
  // The stage's own time limit wins when it is shorter than the check's deadline.
  const limitedByTimeout = Number.isFinite(ctx.timeoutMs) && ctx.timeoutMs > 0 && ctx.timeoutMs < deadlineMs;
  const endsAt = started + (limitedByTimeout ? ctx.timeoutMs : deadlineMs);
  const intervalMs = config.intervalSeconds * 1000;
  for (let attempt = 1; ; attempt++) {
    progress.attempt = attempt;
    throwIfAborted(ctx.signal);
    const attemptStarted = Date.now();
    ctx.heartbeat({ attempt, logOffset: ctx.log.offset });

    const requestLimitMs = Math.max(1, Math.min(config.requestTimeoutSeconds * 1000, endsAt - attemptStarted));
    const [main, deps] = await Promise.all([
      checkMain(config, requestLimitMs, ctx.signal, policy),
      Promise.all(
        config.dependencies.map((d) =>
          checkStatus(d.url, 'GET', {}, d.expectStatus, requestLimitMs, ctx.signal, policy).then((r) => ({ dep: d.name, r })),
        ),
      ),
    ]);
    throwIfAborted(ctx.signal);

    const problems: string[] = [];
    for (const { dep, r } of deps) if (!r.ok) problems.push(`dependency "${dep}" is down: ${r.problem}`);
    if (!main.ok) problems.push(main.problem);

    if (problems.length === 0 && main.ok) {
      const took = formatSeconds(Date.now() - started);
      ctx.log.write('system', `attempt ${attempt}: ${config.url} answered ${main.status}, all checks passed\n`);
      return {
        outputs: { status: String(main.status), attempts: String(attempt) },
        summary: `answered ${main.status} after ${plural(attempt, 'attempt')} in ${took}`,
      };
    }
    ctx.log.write('system', `attempt ${attempt}: ${problems.join('; ')}\n`);

    const nextAt = attemptStarted + intervalMs;
    if (nextAt >= endsAt || Date.now() >= endsAt) {
      const outputs: Record<string, string> = { attempts: String(attempt) };
      if (main.status !== undefined) outputs.status = String(main.status);
      if (limitedByTimeout) {
        throw new StageFailure(`timed out after ${trimNumber(ctx.timeoutMs / 1000)}s: ${problems.join('; ')}`, 'StageTimeout', outputs);
      }
      throw new StageFailure(
        `not healthy after ${plural(attempt, 'attempt')} in ${trimNumber(config.deadlineSeconds)}s: ${problems.join('; ')}`,
        'StageFailed',
        outputs,
      );
    }
    await abortableDelay(nextAt - Date.now(), ctx.signal);
  }
}

async function checkMain(config: HttpCheckConfig, limitMs: number, signal: AbortSignal, policy: EgressPolicy): Promise<CheckResult> {
  const needsBody = config.method !== 'HEAD' && (config.bodyContains !== undefined || config.jsonPath !== undefined);
  const answer = await request(config.url, config.method, config.headers, limitMs, signal, needsBody, policy);
  if (!answer.ok) return answer;
  const { status, body } = answer;
  const what = `${status}, ${describeSize(answer.size)}`;
  if (status !== config.expectStatus) {
    return { ok: false, status, problem: `${config.url} answered ${what} (expected ${config.expectStatus})` };
  }
  // The body itself is never quoted: it may hold what the target did not mean to publish.
  if (config.bodyContains !== undefined && !body.includes(config.bodyContains)) {
    return { ok: false, status, problem: `body (${describeSize(answer.size)}) does not contain ${JSON.stringify(config.bodyContains)}` };
  }
  if (config.jsonPath) {
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      return { ok: false, status, problem: `body (${describeSize(answer.size)}) is not JSON (needed for ${config.jsonPath})` };
    }
    const value = valueAt(json, config.jsonPath);
    if (value === undefined) return { ok: false, status, problem: `${config.jsonPath} is missing in the body` };
    if (config.jsonEquals !== undefined && asText(value) !== config.jsonEquals) {
      return { ok: false, status, problem: `${config.jsonPath} is not ${JSON.stringify(config.jsonEquals)}` };
    }
  }
  return { ok: true, status };
}

async function checkStatus(
  url: string,
  method: string,
  headers: Record<string, string>,
  expectStatus: number,
  limitMs: number,
  signal: AbortSignal,
  policy: EgressPolicy,
): Promise<CheckResult> {
  const answer = await request(url, method, headers, limitMs, signal, false, policy);
  if (!answer.ok) return answer;
  if (answer.status !== expectStatus) {
    return { ok: false, status: answer.status, problem: `${url} answered ${answer.status}, ${describeSize(answer.size)} (expected ${expectStatus})` };
  }
  return { ok: true, status: answer.status };
}

type Answer = { ok: true; status: number; body: string; size: number } | { ok: false; problem: string };

async function request(
  url: string,
  method: string,
  headers: Record<string, string>,
  limitMs: number,
  signal: AbortSignal,
  readBody: boolean,
  policy: EgressPolicy,
): Promise<Answer> {
  const timeout = AbortSignal.timeout(limitMs);
  try {
    const res = await egressRequest(
      new URL(url),
      { method, headers, signal: AbortSignal.any([signal, timeout]), readBody, followRedirects: true },
      policy,
    );
    return { ok: true, status: res.status, body: res.body, size: res.size };
  } catch (err) {
    if (signal.aborted) throw abortReason(signal);
    // Refused by the egress policy (or too many redirects): no point in trying again.
    if (err instanceof StageFailure) throw err;
    if (timeout.aborted) return { ok: false, problem: `${url} did not answer within ${trimNumber(limitMs / 1000)}s` };
    return { ok: false, problem: `${url}: ${describeNetworkError(err)}` };
  }
}

function describeSize(bytes: number): string {
  return bytes < 1024 ? `${bytes} bytes` : `${trimNumber(bytes / 1024)} KiB`;
}

function checkUrl(url: string, what: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new StageFailure(`${what}: "${url}" is not a valid URL`, 'InvalidConfig');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new StageFailure(`${what}: only http and https URLs can be checked`, 'InvalidConfig');
  }
}

/** Value at a dot path (`checks.0.state`); numeric segments index arrays. */
export function valueAt(root: unknown, dotPath: string): unknown {
  let cur: unknown = root;
  for (const key of dotPath.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    if (Array.isArray(cur)) {
      if (!/^\d+$/.test(key)) return undefined;
      cur = cur[Number(key)];
    } else {
      if (!Object.prototype.hasOwnProperty.call(cur, key)) return undefined;
      cur = (cur as Record<string, unknown>)[key];
    }
  }
  return cur;
}

function asText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortReason(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw abortReason(signal);
}

function abortReason(signal: AbortSignal): unknown {
  if (signal.reason !== undefined) return signal.reason;
  const err = new Error('the stage was cancelled');
  err.name = 'AbortError';
  return err;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function trimNumber(n: number): string {
  return String(Math.round(n * 10) / 10);
}

function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
