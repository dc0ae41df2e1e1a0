/** A pipeline: its stages in order, parameters, versions and runs. `?version=N` shows an older version. */
import type { Metadata } from 'next';
import { notFound } from 'next/navigation';
import { AppShell } from '@/app/components/app-shell';
import { getPeople } from '@/app/lib/people';
import { getQueryClient, isNotFound, prefetch, requireUser, serverCaller, trpc } from '@/app/trpc/server';
import { can } from '@/server/auth/session';
import { PipelineView } from './pipeline-view';

type Props = {
  params: Promise<{ id: string }>;
  searchParams: Promise<Record<string, string | string[] | undefined>>;
};

function versionOf(v: string | string[] | undefined): number | undefined {
  const n = Number(Array.isArray(v) ? v[0] : v);
  return Number.isInteger(n) && n >= 1 ? n : undefined;
}

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const { id } = await params;
  try {
    const p = await (await serverCaller()).pipelines.get({ id });
    return { title: `${p.pipeline.name} · Pipewright` };
  } catch {
    return { title: 'Pipeline · Pipewright' };
  }
}

export default async function PipelinePage({ params, searchParams }: Props) {
  const { id } = await params;
  const version = versionOf((await searchParams).version);
  const user = await requireUser(`/pipelines/${encodeURIComponent(id)}${version ? `?version=${version}` : ''}`);
  try {
    await getQueryClient().fetchQuery(trpc.pipelines.get.queryOptions({ id, version }));
  } catch (err) {
    if (isNotFound(err)) notFound();
  }
  const [people] = await Promise.all([
    getPeople(),
    prefetch(trpc.pipelines.versions.queryOptions({ id }), trpc.runs.list.queryOptions({ pipelineId: id, limit: 25 })),
  ]);
  return (
    <AppShell user={user}>
      <PipelineView id={id} version={version} canRun={can.run(user)} canEdit={can.edit(user)} people={people} />
    </AppShell>
  );
}
