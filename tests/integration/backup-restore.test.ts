/**
 * `npm run backup` while Pipewright runs, then `npm run restore` onto a fresh data
 * directory (both as the real CLI processes): the restored instance shows the same
 * pipelines, runs and audit log, and its sealed secrets work — a stage bound to the
 * environment gets the secret's value. A restore without the keys, with another
 * installation's keys, or over an existing database is refused and writes nothing.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { getFreePort } from '../../scripts/ports';
import { startDevServer, type DevServer } from '../../scripts/temporal-dev-server';
import { registerSearchAttributes } from '../../server/temporal/search-attributes-registration';
import { Connection } from '@temporalio/client';
import { cmd, gate, spec, startHarness, type Harness } from './harness';

const SECRET = 'restore-me-Zq81-secret';

function cli(script: 'backup' | 'restore', args: string[], dataDir: string, embeddedTemporal = false) {
  const env: NodeJS.ProcessEnv = { ...process.env, PIPEWRIGHT_DATA_DIR: dataDir, DATABASE_URL: `file:${join(dataDir, 'app.db')}` };
  // As `npm start` with its embedded Temporal server (`<data>/temporal.db`): no TEMPORAL_ADDRESS.
  if (embeddedTemporal) delete env.TEMPORAL_ADDRESS;
  const r = spawnSync(process.execPath, ['--import', 'tsx', `scripts/backup/${script}.ts`, ...args], { env, encoding: 'utf8' });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

let h: Harness | undefined;
let server: DevServer | undefined;
afterAll(async () => {
  await h?.close();
  await server?.stop();
});

describe('backup and restore', () => {
  it('restores pipelines, runs, audit log and working secrets onto a fresh data directory', async () => {
    h = await startHarness();
    const admin = h.as(h.users.admin);
    const env = await admin.environments.create({ name: 'staging', displayName: 'Staging' });
    await admin.environments.setSecret({ id: env.id, name: 'TOKEN', value: SECRET });
    const check = cmd('check', `[ "\${{ secrets.TOKEN }}" = "${SECRET}" ] && echo secret-ok`, { environment: 'staging' });
    const pipelineId = await h.createPipeline(spec('uses the secret', [check]));
    const first = await h.as(h.users.author).runs.start({ pipelineId });
    expect((await h.waitForEnd(first.id)).status).toBe('succeeded');
    // A run still writing while the backup is taken: the backup is online.
    const busy = await h.run(spec('busy', [cmd('tick', 'for i in 1 2 3 4 5 6; do echo tick $i; sleep 0.3; done')]));
    await h.waitForStage(busy, 'tick', 'running');

    const pipelinesBefore = await admin.pipelines.list();
    const runBefore = await admin.runs.get({ id: first.id });
    const auditBefore = (await admin.audit.list({})).items;
    expect(auditBefore.length).toBeGreaterThan(2);

    const out = mkdtempSync(join(tmpdir(), 'pipewright-backups-'));
    const b = cli('backup', ['--out', out], h.dir);
    expect(b.code, b.out).toBe(0);
    const files = readdirSync(out).sort();
    const dbFile = files.find((f) => /^pipewright-\d{8}T\d{6}Z\.db$/.test(f));
    const keysFile = files.find((f) => f.endsWith('.KEYS-KEEP-SECRET.json'));
    expect(dbFile).toBeDefined();
    expect(keysFile).toBeDefined();
    expect(statSync(join(out, keysFile!)).mode & 0o777).toBe(0o600);
    expect(statSync(join(out, dbFile!)).mode & 0o777).toBe(0o600);
    // The keys are in their own file, not in the database backup's output.
    expect(b.out).not.toContain(readFileSync(join(h.dir, 'secret-key'), 'utf8').trim());
    await h.waitForEnd(busy);
    await h.close();
    h = undefined;

    // Refusals write nothing.
    const fresh = mkdtempSync(join(tmpdir(), 'pipewright-restored-'));
    const noKeys = mkdtempSync(join(tmpdir(), 'pipewright-nokeys-'));
    writeFileSync(join(noKeys, dbFile!), readFileSync(join(out, dbFile!)));
    const refusedNoKeys = cli('restore', [join(noKeys, dbFile!)], fresh);
    expect(refusedNoKeys.code).toBe(1);
    expect(refusedNoKeys.out).toMatch(/keys file .* is missing/);
    const otherKeys = join(noKeys, 'other.json');
    const realKeys = JSON.parse(readFileSync(join(out, keysFile!), 'utf8')) as { keys: Record<string, string> };
    writeFileSync(otherKeys, JSON.stringify({ ...realKeys, keys: { ...realKeys.keys, 'secret-key': Buffer.alloc(32, 7).toString('base64') } }));
    const refusedOther = cli('restore', [join(out, dbFile!), '--keys', otherKeys], fresh);
    expect(refusedOther.code).toBe(1);
    expect(refusedOther.out).toMatch(/does not belong to this backup/);
    expect(readdirSync(fresh)).toEqual([]);

    const r = cli('restore', [join(out, dbFile!)], fresh);
    expect(r.code, r.out).toBe(0);
    expect(statSync(join(fresh, 'secret-key')).mode & 0o777).toBe(0o600);
    const again = cli('restore', [join(out, dbFile!)], fresh);
    expect(again.code).toBe(1);
    expect(again.out).toMatch(/Not restoring over existing state/);
    expect(existsSync(join(fresh, 'backups'))).toBe(false);

    // The restored instance: same pipelines, runs and audit log; the secret opens in a stage.
    h = await startHarness({ dataDir: fresh, runnerName: 'restored-local' });
    const admin2 = h.as(h.users.admin);
    expect(await admin2.pipelines.list()).toEqual(pipelinesBefore);
    expect(await admin2.runs.get({ id: first.id })).toEqual(runBefore);
    const auditAfter = (await admin2.audit.list({})).items;
    expect(auditAfter.slice(auditAfter.length - auditBefore.length)).toEqual(auditBefore);
    const second = await h.as(h.users.author).runs.start({ pipelineId });
    const done = await h.waitForEnd(second.id);
    expect(done.status).toBe('succeeded');
  });

  it('with the embedded Temporal server: a run waiting at a gate in the backup is approved after the restore and completes', async () => {
    await h?.close();
    const data = mkdtempSync(join(tmpdir(), 'pipewright-embedded-'));
    const startTemporal = async (dir: string) => {
      server = await startDevServer({ bin: inject('temporalBin'), port: await getFreePort(), namespace: 'default', dbFile: join(dir, 'temporal.db'), logFile: join(dir, 'temporal.log') });
      const c = await Connection.connect({ address: server.address });
      await registerSearchAttributes(c, 'default');
      await c.close();
      return server.address;
    };
    const address = await startTemporal(data);
    h = await startHarness({ dataDir: data, address, env: { TEMPORAL_ADDRESS: address } });
    const taskQueue = h.taskQueue;
    const runId = await h.run(spec('gated', [cmd('build', 'echo "v=5" >> "$PIPEWRIGHT_OUTPUT"'), gate('qa', { groups: ['approvers'] }), cmd('deploy', 'echo "deploying $PW_OUTPUT_build_v"')], [['build', 'qa'], ['qa', 'deploy']]));
    await h.waitForStage(runId, 'qa', 'waiting');

    // Online: Temporal, the worker and the runner keep running during the backup.
    const out = mkdtempSync(join(tmpdir(), 'pipewright-backups-'));
    const b = cli('backup', ['--out', out], data, true);
    expect(b.code, b.out).toBe(0);
    const temporalBackup = readdirSync(out).find((f) => f.endsWith('.temporal.db'));
    expect(temporalBackup).toBeDefined();
    expect(statSync(join(out, temporalBackup!)).mode & 0o777).toBe(0o600);
    await h.close();
    h = undefined;
    await server!.stop();
    server = undefined;

    // A fresh machine: restore, start Temporal on the restored database and the worker on the same queue.
    const fresh = mkdtempSync(join(tmpdir(), 'pipewright-restored-'));
    const r = cli('restore', [join(out, readdirSync(out).find((f) => /Z\.db$/.test(f))!)], fresh, true);
    expect(r.code, r.out).toBe(0);
    expect(existsSync(join(fresh, 'temporal.db'))).toBe(true);
    const address2 = await startTemporal(fresh);
    h = await startHarness({ dataDir: fresh, taskQueue, address: address2, env: { TEMPORAL_ADDRESS: address2 }, runnerName: 'restored-local' });
    expect(h.stageOf(await h.as(h.users.admin).runs.get({ id: runId }), 'qa').status).toBe('waiting');
    // A workflow task the old worker had started when the copy was taken is handed out again only after
    // its timeout: decide once the restored server has the run idle (as a person retrying would).
    await h.waitForWorkflowIdle(runId);
    await h.as(h.users.alan).approvals.decide({ runId, gateId: 'qa', decision: 'approve' });
    const done = await h.waitForEnd(runId);
    expect(done.status).toBe('succeeded');
    expect(h.stageOf(done, 'build').attempt).toBe(1);
    expect(h.stageOf(done, 'deploy').status).toBe('succeeded');
  });
});
