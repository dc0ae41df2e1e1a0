/** Admin → Environments: the promotion path, each environment's variables, secrets and protection. */
import type { Metadata } from 'next';
import { AppShell } from '@/app/components/app-shell';
import { PageHeader } from '@/app/components/ui';
import { prefetch, requireUser, trpc } from '@/app/trpc/server';
import { can } from '@/server/auth/session';
import { AdminNav } from '../admin-nav';
import { EnvironmentsView } from './environments-view';

export const metadata: Metadata = { title: 'Environments · Pipewright' };

export default async function EnvironmentsPage() {
  const user = await requireUser('/admin/environments');
  await prefetch(trpc.environments.list.queryOptions());
  return (
    <AppShell user={user}>
      <PageHeader
        title="Environments"
        subtitle="The promotion path builds move along, in order. Stages bound to an environment get its variables (${{ env.NAME }}) and secrets (${{ secrets.NAME }}); secrets are encrypted at rest, masked in every log and never shown again."
      />
      {can.admin(user) && <AdminNav current="/admin/environments" />}
      <EnvironmentsView isAdmin={can.admin(user)} />
    </AppShell>
  );
}
