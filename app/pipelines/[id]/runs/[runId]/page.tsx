/** One run, live: header, every stage with its status, gates to decide, and a streaming log. */
import type { Metadata } from 'next';
import { notFound, redirect } from 'next/navigation';
import { AppShell } from '@/app/components/app-shell';
import { getPeople } from '@/app/lib/people';
import { getQueryClient, isNotFound, requireUser, serverCaller, trpc } from '@/app/trpc/server';
import { can } from '@/server/auth/session';
import { getEnv } from '@/server/env';
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
  let runWorkflowId: string | undefined;
  try {
    const run = await getQueryClient().fetchQuery(trpc.runs.get.queryOptions({ id: runId }));
    pipelineId = run.pipelineId;
    runWorkflowId = run.workflowId;
  } catch (err) {
    if (isNotFound(err)) notFound();
  }
  // A run reached through another pipeline's URL: send the reader to its real address.
  if (pipelineId && pipelineId !== id) redirect(`/pipelines/${pipelineId}/runs/${runId}`);
  // approvals.pending is prefetched by the app shell; the events stream keeps both live.
  const people = await getPeople();
  const env = getEnv();
  return (
    <AppShell user={user}>
      <RunView
        runId={runId}
        pipelineId={id}
        canRun={can.run(user)}
        canDecideRole={can.decide(user)}
        userId={user.id}
        people={people}
        temporalUrl={can.run(user) || can.admin(user) ? temporalWorkflowUrl(env.TEMPORAL_UI_URL, env.TEMPORAL_NAMESPACE, runWorkflowId) : undefined}
      />
    </AppShell>
  );
}

/** The workflow's page in the Temporal Web UI (its latest execution), or undefined without a UI. */
function temporalWorkflowUrl(base: string | undefined, namespace: string, workflowId: string | undefined): string | undefined {
  if (!base || !workflowId || !/^https?:\/\//.test(base)) return undefined;
  return `${base.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
