/**
 * `npm run restore -- <backup>.db [--keys <file>] [--without-keys] [--force]`: restores a backup
 * written by `npm run backup` into `$PIPEWRIGHT_DATA_DIR` (see backup-files.ts). Stop Pipewright first;
 * `npm start` then migrates the restored database if it is older than the code.
 */
import path from 'node:path';
import { getEnv } from '../../server/env';
import { restore, RestoreRefused } from './backup-files';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const USAGE = 'Usage: npm run restore -- <pipewright-TIME.db> [--keys <pipewright-TIME.KEYS-KEEP-SECRET.json>] [--without-keys] [--force]';

async function main() {
  const args = process.argv.slice(2);
  const valued = new Set(['--keys']);
  const positional = args.filter((a, i) => !a.startsWith('--') && !valued.has(args[i - 1] ?? ''));
  if (args.includes('--help') || positional.length !== 1) {
    console.log(USAGE);
    process.exit(args.includes('--help') ? 0 : 2);
  }
  const env = getEnv();
  const r = await restore(env, positional[0]!, { keys: arg('--keys'), withoutKeys: args.includes('--without-keys'), force: args.includes('--force') });
  const rel = (p: string) => path.relative(process.cwd(), p) || p;
  console.log(`Restored Pipewright (${Object.entries(r.counts).map(([t, n]) => `${n} ${t}`).join(', ')}):`);
  console.log(`  database          ${rel(r.database)}`);
  if (r.temporal) console.log(`  Temporal (runs)   ${rel(r.temporal)}`);
  for (const k of r.keys) console.log(`  key               ${rel(k)}`);
  if (r.movedAside.length) console.log(`What was there before is in ${rel(path.dirname(r.movedAside[0]!))}.`);
  console.log('Start Pipewright with `npm start` (it migrates the database if the backup is older than this version).');
}

main().catch((err: unknown) => {
  if (err instanceof RestoreRefused) console.error(`Restore refused, nothing was changed: ${err.message}`);
  else console.error(`Restore failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
