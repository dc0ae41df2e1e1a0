/** Runs across all pipelines, newest first, filterable by status (`?status=running`). */
import type { Metadata } from 'next';
import { AppShell } from '@/app/components/app-shell';
import { getPeople } from '@/app/lib/people';
import { prefetch, requireUser, trpc } from '@/app/trpc/server';
import { RUN_STATUSES, type RunStatus } from '@/db/schema';
import { RunsView } from './runs-view';

export const metadata: Metadata = { title: 'Runs · Pipewright' };

type Props = { searchParams: Promise<Record<string, string | string[] | undefined>> };

export default async function RunsPage({ searchParams }: Props) {
  const raw = (await searchParams).status;
  const value = Array.isArray(raw) ? raw[0] : raw;
  const status = (RUN_STATUSES as readonly string[]).includes(value ?? '') ? (value as RunStatus) : undefined;
  const user = await requireUser(status ? `/runs?status=${status}` : '/runs');
  const [people] = await Promise.all([getPeople(), prefetch(trpc.runs.list.queryOptions({ status, limit: 100 }))]);
  return (
    <AppShell user={user}>
      <RunsView initialStatus={status} people={people} />
    </AppShell>
  );
}
