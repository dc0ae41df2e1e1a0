/**
 * DORA card: `/api/dora/[id].svg?token=…[&days=7|30|90]` — a pipeline's four delivery measures over the last
 * 30 days (or `days`), with their bands, for wikis. Authorised by a `view` share link of that pipeline (the
 * badge-only links do not show it); revoked or expired links and deleted pipelines stop working at once.
 */
import { getDb } from '@/db/client';
import { renderDoraCardSvg } from '@/server/embeds/dora-card';
import { svgResponse } from '@/server/embeds/http';
import { renderBadgeSvg } from '@/server/embeds/svg';
import { authorizeShare } from '@/server/services/embeds';
import { getInsights } from '@/server/services/insights';

export const dynamic = 'force-dynamic';

function duration(ms: number | null): string {
  if (ms === null) return '—';
  const min = ms / 60_000;
  if (min < 60) return `${Math.max(1, Math.round(min))} min`;
  if (min < 48 * 60) return `${(min / 60).toFixed(1)} h`;
  return `${(min / 1440).toFixed(1)} d`;
}

export async function GET(req: Request, { params }: { params: Promise<{ id: string }> }) {
  try {
    const id = (await params).id.replace(/\.svg$/, '');
    const url = new URL(req.url);
    const db = await getDb();
    const access = await authorizeShare(db, url.searchParams.get('token'), { pipelineId: id, need: 'view' });
    if (!access.ok) return svgResponse(req, renderBadgeSvg('pipewright', access.code === 'revoked' ? 'link revoked' : access.code === 'expired' ? 'link expired' : 'not found', 'none'), access.status);
    const d = Number(url.searchParams.get('days'));
    const days = d === 7 || d === 90 ? d : 30;
    const m = await getInsights(db, { pipelineId: id, days });
    const c = m.current;
    const perDay = c.deploymentFrequency.perDay;
    return svgResponse(
      req,
      renderDoraCardSvg(access.pipeline.name, `Delivery, last ${days} days (DORA 2023 bands)`, [
        { label: 'Deploys', value: perDay >= 1 ? `${perDay.toFixed(1)}/day` : `${(perDay * 7).toFixed(1)}/week`, band: c.deploymentFrequency.band },
        { label: 'Lead time', value: duration(c.leadTime.value), band: c.leadTime.band },
        { label: 'Change failures', value: c.changeFailureRate.value === null ? '—' : `${Math.round(c.changeFailureRate.value * 100)} %`, band: c.changeFailureRate.band },
        { label: 'Time to restore', value: duration(c.timeToRestore.value), band: c.timeToRestore.band },
      ]),
    );
  } catch (err) {
    console.error('[dora card] failed:', err);
    return svgResponse(req, renderBadgeSvg('pipewright', 'error', 'none'), 500);
  }
}
