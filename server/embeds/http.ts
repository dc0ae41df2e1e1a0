/**
 * Response helpers for the embed routes: security headers per response, the
 * error page shown inside a frame, and ETag / 304 handling for the images.
 *
 * 1. next.config.js leaves `/embed/…`, `/api/badge/…` and `/api/diagram/…` out
 *    of its global `frame-ancestors 'none'` / `X-Frame-Options: DENY` rule,
 *    because these routes set their policies themselves, here — on every
 *    response, errors included. Nothing else in the app is affected.
 * 2. The embed page may be framed by its token's origins (plus Pipewright
 *    itself, for the share page); everything else these routes answer is
 *    `frame-ancestors 'none'` + `X-Frame-Options: DENY`.
 * 3. The embed page runs only the script carrying this response's nonce and
 *    may connect only to this server; the images allow no script at all.
 */
import { createHash, randomBytes } from 'node:crypto';
import { PAGE_CSS } from './embed-page';
import { escapeHtml } from './escape';
import { frameAncestors } from './origins';

/** A fresh nonce for one response's inline script and style. */
export function newNonce(): string {
  return randomBytes(18).toString('base64');
}

/** Content-Security-Policy of an embed page. `frameOrigins` null = may not be framed at all. */
export function embedPageCsp(opts: { nonce: string; frameOrigins: string[] | null; connectOrigins?: string[] }): string {
  const connect = ["'self'", ...(opts.connectOrigins ?? [])].join(' ');
  return [
    "default-src 'none'",
    `script-src 'nonce-${opts.nonce}'`,
    `style-src 'nonce-${opts.nonce}'`,
    'img-src data:',
    `connect-src ${connect}`,
    "base-uri 'none'",
    "form-action 'none'",
    frameAncestors(opts.frameOrigins),
  ].join('; ');
}

/** Headers of an embed page (or its error page). */
export function embedPageHeaders(csp: string, frameable: boolean): Headers {
  const h = new Headers({
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Security-Policy': csp,
    'Cache-Control': 'no-store',
    'Referrer-Policy': 'no-referrer',
    'X-Content-Type-Options': 'nosniff',
    'X-Robots-Tag': 'noindex, nofollow',
  });
  // Browsers that know CSP ignore X-Frame-Options when frame-ancestors is set; the rest must not frame refusals.
  if (!frameable) h.set('X-Frame-Options', 'DENY');
  return h;
}

/** A small page with one message, shown inside the wiki's frame when the link no longer works. */
export function embedErrorResponse(status: number, message: string, frameOrigins: string[] | null, theme = 'auto'): Response {
  const nonce = newNonce();
  const html = `<!doctype html><html lang="en" class="pw ${theme === 'dark' || theme === 'light' ? theme : 'auto'}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex"><title>Pipewright</title><style nonce="${nonce}">${PAGE_CSS}</style></head><body><main class="pw-error" id="pw-error" role="alert"><strong>Pipewright</strong><p>${escapeHtml(message)}</p></main><script nonce="${nonce}">(function(){try{parent.postMessage({type:'pipewright:embed:resize',height:document.documentElement.scrollHeight},'*')}catch(e){}})();</script></body></html>`;
  const frameable = frameOrigins !== null;
  return new Response(html, { status, headers: embedPageHeaders(embedPageCsp({ nonce, frameOrigins }), frameable) });
}

// ── Images ───────────────────────────────────────────────────────────────────

/** A strong ETag: a hash of the exact bytes sent. */
export function strongEtag(body: string): string {
  return `"${createHash('sha256').update(body, 'utf8').digest('base64url').slice(0, 27)}"`;
}

/** RFC 9110 If-None-Match (weak comparison): `*`, or any listed tag equal to `etag` ignoring `W/`. */
export function etagMatches(ifNoneMatch: string | null, etag: string): boolean {
  if (!ifNoneMatch) return false;
  if (ifNoneMatch.trim() === '*') return true;
  const bare = etag.replace(/^W\//, '');
  return ifNoneMatch.split(',').some((t) => t.trim().replace(/^W\//, '') === bare);
}

const SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; sandbox";

/** An SVG image: `Cache-Control: no-cache` (proxies revalidate), a strong ETag, 304 when it matches. */
export function svgResponse(req: Request, svg: string, status = 200): Response {
  const etag = strongEtag(svg);
  const headers = new Headers({
    'Content-Type': 'image/svg+xml; charset=utf-8',
    'Cache-Control': 'no-cache',
    ETag: etag,
    'Content-Security-Policy': SVG_CSP,
    'X-Frame-Options': 'DENY',
    'X-Content-Type-Options': 'nosniff',
    'Cross-Origin-Resource-Policy': 'cross-origin',
    'Access-Control-Allow-Origin': '*',
  });
  if (status === 200 && etagMatches(req.headers.get('if-none-match'), etag)) return new Response(null, { status: 304, headers });
  return new Response(svg, { status, headers });
}

/** Query parameter `theme`: light, dark or auto (default). */
export function themeParam(value: string | null): 'light' | 'dark' | 'auto' {
  return value === 'light' || value === 'dark' ? value : 'auto';
}
