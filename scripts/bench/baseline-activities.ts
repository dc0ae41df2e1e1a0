/**
 * Activities of the hand-written baseline workflow used by `npm run bench:engine`.
 *
 * `spawnTrue` does what a no-op `command` stage does at its core — start
 * `/bin/sh -c true` and wait for it — and nothing else (no database, no log, no
 * output file), so comparing the two isolates what Pipewright adds around the
 * process. `noop` does nothing at all (pure Temporal activity round trip).
 */
import { spawn } from 'node:child_process';

export function createBaselineActivities() {
  return {
    async spawnTrue(): Promise<void> {
      await new Promise<void>((resolve, reject) => {
        const child = spawn('/bin/sh', ['-c', 'true'], { stdio: 'ignore' });
        child.once('error', reject);
        child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`/bin/sh -c true exited with ${code}`))));
      });
    },
    async noop(): Promise<void> {
      // Nothing: measures the activity round trip alone.
    },
  };
}

export type BaselineActivities = ReturnType<typeof createBaselineActivities>;
