/**
 * Durability, proven: kill -9 the worker and the Temporal server at bad moments,
 * start them again on the same database file, and check the run finishes
 * correctly with no completed stage run twice.
 *
 * This file runs its own Temporal dev server (so it can kill it) and runs the
 * control worker and a runner as real child processes ("the worker" below is
 * both: they are killed and started together, as a machine going down would).
 */
import { Connection } from '@temporalio/client';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { getFreePort } from '../../scripts/ports';
import { startDevServer, type DevServer } from '../../scripts/temporal-dev-server';
import { resetTemporalClient } from '../../server/temporal/client';
import { registerSearchAttributes } from '../../server/temporal/search-attributes-registration';
import { cmd, gate, spec, startHarness, type Harness } from './harness';

let h: Harness;
let server: DevServer;
let port: number;
let dbFile: string;
let worker: ChildProcess | undefined;
let runner: ChildProcess | undefined;
const bin = inject('temporalBin');

async function startServer() {
  server = await startDevServer({ bin, port, namespace: 'default', dbFile, logFile: `${dbFile}.log` });
}

function startWorker() {
  worker = spawn(process.execPath, ['--import', 'tsx', 'server/control-worker/worker.ts'], {
    env: { ...process.env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  runner = h.spawnRunner();
}

async function kill9(p: ChildProcess | undefined) {
  if (!p || p.exitCode !== null) return;
  const exited = new Promise((r) => p.once('exit', r));
  p.kill('SIGKILL');
  await exited;
}

async function killWorker() {
  const w = worker;
  const r = runner;
  worker = undefined;
  runner = undefined;
  await Promise.all([kill9(w), kill9(r)]);
}

const lines = (file: string) => {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').filter(Boolean);
  } catch {
    return [];
  }
};
const count = (file: string, line: string) => lines(file).filter((l) => l === line).length;

async function until(check: () => boolean, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  port = await getFreePort();
  h = await startHarness({ worker: false, env: { TEMPORAL_ADDRESS: `127.0.0.1:${port}` } });
  dbFile = join(h.dir, 'temporal.db');
  await startServer();
  const connection = await Connection.connect({ address: server.address });
  await registerSearchAttributes(connection, 'default');
  await connection.close();
  startWorker();
});

afterAll(async () => {
  await killWorker();
  await h?.close();
  await server?.stop();
});

describe('restarts', () => {
  it('kill -9 of the worker mid-stage: the stage is retried on the new worker and finished stages are not run again', async () => {
    const marks = join(h.shared, 'worker-kill');
    const runId = await h.run(
      spec(
        'worker kill',
        [cmd('a', `echo a >> ${marks}`), cmd('b', `echo b-start >> ${marks}; if [ -f ${marks}.again ]; then sleep 1; else touch ${marks}.again; sleep 60; fi; echo b-end >> ${marks}`), cmd('c', `echo c >> ${marks}`)],
        [
          ['a', 'b'],
          ['b', 'c'],
        ],
      ),
    );
    await until(() => count(marks, 'b-start') === 1, 60_000);
    await killWorker();
    startWorker();
    const r = await h.waitForEnd(runId, 90_000);
    expect(r.status).toBe('succeeded');
    expect(count(marks, 'a')).toBe(1);
    expect(count(marks, 'c')).toBe(1);
    // b itself was not finished when the worker died, so it ran again; on a
    // loaded machine a heartbeat timeout can add another attempt, hence ≥.
    expect(count(marks, 'b-start')).toBeGreaterThanOrEqual(2);
    expect(count(marks, 'b-end')).toBeGreaterThanOrEqual(1);
    expect(h.stageOf(r, 'a').executions).toBe(1);
    expect(h.stageOf(r, 'b').executions).toBeGreaterThanOrEqual(2);
    const log = await h.as(h.users.viewer).runs.logs({ runId, nodeId: 'b' });
    expect(log.text).toContain('restarted after an infrastructure failure');
  });

  it('kill -9 of the Temporal server while a gate waits: the gate still waits and the run finishes after approval', async () => {
    const marks = join(h.shared, 'server-kill-gate');
    const runId = await h.run(
      spec('server kill at gate', [cmd('a', `echo a >> ${marks}`), gate('qa', { groups: ['approvers'] }), cmd('c', `echo c >> ${marks}`)], [
        ['a', 'qa'],
        ['qa', 'c'],
      ]),
    );
    await h.waitForStage(runId, 'qa', 'waiting', 60_000);
    await server.kill9();
    await startServer();
    await resetTemporalClient();
    // The worker reconnects by itself; retry the decision until the runner answers.
    const deadline = Date.now() + 90_000;
    for (;;) {
      try {
        await h.as(h.users.alan).approvals.decide({ runId, gateId: 'qa', decision: 'approve' });
        break;
      } catch (err) {
        // An earlier try that timed out ("offline") may have reached the workflow after all.
        if (/already decided \(approved\) by alan/.test(String((err as Error).message))) break;
        if (Date.now() > deadline || !/offline|cannot reach its Temporal server/.test(String((err as Error).message))) throw err;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    const r = await h.waitForEnd(runId, 90_000);
    expect(r.status).toBe('succeeded');
    expect(count(marks, 'a')).toBe(1);
    expect(count(marks, 'c')).toBe(1);
  });

  it('kill -9 of the Temporal server while a command runs: the run finishes and earlier stages are not run again', async () => {
    const marks = join(h.shared, 'server-kill-cmd');
    const runId = await h.run(
      spec(
        'server kill mid-command',
        [cmd('a', `echo a >> ${marks}`), cmd('b', `echo b-start >> ${marks}; sleep 3; echo b-end >> ${marks}`), cmd('c', `echo c >> ${marks}`)],
        [
          ['a', 'b'],
          ['b', 'c'],
        ],
      ),
    );
    await until(() => count(marks, 'b-start') === 1, 60_000);
    await server.kill9();
    await new Promise((r) => setTimeout(r, 1000));
    await startServer();
    await resetTemporalClient();
    const r = await h.waitForEnd(runId, 120_000);
    expect(r.status).toBe('succeeded');
    expect(count(marks, 'a')).toBe(1);
    expect(count(marks, 'c')).toBe(1);
    expect(count(marks, 'b-end')).toBeGreaterThanOrEqual(1);
  });
});
