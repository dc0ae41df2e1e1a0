/**
 * Heartbeat details → the stage's `progress` column, throttled: the run page
 * shows a running stage's progress (a Kubernetes rollout's ready counts, step,
 * weights) through the same live path as its status, without a database write
 * per heartbeat.
 */

/** What of a heartbeat is worth showing: its details without bookkeeping (`logOffset`), or undefined when nothing is left. */
export function progressOf(details: unknown): Record<string, unknown> | undefined {
  if (details === null || typeof details !== 'object' || Array.isArray(details)) return undefined;
  const { logOffset: _logOffset, ...rest } = details as Record<string, unknown>;
  return Object.keys(rest).length > 0 ? rest : undefined;
}

/**
 * Calls `write` with the latest offered value at most once per `intervalMs`
 * (the first at once, later ones as a trailing write), skipping values equal
 * to the last written one. `flush()` writes what is pending and stops the timer.
 */
export function createThrottledWriter<T>(write: (value: T) => Promise<void>, intervalMs: number, now: () => number = Date.now) {
  let lastJson: string | undefined;
  let lastAt = -Infinity;
  let pending: { value: T; json: string } | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let chain: Promise<void> = Promise.resolve();

  const writeNow = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const p = pending;
    pending = undefined;
    if (!p || p.json === lastJson) return chain;
    lastJson = p.json;
    lastAt = now();
    chain = chain.then(() => write(p.value)).catch(() => undefined);
    return chain;
  };

  return {
    offer(value: T): void {
      const json = JSON.stringify(value);
      if (json === (pending?.json ?? lastJson)) return;
      pending = { value, json };
      const wait = lastAt + intervalMs - now();
      if (wait <= 0) void writeNow();
      else timer ??= setTimeout(() => void writeNow(), wait);
    },
    flush(): Promise<void> {
      return writeNow();
    },
  };
}
