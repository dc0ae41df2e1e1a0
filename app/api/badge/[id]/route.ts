/**
 * Status badge: `/api/badge/[id].svg?token=…` — the pipeline's name and its
 * latest run's status, shields-style. Works with `view` and `badge` tokens.
 * No JavaScript; `Cache-Control: no-cache` with a strong ETag so image proxies
 * (GitHub's camo) revalidate and get a 304 while nothing changed.
 */
import { getDb } from '@/db/client';
import { svgResponse } from '@/server/embeds/http';
import { renderBadgeSvg } from '@/server/embeds/svg';
import { authorizeShare, latestRunStatus } from '@/server/services/embeds';

export const dynamic = 'force-dynamic';

const MESSAGES: Record<string, string> = {
  succeeded: 'passing',
  failed: 'failing',
  running: 'running',
  waiting: 'waiting for approval',
  queued: 'queued',
  cancelled: 'cancelled',
};

export async function GET(req: Request, { params }: { params: Promise<{ id: string }> }) {
  try {
    const id = (await params).id.replace(/\.svg$/, '');
    const db = await getDb();
    const access = await authorizeShare(db, new URL(req.url).searchParams.get('token'), { pipelineId: id, need: 'badge' });
    if (!access.ok) return svgResponse(req, renderBadgeSvg('pipewright', access.code === 'revoked' ? 'link revoked' : access.code === 'expired' ? 'link expired' : 'not found', 'none'), access.status);
    const last = await latestRunStatus(db, id);
    const status = last?.status ?? 'none';
    // A waiting run says what it waits for and whom, in the app's words: "waiting for approval — alan".
    const message = last?.display.key === 'waiting' ? last.display.text.charAt(0).toLowerCase() + last.display.text.slice(1) : MESSAGES[status] ?? status;
    return svgResponse(req, renderBadgeSvg(access.pipeline.name, last ? message : 'no runs', status));
  } catch (err) {
    console.error('[badge] failed:', err);
    return svgResponse(req, renderBadgeSvg('pipewright', 'error', 'none'), 500);
  }
}
