/**
 * Refusals at the HTTP edge (CSRF, sign-in rate limit), answered and written
 * to the audit log like the API's own 403s.
 */
import type { Db } from '../../db/client';
import { auditLog } from '../../db/schema';
import { getSessionUser } from '../auth/session';

/** Writes a refused attempt to the audit log; names the signed-in person when the request has a session. */
export async function auditRefusal(
  db: Db,
  req: Request | null,
  entry: { action: string; reason: string; actorName?: string | null; details?: Record<string, unknown> },
): Promise<void> {
  let actor: { id: string; username: string } | null = null;
  if (req?.headers.get('cookie')) actor = await getSessionUser(req.headers).catch(() => null);
  try {
    await db.insert(auditLog).values({
      actorId: actor?.id ?? null,
      actorName: actor?.username ?? entry.actorName ?? null,
      action: entry.action,
      outcome: 'refused',
      reason: entry.reason,
      details: entry.details ?? null,
    });
  } catch (err) {
    console.error('[audit] could not record a refusal:', err instanceof Error ? err.message : err);
  }
}
