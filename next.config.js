/**
 * Next.js configuration.
 *
 * 1. Packages with native bindings or Node-only internals (the Temporal client and
 *    worker with their Rust core bridge, libSQL, better-auth, the Kubernetes client) are loaded with
 *    Node's own `require`/`import` at run time instead of being bundled.
 * 2. `next build` does not type-check: `npm run typecheck` (part of `npm test`) checks
 *    the whole repository, and the build must not fail on a test or worker file
 *    that is not part of the web app (nor spend half its time re-checking them).
 * 3. Every response carries headers that forbid MIME sniffing and keep full URLs
 *    (run ids, pipeline ids) out of Referer headers sent to other sites, and every
 *    route but the embeds forbids framing (clickjacking).
 */

/** @type {import('next').NextConfig} */
const nextConfig = {
  serverExternalPackages: [
    '@temporalio/client',
    '@temporalio/worker',
    '@temporalio/core-bridge',
    '@temporalio/common',
    '@temporalio/workflow',
    '@libsql/client',
    'libsql',
    'better-auth',
    // Node-only (ws, undici, file and process access); used by the cluster connections API.
    '@kubernetes/client-node',
    // Node streams and file access; used by the artifact download route.
    '@aws-sdk/client-s3',
  ],
  typedRoutes: false,
  typescript: { ignoreBuildErrors: true },
  poweredByHeader: false,
  async headers() {
    return [
      {
        source: '/:path*',
        headers: [
          { key: 'X-Content-Type-Options', value: 'nosniff' },
          { key: 'Referrer-Policy', value: 'same-origin' },
        ],
      },
      {
        // Everything but the three embed routes themselves (`/embed/pipelines/:id`,
        // `/api/badge/:id`, `/api/diagram/:id`), which set their own frame policy on
        // every response (server/embeds/http.ts): an embed may be framed by the
        // origins its token allows. Any deeper path under them is denied as usual.
        source: '/((?!(?:embed/pipelines|api/badge|api/diagram)/[^/]+/?$).*)',
        headers: [
          { key: 'Content-Security-Policy', value: "frame-ancestors 'none'" },
          { key: 'X-Frame-Options', value: 'DENY' },
        ],
      },
    ];
  },
};

export default nextConfig;
