/**
 * Backup and restore of Pipewright's state (`npm run backup`, `npm run restore`).
 *
 * A backup is a set of files sharing one name, `pipewright-<time>`:
 * 1. `<name>.db` — the app database (pipelines, runs, audit log, sealed secrets,
 *    users), copied with `VACUUM INTO`: consistent while the web app and the
 *    worker keep writing.
 * 2. `<name>.temporal.db` — the embedded Temporal server's database (runs in
 *    flight: waiting at gates, for runners, mid-stage), the same way, when the
 *    embedded server is used (`TEMPORAL_ADDRESS` unset). An external Temporal
 *    cluster is backed up by its operators.
 * 3. `<name>.KEYS-KEEP-SECRET.json` (mode 0600) — the keys without which the
 *    database is useless or dangerous: `secret-key` opens the sealed secrets and
 *    cluster credentials, `decision-key` signs gate decisions for runs waiting
 *    at gates, `auth-secret` keeps people signed in, `runner-token` is the local
 *    runner's. Separate, so the database can be stored where the keys must not
 *    be; whoever has both can read every secret.
 *
 * A restore writes them into a data directory, refusing to overwrite an
 * existing database or different keys unless told to (`--force`, which first
 * moves what was there aside).
 */
import { createClient } from '@libsql/client';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { migrationState } from '../../db/migrate';
import { copyWalDatabase, fileStamp, sqliteFileOf, vacuumInto } from '../../db/sqlite-file';
import { open as openSealed } from '../../server/clusters/crypto';
import type { getEnv } from '../../server/env';

type Env = ReturnType<typeof getEnv>;

/** Key files in the data directory, and the variable that replaces each. */
export const KEY_FILES = [
  { file: 'secret-key', variable: 'PIPEWRIGHT_SECRET_KEY', what: 'opens sealed secrets and cluster credentials' },
  { file: 'decision-key', variable: 'PIPEWRIGHT_DECISION_KEY', what: 'signs gate decisions; runs waiting at gates accept only it' },
  { file: 'auth-secret', variable: 'BETTER_AUTH_SECRET', what: 'signs session cookies (without it everybody signs in again)' },
  { file: 'runner-token', variable: undefined, what: "the local runner's token (npm start registers a new runner without it)" },
] as const;

export const KEYS_SUFFIX = '.KEYS-KEEP-SECRET.json';
const KEYS_FORMAT = 'pipewright-keys/1';

export type KeysFile = {
  format: typeof KEYS_FORMAT;
  warning: string;
  createdAt: string;
  /** Key file name → its content. */
  keys: Record<string, string>;
  /** Keys that came from environment variables rather than files (set them again, or let restore write the files). */
  fromEnvironment: string[];
};

export type BackupResult = { database: string; temporal?: string; keys: string; counts: Record<string, number> };

function readKey(dataDir: string, file: string): string | undefined {
  try {
    return readFileSync(join(dataDir, file), 'utf8').trim() || undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function counts(file: string): Promise<Record<string, number>> {
  const client = createClient({ url: `file:${file}` });
  try {
    const check = await client.execute('PRAGMA integrity_check');
    if (String(check.rows[0]?.[0]) !== 'ok') throw new Error(`${file} failed SQLite's integrity check: ${String(check.rows[0]?.[0])}`);
    const tables = new Set((await client.execute("SELECT name FROM sqlite_master WHERE type = 'table'")).rows.map((r) => String(r.name)));
    const out: Record<string, number> = {};
    for (const t of ['pipelines', 'runs', 'audit_log', 'environments', 'user']) {
      if (tables.has(t)) out[t] = Number((await client.execute(`SELECT count(*) AS n FROM \`${t}\``)).rows[0]!.n);
    }
    return out;
  } finally {
    client.close();
  }
}

/** Writes a backup of `env`'s state into `outDir`; returns the files written. */
export async function backup(env: Env, outDir: string, now = new Date()): Promise<BackupResult> {
  const dataDir = resolve(env.PIPEWRIGHT_DATA_DIR);
  const dbFile = sqliteFileOf(env.databaseUrl);
  if (!dbFile) throw new Error(`DATABASE_URL ${env.databaseUrl} is not a SQLite file; back it up with the tools of its server.`);
  if (!existsSync(dbFile)) throw new Error(`There is no database at ${dbFile} (check PIPEWRIGHT_DATA_DIR / DATABASE_URL).`);
  mkdirSync(outDir, { recursive: true });
  const base = join(resolve(outDir), `pipewright-${fileStamp(now)}`);

  const written: string[] = [];
  try {
    const app = createClient({ url: `file:${dbFile}`, timeout: 15_000 });
    try {
      await vacuumInto(app, `${base}.db`);
      written.push(`${base}.db`);
      chmodSync(`${base}.db`, 0o600); // password hashes, sealed secrets
    } finally {
      app.close();
    }
    let temporal: string | undefined;
    const temporalDb = join(dataDir, 'temporal.db');
    if (!env.TEMPORAL_ADDRESS && existsSync(temporalDb)) {
      temporal = `${base}.temporal.db`;
      await copyWalDatabase((url) => createClient({ url, timeout: 15_000 }), temporalDb, temporal);
      written.push(temporal);
      chmodSync(temporal, 0o600);
    }
    const keys: KeysFile = {
      format: KEYS_FORMAT,
      warning: 'Keys of a Pipewright installation. With the database backup they open every stored secret: keep them apart from it, readable only by its operators.',
      createdAt: now.toISOString(),
      keys: {},
      fromEnvironment: [],
    };
    for (const k of KEY_FILES) {
      const fromEnv = k.variable ? (env as unknown as Record<string, string | undefined>)[k.variable] : undefined;
      const fromAlias = k.file === 'auth-secret' ? env.PIPEWRIGHT_AUTH_SECRET : undefined;
      const value = fromEnv ?? fromAlias ?? readKey(dataDir, k.file);
      if (value === undefined) continue;
      keys.keys[k.file] = value;
      if (fromEnv ?? fromAlias) keys.fromEnvironment.push(k.variable!);
    }
    const keysFile = `${base}${KEYS_SUFFIX}`;
    writeFileSync(keysFile, `${JSON.stringify(keys, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    chmodSync(keysFile, 0o600);
    written.push(keysFile);
    return { database: `${base}.db`, temporal, keys: keysFile, counts: await counts(`${base}.db`) };
  } catch (err) {
    for (const f of written) rmSync(f, { force: true });
    throw err;
  }
}

export type RestoreOptions = {
  /** The keys file; default `<backup name>.KEYS-KEEP-SECRET.json` beside the database backup. */
  keys?: string;
  /** Restore without keys (sealed secrets stay unreadable until the right key is set). */
  withoutKeys?: boolean;
  /** Replace an existing database and keys (they are moved aside first). */
  force?: boolean;
  now?: Date;
};

export type RestoreResult = { database: string; temporal?: string; keys: string[]; movedAside: string[]; counts: Record<string, number> };

/** Why a restore was refused: nothing was written. */
export class RestoreRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RestoreRefused';
  }
}

function parseKeys(file: string): KeysFile {
  let parsed: KeysFile;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as KeysFile;
  } catch (err) {
    throw new RestoreRefused(`${file} is not a Pipewright keys file (${err instanceof Error ? err.message : String(err)}).`);
  }
  if (parsed.format !== KEYS_FORMAT || typeof parsed.keys !== 'object') throw new RestoreRefused(`${file} is not a Pipewright keys file (format ${String(parsed.format)}).`);
  return parsed;
}

/** Every sealed environment secret opens with `key` (or there are none); otherwise the keys belong to another installation. */
async function assertKeysOpenSecrets(dbFile: string, secretKey: string | undefined): Promise<void> {
  const client = createClient({ url: `file:${dbFile}` });
  try {
    const tables = (await client.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'environments'")).rows;
    if (tables.length === 0) return;
    const rows = (await client.execute('SELECT id, name, secrets FROM environments')).rows;
    const { parseKey } = await import('../../server/clusters/crypto');
    for (const row of rows) {
      const secrets = JSON.parse(String(row.secrets ?? '{}')) as Record<string, { sealed: string }>;
      for (const [name, s] of Object.entries(secrets)) {
        if (!secretKey) throw new RestoreRefused(`The keys file holds no secret-key, but environment "${String(row.name)}" has sealed secrets; it cannot open them.`);
        try {
          openSealed(parseKey(secretKey), s.sealed, `environments:${String(row.id)}:${name}`);
        } catch {
          throw new RestoreRefused(`The keys file does not belong to this backup: its secret-key cannot open secret "${name}" of environment "${String(row.name)}".`);
        }
      }
    }
  } finally {
    client.close();
  }
}

/** Restores the backup whose database is `backupDb` into `env`'s data directory. */
export async function restore(env: Env, backupDb: string, opts: RestoreOptions = {}): Promise<RestoreResult> {
  const source = resolve(backupDb);
  if (!existsSync(source) || !statSync(source).isFile()) throw new RestoreRefused(`There is no backup file ${source}.`);
  if (!source.endsWith('.db') || source.endsWith('.temporal.db')) throw new RestoreRefused(`${basename(source)} is not an app database backup (expected pipewright-<time>.db).`);
  const base = source.slice(0, -'.db'.length);
  const dataDir = resolve(env.PIPEWRIGHT_DATA_DIR);
  const target = sqliteFileOf(env.databaseUrl);
  if (!target) throw new RestoreRefused(`DATABASE_URL ${env.databaseUrl} is not a SQLite file; restore it with the tools of its server.`);

  // 1. The backup is a sound Pipewright database this version can run.
  let backupCounts: Record<string, number>;
  try {
    backupCounts = await counts(source);
  } catch (err) {
    throw new RestoreRefused(`${source} is not a readable database backup: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (backupCounts.pipelines === undefined || backupCounts.runs === undefined) throw new RestoreRefused(`${source} is not a Pipewright database (no pipelines or runs table).`);
  const check = createClient({ url: `file:${source}` });
  try {
    const state = await migrationState(check);
    if (state.unknown.length) throw new RestoreRefused(`${source} was written by a newer version of Pipewright than this one; restore it with that version.`);
  } finally {
    check.close();
  }

  // 2. Its keys, and that they open its secrets.
  const keysPath = opts.keys ? resolve(opts.keys) : `${base}${KEYS_SUFFIX}`;
  let keys: KeysFile | undefined;
  if (existsSync(keysPath)) keys = parseKeys(keysPath);
  else if (!opts.withoutKeys) {
    throw new RestoreRefused(
      `The keys file ${keysPath} is missing: without its secret-key the sealed secrets cannot be opened and runs waiting at gates cannot be decided. ` +
        'Name it with --keys <file>, or pass --without-keys to restore the database alone.',
    );
  }
  if (keys) await assertKeysOpenSecrets(source, keys.keys['secret-key'] ?? process.env.PIPEWRIGHT_SECRET_KEY);

  // 3. Nothing is overwritten unless asked to.
  const temporalSource = `${base}.temporal.db`;
  const temporalTarget = !env.TEMPORAL_ADDRESS && existsSync(temporalSource) ? join(dataDir, 'temporal.db') : undefined;
  const occupied = [target, ...(temporalTarget ? [temporalTarget] : [])].filter((f) => existsSync(f) && statSync(f).size > 0);
  const differingKeys = Object.entries(keys?.keys ?? {}).filter(([file, value]) => {
    const current = readKey(dataDir, file);
    return current !== undefined && current !== value;
  });
  if (!opts.force && (occupied.length || differingKeys.length)) {
    const what = [...occupied, ...differingKeys.map(([f]) => join(dataDir, f))];
    throw new RestoreRefused(`Not restoring over existing state: ${what.join(', ')}. Stop Pipewright and pass --force to replace it (what is there is moved to ${join(dataDir, 'backups')} first), or restore into an empty data directory.`);
  }

  // 4. Write: existing files aside, then each file under a temporary name and renamed into place.
  const stamp = fileStamp(opts.now);
  const aside = join(dataDir, 'backups', `replaced-${stamp}`);
  const movedAside: string[] = [];
  const moveAside = (file: string) => {
    for (const f of [file, `${file}-wal`, `${file}-shm`]) {
      if (!existsSync(f)) continue;
      mkdirSync(aside, { recursive: true });
      const to = join(aside, basename(f));
      renameSync(f, to);
      movedAside.push(to);
    }
  };
  const place = (from: string, to: string) => {
    mkdirSync(dirname(to), { recursive: true });
    moveAside(to);
    const partial = `${to}.restoring`;
    copyFileSync(from, partial);
    renameSync(partial, to);
  };
  place(source, target);
  if (temporalTarget) place(temporalSource, temporalTarget);
  const writtenKeys: string[] = [];
  for (const [file, value] of Object.entries(keys?.keys ?? {})) {
    if (!KEY_FILES.some((k) => k.file === file)) continue;
    const to = join(dataDir, file);
    if (readKey(dataDir, file) === value) continue;
    moveAside(to);
    writeFileSync(`${to}.restoring`, `${value}\n`, { mode: 0o600 });
    renameSync(`${to}.restoring`, to);
    writtenKeys.push(to);
  }
  return { database: target, temporal: temporalTarget, keys: writtenKeys, movedAside, counts: backupCounts };
}
