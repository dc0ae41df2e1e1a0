/** Admin → Settings: where notifications go. Admins only. */
import type { Metadata } from 'next';
import { AppShell } from '@/app/components/app-shell';
import { EmptyState, PageHeader } from '@/app/components/ui';
import { prefetch, requireUser, trpc } from '@/app/trpc/server';
import { can } from '@/server/auth/session';
import { AdminNav } from '../admin-nav';
import { NotificationSettings } from './notification-settings';

export const metadata: Metadata = { title: 'Settings · Pipewright' };

export default async function SettingsPage() {
  const user = await requireUser('/admin/settings');
  if (can.admin(user)) await prefetch(trpc.settings.notifications.queryOptions());
  return (
    <AppShell user={user}>
      <PageHeader title="Settings" subtitle="Workspace settings. Changes are audited." />
      {can.admin(user) ? (
        <>
          <AdminNav current="/admin/settings" />
          <NotificationSettings />
        </>
      ) : (
        <EmptyState icon="⚙" title="Admins only">
          Settings are for admins.
        </EmptyState>
      )}
    </AppShell>
  );
}
