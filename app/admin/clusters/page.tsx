/** Admin → Clusters: the Kubernetes clusters k8s stages may deploy to. Admins only. */
import type { Metadata } from 'next';
import { AppShell } from '@/app/components/app-shell';
import { EmptyState, PageHeader } from '@/app/components/ui';
import { prefetch, requireUser, trpc } from '@/app/trpc/server';
import { can } from '@/server/auth/session';
import { AdminNav } from '../admin-nav';
import { ClustersView } from './clusters-view';

export const metadata: Metadata = { title: 'Clusters · Pipewright' };

export default async function ClustersPage() {
  const user = await requireUser('/admin/clusters');
  if (can.admin(user)) await prefetch(trpc.clusters.list.queryOptions());
  return (
    <AppShell user={user}>
      <PageHeader
        title="Cluster connections"
        subtitle="Kubernetes clusters that Deploy to Kubernetes, Apply to Kubernetes and Roll back stages may use. Credentials are encrypted at rest and never shown again."
      />
      {can.admin(user) ? (
        <>
          <AdminNav current="/admin/clusters" />
          <ClustersView />
        </>
      ) : (
        <EmptyState icon="⎈" title="Admins only">
          Ask an admin to register a cluster connection; then use its name in a Kubernetes stage.
        </EmptyState>
      )}
    </AppShell>
  );
}
