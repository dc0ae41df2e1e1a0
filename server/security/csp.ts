/**
 * The Content-Security-Policy of the app's pages (not the embeds, which set
 * their own in server/embeds/http.ts).
 *
 * 1. Scripts run only when they carry this response's nonce ('strict-dynamic'
 *    lets those scripts load Next's chunks): an injected `<script>` or inline
 *    handler does not run. The root proxy (proxy.ts) makes a fresh nonce per
 *    request and passes the policy to Next as a request header, and Next puts
 *    the nonce on its own bootstrap and chunk scripts; pages are rendered per
 *    request (app/layout.tsx awaits `connection()`), never prerendered without one.
 * 2. `frame-ancestors 'none'` is repeated here so the page keeps it whichever
 *    of this header and next.config.js's wins; `object-src 'none'` and
 *    `base-uri 'self'` close the usual ways around a script policy.
 * 3. In development React needs `eval` for its debugging aids ('unsafe-eval'),
 *    never in production.
 * Styles are left alone: React and the canvas set inline styles everywhere.
 */

/** A fresh nonce (128 random bits, base64). */
export function cspNonce(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return btoa(String.fromCharCode(...bytes));
}

export function appPageCsp(nonce: string, dev: boolean): string {
  return [
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${dev ? " 'unsafe-eval'" : ''}`,
    "object-src 'none'",
    "base-uri 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}
