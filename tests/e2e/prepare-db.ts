/**
 * Prepares the e2e app database in its own process (so the test runner's
 * process never caches this environment): migrations, demo users, example
 * pipelines, and a registered runner whose token goes to
 * `$PIPEWRIGHT_DATA_DIR/runner-token` (as `npm start` does). Run by
 * tests/e2e/app-setup.ts with the e2e environment.
 */
import path from 'node:path';
import { migrate } from '../../db/migrate';
import { seed } from '../../db/seed';
import { closeAllDbs, getDb } from '../../db/client';
import { ensureLocalRunner } from '../../server/services/runners';

await migrate();
const { lines } = await seed();
for (const line of lines) console.log(line);
await ensureLocalRunner(await getDb(), path.join(process.env.PIPEWRIGHT_DATA_DIR!, 'runner-token'));
closeAllDbs();
process.exit(0);
