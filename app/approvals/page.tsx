/** Approvals: every gate waiting for the signed-in person, to decide right here. */
import type { Metadata } from 'next';
import { AppShell } from '@/app/components/app-shell';
import { getPeople } from '@/app/lib/people';
import { requireUser } from '@/app/trpc/server';
import { can } from '@/server/auth/session';
import { ApprovalsView } from './approvals-view';

export const metadata: Metadata = { title: 'Approvals · Pipewright' };

export default async function ApprovalsPage() {
  const user = await requireUser('/approvals');
  const people = await getPeople();
  // approvals.pending is prefetched by the app shell (it feeds the count in the top bar too).
  return (
    <AppShell user={user}>
      <ApprovalsView canDecideRole={can.decide(user)} role={user.role} userId={user.id} people={people} />
    </AppShell>
  );
}
