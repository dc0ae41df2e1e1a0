/** Admin → Runners: the processes that execute stages, their labels and tokens. Admins only. */
import type { Metadata } from 'next';
import { AppShell } from '@/app/components/app-shell';
import { EmptyState, PageHeader } from '@/app/components/ui';
import { prefetch, requireUser, trpc } from '@/app/trpc/server';
import { can } from '@/server/auth/session';
import { AdminNav } from '../admin-nav';
import { RunnersView } from './runners-view';

export const metadata: Metadata = { title: 'Runners · Pipewright' };

export default async function RunnersPage() {
  const user = await requireUser('/admin/runners');
  if (can.admin(user)) await prefetch(trpc.runners.list.queryOptions());
  return (
    <AppShell user={user}>
      <PageHeader
        title="Runners"
        subtitle="Machines that execute stages. A stage runs on a runner that has all the labels it asks for (Runs on); stages without labels run on any runner."
      />
      {can.admin(user) ? (
        <>
          <AdminNav current="/admin/runners" />
          <RunnersView />
        </>
      ) : (
        <EmptyState icon="⚙" title="Admins only">
          Ask an admin to register a runner with the labels your stages need.
        </EmptyState>
      )}
    </AppShell>
  );
}
