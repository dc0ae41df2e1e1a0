/**
 * Token buckets by key, in memory: `capacity` requests at once, refilled at
 * `perSecond`. Used at the HTTP edge where a burst is normal (a Git server
 * delivering a merge train) but a flood is not.
 */
export type BucketRule = { capacity: number; perSecond: number };

export function createTokenBuckets(rule: BucketRule, maxKeys = 10_000) {
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    /** Takes one token for `key`; returns null when it had one, else the seconds until it will. */
    take(key: string, now = Date.now()): number | null {
      let b = buckets.get(key);
      if (b) {
        b.tokens = Math.min(rule.capacity, b.tokens + ((now - b.at) / 1000) * rule.perSecond);
        b.at = now;
      } else {
        if (buckets.size >= maxKeys) {
          // Forget full buckets (they behave exactly like new ones) to stay bounded.
          for (const [k, v] of buckets) if (v.tokens + ((now - v.at) / 1000) * rule.perSecond >= rule.capacity) buckets.delete(k);
        }
        b = { tokens: rule.capacity, at: now };
        buckets.set(key, b);
      }
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return null;
      }
      return Math.max(1, Math.ceil((1 - b.tokens) / rule.perSecond));
    },
    reset: () => buckets.clear(),
  };
}
