/**
 * Escaping for everything embeds write by hand: SVG, HTML, JSON inside
 * `<script>`. Pipeline and stage names are user input; they must always come
 * out as text.
 */

// Characters XML 1.0 does not allow at all (an SVG containing one does not render):
// C0 controls except tab/newline/return, lone surrogates, U+FFFE/U+FFFF.
// eslint-disable-next-line no-control-regex
const INVALID_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * Text or attribute value for XML (SVG) and HTML: `& < > " '` become entities
 * and characters XML cannot carry are dropped. Safe inside double- or
 * single-quoted attributes and element content (not inside `<script>`/`<style>`).
 */
export function escapeXml(value: unknown): string {
  return String(value ?? '')
    .replace(INVALID_XML, '')
    .replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/** Same rules for HTML. */
export const escapeHtml = escapeXml;

/**
 * JSON for a `<script type="application/json">` block: `<`, `>`, `&` and the
 * JavaScript line separators are written as `\u` escapes, so no string in the
 * data can close the script element or start a comment.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** Shortens `value` to at most `max` characters (by code point), ending in `…` when cut. */
export function truncate(value: string, max: number): string {
  const chars = Array.from(value);
  return chars.length <= max ? value : `${chars.slice(0, Math.max(1, max - 1)).join('')}…`;
}
