/**
 * Migration safety on real SQLite files: a database at every earlier migration
 * (tests/fixtures/schema) is migrated to the current schema without losing or
 * changing a row, after an automatic backup; a new database gets no backup; a
 * database a newer version migrated is refused and left byte for byte as it was.
 */
import { createClient } from '@libsql/client';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { getTableName, is } from 'drizzle-orm';
import { SQLiteTable } from 'drizzle-orm/sqlite-core';
import { afterEach, describe, expect, it } from 'vitest';
import { closeAllDbs, getDb } from '../../db/client';
import { checkDatabaseVersion, DatabaseTooNewError, knownMigrations, migrate, MIGRATIONS_FOLDER } from '../../db/migrate';
import * as schema from '../../db/schema';
import { dump, fixtureTags, SCHEMA_FIXTURES, unpackSchemaFixture } from '../fixtures/schema-fixtures';

afterEach(() => closeAllDbs());

const sha = (file: string) => (existsSync(file) ? createHash('sha256').update(readFileSync(file)).digest('hex') : 'absent');

async function dumpFile(file: string) {
  const client = createClient({ url: `file:${file}` });
  try {
    return await dump(client);
  } finally {
    client.close();
  }
}

describe('schema fixtures', () => {
  it('exist for every migration but the newest', () => {
    const files = readdirSync(SCHEMA_FIXTURES).filter((f) => f.endsWith('.db.gz'));
    expect(files.map((f) => f.replace(/\.db\.gz$/, '')).sort()).toEqual(fixtureTags());
    expect(fixtureTags().length).toBe(knownMigrations().length - 1);
  });

  it.each(fixtureTags())('a database at %s migrates to the current schema, rows kept, after a backup', async (tag) => {
    const file = unpackSchemaFixture(tag);
    const before = await dumpFile(file);
    expect(Object.keys(before).length).toBeGreaterThan(5);
    for (const t of Object.values(before)) expect(t.rows.length).toBe(2);

    const known = knownMigrations().map((m) => m.tag);
    const result = await migrate(`file:${file}`);
    expect(result.applied).toEqual(known.slice(known.indexOf(tag) + 1));

    // Every old row is still there with every old value.
    const after = await dumpFile(file);
    for (const [table, old] of Object.entries(before)) {
      expect(after[table], table).toBeDefined();
      const cols = old.columns.map((c) => after[table]!.columns.indexOf(c));
      expect(cols.every((i) => i >= 0), `${table} lost a column`).toBe(true);
      expect(after[table]!.rows.map((r) => cols.map((i) => r[i])), table).toEqual(old.rows);
    }
    // The app reads every table of the current schema from it.
    const db = await getDb(`file:${file}`);
    for (const table of Object.values(schema).filter((t) => is(t, SQLiteTable))) {
      const rows = await db.select().from(table as SQLiteTable);
      expect(rows.length, getTableName(table as SQLiteTable)).toBe(before[getTableName(table as SQLiteTable)]?.rows.length ?? 0);
    }
    // The automatic backup is the database as it was.
    expect(result.backup).toBeDefined();
    expect(dirname(result.backup!)).toBe(join(dirname(file), 'backups'));
    expect(result.backup).toContain(`-before-${known[known.indexOf(tag) + 1]}-`);
    expect(await dumpFile(result.backup!)).toEqual(before);
    // And a second start has nothing to do.
    expect(await migrate(`file:${file}`)).toEqual({ applied: [] });
  });
});

describe('migrate', () => {
  it('a new database gets every migration and no backup', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pipewright-mig-'));
    const result = await migrate(`file:${join(dir, 'app.db')}`);
    expect(result.applied).toEqual(knownMigrations().map((m) => m.tag));
    expect(result.backup).toBeUndefined();
    expect(existsSync(join(dir, 'backups'))).toBe(false);
  });

  it('refuses a database a newer version migrated and leaves it untouched', async () => {
    // A "newer version": this code's migrations plus one more.
    const newer = mkdtempSync(join(tmpdir(), 'pipewright-newer-'));
    cpSync(MIGRATIONS_FOLDER, newer, { recursive: true });
    const journalFile = join(newer, 'meta', '_journal.json');
    const journal = JSON.parse(readFileSync(journalFile, 'utf8')) as { entries: { idx: number; when: number; tag: string; version: string; breakpoints: boolean }[] };
    const last = journal.entries.at(-1)!;
    journal.entries.push({ ...last, idx: last.idx + 1, when: last.when + 60_000, tag: '9999_future' });
    writeFileSync(journalFile, JSON.stringify(journal));
    writeFileSync(join(newer, '9999_future.sql'), 'CREATE TABLE `future_things` (`id` text PRIMARY KEY NOT NULL);');

    const dir = mkdtempSync(join(tmpdir(), 'pipewright-mig-'));
    const file = join(dir, 'app.db');
    await migrate(`file:${file}`, { migrationsFolder: newer });
    closeAllDbs();
    const before = [sha(file), sha(`${file}-wal`)];

    await expect(checkDatabaseVersion(`file:${file}`)).rejects.toThrow(DatabaseTooNewError);
    const err = await migrate(`file:${file}`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatabaseTooNewError);
    expect((err as Error).message).toMatch(/newer version of Pipewright/);
    expect((err as Error).message).toMatch(/Nothing was changed/);
    expect((err as Error).message).toContain(knownMigrations().at(-1)!.tag);
    closeAllDbs();
    expect([sha(file), sha(`${file}-wal`)]).toEqual(before);
    expect(existsSync(join(dir, 'backups'))).toBe(false);

    // `npm run db:migrate` says so and exits non-zero.
    const cli = spawnSync(process.execPath, ['--import', 'tsx', 'db/migrate.ts'], { env: { ...process.env, DATABASE_URL: `file:${file}` }, encoding: 'utf8' });
    expect(cli.status).toBe(1);
    expect(cli.stderr).toMatch(/was upgraded by a newer version of Pipewright.*Nothing was changed/s);
    expect(cli.stderr).not.toMatch(/\bat .*\.ts:\d+/); // no stack trace
    expect([sha(file), sha(`${file}-wal`)]).toEqual(before);
  });

  it('a migration that fails leaves the database as it was, with the backup beside it', async () => {
    const file = unpackSchemaFixture(knownMigrations().at(-2)!.tag);
    const before = await dumpFile(file);
    const broken = mkdtempSync(join(tmpdir(), 'pipewright-broken-'));
    cpSync(MIGRATIONS_FOLDER, broken, { recursive: true });
    const last = knownMigrations().at(-1)!.tag;
    const sql = readFileSync(join(broken, `${last}.sql`), 'utf8');
    writeFileSync(join(broken, `${last}.sql`), `${sql}\n--> statement-breakpoint\nALTER TABLE \`no_such_table\` ADD \`x\` integer;`);
    await expect(migrate(`file:${file}`, { migrationsFolder: broken })).rejects.toThrow(/no_such_table/);
    closeAllDbs();
    expect(await dumpFile(file)).toEqual(before);
    const backups = readdirSync(join(dirname(file), 'backups'));
    expect(backups).toHaveLength(1);
    expect(await dumpFile(join(dirname(file), 'backups', backups[0]!))).toEqual(before);
  });
});
