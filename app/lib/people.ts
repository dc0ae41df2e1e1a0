/**
 * Display names of people, by user id, for "started by" and "cancelled by"
 * (runs store the id). Server only; a small directory fits in one query.
 */
import 'server-only';
import { getDb } from '@/db/client';
import { user } from '@/db/schema';

export type People = Record<string, string>;

export async function getPeople(): Promise<People> {
  const db = await getDb();
  const rows = await db.select({ id: user.id, name: user.name, username: user.username }).from(user).limit(5000);
  const out: People = { system: 'Pipewright' };
  for (const r of rows) out[r.id] = r.name || r.username || r.id;
  return out;
}
