/**
 * The database connection (one per process, cached on globalThis so Next's dev
 * reloads do not open a new one per request).
 *
 * SQLite in WAL mode with a busy timeout: the web server and the worker write
 * to the same file from different processes.
 */
import { createClient, type Client, type InStatement, type Transaction, type TransactionMode } from '@libsql/client';
import { drizzle, type LibSQLDatabase } from 'drizzle-orm/libsql';
import { AsyncLocalStorage } from 'node:async_hooks';
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
  const writes = createWriteQueue();
  const client = queueWrites(createClient({ url, timeout: 15_000 }), writes);
  const ready = (async () => {
    // Persistent in the file: readers never block the writer.
    await client.execute('PRAGMA journal_mode = WAL');
  })();
  const handle = { db: queueTransactions(drizzle(client, { schema }), writes), client, ready };
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

// ---------------------------------------------------------------------------
// One writer at a time in this process
//
// The SQLite driver is synchronous: a second write transaction opened in this
// process while another is open waits for SQLite's write lock *inside* the
// call, holding the event loop, so the first can never commit and both give up
// with SQLITE_BUSY after the busy timeout (15 s of a frozen process). So this
// process queues its writes: a transaction or a write statement outside one
// waits (without blocking) until the open transaction ends. Reads are never
// queued (WAL: readers do not wait for the writer). Another process's writer
// is still waited for with the busy timeout, as before.

type WriteQueue = {
  /** Resolves, in order of asking, when this caller may write; call the returned function when done. */
  acquire(): Promise<() => void>;
  /** Set while a queued transaction's own work runs (its statements and anything it awaits). */
  holding: AsyncLocalStorage<true>;
};

function createWriteQueue(): WriteQueue {
  let tail: Promise<void> = Promise.resolve();
  return {
    holding: new AsyncLocalStorage<true>(),
    acquire() {
      let release!: () => void;
      const done = new Promise<void>((resolve) => (release = resolve));
      const turn = tail.then(() => {
        let released = false;
        return () => {
          if (released) return;
          released = true;
          release();
        };
      });
      tail = tail.then(() => done);
      return turn;
    },
  };
}

const READ_ONLY = /^\s*(select|explain)\b/i;
const isRead = (stmt: InStatement) => READ_ONLY.test(typeof stmt === 'string' ? stmt : stmt.sql);

/** The client with its write statements, batches and transactions queued (see above). */
function queueWrites(client: Client, queue: WriteQueue): Client {
  const queued = async <T>(write: boolean, work: () => Promise<T>): Promise<T> => {
    if (!write || queue.holding.getStore()) return work();
    const release = await queue.acquire();
    try {
      return await work();
    } finally {
      release();
    }
  };
  return new Proxy(client, {
    get(target, prop) {
      switch (prop) {
        case 'execute':
          return (stmt: InStatement, args?: unknown) =>
            queued(!isRead(stmt), () => (args === undefined ? target.execute(stmt) : target.execute(stmt as string, args as never)));
        case 'batch':
          return (stmts: InStatement[], mode?: Parameters<Client['batch']>[1]) => queued(mode !== 'read' && !stmts.every(isRead), () => target.batch(stmts, mode));
        case 'executeMultiple':
          return (sql: string) => queued(true, () => target.executeMultiple(sql));
        case 'migrate':
          return (stmts: InStatement[]) => queued(true, () => target.migrate(stmts));
        case 'transaction':
          return async (mode?: TransactionMode) => {
            if (mode === 'read' || queue.holding.getStore()) return target.transaction(mode);
            const release = await queue.acquire();
            try {
              return releasingWhenEnded(await target.transaction(mode), release);
            } catch (err) {
              release();
              throw err;
            }
          };
        default: {
          const value: unknown = Reflect.get(target, prop, target);
          return typeof value === 'function' ? value.bind(target) : value;
        }
      }
    },
  });
}

/** The transaction, giving the queue back when it commits, rolls back or closes (whichever comes first). */
function releasingWhenEnded(tx: Transaction, release: () => void): Transaction {
  const end =
    <A extends unknown[], R>(fn: (...args: A) => R) =>
    (...args: A): R => {
      try {
        const out = fn(...args);
        if (out instanceof Promise) return out.finally(release) as R;
        release();
        return out;
      } catch (err) {
        release();
        throw err;
      }
    };
  return new Proxy(tx, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      const bound = (value as (...args: unknown[]) => unknown).bind(target);
      return prop === 'commit' || prop === 'rollback' || prop === 'close' ? end(bound) : bound;
    },
  });
}

/**
 * Drizzle's transactions, queued: the whole callback runs with the queue held,
 * so its statements (on the transaction's connection) and the driver's
 * BEGIN/COMMIT do not queue again, and a write issued through the outer
 * handle from inside the callback goes ahead as it did before (not deadlocked
 * behind its own transaction).
 */
function queueTransactions(db: Db, queue: WriteQueue): Db {
  const original = db.transaction.bind(db);
  db.transaction = (async (fn: Parameters<Db['transaction']>[0], config?: Parameters<Db['transaction']>[1]) => {
    if (queue.holding.getStore()) return original(fn, config);
    const release = await queue.acquire();
    try {
      return await queue.holding.run(true, () => original(fn, config));
    } finally {
      release();
    }
  }) as Db['transaction'];
  return db;
}
