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
  // A small pool of connections; every one of them waits up to 15 s for the
  // write lock instead of failing with SQLITE_BUSY. (Per-connection PRAGMAs
  // would hold for only one pool connection, so none are relied on: foreign
  // keys are declared for documentation and deletes remove children explicitly.)
  const client = createClient({ url, timeout: 15_000 });
  const ready = (async () => {
    // Persistent in the file: readers never block the writer.
    await client.execute('PRAGMA journal_mode = WAL');
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
