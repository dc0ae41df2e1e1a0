/**
 * One process, many requests writing at once (50 runs started together, a
 * webhook burst): the synchronous SQLite driver used to wait for the write
 * lock inside the call, freezing the process until SQLITE_BUSY. Writes of one
 * process now queue without blocking, and reads never wait.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAllDbs, getDb, openDb, type Db } from '../../../db/client';

let dir: string;
let db: Db;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pipewright-write-queue-'));
  db = await getDb(`file:${join(dir, 'app.db')}`);
  await db.run(sql`create table t (n integer not null, label text)`);
});
afterAll(() => {
  closeAllDbs();
  rmSync(dir, { recursive: true, force: true });
});

const count = async () => (await db.get<{ c: number }>(sql`select count(*) as c from t`))!.c;

describe('writes of one process to the database', () => {
  it('many transactions at once all commit, and the event loop keeps turning while they wait', async () => {
    const before = await count();
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 1);
    const results = await Promise.allSettled(
      Array.from({ length: 30 }, (_, i) =>
        db.transaction(async (tx) => {
          await tx.run(sql`insert into t (n, label) values (${i}, 'tx')`);
          // Work awaited inside the transaction (another statement, a timer) while others wait for their turn.
          await new Promise((resolve) => setTimeout(resolve, 2));
          await tx.run(sql`update t set label = 'done' where n = ${i} and label = 'tx'`);
        }),
      ),
    );
    clearInterval(ticker);
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(await count()).toBe(before + 30);
    expect(await db.get<{ c: number }>(sql`select count(*) as c from t where label = 'done'`)).toEqual({ c: 30 });
    // Waiting for a turn never held the process: timers ran in between (they could not before).
    expect(ticks).toBeGreaterThan(10);
  });

  it('plain writes and reads mixed with open transactions all succeed', async () => {
    const before = await count();
    const work = Array.from({ length: 40 }, (_, i) =>
      i % 4 === 0
        ? db.transaction(async (tx) => {
            await tx.run(sql`insert into t (n, label) values (${1000 + i}, 'mixed-tx')`);
            await new Promise((resolve) => setTimeout(resolve, 1));
          })
        : i % 4 === 1
          ? db.run(sql`insert into t (n, label) values (${1000 + i}, 'mixed-plain')`)
          : db.get(sql`select count(*) as c from t`),
    );
    const results = await Promise.allSettled(work);
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(await count()).toBe(before + 20);
  });

  it('a transaction that fails rolls back and lets the next one through', async () => {
    const before = await count();
    const failing = db.transaction(async (tx) => {
      await tx.run(sql`insert into t (n, label) values (-1, 'rolled back')`);
      throw new Error('boom');
    });
    const next = db.transaction(async (tx) => {
      await tx.run(sql`insert into t (n, label) values (-2, 'kept')`);
    });
    await expect(failing).rejects.toThrow('boom');
    await next;
    expect(await count()).toBe(before + 1);
    expect(await db.get(sql`select label from t where n = -2`)).toEqual({ label: 'kept' });
  });

  it('a write through the outer handle from inside a transaction still goes ahead (not queued behind itself)', async () => {
    const { client } = openDb(`file:${join(dir, 'app.db')}`);
    // Reads inside a transaction through the outer handle do not wait either.
    const seen = await db.transaction(async (tx) => {
      await tx.run(sql`insert into t (n, label) values (-3, 'inner')`);
      return (await client.execute('select count(*) as c from t where n = -3')).rows[0]!.c;
    });
    // Another connection does not see the uncommitted row; the call came back instead of waiting forever.
    expect(Number(seen)).toBe(0);
    expect(await db.get(sql`select label from t where n = -3`)).toEqual({ label: 'inner' });
  });
});
