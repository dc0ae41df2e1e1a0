/**
 * The four DORA measures of a pipeline as an SVG card for wikis (`/api/dora/[id].svg?token=…`, `view` share
 * links only). Pure: values in, escaped SVG out; no script, no external references.
 */
import { escapeXml } from './escape';

export type CardMeasure = { label: string; value: string; band: string | null };

const BAND_FILL: Record<string, string> = { elite: '#047857', high: '#0369a1', medium: '#b45309', low: '#b91c1c' };

export function renderDoraCardSvg(title: string, subtitle: string, measures: CardMeasure[]): string {
  const w = 560;
  const h = 132;
  const cell = w / measures.length;
  const cells = measures
    .map((m, i) => {
      const x = i * cell + 12;
      const band = m.band ? `<text x="${x}" y="112" font-size="11" font-weight="700" fill="${BAND_FILL[m.band] ?? '#475569'}">${escapeXml(m.band.toUpperCase())}</text>` : `<text x="${x}" y="112" font-size="11" fill="#64748b">no data</text>`;
      return `<text x="${x}" y="62" font-size="11" fill="#475569">${escapeXml(m.label)}</text><text x="${x}" y="88" font-size="20" font-weight="600" fill="#0f172a">${escapeXml(m.value)}</text>${band}`;
    })
    .join('');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="${escapeXml(`${title}: ${measures.map((m) => `${m.label} ${m.value}${m.band ? ` (${m.band})` : ''}`).join(', ')}`)}">` +
    `<rect width="${w}" height="${h}" rx="10" fill="#ffffff" stroke="#e2e8f0"/>` +
    `<text x="12" y="24" font-family="system-ui,sans-serif" font-size="14" font-weight="600" fill="#0f172a">${escapeXml(title)}</text>` +
    `<text x="12" y="40" font-family="system-ui,sans-serif" font-size="11" fill="#64748b">${escapeXml(subtitle)}</text>` +
    `<g font-family="system-ui,sans-serif">${cells}</g></svg>`
  );
}
