/**
 * Delivery insight (`/insights`, per pipeline and environment with `?pipeline=&environment=`): the four DORA
 * measures over 7/30/90 days with trends and bands, deployments per day, stage durations, gate waits and flaky
 * stages, each with the runs behind it one click away (`?show=`). Rendered on the server: filters are a plain
 * form, drill-downs are links, so it works without JavaScript and for screen readers (every chart has a table).
 */
import type { Metadata } from 'next';
import { notFound } from 'next/navigation';
import { AppShell } from '@/app/components/app-shell';
import { isNotFound, requireUser, serverCaller } from '@/app/trpc/server';
import { InsightsView } from './insights-view';
import { insightsHref, parseInsightsParams } from './params';

export const metadata: Metadata = { title: 'Insights · Pipewright' };

type Props = { searchParams: Promise<Record<string, string | string[] | undefined>> };

export default async function InsightsPage({ searchParams }: Props) {
  const p = parseInsightsParams(await searchParams);
  const user = await requireUser(insightsHref('/insights', p));
  let data;
  try {
    // A direct call, not the request's query client: the page is rendered on the server only, and what is in
    // that client is handed to the browser (every deployment behind a 10,000-run pipeline's numbers would be).
    data = await (await serverCaller()).insights.metrics({ pipelineId: p.pipelineId, environment: p.environment, days: p.days, timeZone: p.timeZone });
  } catch (err) {
    if (isNotFound(err)) notFound();
    throw err;
  }
  return (
    <AppShell user={user}>
      <InsightsView data={data} params={p} />
    </AppShell>
  );
}
