/**
 * How many live streams (`/api/events`) one session may hold open at once.
 *
 * Each stream costs the server a timer or two and, for a run, a share of a
 * database poll; a page opens one per tab. Without a cap one signed-in
 * viewer could open hundreds and keep the CPU busy, so a session gets
 * `PIPEWRIGHT_MAX_STREAMS_PER_SESSION` (default 8) and the next one is refused
 * with 429 until one closes. Counted in memory per process (streams live in
 * one process anyway).
 */
import { getEnv } from '../env';

export function createStreamCounter(max: number) {
  const open = new Map<string, number>();
  return {
    max,
    /** Takes a slot for `key`; returns its release function, or null when the session already holds `max` streams. */
    acquire(key: string): (() => void) | null {
      const n = open.get(key) ?? 0;
      if (n >= max) return null;
      open.set(key, n + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const left = (open.get(key) ?? 1) - 1;
        if (left > 0) open.set(key, left);
        else open.delete(key);
      };
    },
    /** Streams open for `key` (tests). */
    count: (key: string) => open.get(key) ?? 0,
  };
}

const globalForStreams = globalThis as unknown as { pipewrightEventStreams?: ReturnType<typeof createStreamCounter> };

/** The process's counter of `/api/events` streams. */
export function getStreamCounter() {
  return (globalForStreams.pipewrightEventStreams ??= createStreamCounter(getEnv().PIPEWRIGHT_MAX_STREAMS_PER_SESSION));
}
