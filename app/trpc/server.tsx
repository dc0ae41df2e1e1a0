/**
 * The server side of tRPC for React Server Components.
 *
 * 1. `getCurrentUser()`: the signed-in person for this request (cached per request).
 * 2. `requireUser(path)`: the same, or a redirect to `/sign-in?next=path`.
 * 3. `trpc`: an options proxy that calls the router in-process with this
 *    request's session, for `prefetch(trpc.runs.get.queryOptions({ id }))`.
 * 4. `<HydrateClient>` hands what was prefetched to the client components'
 *    React Query cache, so pages render with data instead of spinners.
 */
import 'server-only';
import { dehydrate, HydrationBoundary, type QueryClient } from '@tanstack/react-query';
import { createTRPCOptionsProxy } from '@trpc/tanstack-react-query';
import { headers } from 'next/headers';
import { redirect } from 'next/navigation';
import { cache, type ReactNode } from 'react';
import { getDb } from '@/db/client';
import { appRouter, createCaller } from '@/server/api/root';
import type { Context } from '@/server/api/trpc';
import { getSessionUser, type SessionUser } from '@/server/auth/session';
import { makeQueryClient } from './query-client';

export const getCurrentUser = cache(async (): Promise<SessionUser | null> => getSessionUser(await headers()));

/** The signed-in person, or a redirect to the sign-in page that comes back to `path`. */
export async function requireUser(path: string): Promise<SessionUser> {
  const user = await getCurrentUser();
  if (!user) redirect(`/sign-in?next=${encodeURIComponent(path)}`);
  return user;
}

const createContext = cache(async (): Promise<Context> => ({ db: await getDb(), user: await getCurrentUser() }));

export const getQueryClient = cache(() => makeQueryClient({ server: true }));

export const trpc = createTRPCOptionsProxy({ ctx: createContext, router: appRouter, queryClient: getQueryClient });

/** A direct server-side caller with this request's session (for checks like "does this run exist?"). */
export async function serverCaller() {
  return createCaller(await createContext());
}

type PrefetchOptions = Parameters<QueryClient['prefetchQuery']>[0];

/**
 * Prefetches `trpc.x.y.queryOptions(…)` in parallel and waits for them. A failure
 * is not thrown: the browser retries the query and shows its error.
 */
export async function prefetch(...queries: { queryKey: readonly unknown[] }[]) {
  const qc = getQueryClient();
  await Promise.all(queries.map((q) => qc.prefetchQuery(q as PrefetchOptions)));
}

/** True when a server-side tRPC call failed because the thing does not exist. */
export function isNotFound(err: unknown): boolean {
  const e = err as { code?: string; data?: { code?: string } } | null;
  return e?.code === 'NOT_FOUND' || e?.data?.code === 'NOT_FOUND';
}

export function HydrateClient({ children }: { children: ReactNode }) {
  return <HydrationBoundary state={dehydrate(getQueryClient())}>{children}</HydrationBoundary>;
}
