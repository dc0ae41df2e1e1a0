/** Admin → People: create accounts, set roles and groups, reset passwords. Admins only (the API enforces it too). */
import type { Metadata } from 'next';
import { AppShell } from '@/app/components/app-shell';
import { EmptyState, PageHeader } from '@/app/components/ui';
import { prefetch, requireUser, trpc } from '@/app/trpc/server';
import { can } from '@/server/auth/session';
import { AdminNav } from '../admin-nav';
import { UsersView } from './users-view';

export const metadata: Metadata = { title: 'People · Pipewright' };

export default async function UsersPage() {
  const user = await requireUser('/admin/users');
  if (can.admin(user)) await prefetch(trpc.users.list.queryOptions(), trpc.users.groups.queryOptions());
  return (
    <AppShell user={user}>
      <PageHeader title="People" subtitle="Who can sign in, what their role lets them do, and the groups gates can name as approvers. Every change is audited." />
      {can.admin(user) ? (
        <>
          <AdminNav current="/admin/users" />
          <UsersView currentUserId={user.id} />
        </>
      ) : (
        <EmptyState icon="⚿" title="Admins only">
          Ask an admin to create an account or change a role.
        </EmptyState>
      )}
    </AppShell>
  );
}
