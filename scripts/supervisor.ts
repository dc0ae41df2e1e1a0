/**
 * Keeps a process running: when it exits unexpectedly (or fails to start), it
 * is started again after a delay that doubles from `minDelayMs` up to
 * `maxDelayMs`, and falls back to `minDelayMs` once an instance has stayed up
 * for `stableAfterMs`. `npm start` (scripts/start.ts) supervises the embedded
 * Temporal dev server with it, so one crash of the server no longer stops
 * every process: the worker, the runner and the web app reconnect by
 * themselves once it is back.
 */

export type ExitInfo = { code: number | null; signal: NodeJS.Signals | null };

export type SupervisedInstance = { exited: Promise<ExitInfo> };

export type SupervisorOptions<T extends SupervisedInstance> = {
  /** Starts one instance; resolves once it serves, rejects when it could not start. */
  start: () => Promise<T>;
  /** An instance already started by the caller (its first start is the caller's to report). */
  first?: T;
  /** True once the whole program is stopping: nothing is restarted any more. */
  stopping: () => boolean;
  /** Each new instance, after a restart. */
  onStarted?: (instance: T, attempt: number) => void;
  /** The instance exited unexpectedly; the next start comes after `delayMs`. */
  onExit?: (info: ExitInfo, delayMs: number) => void;
  /** A start failed; the next try comes after `delayMs`. */
  onStartFailed?: (err: unknown, delayMs: number) => void;
  minDelayMs?: number;
  maxDelayMs?: number;
  stableAfterMs?: number;
};

export type Supervisor = {
  /** Cuts a pending delay short (shutdown wakes the loop so it can end). */
  wake(): void;
  /** Resolves when the loop has ended (only once `stopping()` is true). */
  done: Promise<void>;
};

export function supervise<T extends SupervisedInstance>(opts: SupervisorOptions<T>): Supervisor {
  const min = opts.minDelayMs ?? 1000;
  const max = opts.maxDelayMs ?? 30_000;
  const stableAfter = opts.stableAfterMs ?? 60_000;
  let wakeUp: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      wakeUp = resolve;
      timer = setTimeout(resolve, ms);
    });
  const loop = async () => {
    let delay = min;
    let current = opts.first;
    let startedAt = Date.now();
    let attempt = 0;
    while (!opts.stopping()) {
      if (current) {
        const info = await current.exited;
        current = undefined;
        if (opts.stopping()) return;
        if (Date.now() - startedAt > stableAfter) delay = min;
        opts.onExit?.(info, delay);
        await pause(delay);
        delay = Math.min(delay * 2, max);
        continue;
      }
      try {
        attempt++;
        current = await opts.start();
        startedAt = Date.now();
        // Reported even when stopping meanwhile: the caller owns the instance and stops it.
        opts.onStarted?.(current, attempt);
        if (opts.stopping()) return;
      } catch (err) {
        if (opts.stopping()) return;
        opts.onStartFailed?.(err, delay);
        await pause(delay);
        delay = Math.min(delay * 2, max);
      }
    }
  };
  return {
    wake() {
      if (timer) clearTimeout(timer);
      wakeUp?.();
    },
    done: loop(),
  };
}
