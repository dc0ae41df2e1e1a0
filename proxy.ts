/**
 * Next.js proxy (formerly middleware): a per-request script nonce and the
 * Content-Security-Policy for the app's pages (server/security/csp.ts).
 *
 * 1. The policy goes on the request too, because that is where Next reads the
 *    nonce from to stamp its own scripts; `x-nonce` carries it for any page
 *    that needs it for a script of its own.
 * 2. Not for API routes, static files, or the embeds (`/embed/…`, which set a
 *    stricter policy with their own nonce and frame rules), nor for link
 *    prefetches (their payload is not a document).
 */
import { NextResponse, type NextRequest } from 'next/server';
import { appPageCsp, cspNonce } from './server/security/csp';

export function proxy(request: NextRequest) {
  const nonce = cspNonce();
  const csp = appPageCsp(nonce, process.env.NODE_ENV === 'development');
  const requestHeaders = new Headers(request.headers);
  requestHeaders.set('x-nonce', nonce);
  requestHeaders.set('Content-Security-Policy', csp);
  const response = NextResponse.next({ request: { headers: requestHeaders } });
  response.headers.set('Content-Security-Policy', csp);
  return response;
}

export const config = {
  matcher: [
    {
      source: '/((?!api/|_next/static|_next/image|favicon.ico|embed/).*)',
      missing: [
        { type: 'header', key: 'next-router-prefetch' },
        { type: 'header', key: 'purpose', value: 'prefetch' },
      ],
    },
  ],
};
