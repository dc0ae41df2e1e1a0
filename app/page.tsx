/** Pipelines: every pipeline with its newest version and last run; Run and New pipeline for authors. */
import type { Metadata } from 'next';
import { AppShell } from '@/app/components/app-shell';
import { prefetch, requireUser, trpc } from '@/app/trpc/server';
import { can } from '@/server/auth/session';
import { PipelinesList } from './pipelines-list';

export const metadata: Metadata = { title: 'Pipelines · Pipewright' };

export default async function PipelinesPage() {
  const user = await requireUser('/');
  await prefetch(trpc.pipelines.list.queryOptions());
  return (
    <AppShell user={user}>
      <PipelinesList canEdit={can.edit(user)} canRun={can.run(user)} isAdmin={user.role === 'admin'} />
    </AppShell>
  );
}
