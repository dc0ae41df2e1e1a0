import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { supervise, type ExitInfo } from '@/scripts/supervisor';

/** A real process that exits with `code` once it has started. */
function processExiting(code: number) {
  const child = spawn(process.execPath, ['-e', `process.exit(${code})`], { stdio: 'ignore' });
  const exited = new Promise<ExitInfo>((resolve) => child.once('exit', (c, signal) => resolve({ code: c, signal })));
  return Promise.resolve({ pid: child.pid, exited });
}

describe('supervise', () => {
  it('starts a process that keeps dying again and again, doubling the delay up to the cap', async () => {
    let stopping = false;
    const exits: { code: number | null; delayMs: number }[] = [];
    let starts = 0;
    const sup = supervise({
      start: () => {
        starts++;
        return processExiting(7);
      },
      stopping: () => stopping,
      minDelayMs: 5,
      maxDelayMs: 20,
      onExit: (info, delayMs) => {
        exits.push({ code: info.code, delayMs });
        if (exits.length === 5) stopping = true;
      },
    });
    await sup.done;
    expect(starts).toBe(5);
    expect(exits).toEqual([5, 10, 20, 20, 20].map((delayMs) => ({ code: 7, delayMs })));
  });

  it('keeps trying when a start fails, and watches an instance started before it', async () => {
    let stopping = false;
    const events: string[] = [];
    let tries = 0;
    const sup = supervise({
      first: await processExiting(1),
      start: async () => {
        tries++;
        if (tries < 3) throw new Error(`port busy ${tries}`);
        return processExiting(0);
      },
      stopping: () => stopping,
      minDelayMs: 1,
      onExit: (info) => {
        events.push(`exit ${info.code}`);
        if (events.filter((e) => e.startsWith('exit')).length === 2) stopping = true;
      },
      onStartFailed: (err) => events.push((err as Error).message),
      onStarted: (_, attempt) => events.push(`started #${attempt}`),
    });
    await sup.done;
    expect(events).toEqual(['exit 1', 'port busy 1', 'port busy 2', 'started #3', 'exit 0']);
  });

  it('restarts nothing once stopping, and wake() ends a pending delay', async () => {
    let stopping = false;
    let starts = 0;
    const sup = supervise({
      first: await processExiting(1),
      start: () => {
        starts++;
        return processExiting(0);
      },
      stopping: () => stopping,
      minDelayMs: 3_600_000,
      onExit: () => {
        stopping = true;
        queueMicrotask(() => sup.wake());
      },
    });
    await sup.done;
    expect(starts).toBe(0);
  });
});
