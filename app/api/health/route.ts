/**
 * Health check: `{ ok: true, db: 'ok' }` with 200 when the app answers and its
 * database does; `{ ok: false, db: 'error' }` with 503 otherwise. Used by load
 * balancers and by the example pipeline's smoke test. Never includes details
 * of a failure (they go to the server log).
 */
import { sql } from 'drizzle-orm';
import { getDb } from '@/db/client';

export const dynamic = 'force-dynamic';

const noStore = { 'Cache-Control': 'no-store' };

export async function GET() {
  try {
    const db = await getDb();
    await db.run(sql`select 1`);
    return Response.json({ ok: true, db: 'ok' }, { status: 200, headers: noStore });
  } catch (err) {
    console.error('[health] database check failed:', err instanceof Error ? err.message : String(err));
    return Response.json({ ok: false, db: 'error' }, { status: 503, headers: noStore });
  }
}
