/**
 * The embed: `/embed/pipelines/[id]?token=…&run=latest|<runId>&theme=light|dark|auto`.
 *
 * A route handler rather than a page, so the response is exactly what
 * server/embeds/embed-page.ts writes (no framework JavaScript) and carries its
 * own Content-Security-Policy: `frame-ancestors` from the token's allow-list on
 * success and on refusals of a known token, `'none'` otherwise. Authorisation
 * is the token only; cookies are never read.
 */
import { getDb } from '@/db/client';
import { renderEmbedPage } from '@/server/embeds/embed-page';
import { embedErrorResponse, embedPageCsp, embedPageHeaders, newNonce, themeParam } from '@/server/embeds/http';
import { getEnv } from '@/server/env';
import { authorizeShare, loadEmbedView } from '@/server/services/embeds';

export const dynamic = 'force-dynamic';

const RUN = /^(latest|[A-Za-z0-9_-]{1,64})$/;

export async function GET(req: Request, { params }: { params: Promise<{ id: string }> }) {
  const url = new URL(req.url);
  const theme = themeParam(url.searchParams.get('theme'));
  try {
    const { id } = await params;
    const run = url.searchParams.get('run') || 'latest';
    const token = url.searchParams.get('token');
    const db = await getDb();
    const access = await authorizeShare(db, token, { pipelineId: id, need: 'view' });
    if (!access.ok) return embedErrorResponse(access.status, access.message, access.frameOrigins, theme);
    if (!RUN.test(run)) return embedErrorResponse(400, 'The run in this link is not valid.', access.frameOrigins, theme);
    const view = await loadEmbedView(db, access.pipeline, run);
    if (!view) return embedErrorResponse(404, 'This run does not exist (or belongs to another pipeline).', access.frameOrigins, theme);
    const nonce = newNonce();
    const stream = `/api/embed/stream?token=${encodeURIComponent(token!)}&run=${encodeURIComponent(run)}`;
    const html = renderEmbedPage(view, { theme, nonce, streamUrl: stream });
    const publicOrigin = new URL(getEnv().publicUrl).origin;
    const csp = embedPageCsp({ nonce, frameOrigins: access.frameOrigins, connectOrigins: [publicOrigin] });
    return new Response(html, { status: 200, headers: embedPageHeaders(csp, true) });
  } catch (err) {
    console.error('[embed] failed:', err);
    return embedErrorResponse(500, 'Something went wrong on the server.', null, theme);
  }
}
