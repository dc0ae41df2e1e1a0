/**
 * A real upgrade: the data directory and Temporal database an earlier release
 * of this repository left behind (tests/fixtures/upgrade/<commit>, recorded by
 * record-upgrade-fixture.ts with that commit's own code), with a run waiting
 * at an approval gate. The current code starts on a copy of it — its Temporal
 * server on the old Temporal database, its worker on the old task queue — and
 * migrates the app database after an automatic backup; the gate is approved
 * through the current API and the run completes, its deploy stage opening the
 * secret sealed by the old release. One test per recorded release.
 */
import { createClient } from '@libsql/client';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { migrationState } from '../../db/migrate';
import { getFreePort } from '../../scripts/ports';
import { startDevServer, type DevServer } from '../../scripts/temporal-dev-server';
import { startHarness, type Harness } from './harness';

const FIXTURES = fileURLToPath(new URL('../fixtures/upgrade/', import.meta.url));
const releases = readdirSync(FIXTURES).filter((d) => existsSync(join(FIXTURES, d, 'manifest.json')));

type Manifest = { recordedFrom: string; taskQueue: string; pipelineId: string; waitingRunId: string; finishedRunId: string; keys: Record<string, string> };

let h: Harness | undefined;
let server: DevServer | undefined;
afterEach(async () => {
  await h?.close();
  await server?.stop();
  h = undefined;
  server = undefined;
});

describe('upgrade from an earlier release', () => {
  it('has a fixture of the last release', () => {
    expect(releases).toContain('1ee0ba3');
  });

  it.each(releases)('state left by %s: migrated after a backup, the waiting run is approved and completes', async (release) => {
    const dir = join(FIXTURES, release);
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
    const data = mkdtempSync(join(tmpdir(), `pipewright-upgrade-${release}-`));
    writeFileSync(join(data, 'app.db'), gunzipSync(readFileSync(join(dir, 'app.db.gz'))));
    const temporalDb = join(data, 'temporal.db');
    writeFileSync(temporalDb, gunzipSync(readFileSync(join(dir, 'temporal.db.gz'))));
    for (const [file, value] of Object.entries(manifest.keys)) writeFileSync(join(data, file), `${value}\n`, { mode: 0o600 });

    const probe = createClient({ url: `file:${join(data, 'app.db')}` });
    const old = await migrationState(probe);
    probe.close();

    server = await startDevServer({ bin: inject('temporalBin'), port: await getFreePort(), namespace: 'default', dbFile: temporalDb, logFile: `${temporalDb}.log` });
    h = await startHarness({ dataDir: data, taskQueue: manifest.taskQueue, address: server.address, env: { TEMPORAL_ADDRESS: server.address }, runnerName: 'upgraded-local' });

    // Migrated: exactly the migrations the release lacked, after a backup of the database as it was.
    expect(h.migrated.applied).toEqual(old.pending.map((m) => m.tag));
    if (old.pending.length) {
      expect(h.migrated.backup).toBeDefined();
      const backup = createClient({ url: `file:${h.migrated.backup}` });
      expect((await migrationState(backup)).pending.map((m) => m.tag)).toEqual(old.pending.map((m) => m.tag));
      backup.close();
    }

    const admin = h.as(h.users.admin);
    const finished = await admin.runs.get({ id: manifest.finishedRunId });
    expect(finished.status).toBe('succeeded');
    const before = await admin.runs.get({ id: manifest.waitingRunId });
    expect(h.stageOf(before, 'build').status).toBe('succeeded');
    expect(h.stageOf(before, 'qa').status).toBe('waiting');

    await h.waitForWorkflowIdle(manifest.waitingRunId);
    await h.as(h.users.alan).approvals.decide({ runId: manifest.waitingRunId, gateId: 'qa', decision: 'approve', comment: 'after the upgrade' });
    const done = await h.waitForEnd(manifest.waitingRunId);
    expect(done.status).toBe('succeeded');
    expect(h.stageOf(done, 'qa').gate?.votes).toMatchObject([{ userName: 'alan', decision: 'approve', comment: 'after the upgrade' }]);
    // Deploy used the build's output and the secret sealed by the old release (its command checks the value).
    expect(h.stageOf(done, 'deploy').status).toBe('succeeded');
    expect(h.stageOf(done, 'build').attempt).toBe(1);
    expect((await admin.pipelines.list()).some((p) => p.id === manifest.pipelineId)).toBe(true);
  });
});
