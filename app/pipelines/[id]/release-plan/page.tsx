/**
 * A pipeline's release plan: derived sections (flagged when their facts changed since the last review),
 * written sections (authors edit), the issue log (authors record cause and fix; searchable), a Markdown
 * export and a printable layout (`?print=1` hides the editing controls).
 */
import type { Metadata } from 'next';
import { notFound } from 'next/navigation';
import { AppShell } from '@/app/components/app-shell';
import { getQueryClient, HydrateClient, isNotFound, requireUser, trpc } from '@/app/trpc/server';
import { can } from '@/server/auth/session';
import { ReleasePlanView } from './release-plan-view';

export const metadata: Metadata = { title: 'Release plan · Pipewright' };

type Props = { params: Promise<{ id: string }>; searchParams: Promise<Record<string, string | string[] | undefined>> };

export default async function ReleasePlanPage({ params, searchParams }: Props) {
  const { id } = await params;
  const sp = await searchParams;
  const user = await requireUser(`/pipelines/${encodeURIComponent(id)}/release-plan`);
  try {
    await getQueryClient().fetchQuery(trpc.insights.releasePlan.queryOptions({ pipelineId: id }));
  } catch (err) {
    if (isNotFound(err)) notFound();
    throw err;
  }
  return (
    <AppShell user={user}>
      <HydrateClient>
        <ReleasePlanView pipelineId={id} canEdit={can.edit(user)} print={sp.print === '1'} />
      </HydrateClient>
    </AppShell>
  );
}
