/**
 * Helpers for the app database as a SQLite file: where it lives, and a
 * consistent copy of it taken while other processes keep writing.
 *
 * `VACUUM INTO` copies the database as of one read transaction (committed WAL
 * frames included, half-written transactions never), so the web server and the
 * worker need not stop. The copy is a plain, compacted SQLite file.
 */
import type { Client } from '@libsql/client';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
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

/** `2026-12-04T06:01:02Z` → `20261204T060102Z`: sortable and safe in file names. */
export function fileStamp(date = new Date()): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}
