/**
 * The database connection (one per process, cached on globalThis so Next's dev
 * reloads do not open a new one per request).
 *
 * SQLite in WAL mode with a busy timeout: the web server and the worker write
 * to the same file from different processes.
 */
import { createClient, type Client } from '@libsql/client';
import { drizzle, type LibSQLDatabase } from 'drizzle-orm/libsql';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { getEnv } from '../server/env';
import * as schema from './schema';

export type Db = LibSQLDatabase<typeof schema>;

type Handle = { db: Db; client: Client; ready: Promise<void> };
const globalForDb = globalThis as unknown as { pipewrightDb?: Map<string, Handle> };

function ensureDirFor(url: string) {
  if (url.startsWith('file:') && !url.includes(':memory:')) {
    const path = url.slice('file:'.length);
    mkdirSync(dirname(path), { recursive: true });
  }
}

/** Opens (or reuses) the database at `url` (default: `DATABASE_URL`). */
export function openDb(url = getEnv().databaseUrl): Handle {
  globalForDb.pipewrightDb ??= new Map();
  const existing = globalForDb.pipewrightDb.get(url);
  if (existing) return existing;
  ensureDirFor(url);
  // One connection per process: SQLite has one writer anyway, and per-connection
  // settings (foreign keys, busy timeout) then hold for every statement.
  const client = createClient({ url, concurrency: 1, timeout: 15_000 });
  const ready = (async () => {
    await client.execute('PRAGMA journal_mode = WAL');
    await client.execute('PRAGMA busy_timeout = 10000');
    await client.execute('PRAGMA foreign_keys = ON');
    await client.execute('PRAGMA synchronous = NORMAL');
  })();
  const handle = { db: drizzle(client, { schema }), client, ready };
  globalForDb.pipewrightDb.set(url, handle);
  return handle;
}

/** The ready database handle for `url`. */
export async function getDb(url?: string): Promise<Db> {
  const h = openDb(url);
  await h.ready;
  return h.db;
}

/** Closes every open connection (tests, shutdown). */
export function closeAllDbs() {
  for (const h of globalForDb.pipewrightDb?.values() ?? []) h.client.close();
  globalForDb.pipewrightDb?.clear();
}
