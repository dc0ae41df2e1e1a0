import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sweepOrphanedCommands } from '../../../workflows/stages/command/executor';
import { processGone, waitFor } from './fake-context';

describe('commands left running by a worker that died', () => {
  it('are killed by the next worker, and live workers’ commands are left alone', async () => {
    const workspace = mkdtempSync(join(tmpdir(), 'pipewright-orphans-'));
    const dir = join(workspace, '.processes');
    mkdirSync(dir, { recursive: true });
    const orphan = spawn('/bin/sh', ['-c', 'sleep 60'], { detached: true, stdio: 'ignore' });
    const owned = spawn('/bin/sh', ['-c', 'sleep 60'], { detached: true, stdio: 'ignore' });
    // A pid that is certainly dead: a process that already exited.
    const dead = spawn('/bin/true');
    await new Promise((r) => dead.once('exit', r));
    writeFileSync(join(dir, `${orphan.pid}.json`), JSON.stringify({ pgid: orphan.pid, workerPid: dead.pid }));
    writeFileSync(join(dir, `${owned.pid}.json`), JSON.stringify({ pgid: owned.pid, workerPid: process.pid }));
    try {
      expect(await sweepOrphanedCommands(workspace)).toBe(1);
      await waitFor(() => (processGone(orphan.pid!) ? true : undefined), 5000);
      expect(processGone(owned.pid!)).toBe(false);
      expect(readdirSync(dir)).toEqual([`${owned.pid}.json`]);
    } finally {
      for (const pid of [owned.pid!, orphan.pid!]) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  });
});
