/**
 * The insights page's numbers as a file: `GET /api/insights/export?format=csv|json&pipeline=&environment=&days=&tz=`.
 * Anyone signed in (401 otherwise), like the page. CSV: one row per deployment behind the numbers (formula-safe);
 * JSON: everything the page shows (measures, bands, trends, days, stages, gates, flaky stages, deployments).
 */
import { parseInsightsParams } from '@/app/insights/params';
import { getDb } from '@/db/client';
import { insightsInput } from '@/server/api/routers/insights';
import { getSessionUser } from '@/server/auth/session';
import { deploymentsCsv, getInsights } from '@/server/services/insights';

export const dynamic = 'force-dynamic';

const noStore = { 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' };

export async function GET(req: Request) {
  const user = await getSessionUser(req.headers);
  if (!user) return Response.json({ error: 'Sign in first.' }, { status: 401, headers: noStore });
  const url = new URL(req.url);
  const format = url.searchParams.get('format') ?? 'csv';
  if (format !== 'csv' && format !== 'json') return Response.json({ error: 'format must be csv or json.' }, { status: 400, headers: noStore });
  const p = parseInsightsParams(Object.fromEntries(url.searchParams));
  const input = insightsInput.safeParse({ pipelineId: p.pipelineId, environment: p.environment, days: p.days, timeZone: p.timeZone });
  if (!input.success) return Response.json({ error: 'Invalid filter.' }, { status: 400, headers: noStore });
  const db = await getDb();
  let result;
  try {
    result = await getInsights(db, input.data);
  } catch (err) {
    if ((err as { code?: string }).code === 'NOT_FOUND') return Response.json({ error: 'Pipeline not found.' }, { status: 404, headers: noStore });
    console.error('[insights export] failed:', err);
    return Response.json({ error: 'Something went wrong on the server; it has been logged.' }, { status: 500, headers: noStore });
  }
  const stamp = new Date(result.window.to).toISOString().slice(0, 10);
  const name = `pipewright-insights-${result.window.days}d-${stamp}`;
  if (format === 'json') {
    return new Response(JSON.stringify(result, null, 2), {
      headers: { 'Content-Type': 'application/json; charset=utf-8', 'Content-Disposition': `attachment; filename="${name}.json"`, ...noStore },
    });
  }
  return new Response('\uFEFF' + deploymentsCsv(result), {
    headers: { 'Content-Type': 'text/csv; charset=utf-8', 'Content-Disposition': `attachment; filename="${name}.csv"`, ...noStore },
  });
}
