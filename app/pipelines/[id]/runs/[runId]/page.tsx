/** One run, live: header, every stage with its status, gates to decide, and a streaming log. */
import type { Metadata } from 'next';
import { notFound, redirect } from 'next/navigation';
import { AppShell } from '@/app/components/app-shell';
import { getPeople } from '@/app/lib/people';
import { getQueryClient, isNotFound, prefetch, requireUser, serverCaller, trpc } from '@/app/trpc/server';
import { can } from '@/server/auth/session';
import { RunView } from './run-view';

type Props = { params: Promise<{ id: string; runId: string }> };

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const { runId } = await params;
  try {
    const run = await (await serverCaller()).runs.get({ id: runId });
    return { title: `Run #${run.number} · ${run.pipelineName} · Pipewright` };
  } catch {
    return { title: 'Run · Pipewright' };
  }
}

export default async function RunPage({ params }: Props) {
  const { id, runId } = await params;
  const user = await requireUser(`/pipelines/${encodeURIComponent(id)}/runs/${encodeURIComponent(runId)}`);
  let pipelineId: string | undefined;
  try {
    pipelineId = (await getQueryClient().fetchQuery(trpc.runs.get.queryOptions({ id: runId }))).pipelineId;
  } catch (err) {
    if (isNotFound(err)) notFound();
  }
  // A run reached through another pipeline's URL: send the reader to its real address.
  if (pipelineId && pipelineId !== id) redirect(`/pipelines/${pipelineId}/runs/${runId}`);
  const [people] = await Promise.all([getPeople(), prefetch(trpc.approvals.pending.queryOptions({ all: true }))]);
  return (
    <AppShell user={user}>
      <RunView
        runId={runId}
        pipelineId={id}
        canRun={can.run(user)}
        canDecideRole={can.decide(user)}
        userId={user.id}
        people={people}
      />
    </AppShell>
  );
}
