/**
 * Runners, as separate processes: two `npm run runner` processes with different
 * labels beside a control worker (in this process) and the control plane's
 * runner API (loopback HTTP).
 *
 * - stages land on the runner their `runsOn` selects;
 * - a stage no runner can take waits ("waiting for a runner with labels …"),
 *   then fails with "no runner with labels … picked the stage up";
 * - kill -9 of the runner running a stage: the stage completes on the other
 *   runner with the same labels, finished stages are not run again, and the
 *   orphaned command is killed when the dead runner comes back;
 * - a revoked runner stops at its next call;
 * - a stage credential cannot read another stage's secrets and is refused
 *   once its attempt finished.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stageRuns } from '../../db/schema';
import { resetEnvCache } from '../../server/env';
import { fetchRunSnapshot } from '../../server/live/run-hub';
import { runStatuses } from '../../server/services/runs';
import { revokeRunner } from '../../server/services/runners';
import { ControlPlaneClient, ControlPlaneError } from '../../workflows/runner/client';
import { cmd, spec, startHarness, type Harness } from './harness';
import { hostPidOf } from '../unit/executors/fake-context';

const SECRET_X = 'x-s3cret-Value-4711';
const SECRET_Y = 'y-s3cret-Value-0815';

let h: Harness;
type RunnerProc = { name: string; id: string; token: string; labels: string[]; proc?: ChildProcess; output: string; exit?: Promise<number | null> };
const runners: Record<string, RunnerProc> = {};

function startRunner(r: RunnerProc) {
  r.output = '';
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', 'workflows/runner/main.ts', '--url', h.runnerApiUrl, '--labels', r.labels.join(','), '--temporal', h.address, '--workspace', join(h.dir, `ws-${r.name}`)],
    {
      // Only what a runner holds: its token, the Temporal address (a flag), a PATH. No database URL, no keys.
      // The shared folder is where the test and its sandboxed commands exchange marks.
      env: { PATH: process.env.PATH, HOME: process.env.HOME, PIPEWRIGHT_RUNNER_TOKEN: r.token, PIPEWRIGHT_RUNNER_HEARTBEAT_MS: '500', NODE_ENV: 'test', PIPEWRIGHT_SANDBOX_SHARED_DIRS: h.shared, PIPEWRIGHT_DATA_DIR: h.dir } as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  proc.stdout!.on('data', (d: Buffer) => (r.output += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (r.output += d.toString()));
  r.exit = new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
  r.proc = proc;
}

async function kill9(r: RunnerProc) {
  const p = r.proc;
  r.proc = undefined;
  if (!p || p.exitCode !== null) return;
  p.kill('SIGKILL');
  await r.exit;
}

async function until<T>(check: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const lines = (file: string) => {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').filter(Boolean);
  } catch {
    return [];
  }
};
/** Whether a process runs (a killed one nobody reaped yet, a zombie, counts as dead). */
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return true;
  }
};

async function stageRow(runId: string, nodeId: string) {
  const [row] = await h.db.select().from(stageRuns).where(and(eq(stageRuns.runId, runId), eq(stageRuns.nodeId, nodeId)));
  return row;
}

beforeAll(async () => {
  // No in-process runner: every stage here runs in one of the runner processes.
  h = await startHarness({ runner: false, env: { PIPEWRIGHT_RUNNER_WAIT_S: '4' } });
  for (const [name, labels] of [
    ['east', ['linux', 'east']],
    ['west', ['linux', 'west']],
  ] as const) {
    const { runner, token } = await h.registerRunner(name, [...labels]);
    runners[name] = { name, id: runner.id, token, labels: [...labels], output: '' };
    startRunner(runners[name]);
  }
  const admin = h.as(h.users.admin);
  for (const [name, secret] of [
    ['env-x', SECRET_X],
    ['env-y', SECRET_Y],
  ] as const) {
    const env = await admin.environments.create({ name, displayName: name, variables: {}, promoteRoles: ['author', 'admin'] });
    await admin.environments.setSecret({ id: env.id, name: 'TOKEN', value: secret });
  }
  // Both runners called in (they are online in Admin → Runners).
  await until(
    async () => (await h.as(h.users.admin).runners.list()).filter((r) => r.online).length === 2,
    'both runners online',
    150_000,
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n${Object.values(runners).map((r) => `[${r.name}] ${r.output}`).join('\n')}`);
  });
}, 200_000);

afterAll(async () => {
  for (const r of Object.values(runners)) await kill9(r);
  await h?.close();
});

describe('runners', () => {
  it('runs each stage on the runner its runsOn selects and shows which runner ran it', async () => {
    const runId = await h.run(
      spec('placement', [cmd('a', 'echo on-east', { runsOn: ['east'] }), cmd('b', 'echo on-west', { runsOn: ['west', 'linux'] })], [['a', 'b']]),
    );
    const r = await h.waitForEnd(runId, 90_000);
    expect(r.status).toBe('succeeded');
    expect(h.stageOf(r, 'a').runner?.name).toBe('east');
    expect(h.stageOf(r, 'b').runner?.name).toBe('west');
    expect((await stageRow(runId, 'a'))!.runnerId).toBe(runners.east!.id);
    expect((await stageRow(runId, 'b'))!.runnerId).toBe(runners.west!.id);
    const log = await h.as(h.users.viewer).runs.logs({ runId, nodeId: 'b' });
    expect(log.text).toContain('on-west');
  });

  it('a stage no runner can take waits for one, then fails with the labels it needed', async () => {
    const runId = await h.run(spec('no runner', [cmd('gpu', 'echo never', { runsOn: ['gpu'] })]));
    const waiting = await h.waitFor(runId, (r) => h.stageOf(r, 'gpu').status === 'queued', 30_000);
    expect(h.stageOf(waiting, 'gpu').waitingFor).toBe('waiting for a runner with labels gpu');
    expect(waiting.display.text).toBe('Waiting for a runner with labels gpu');
    // The interpreter records nothing while a stage waits: the lists and the embeds read the wait from the rows too.
    expect((await runStatuses(h.db, [{ id: runId, status: 'queued' }])).get(runId)?.text).toBe('Waiting for a runner with labels gpu');
    const snapshot = await fetchRunSnapshot(h.db, runId);
    expect(snapshot?.display.text).toBe('Waiting for a runner with labels gpu');
    expect(snapshot?.stages.gpu?.status).toBe('queued');
    expect(await stageRow(runId, 'gpu')).toMatchObject({ status: 'pending', runnerId: null });
    const r = await h.waitForEnd(runId, 60_000);
    expect(r.status).toBe('failed');
    expect(h.stageOf(r, 'gpu').status).toBe('failed');
    expect(h.stageOf(r, 'gpu').error).toBe('no runner with labels gpu picked the stage up within 4 s');
    expect(h.stageOf(r, 'gpu').executions).toBe(0);
  });

  it('kill -9 of the runner running a stage: the stage completes on the other runner, finished stages are not repeated, the orphan dies when the runner returns', async () => {
    const marks = join(h.shared, 'runner-kill');
    // Inside the sandbox $$ is a pid of the stage's own namespace: the test finds the sleep by its unique arguments.
    const seconds = `300.${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}`;
    const sleeper = { command: `sleep ${seconds}`, argv: ['sleep', seconds] };
    const runId = await h.run(
      spec(
        'runner kill',
        [
          cmd('a', `echo a >> ${marks}`, { runsOn: ['linux'] }),
          cmd('b', `echo b-start >> ${marks}; if [ -f ${marks}.again ]; then echo b-end >> ${marks}; else touch ${marks}.again; echo started > ${marks}.pid; ${sleeper.command}; fi`, { runsOn: ['linux'] }),
          cmd('c', `echo c >> ${marks}`, { runsOn: ['linux'] }),
        ],
        [
          ['a', 'b'],
          ['b', 'c'],
        ],
      ),
    );
    await until(() => lines(marks).includes('b-start') && lines(`${marks}.pid`).length > 0, 'b to start', 60_000);
    const first = (await stageRow(runId, 'b'))!.runnerId;
    const victim = Object.values(runners).find((r) => r.id === first)!;
    const survivor = Object.values(runners).find((r) => r.id !== first)!;
    const orphan = await hostPidOf(sleeper.argv);
    await kill9(victim);
    const r = await h.waitForEnd(runId, 120_000);
    expect(r.status).toBe('succeeded');
    expect(h.stageOf(r, 'b').runner?.name).toBe(survivor.name);
    expect(lines(marks).filter((l) => l === 'a')).toHaveLength(1);
    expect(lines(marks).filter((l) => l === 'c')).toHaveLength(1);
    expect(lines(marks).filter((l) => l === 'b-end')).toHaveLength(1);
    expect(h.stageOf(r, 'a').executions).toBe(1);
    expect(h.stageOf(r, 'b').executions).toBeGreaterThanOrEqual(2);
    // The command the dead runner started is still running until that runner comes back and sweeps it.
    expect(alive(orphan)).toBe(true);
    startRunner(victim);
    // (A runner process takes a while to start on a loaded machine: tsx compiles it first.)
    await until(() => !alive(orphan), 'the orphaned command to be killed', 150_000).catch((err: Error) => {
      throw new Error(`${err.message}; the restarted runner said:\n${victim.output}`);
    });
    await until(() => /Killed 1 command\(s\) left running by a runner that died/.test(victim.output), 'the runner to report the orphan it killed', 30_000);
  });

  it('a stage credential reads only its own stage’s secrets and is refused once its attempt finished', async () => {
    // Stages only a runner labelled "manual" may take; this test plays that runner through the API client.
    const { token } = await h.registerRunner('manual', ['manual']);
    // Long enough a wait that the stages are still waiting for a runner while this test plays one.
    process.env.PIPEWRIGHT_RUNNER_WAIT_S = '120';
    resetEnvCache();
    const runId = await h.run(
      spec('credentials', [
        cmd('x', 'true', { runsOn: ['manual'], environment: 'env-x' }),
        cmd('y', 'true', { runsOn: ['manual'], environment: 'env-y' }),
      ]),
    );
    process.env.PIPEWRIGHT_RUNNER_WAIT_S = '4';
    resetEnvCache();
    const client = new ControlPlaneClient(h.runnerApiUrl, token);
    const keyX = { runId, nodeId: 'x', attempt: 1 };
    const keyY = { runId, nodeId: 'y', attempt: 1 };
    const { credential } = await client.begin({ ...keyX, kind: 'command', activityId: 'manual', activityAttempt: 1 });
    const own = await client.stage(keyX, credential).context();
    expect(own.environment?.secrets.TOKEN).toBe(SECRET_X);
    // The same credential for the other stage: refused, and nothing of its secret comes back.
    const other = await client.stage(keyY, credential).context().catch((e: unknown) => e);
    expect(other).toBeInstanceOf(ControlPlaneError);
    expect((other as ControlPlaneError).status).toBe(403);
    expect(JSON.stringify(other)).not.toContain(SECRET_Y);
    // The attempt finishes: the credential is dead.
    await client.stage(keyX, credential).finish({ status: 'succeeded', summary: 'done by hand' });
    const after = await client.stage(keyX, credential).context().catch((e: unknown) => e);
    expect(after).toBeInstanceOf(ControlPlaneError);
    expect((after as ControlPlaneError).status).toBe(401);
    // A runner without the labels a stage needs cannot begin it.
    const wrong = await new ControlPlaneClient(h.runnerApiUrl, runners.east!.token)
      .begin({ ...keyY, kind: 'command', activityId: 'manual', activityAttempt: 1 })
      .catch((e: unknown) => e);
    expect((wrong as ControlPlaneError).status).toBe(403);
  });

  it('a revoked runner is refused at its next call and stops with a clear message', async () => {
    const west = runners.west!;
    if (!west.proc) startRunner(west);
    await until(() => west.output.includes('polling'), 'west to poll', 60_000);
    await revokeRunner(h.db, h.users.admin, west.id);
    const code = await west.exit;
    expect(code).toBe(3);
    expect(west.output).toContain("the control plane refused this runner's token");
    const list = await h.as(h.users.admin).runners.list();
    const row = list.find((r) => r.id === west.id)!;
    expect(row.revokedAt).not.toBeNull();
    expect(row.online).toBe(false);
    await expect(new ControlPlaneClient(h.runnerApiUrl, west.token).heartbeat({ version: 'x', host: 'h', labels: [] })).rejects.toThrow(/refused/);
  });
});
