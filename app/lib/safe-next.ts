/**
 * Where to go after signing in: `next` if it is a path on this site
 * (`/pipelines/x?tab=runs`), otherwise `/`. Refuses protocol-relative
 * (`//evil.example`, `/\evil.example`) and absolute URLs, backslashes and
 * control characters. Safe to use on the server and in the browser.
 */
export function safeNext(next: string | null | undefined): string {
  if (!next || !next.startsWith('/') || next.startsWith('//')) return '/';
  for (let i = 0; i < next.length; i++) {
    const c = next.charCodeAt(i);
    if (c < 0x20 || c === 0x7f || c === 0x5c /* \ */) return '/';
  }
  try {
    const base = 'http://pipewright.invalid';
    const url = new URL(next, base);
    if (url.origin !== base) return '/';
    return `${url.pathname}${url.search}${url.hash}`;
  } catch {
    return '/';
  }
}
