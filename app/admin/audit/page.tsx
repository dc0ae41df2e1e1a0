/** Admin → Audit log: every decision and every refused attempt, filterable, exportable as CSV. Admins only. */
import type { Metadata } from 'next';
import { AppShell } from '@/app/components/app-shell';
import { EmptyState, PageHeader } from '@/app/components/ui';
import { requireUser } from '@/app/trpc/server';
import { can } from '@/server/auth/session';
import { AdminNav } from '../admin-nav';
import { AuditView } from './audit-view';

export const metadata: Metadata = { title: 'Audit log · Pipewright' };

export default async function AuditPage() {
  const user = await requireUser('/admin/audit');
  return (
    <AppShell user={user}>
      <PageHeader title="Audit log" subtitle="Every gate decision, every refused attempt (who, what, when, why), sign-in failures and changes to people and settings." />
      {can.admin(user) ? (
        <>
          <AdminNav current="/admin/audit" />
          <AuditView />
        </>
      ) : (
        <EmptyState icon="⚿" title="Admins only">
          The audit log is for admins.
        </EmptyState>
      )}
    </AppShell>
  );
}
