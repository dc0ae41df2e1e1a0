/**
 * `npm run backup [-- --out <folder>]`: a consistent backup of Pipewright's state while it runs
 * (see backup-files.ts for what is written). Default folder: `$PIPEWRIGHT_DATA_DIR/backups`.
 */
import path from 'node:path';
import { getEnv } from '../../server/env';
import { backup } from './backup-files';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main() {
  if (process.argv.includes('--help')) {
    console.log('Usage: npm run backup [-- --out <folder>]   (default folder: $PIPEWRIGHT_DATA_DIR/backups)');
    return;
  }
  const env = getEnv();
  const out = arg('--out') ?? path.join(env.PIPEWRIGHT_DATA_DIR, 'backups');
  const r = await backup(env, out);
  const rel = (p: string) => path.relative(process.cwd(), p) || p;
  console.log(`Backed up Pipewright (${Object.entries(r.counts).map(([t, n]) => `${n} ${t}`).join(', ')}):`);
  console.log(`  database          ${rel(r.database)}`);
  if (r.temporal) console.log(`  Temporal (runs)   ${rel(r.temporal)}`);
  else if (env.TEMPORAL_ADDRESS) console.log(`  Temporal (runs)   not included: TEMPORAL_ADDRESS points at an external cluster; back it up with its own tools`);
  console.log(`  keys (SECRET)     ${rel(r.keys)}`);
  console.log('Keep the keys file apart from the database backup: together they open every stored secret.');
  console.log(`Restore with: npm run restore -- ${rel(r.database)}`);
}

main().catch((err: unknown) => {
  console.error(`Backup failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
