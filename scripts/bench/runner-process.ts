/**
 * A runner as a separate process for the benchmarks: `workflows/runner/main.ts`
 * under tsx (what `npm run runner` starts), given only what a real runner
 * holds — its token, the control plane's URL, the Temporal address, a PATH.
 * Its output is kept for error messages; `ready` resolves once it polls.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export type RunnerProcess = {
  pid: number;
  /** Resolves when the runner says it is polling its task queues; rejects if it exits first or takes longer than `readyTimeoutMs`. */
  ready: Promise<void>;
  output(): string;
  /** Resolves when the process has exited, for whatever reason. */
  exited: Promise<void>;
  /** kill -9, as a crashed machine would; resolves once the process is gone. */
  kill9(): Promise<void>;
  /** SIGTERM (the runner cancels its stages within its grace time), then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
};

export function startRunnerProcess(o: {
  repoRoot: string;
  url: string;
  token: string;
  temporal: string;
  workspace: string;
  labels?: string[];
  maxStages?: number;
  readyTimeoutMs?: number;
}): RunnerProcess {
  const args = ['--import', 'tsx', 'workflows/runner/main.ts', '--url', o.url, '--temporal', o.temporal, '--workspace', o.workspace];
  if (o.labels?.length) args.push('--labels', o.labels.join(','));
  if (o.maxStages) args.push('--max-stages', String(o.maxStages));
  const proc: ChildProcess = spawn(process.execPath, args, {
    cwd: o.repoRoot,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, PIPEWRIGHT_RUNNER_TOKEN: o.token } as unknown as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the runner process did not start polling within ${(o.readyTimeoutMs ?? 180_000) / 1000} s:\n${out}`)), o.readyTimeoutMs ?? 180_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (/ polling /.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the runner process exited (${signal ?? code}) before it polled:\n${out}`));
    });
  });
  ready.catch(() => undefined);
  const gone = () => proc.exitCode !== null || proc.signalCode !== null;
  return {
    pid: proc.pid!,
    ready,
    output: () => out,
    exited,
    async kill9() {
      if (!gone()) proc.kill('SIGKILL');
      await exited;
    },
    async stop(graceMs = 15_000) {
      if (gone()) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
