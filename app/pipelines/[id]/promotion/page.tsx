/** The promotion board of a pipeline: its builds per environment, what is live where, and Promote. */
import type { Metadata } from 'next';
import { notFound } from 'next/navigation';
import { AppShell } from '@/app/components/app-shell';
import { getQueryClient, isNotFound, requireUser, trpc } from '@/app/trpc/server';
import { PAGE } from './page-size';
import { PromotionBoard } from './promotion-board';

type Props = { params: Promise<{ id: string }> };

export const metadata: Metadata = { title: 'Promotion board · Pipewright' };

export default async function PromotionPage({ params }: Props) {
  const { id } = await params;
  const user = await requireUser(`/pipelines/${encodeURIComponent(id)}/promotion`);
  try {
    await getQueryClient().fetchQuery(trpc.promotion.board.queryOptions({ pipelineId: id, limit: PAGE }));
  } catch (err) {
    if (isNotFound(err)) notFound();
  }
  return (
    <AppShell user={user}>
      <PromotionBoard pipelineId={id} role={user.role} />
    </AppShell>
  );
}
