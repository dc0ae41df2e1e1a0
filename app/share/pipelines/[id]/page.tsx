/**
 * The public share page `/share/pipelines/[id]?token=…`: the embed in a frame,
 * under the pipeline's name, with the oEmbed discovery link that wikis
 * (Notion, Confluence via Iframely, WordPress, …) look for when someone pastes
 * this URL. Needs no sign-in; shows nothing when the token does not work.
 * The page itself may not be framed (global policy); the embed it frames may.
 */
import type { Metadata } from 'next';
import { getDb } from '@/db/client';
import { authorizeShare, shareUrls } from '@/server/services/embeds';
import { ShareFrame } from './share-frame';

export const dynamic = 'force-dynamic';

type Props = {
  params: Promise<{ id: string }>;
  searchParams: Promise<Record<string, string | string[] | undefined>>;
};

const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

async function access({ params, searchParams }: Props) {
  const { id } = await params;
  const q = await searchParams;
  const token = one(q.token) ?? null;
  const result = await authorizeShare(await getDb(), token, { pipelineId: id, need: 'view', touch: false });
  return { id, token, run: one(q.run), theme: one(q.theme), result };
}

export async function generateMetadata(props: Props): Promise<Metadata> {
  const { id, token, result } = await access(props);
  if (!result.ok || !token) return { title: 'Pipewright', robots: { index: false, follow: false } };
  const urls = shareUrls(id, token);
  return {
    title: `${result.pipeline.name} · Pipewright`,
    robots: { index: false, follow: false },
    referrer: 'no-referrer',
    alternates: { types: { 'application/json+oembed': urls.oembed } },
    openGraph: { title: result.pipeline.name, images: [{ url: urls.diagram }] },
  };
}

export default async function SharePage(props: Props) {
  const { id, token, run, theme, result } = await access(props);
  if (!result.ok || !token) {
    return (
      <main className="mx-auto max-w-xl px-6 py-16">
        <h1 className="text-lg font-semibold">Pipewright</h1>
        <p role="alert" className="mt-2 text-sm text-muted">
          {result.ok ? 'This link is not valid.' : result.message}
        </p>
      </main>
    );
  }
  const src = new URL(shareUrls(id, token).embed);
  if (run && /^(latest|[A-Za-z0-9_-]{1,64})$/.test(run)) src.searchParams.set('run', run);
  if (theme === 'light' || theme === 'dark') src.searchParams.set('theme', theme);
  return (
    <main className="mx-auto max-w-6xl px-4 py-8">
      <h1 className="mb-4 text-xl font-semibold tracking-tight">{result.pipeline.name}</h1>
      <ShareFrame src={`${src.pathname}${src.search}`} title={`${result.pipeline.name} (Pipewright)`} />
      <p className="mt-3 text-xs text-muted">A read-only view shared from Pipewright. It updates live while a run is in progress.</p>
    </main>
  );
}
