/**
 * Refused webhook deliveries (bad or missing signature, no such pipeline or
 * webhook): how often they may hit the server, and how they reach the audit log.
 *
 * 1. Every refusal has the same answer — 401 and `REFUSED_BODY` — whether the
 *    pipeline does not exist, has no webhook, or the signature is wrong, so a
 *    stranger learns nothing about which pipelines exist.
 * 2. Deliveries are rate limited before any database work, per pipeline id and
 *    per client address (behind a trusted proxy only; otherwise there is no
 *    address worth trusting): token buckets with room for a burst (a Git
 *    server's merge train, the 200-delivery benchmark) but not a flood (429).
 * 3. Refusals are sampled into the audit log: at most one row per pipeline
 *    (and one for all unknown ids together) and kind of refusal (wrong
 *    signature, missing signature, not a Git delivery…) per `SAMPLE_WINDOW_MS`,
 *    saying how many of that kind were refused since its previous row, instead
 *    of one row each — a flood of forged deliveries cannot fill the database,
 *    and one kind (a flood of wrong signatures) never hides another (an
 *    unsigned delivery) from the log.
 * Counters are in memory (per web process), which is what they protect.
 */
import type { BucketRule } from '../security/token-bucket';
import { createTokenBuckets } from '../security/token-bucket';

export const REFUSED_BODY = {
  ok: false,
  started: false,
  message: 'Refused: unknown pipeline or webhook, or the signature (X-Hub-Signature-256) or token (X-Gitlab-Token) does not match.',
} as const;

export const WEBHOOK_RATE = {
  /** One pipeline id, from everybody. */
  perPipeline: { capacity: 300, perSecond: 10 } satisfies BucketRule,
  /** One client address (trusted proxy only), whatever the pipeline. */
  perClient: { capacity: 300, perSecond: 10 } satisfies BucketRule,
};

export const SAMPLE_WINDOW_MS = 60_000;

export function createWebhookLimiter(rate = WEBHOOK_RATE) {
  const pipelines = createTokenBuckets(rate.perPipeline);
  const clients = createTokenBuckets(rate.perClient);
  return {
    /** Seconds to wait when this delivery is over a limit, else null. */
    check(pipelineId: string, address: string | null, now = Date.now()): number | null {
      if (address) {
        const wait = clients.take(address, now);
        if (wait !== null) return wait;
      }
      return pipelines.take(pipelineId, now);
    },
    reset() {
      pipelines.reset();
      clients.reset();
    },
  };
}

/**
 * Decides which refusals are written to the audit log. `refused(key)` returns
 * the number of refusals the row stands for (this one and those held back
 * since the previous row) when a row is due, else null.
 */
export function createRefusalSampler(windowMs = SAMPLE_WINDOW_MS) {
  const seen = new Map<string, { since: number; held: number }>();
  return {
    refused(key: string, now = Date.now()): number | null {
      const s = seen.get(key);
      if (s && now - s.since < windowMs) {
        s.held++;
        return null;
      }
      if (seen.size >= 10_000) for (const [k, v] of seen) if (now - v.since >= windowMs) seen.delete(k);
      seen.set(key, { since: now, held: 0 });
      return (s?.held ?? 0) + 1;
    },
    reset: () => seen.clear(),
  };
}

const globalForHooks = globalThis as unknown as {
  pipewrightWebhookLimiter?: ReturnType<typeof createWebhookLimiter>;
  pipewrightWebhookRefusals?: ReturnType<typeof createRefusalSampler>;
};

/** The process's webhook rate limiter. */
export function getWebhookLimiter() {
  return (globalForHooks.pipewrightWebhookLimiter ??= createWebhookLimiter());
}

/** The process's sampler of refused deliveries. */
export function getRefusalSampler() {
  return (globalForHooks.pipewrightWebhookRefusals ??= createRefusalSampler());
}
