/**
 * Diagram image: `/api/diagram/[id].svg?token=…&theme=light|dark|auto` — the
 * pipeline's graph coloured by its latest run, as a standalone SVG (no
 * JavaScript). Needs a `view` token. `Cache-Control: no-cache` with a strong
 * ETag; 304 when If-None-Match matches.
 */
import { getDb } from '@/db/client';
import { svgResponse, themeParam } from '@/server/embeds/http';
import { renderBadgeSvg, renderGraphSvg } from '@/server/embeds/svg';
import { authorizeShare, loadEmbedView } from '@/server/services/embeds';

export const dynamic = 'force-dynamic';

export async function GET(req: Request, { params }: { params: Promise<{ id: string }> }) {
  try {
    const url = new URL(req.url);
    const id = (await params).id.replace(/\.svg$/, '');
    const db = await getDb();
    const access = await authorizeShare(db, url.searchParams.get('token'), { pipelineId: id, need: 'view' });
    if (!access.ok) return svgResponse(req, renderBadgeSvg('pipewright', access.code === 'scope' ? 'badge-only link' : access.message.replace(/\.$/, ''), 'none'), access.status);
    const view = await loadEmbedView(db, access.pipeline, 'latest');
    if (!view) return svgResponse(req, renderBadgeSvg('pipewright', 'not found', 'none'), 404);
    // Durations of running stages change every second; the image shows finished ones only, so its ETag holds while nothing changes.
    const states = Object.fromEntries(Object.entries(view.stages).map(([k, s]) => [k, s.endedAt ? s : { ...s, startedAt: null }]));
    const { svg } = renderGraphSvg(
      { nodes: view.nodes, edges: view.edges, states },
      {
        standalone: true,
        theme: themeParam(url.searchParams.get('theme')),
        title: `${view.pipeline.name}${view.run ? ` · ${view.run.rehearsal ? 'rehearsal (nothing changed)' : 'run'} #${view.run.number}: ${view.run.display.text}` : ''}`,
        // What the latest run is doing, in the app's words: "Run #3 · Waiting for approval — alan".
        caption: view.run ? `${view.run.rehearsal ? 'Rehearsal' : 'Run'} #${view.run.number} · ${view.run.display.text}${view.run.rehearsal ? ' · nothing changed' : ''}` : 'No runs yet',
      },
    );
    return svgResponse(req, svg);
  } catch (err) {
    console.error('[diagram] failed:', err);
    return svgResponse(req, renderBadgeSvg('pipewright', 'error', 'none'), 500);
  }
}
