/**
 * A pipeline's release plan as Markdown: `GET /api/pipelines/[id]/release-plan.md[?version=N]`. Anyone
 * signed in (401 otherwise; 404 for a pipeline that does not exist or was deleted).
 */
import { getDb } from '@/db/client';
import { getSessionUser } from '@/server/auth/session';
import { getReleasePlan } from '@/server/services/insights/release-plans';

export const dynamic = 'force-dynamic';

const noStore = { 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' };

export async function GET(req: Request, { params }: { params: Promise<{ id: string }> }) {
  const user = await getSessionUser(req.headers);
  if (!user) return Response.json({ error: 'Sign in first.' }, { status: 401, headers: noStore });
  const id = (await params).id;
  const v = Number(new URL(req.url).searchParams.get('version'));
  try {
    const plan = await getReleasePlan(await getDb(), id, { version: Number.isInteger(v) && v >= 1 ? v : undefined });
    const file = plan.pipeline.name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'pipeline';
    return new Response(plan.markdown, {
      headers: { 'Content-Type': 'text/markdown; charset=utf-8', 'Content-Disposition': `attachment; filename="release-plan-${file}-v${plan.version}.md"`, ...noStore },
    });
  } catch (err) {
    if ((err as { code?: string }).code === 'NOT_FOUND') return Response.json({ error: 'Pipeline not found.' }, { status: 404, headers: noStore });
    console.error('[release plan] failed:', err);
    return Response.json({ error: 'Something went wrong on the server; it has been logged.' }, { status: 500, headers: noStore });
  }
}
