/** The pipeline editor (full screen). Viewers may open it read-only. */
import type { Metadata } from 'next';
import { notFound } from 'next/navigation';
import { PipelineEditor } from '@/app/editor/pipeline-editor';
import { getQueryClient, HydrateClient, isNotFound, prefetch, requireUser, serverCaller, trpc } from '@/app/trpc/server';
import { can } from '@/server/auth/session';

type Props = { params: Promise<{ id: string }> };

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const { id } = await params;
  try {
    const p = await (await serverCaller()).pipelines.get({ id });
    return { title: `Edit ${p.pipeline.name} · Pipewright` };
  } catch {
    return { title: 'Edit pipeline · Pipewright' };
  }
}

export default async function EditPipelinePage({ params }: Props) {
  const { id } = await params;
  const user = await requireUser(`/pipelines/${encodeURIComponent(id)}/edit`);
  try {
    await getQueryClient().fetchQuery(trpc.pipelines.get.queryOptions({ id }));
  } catch (err) {
    if (isNotFound(err)) notFound();
  }
  await prefetch(trpc.pipelines.versions.queryOptions({ id }));
  return (
    <HydrateClient>
      <PipelineEditor id={id} canEdit={can.edit(user)} canRun={can.run(user)} />
    </HydrateClient>
  );
}
