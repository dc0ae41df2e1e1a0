/**
 * oEmbed (https://oembed.com): `/api/oembed?url=<share or embed URL>&maxwidth=&maxheight=&format=json`.
 *
 * Answers `type: "rich"` with an `<iframe>` of the embed in `html`, sized to
 * the graph and within `maxwidth`/`maxheight`, plus title, provider, cache age
 * and the diagram image as thumbnail. Only URLs of this server with a live
 * `view` token are embeddable: 404 otherwise, 401 for a revoked or expired
 * link, 501 for `format=xml` (as the spec asks).
 */
import { getDb } from '@/db/client';
import { escapeHtml, jsonForScript } from '@/server/embeds/escape';
import { renderGraphSvg } from '@/server/embeds/svg';
import { getEnv } from '@/server/env';
import { authorizeShare, loadEmbedView, shareUrls } from '@/server/services/embeds';

export const dynamic = 'force-dynamic';

/** Height of the embed page's header and footer around the graph, in CSS pixels. */
const CHROME_HEIGHT = 78;
const DEFAULT_MAX_WIDTH = 1000;
const MIN_WIDTH = 200;
const MIN_HEIGHT = 120;
const CACHE_AGE = 3600;

function json(body: unknown, status = 200) {
  return new Response(jsonForScript(body), {
    status,
    headers: { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'Access-Control-Allow-Origin': '*' },
  });
}

function dimension(value: string | null): number | undefined {
  if (value === null || value === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) && n >= 1 ? Math.floor(n) : undefined;
}

const SHARE_PATH = /^\/(share|embed)\/pipelines\/([^/]+)\/?$/;

export async function GET(req: Request) {
  const q = new URL(req.url).searchParams;
  const format = q.get('format') ?? 'json';
  if (format !== 'json') return json({ error: 'only format=json is supported' }, 501);
  const raw = q.get('url');
  if (!raw) return json({ error: 'url is required' }, 400);
  let target: URL;
  try {
    target = new URL(raw);
  } catch {
    return json({ error: 'url is not a URL' }, 404);
  }
  const base = new URL(getEnv().publicUrl);
  const path = SHARE_PATH.exec(target.pathname);
  if (target.origin !== base.origin || !path) return json({ error: 'not an embeddable Pipewright URL' }, 404);
  const pipelineId = decodeURIComponent(path[2]!);
  const token = target.searchParams.get('token');

  const db = await getDb();
  const access = await authorizeShare(db, token, { pipelineId, need: 'view' });
  if (!access.ok) return json({ error: access.message }, access.status === 403 ? 401 : access.status);
  const view = await loadEmbedView(db, access.pipeline, 'latest');
  if (!view) return json({ error: 'not found' }, 404);

  const graph = renderGraphSvg({ nodes: view.nodes, edges: view.edges, states: {} });
  const maxWidth = dimension(q.get('maxwidth'));
  const maxHeight = dimension(q.get('maxheight'));
  let width = Math.max(MIN_WIDTH, Math.min(graph.width + 16, maxWidth ?? DEFAULT_MAX_WIDTH));
  let height = Math.max(MIN_HEIGHT, Math.round(CHROME_HEIGHT + graph.height * Math.min(1, (width - 16) / graph.width)));
  if (maxWidth !== undefined) width = Math.min(width, maxWidth);
  if (maxHeight !== undefined) height = Math.min(height, maxHeight);
  // Thumbnail: the diagram at its natural size, scaled down to the limits.
  const thumbScale = Math.min(1, (maxWidth ?? Infinity) / graph.width, (maxHeight ?? Infinity) / graph.height);

  const urls = shareUrls(pipelineId, token!);
  const run = target.searchParams.get('run');
  const theme = target.searchParams.get('theme');
  const src = new URL(urls.embed);
  if (run && /^(latest|[A-Za-z0-9_-]{1,64})$/.test(run)) src.searchParams.set('run', run);
  if (theme === 'light' || theme === 'dark' || theme === 'auto') src.searchParams.set('theme', theme);
  const title = view.pipeline.name;
  const html = `<iframe src="${escapeHtml(src.toString())}" width="${width}" height="${height}" title="${escapeHtml(`${title} (Pipewright)`)}" sandbox="allow-scripts" loading="lazy" referrerpolicy="no-referrer" style="border:0;max-width:100%"></iframe>`;
  return json({
    type: 'rich',
    version: '1.0',
    title,
    provider_name: 'Pipewright',
    provider_url: base.origin + '/',
    cache_age: CACHE_AGE,
    html,
    width,
    height,
    thumbnail_url: urls.diagram,
    thumbnail_width: Math.max(1, Math.round(graph.width * thumbScale)),
    thumbnail_height: Math.max(1, Math.round(graph.height * thumbScale)),
  });
}
