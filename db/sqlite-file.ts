/**
 * Helpers for the app database as a SQLite file: where it lives, and a
 * consistent copy of it taken while other processes keep writing.
 *
 * `VACUUM INTO` copies the database as of one read transaction (committed WAL
 * frames included, half-written transactions never), so the web server and the
 * worker need not stop. The copy is a plain, compacted SQLite file.
 */
import type { Client } from '@libsql/client';
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** The file behind a `file:` URL, or undefined for in-memory and remote databases. */
export function sqliteFileOf(url: string): string | undefined {
  if (!url.startsWith('file:') || url.includes(':memory:')) return undefined;
  const path = url.slice('file:'.length).split('?')[0]!;
  return path ? resolve(path) : undefined;
}

/**
 * Writes a consistent copy of the database `client` is connected to into `target`
 * (which must not exist). Written under a temporary name first, so a crash never
 * leaves a half-written file with the final name.
 */
export async function vacuumInto(client: Client, target: string): Promise<void> {
  if (existsSync(target)) throw new Error(`${target} already exists; not overwriting it`);
  mkdirSync(dirname(target), { recursive: true });
  const partial = `${target}.partial`;
  rmSync(partial, { force: true });
  try {
    await client.execute({ sql: 'VACUUM INTO ?', args: [partial] });
    renameSync(partial, target);
  } catch (err) {
    rmSync(partial, { force: true });
    throw err;
  }
}

/**
 * A consistent copy of a SQLite database in WAL mode whose schema `VACUUM INTO`
 * cannot rebuild here (the Temporal server's: double-quoted JSON paths in
 * generated columns, which this SQLite build reads but refuses in new DDL).
 *
 * While a read transaction is open, SQLite neither resets the WAL nor lets a
 * checkpoint go past this reader's snapshot, and a page of the main file only
 * changes by a checkpoint copying a frame that is still in the WAL. So the main
 * file and the WAL copied during the transaction open as the state at the last
 * complete commit in the copied WAL (a torn page of the main file is superseded
 * by its frame; a half-written trailing frame fails its checksum and is
 * ignored). The copy is then checkpointed into a single file.
 */
export async function copyWalDatabase(open: (url: string) => Client, source: string, target: string): Promise<void> {
  if (existsSync(target)) throw new Error(`${target} already exists; not overwriting it`);
  mkdirSync(dirname(target), { recursive: true });
  const partial = `${target}.partial`;
  for (const f of [partial, `${partial}-wal`, `${partial}-shm`]) rmSync(f, { force: true });
  const reader = open(`file:${source}`);
  try {
    const tx = await reader.transaction('read');
    try {
      await tx.execute('SELECT count(*) FROM sqlite_master');
      copyFileSync(source, partial);
      if (existsSync(`${source}-wal`)) copyFileSync(`${source}-wal`, `${partial}-wal`);
    } finally {
      tx.close();
    }
  } finally {
    reader.close();
  }
  try {
    const copy = open(`file:${partial}`);
    try {
      const check = await copy.execute('PRAGMA quick_check');
      if (String(check.rows[0]?.[0]) !== 'ok') throw new Error(`the copy of ${source} failed SQLite's check: ${String(check.rows[0]?.[0])}`);
      await copy.execute('PRAGMA wal_checkpoint(TRUNCATE)');
      await copy.execute('PRAGMA journal_mode = DELETE');
    } finally {
      copy.close();
    }
    renameSync(partial, target);
  } finally {
    for (const f of [partial, `${partial}-wal`, `${partial}-shm`]) rmSync(f, { force: true });
  }
}

/** `2026-12-04T06:01:02Z` → `20261204T060102Z`: sortable and safe in file names. */
export function fileStamp(date = new Date()): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}
