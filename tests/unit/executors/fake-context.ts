/**
 * An ExecutorContext for executor tests: an in-memory StageLog (the real log
 * store is a separate component), recorded heartbeats, a cancel controller and
 * a fresh workspace folder.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ExecutorContext, LogStream, StageLog } from '@/workflows/stages/executor-types';

export type LogEntry = { stream: LogStream; text: string };

export class MemoryLog implements StageLog {
  readonly entries: LogEntry[] = [];
  flushes = 0;
  private written = 0;

  write(stream: LogStream, text: string): void {
    this.entries.push({ stream, text });
    this.written += text.length;
  }

  async flush(): Promise<void> {
    this.flushes++;
  }

  get offset(): number {
    return this.written;
  }

  /** Everything written to one stream (or to all), concatenated. */
  text(stream?: LogStream): string {
    return this.entries
      .filter((e) => stream === undefined || e.stream === stream)
      .map((e) => e.text)
      .join('');
  }
}

export type FakeContext = {
  ctx: ExecutorContext;
  log: MemoryLog;
  heartbeats: unknown[];
  controller: AbortController;
  /** Removes the workspace folder. */
  cleanup(): void;
};

export function fakeContext(overrides: Partial<ExecutorContext> = {}): FakeContext {
  const log = new MemoryLog();
  const heartbeats: unknown[] = [];
  const controller = new AbortController();
  const workspaceDir = mkdtempSync(path.join(tmpdir(), 'pipewright-test-ws-'));
  const ctx: ExecutorContext = {
    runId: 'run-1',
    nodeId: 'build',
    attempt: 1,
    signal: controller.signal,
    timeoutMs: 30_000,
    log,
    heartbeat: (details) => heartbeats.push(details),
    workspaceDir,
    env: process.env,
    ...overrides,
  };
  return { ctx, log, heartbeats, controller, cleanup: () => rmSync(workspaceDir, { recursive: true, force: true }) };
}

/**
 * Whether a process is gone. A zombie (dead, waiting for its new parent to reap
 * it) counts as gone: `process.kill(pid, 0)` still succeeds for it until then.
 */
export function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state === 'Z' || state === 'X';
  } catch {
    return true;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until `check` returns a value other than undefined (or fails after `ms`). */
export async function waitFor<T>(check: () => T | undefined, ms = 5000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error('waitFor: condition not met in time');
    await sleep(20);
  }
}

/**
 * A `sleep` command with a duration no other process on the machine uses, so
 * the test can find it from the host: inside the sandbox a command has its own
 * PID namespace, and the pids it sees (`$!`) mean nothing outside.
 */
export function uniqueSleep(): { command: string; argv: string[] } {
  const seconds = `30.${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}`;
  return { command: `sleep ${seconds}`, argv: ['sleep', seconds] };
}

/** Host pids of live processes whose arguments are exactly `argv`. */
export function hostPids(argv: string[]): number[] {
  const want = argv.join('\0');
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0$/, '');
      if (cmdline === want && !processGone(Number(entry))) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

/** Waits until a process with exactly `argv` runs and returns its host pid. */
export function hostPidOf(argv: string[], ms = 5000): Promise<number> {
  return waitFor(() => hostPids(argv)[0], ms);
}
