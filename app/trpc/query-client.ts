/**
 * One QueryClient configuration for the browser and for server-side prefetching:
 * superjson carries Dates across the RSC → client hydration boundary exactly as
 * it does over HTTP.
 */
import { defaultShouldDehydrateQuery, MutationCache, QueryCache, QueryClient } from '@tanstack/react-query';
import superjson from 'superjson';

export function httpStatusOf(error: unknown): number | undefined {
  return (error as { data?: { httpStatus?: number } } | null)?.data?.httpStatus;
}

const CLIENT_ERRORS = new Set(['BAD_REQUEST', 'UNAUTHORIZED', 'FORBIDDEN', 'NOT_FOUND', 'CONFLICT', 'PRECONDITION_FAILED', 'UNPROCESSABLE_CONTENT']);

/**
 * `onUnauthorized`: called when any query or mutation answers 401 (the session ended).
 * `server`: prefetching during a server render, where a failure is left for the browser to retry and show.
 */
export function makeQueryClient(opts: { onUnauthorized?: () => void; server?: boolean } = {}) {
  const onError = (error: unknown) => {
    if (httpStatusOf(error) === 401) opts.onUnauthorized?.();
  };
  return new QueryClient({
    queryCache: new QueryCache({ onError }),
    mutationCache: new MutationCache({ onError }),
    defaultOptions: {
      queries: {
        // Data prefetched on the server is fresh for a moment: no refetch right after hydration.
        staleTime: 5_000,
        refetchOnWindowFocus: true,
        retry: opts.server
          ? false
          : (failureCount, error) => {
              // 4xx answers (signed out, forbidden, not found, bad input) do not get better by retrying.
              const status = httpStatusOf(error);
              if (status && status >= 400 && status < 500) return false;
              if (CLIENT_ERRORS.has((error as { code?: string } | null)?.code ?? '')) return false;
              return failureCount < 2;
            },
      },
      dehydrate: {
        serializeData: superjson.serialize,
        shouldDehydrateQuery: (query) => defaultShouldDehydrateQuery(query) || query.state.status === 'pending',
      },
      hydrate: {
        deserializeData: superjson.deserialize,
      },
    },
  });
}
