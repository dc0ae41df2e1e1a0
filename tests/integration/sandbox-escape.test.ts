/**
 * Regression test of the sandbox-escape report, through the real worker, a
 * real Temporal server and the stored run log: an author's command stage
 * `head -c 6 ../../secret-key; head -c 6 ../../auth-secret` (its working
 * directory is `<data>/workspaces/<run>`) printed the first bytes of the master
 * key and of the session-signing secret. Now neither the keys, nor the
 * database, nor another run's workspace exist in the stage's view.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveAuthSecret } from '../../server/auth/auth';
import { resolveSecretKey } from '../../server/clusters/crypto';
import { cmd, spec, startHarness, type Harness } from './harness';

let h: Harness;
const saved: Record<string, string | undefined> = {};
/** Variables that would keep the keys out of the data directory (the report is about the files). */
const KEY_VARS = ['BETTER_AUTH_SECRET', 'PIPEWRIGHT_AUTH_SECRET', 'PIPEWRIGHT_SECRET_KEY', 'PIPEWRIGHT_UNSAFE_NO_SANDBOX'];

beforeAll(async () => {
  for (const name of KEY_VARS) {
    saved[name] = process.env[name];
    delete process.env[name];
  }
  h = await startHarness();
  // The real key files, as the web server and the worker create them on first use.
  resolveSecretKey();
  resolveAuthSecret();
});
afterAll(async () => {
  await h?.close();
  for (const name of KEY_VARS) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
});

/** The first `n` bytes of a file in the data directory, as `head -c` would print them. */
function firstBytes(file: string, n = 6): string {
  return readFileSync(join(h.dir, file)).subarray(0, n).toString('latin1');
}

describe('a command stage of an author', () => {
  it('cannot print the keys with head -c 6 ../../secret-key; head -c 6 ../../auth-secret', async () => {
    const key = firstBytes('secret-key');
    const auth = firstBytes('auth-secret');
    const runId = await h.run(spec('exploit', [cmd('steal', 'head -c 6 ../../secret-key; head -c 6 ../../auth-secret')]));
    const run = await h.waitForEnd(runId);
    expect(run.status).toBe('failed');
    expect(h.stageOf(run, 'steal').status).toBe('failed');
    // The layout of the report: the stage's working directory is two levels below the keys.
    expect(existsSync(join(h.dir, 'workspaces', runId))).toBe(true);

    const logs = await h.as(h.users.author).runs.logs({ runId, nodeId: 'steal' });
    expect(logs.text).toContain('No such file or directory');
    expect(logs.text).not.toContain(key);
    expect(logs.text).not.toContain(auth);
    // The files are still there on the worker: the sandbox hid them, nothing else did.
    expect(firstBytes('secret-key')).toBe(key);
    expect(firstBytes('auth-secret')).toBe(auth);
  });

  it("cannot read the database or another run's workspace", async () => {
    const token = `token-${Math.random().toString(36).slice(2)}`;
    const first = await h.run(spec('producer', [cmd('make', `echo ${token} > token.txt`)]));
    expect((await h.waitForEnd(first)).status).toBe('succeeded');
    // On the worker the token is in the first run's workspace, next to the second run's.
    expect(readFileSync(join(h.dir, 'workspaces', first, 'token.txt'), 'utf8')).toBe(`${token}\n`);

    const second = await h.run(
      spec('snooper', [cmd('snoop', `ls -a .. ../.. > listing.txt; cat ../${first}/token.txt; head -c 16 ../../app.db; echo end`)]),
    );
    const run = await h.waitForEnd(second);
    expect(run.status).toBe('succeeded');
    const logs = await h.as(h.users.author).runs.logs({ runId: second, nodeId: 'snoop' });
    expect(logs.text).toContain('end');
    expect(logs.text).not.toContain(token);
    expect(logs.text).not.toContain('SQLite format');
    // What the stage saw around its workspace: only itself.
    const listing = readFileSync(join(h.dir, 'workspaces', second, 'listing.txt'), 'utf8');
    expect(listing).toContain(second);
    for (const name of [first, 'app.db', 'secret-key', 'auth-secret']) expect(listing).not.toContain(name);
  });
});
