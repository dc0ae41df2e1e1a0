'use client';
/**
 * The browser side of tRPC: a React Query client and a tRPC client that batches
 * calls to `/api/trpc` with superjson (made safe for very deep inputs: server/api/transformer.ts).
 *
 * Components use `const trpc = useTRPC()` and React Query's own hooks:
 * `useQuery(trpc.runs.get.queryOptions({ id }))`,
 * `useMutation(trpc.runs.start.mutationOptions())`.
 */
import { QueryClientProvider, type QueryClient } from '@tanstack/react-query';
import { createTRPCClient, httpBatchLink, loggerLink } from '@trpc/client';
import { createTRPCContext } from '@trpc/tanstack-react-query';
import { useState, type ReactNode } from 'react';
import { transformer } from '@/server/api/transformer';
import type { AppRouter } from '@/server/api/root';
import { makeQueryClient } from './query-client';

export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>();

let browserQueryClient: QueryClient | undefined;
let leaving = false;

/** The session ended (expired, signed out in another tab): sign in again and come back here. */
function goToSignIn() {
  if (leaving || window.location.pathname.startsWith('/sign-in')) return;
  leaving = true;
  const here = `${window.location.pathname}${window.location.search}`;
  window.location.assign(`/sign-in?next=${encodeURIComponent(here)}`);
}

function getQueryClient() {
  // On the server (SSR of client components) every request gets its own client.
  if (typeof window === 'undefined') return makeQueryClient();
  // In the browser one client lives as long as the page, so suspending renders do not lose it.
  return (browserQueryClient ??= makeQueryClient({ onUnauthorized: goToSignIn }));
}

export function TRPCReactProvider({ children }: { children: ReactNode }) {
  const queryClient = getQueryClient();
  const [trpcClient] = useState(() =>
    createTRPCClient<AppRouter>({
      links: [
        loggerLink({
          enabled: (op) => process.env.NODE_ENV === 'development' && op.direction === 'down' && op.result instanceof Error,
        }),
        httpBatchLink({
          url: '/api/trpc',
          transformer,
          maxURLLength: 4000,
          // CSRF: the server accepts mutations that carry this header (server/security/csrf.ts).
          headers: { 'x-pipewright-csrf': '1' },
        }),
      ],
    }),
  );
  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        {children}
      </TRPCProvider>
    </QueryClientProvider>
  );
}
