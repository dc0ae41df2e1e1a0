/**
 * Server-rendered SVG for embeds: the pipeline graph (inline in the embed
 * page, and as a standalone diagram image) and a shields-style status badge.
 *
 * 1. Pure string building, no DOM and no JavaScript in the output: image
 *    proxies (GitHub's camo) and `<img>` render it as is.
 * 2. Every piece of user text goes through `escapeXml`; ids and classes come
 *    from fixed vocabularies (`STATUS_KEYS`) or are escaped too.
 * 3. Stages are drawn at the positions people gave them on the canvas; when
 *    positions are missing (every node at the same spot, as specs written by
 *    hand often are) a small layered layout takes over.
 * 4. Status colours are CSS classes (`s-running`, …), so the embed's script
 *    only flips a class when a stage changes.
 */
import { getStageDefinition } from '../../workflows/model';
import { escapeXml, truncate } from './escape';

export const NODE_WIDTH = 200;
export const NODE_HEIGHT = 56;
const PAD = 12;

export const STATUS_KEYS = ['pending', 'queued', 'running', 'waiting', 'succeeded', 'failed', 'skipped', 'cancelled'] as const;
export type StatusKey = (typeof STATUS_KEYS)[number];

/** A stage card's subtitle fits its width: the kind is cut to this many characters, and the status is short. */
export const SUBTITLE_KIND_CHARS = 14;

/** Statuses as a stage card's subtitle says them (short: the card is 200 px wide; its tooltip says more). */
export const STAGE_STATUS_LABELS: Record<StatusKey, string> = {
  pending: 'Pending',
  queued: 'Queued',
  running: 'Running',
  waiting: 'Waiting',
  succeeded: 'Succeeded',
  failed: 'Failed',
  skipped: 'Skipped',
  cancelled: 'Cancelled',
};

export const STATUS_LABELS: Record<StatusKey, string> = {
  pending: 'Pending',
  queued: 'Queued',
  running: 'Running',
  waiting: 'Waiting for approval',
  succeeded: 'Succeeded',
  failed: 'Failed',
  skipped: 'Skipped',
  cancelled: 'Cancelled',
};

const GLYPHS: Record<StatusKey, string> = {
  pending: '○',
  queued: '◌',
  running: '●',
  waiting: '◷',
  succeeded: '✓',
  failed: '✕',
  skipped: '↷',
  cancelled: '⊘',
};

/** The status key for any status string (unknown ones draw as pending). */
export function statusKey(status: string | null | undefined): StatusKey {
  return (STATUS_KEYS as readonly string[]).includes(status ?? '') ? (status as StatusKey) : 'pending';
}

export type GraphNode = { id: string; name: string; kind: string; x: number; y: number };
export type GraphEdge = { from: string; to: string; on: 'success' | 'failure' | 'always' };
export type StageState = { status: string; startedAt: number | null; endedAt: number | null };

/** `850 ms`, `12.3 s`, `4m 05s`, `2h 03m`, `3d 4h`. The embed's script has the same function. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.floor(s)} s`;
  const total = Math.floor(s);
  const m = Math.floor(total / 60);
  if (m < 60) return `${m}m ${String(total % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** Duration of a stage: finished ones from start to end, running ones up to `now`. */
export function stageDuration(state: StageState | undefined, now: number): string {
  if (!state?.startedAt) return '';
  return formatDuration((state.endedAt ?? now) - state.startedAt);
}

/**
 * Positions for drawing. People's canvas positions are kept unless several
 * nodes share one spot; then nodes are laid out in columns by depth.
 */
export function layoutNodes(nodes: readonly GraphNode[], edges: readonly GraphEdge[]): GraphNode[] {
  const spots = new Set(nodes.map((n) => `${Math.round(n.x / 20)},${Math.round(n.y / 20)}`));
  if (spots.size === nodes.length) return nodes.map((n) => ({ ...n }));
  const ids = new Set(nodes.map((n) => n.id));
  const incoming = new Map<string, string[]>(nodes.map((n) => [n.id, []]));
  for (const e of edges) if (ids.has(e.from) && ids.has(e.to) && e.from !== e.to) incoming.get(e.to)!.push(e.from);
  const depth = new Map<string, number>();
  const visiting = new Set<string>();
  const depthOf = (id: string): number => {
    const known = depth.get(id);
    if (known !== undefined) return known;
    if (visiting.has(id)) return 0; // a cycle (drafts may have one): cut it here
    visiting.add(id);
    const d = Math.max(-1, ...(incoming.get(id) ?? []).map(depthOf)) + 1;
    visiting.delete(id);
    depth.set(id, d);
    return d;
  };
  const rows = new Map<number, number>();
  return nodes.map((n) => {
    const col = depthOf(n.id);
    const row = rows.get(col) ?? 0;
    rows.set(col, row + 1);
    return { ...n, x: col * (NODE_WIDTH + 60), y: row * (NODE_HEIGHT + 28) };
  });
}

/** Shared colours and classes (light, dark, or following the viewer's system). */
export const GRAPH_CSS = `
.pw{--bg:#f6f7f9;--card:#fff;--fg:#0f172a;--muted:#5b6577;--line:#cbd2db;--edge:#94a3b8;--fail:#dc2626;
--c-pending:#cbd2db;--c-queued:#94a3b8;--c-running:#0ea5e9;--c-waiting:#f59e0b;--c-succeeded:#10b981;--c-failed:#ef4444;--c-skipped:#cbd5e1;--c-cancelled:#a1a1aa}
.pw.dark{--bg:#0b0f16;--card:#121823;--fg:#e6eaf0;--muted:#94a0b3;--line:#33415a;--edge:#4b5b75;--fail:#f87171;--c-pending:#33415a;--c-skipped:#334155;--c-cancelled:#71717a}
@media (prefers-color-scheme:dark){.pw.auto{--bg:#0b0f16;--card:#121823;--fg:#e6eaf0;--muted:#94a0b3;--line:#33415a;--edge:#4b5b75;--fail:#f87171;--c-pending:#33415a;--c-skipped:#334155;--c-cancelled:#71717a}}
.pw text{font-family:ui-sans-serif,system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
.pw .n-box{fill:var(--card);stroke:var(--line);stroke-width:1}
.pw .n-name{fill:var(--fg);font-size:13px;font-weight:600}
.pw .n-sub{fill:var(--muted);font-size:11px}
.pw .n-glyph{font-size:13px;font-weight:700}
.pw .pw-caption{fill:var(--fg);font-size:12px;font-weight:600}
.pw .e{fill:none;stroke:var(--edge);stroke-width:1.5}
.pw .e-failure{stroke:var(--fail);stroke-dasharray:5 4}
.pw .e-always{stroke-dasharray:2 3}
.pw .ah{fill:var(--edge)}.pw .ah-failure{fill:var(--fail)}
${STATUS_KEYS.map((s) => `.pw .s-${s} .n-bar{fill:var(--c-${s})}.pw .s-${s} .n-glyph{fill:var(--c-${s})}`).join('\n')}
.pw .s-running .n-box,.pw .s-waiting .n-box,.pw .s-failed .n-box{stroke-width:1.5}
.pw .s-running .n-box{stroke:var(--c-running)}.pw .s-waiting .n-box{stroke:var(--c-waiting)}.pw .s-failed .n-box{stroke:var(--c-failed)}
.pw .s-skipped{opacity:.65}
.pw .s-running .n-glyph{animation:pw-pulse 1.4s ease-in-out infinite}
@keyframes pw-pulse{50%{opacity:.35}}
`;

export type GraphSvgOptions = {
  /** A complete SVG document (xmlns, own `<style>`, background) rather than markup inlined in HTML. */
  standalone?: boolean;
  theme?: 'light' | 'dark' | 'auto';
  /** Accessible title of the whole drawing. */
  title?: string;
  /** A line of text drawn above the graph (the diagram image says the run's status there: "Run #3 · Waiting for approval — alan"). */
  caption?: string;
  now?: number;
};

/** Height of the caption line above the graph. */
const CAPTION_HEIGHT = 22;

/** The pipeline graph as SVG markup, with its natural size. */
export function renderGraphSvg(
  input: { nodes: readonly GraphNode[]; edges: readonly GraphEdge[]; states: Readonly<Record<string, StageState>> },
  opts: GraphSvgOptions = {},
): { svg: string; width: number; height: number } {
  const now = opts.now ?? Date.now();
  const nodes = layoutNodes(input.nodes, input.edges);
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const minX = nodes.length ? Math.min(...nodes.map((n) => n.x)) : 0;
  const minY = nodes.length ? Math.min(...nodes.map((n) => n.y)) : 0;
  const maxX = nodes.length ? Math.max(...nodes.map((n) => n.x + NODE_WIDTH)) : 240;
  const maxY = nodes.length ? Math.max(...nodes.map((n) => n.y + NODE_HEIGHT)) : 60;
  // A connection back to an earlier column loops outside the cards: the drawing includes its curve (a Bézier stays
  // inside its control points), so it is never clipped at the image's edge.
  let loopMinX = minX;
  let loopMaxX = maxX;
  for (const e of input.edges) {
    const a = byId.get(e.from);
    const b = byId.get(e.to);
    if (!a || !b) continue;
    const bend = Math.max(30, Math.abs(b.x - 2 - (a.x + NODE_WIDTH)) / 2);
    loopMaxX = Math.max(loopMaxX, a.x + NODE_WIDTH + bend);
    loopMinX = Math.min(loopMinX, b.x - 2 - bend);
  }
  const capH = opts.caption ? CAPTION_HEIGHT : 0;
  const width = Math.ceil(loopMaxX - loopMinX + 2 * PAD);
  const height = Math.ceil(maxY - minY + 2 * PAD + capH);
  const ox = PAD - loopMinX;
  const oy = PAD + capH - minY;
  const r = (v: number) => Math.round(v * 10) / 10;

  const parts: string[] = [];
  const theme = opts.theme ?? 'auto';
  const title = opts.title ?? 'Pipeline';
  parts.push(
    `<svg ${opts.standalone ? 'xmlns="http://www.w3.org/2000/svg" ' : ''}class="pw ${theme} pw-graph" role="img" aria-label="${escapeXml(title)}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}">`,
    `<title>${escapeXml(title)}</title>`,
  );
  if (opts.standalone) parts.push(`<style>${GRAPH_CSS}</style>`, `<rect width="100%" height="100%" rx="8" style="fill:var(--bg)"/>`);
  if (opts.caption) {
    // About 6.5 px a character at 12 px: cut to the drawing's width (the full text is in the title).
    const fit = truncate(opts.caption, Math.max(12, Math.floor((width - 2 * PAD) / 6.5)));
    parts.push(`<text class="pw-caption" x="${PAD}" y="${PAD + 10}">${escapeXml(fit)}</text>`);
  }
  parts.push(
    '<defs>',
    '<marker id="pw-ah" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path class="ah" d="M0 0L10 5L0 10z"/></marker>',
    '<marker id="pw-ah-failure" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path class="ah ah-failure" d="M0 0L10 5L0 10z"/></marker>',
    '</defs>',
  );

  parts.push('<g class="edges">');
  for (const e of input.edges) {
    const a = byId.get(e.from);
    const b = byId.get(e.to);
    if (!a || !b) continue;
    const x1 = a.x + ox + NODE_WIDTH;
    const y1 = a.y + oy + NODE_HEIGHT / 2;
    const x2 = b.x + ox - 2;
    const y2 = b.y + oy + NODE_HEIGHT / 2;
    const bend = Math.max(30, Math.abs(x2 - x1) / 2);
    const on = e.on === 'failure' || e.on === 'always' ? e.on : 'success';
    parts.push(
      `<path class="e e-${on}" marker-end="url(#${on === 'failure' ? 'pw-ah-failure' : 'pw-ah'})" d="M${r(x1)} ${r(y1)}C${r(x1 + bend)} ${r(y1)} ${r(x2 - bend)} ${r(y2)} ${r(x2)} ${r(y2)}"/>`,
    );
  }
  parts.push('</g><g class="nodes">');
  for (const n of nodes) {
    const state = input.states[n.id];
    const status = statusKey(state?.status);
    const x = r(n.x + ox);
    const y = r(n.y + oy);
    const kind = getStageDefinition(n.kind)?.label ?? n.kind;
    const duration = stageDuration(state, now);
    parts.push(
      `<g class="node s-${status}" data-stage="${escapeXml(n.id)}" data-status="${status}" data-started="${state?.startedAt ?? ''}" data-ended="${state?.endedAt ?? ''}" transform="translate(${x} ${y})">`,
      `<title>${escapeXml(`${n.name} (${kind}): ${STATUS_LABELS[status]}${duration ? `, ${duration}` : ''}`)}</title>`,
      `<rect class="n-box" width="${NODE_WIDTH}" height="${NODE_HEIGHT}" rx="8"/>`,
      `<rect class="n-bar" x="0.5" y="6" width="4" height="${NODE_HEIGHT - 12}" rx="2"/>`,
      `<text class="n-glyph" x="${NODE_WIDTH - 12}" y="22" text-anchor="end">${GLYPHS[status]}</text>`,
      `<text class="n-name" x="14" y="22">${escapeXml(truncate(n.name, 22))}</text>`,
      `<text class="n-sub" x="14" y="41"><tspan class="n-status">${escapeXml(truncate(kind, SUBTITLE_KIND_CHARS))} · ${STAGE_STATUS_LABELS[status]}</tspan><tspan class="n-dur">${duration ? ` · ${duration}` : ''}</tspan></text>`,
      '</g>',
    );
  }
  parts.push('</g></svg>');
  return { svg: parts.join(''), width, height };
}

// ── Badge ────────────────────────────────────────────────────────────────────

/** Approximate advance widths of Verdana 11px (what shields.io badges use), by character class. */
function textWidth(text: string): number {
  let w = 0;
  for (const ch of text) {
    if (/[ilj.,:;'|!]/.test(ch)) w += 3.6;
    else if (/[ftrI() \-[\]]/.test(ch)) w += 4.6;
    else if (/[mwMW]/.test(ch)) w += 10.2;
    else if (/[A-Z]/.test(ch)) w += 7.6;
    else if (/[a-z0-9]/.test(ch)) w += 6.8;
    else w += 8;
  }
  return Math.ceil(w);
}

const BADGE_COLOURS: Record<string, string> = {
  succeeded: '#2e9e5b',
  failed: '#d9453c',
  running: '#1f8ac0',
  waiting: '#c98a06',
  queued: '#7a8599',
  cancelled: '#7a7a85',
  none: '#9f9f9f',
};

/** A flat status badge: `label | message`, coloured by `status`. */
export function renderBadgeSvg(label: string, message: string, status: string): string {
  const left = truncate(label, 40);
  const right = truncate(message, 60);
  const lw = textWidth(left) + 12;
  const rw = textWidth(right) + 12;
  const w = lw + rw;
  const colour = BADGE_COLOURS[status] ?? BADGE_COLOURS.none!;
  const aria = escapeXml(`${left}: ${right}`);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="20" role="img" aria-label="${aria}">`,
    `<title>${aria}</title>`,
    '<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>',
    `<clipPath id="r"><rect width="${w}" height="20" rx="3" fill="#fff"/></clipPath>`,
    `<g clip-path="url(#r)"><rect width="${lw}" height="20" fill="#555"/><rect x="${lw}" width="${rw}" height="20" fill="${colour}"/><rect width="${w}" height="20" fill="url(#s)"/></g>`,
    '<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">',
    `<text x="${lw / 2}" y="15" fill="#010101" fill-opacity=".3" textLength="${lw - 12}">${escapeXml(left)}</text>`,
    `<text x="${lw / 2}" y="14" textLength="${lw - 12}">${escapeXml(left)}</text>`,
    `<text x="${lw + rw / 2}" y="15" fill="#010101" fill-opacity=".3" textLength="${rw - 12}">${escapeXml(right)}</text>`,
    `<text x="${lw + rw / 2}" y="14" textLength="${rw - 12}">${escapeXml(right)}</text>`,
    '</g></svg>',
  ].join('');
}
