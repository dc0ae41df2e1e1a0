/**
 * Prepares the e2e app database in its own process (so the test runner's
 * process never caches this environment): migrations, demo users, example
 * pipelines. Run by tests/e2e/app-setup.ts with the e2e environment.
 */
import { migrate } from '../../db/migrate';
import { seed } from '../../db/seed';
import { closeAllDbs } from '../../db/client';

await migrate();
const { lines } = await seed();
for (const line of lines) console.log(line);
closeAllDbs();
process.exit(0);
