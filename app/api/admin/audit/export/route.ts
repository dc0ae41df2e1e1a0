/**
 * The audit log as CSV: `GET /api/admin/audit/export?actor=&action=&outcome=&pipelineId=&from=&to=`
 * (the audit page's filters; `from`/`to` are ISO times). Admins only: 401
 * signed out, 403 and an audit entry for anyone else. Streamed in pages;
 * fields are RFC 4180-quoted and guarded against spreadsheet formulas
 * (server/services/audit.ts `csvField`). Starts with a UTF-8 byte order mark
 * so spreadsheet programs read names with accents correctly.
 */
import { getDb } from '@/db/client';
import { auditLog } from '@/db/schema';
import { hasCapability } from '@/server/api/trpc';
import { getSessionUser } from '@/server/auth/session';
import { auditCsv, auditFilterSchema } from '@/server/services/audit';

export const dynamic = 'force-dynamic';

const noStore = { 'Cache-Control': 'no-store' };

export async function GET(req: Request) {
  const user = await getSessionUser(req.headers);
  if (!user) return Response.json({ error: 'Sign in first.' }, { status: 401, headers: noStore });
  const db = await getDb();
  if (!hasCapability(user, 'admin')) {
    await db.insert(auditLog).values({
      actorId: user.id,
      actorName: user.username,
      action: 'audit.export',
      outcome: 'refused',
      reason: `role ${user.role} may not admin`,
    });
    return Response.json({ error: `Your role (${user.role}) may not do this.` }, { status: 403, headers: noStore });
  }
  const q = new URL(req.url).searchParams;
  const date = (v: string | null) => (v ? new Date(v) : undefined);
  const parsed = auditFilterSchema.safeParse({
    actor: q.get('actor') || undefined,
    action: q.get('action') || undefined,
    outcome: q.get('outcome') || undefined,
    pipelineId: q.get('pipelineId') || undefined,
    from: date(q.get('from')),
    to: date(q.get('to')),
  });
  if (!parsed.success || [parsed.data?.from, parsed.data?.to].some((d) => d && Number.isNaN(d.getTime()))) {
    return Response.json({ error: 'Invalid filter.' }, { status: 400, headers: noStore });
  }
  await db.insert(auditLog).values({ actorId: user.id, actorName: user.username, action: 'audit.export', outcome: 'ok', details: { filter: q.toString() || null } });

  const lines = auditCsv(db, parsed.data);
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode('\uFEFF'));
    },
    async pull(controller) {
      const next = await lines.next();
      if (next.done) controller.close();
      else controller.enqueue(encoder.encode(next.value));
    },
    async cancel() {
      await lines.return(undefined);
    },
  });
  const stamp = new Date().toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-');
  return new Response(body, {
    headers: {
      'Content-Type': 'text/csv; charset=utf-8',
      'Content-Disposition': `attachment; filename="pipewright-audit-${stamp}.csv"`,
      ...noStore,
      'X-Content-Type-Options': 'nosniff',
    },
  });
}
