'use client';
/**
 * "Share": embed links for wikis and READMEs. Authors and admins create a link
 * (which sites may frame it, when it expires, embed or badge only), copy the
 * snippet they need — the token is shown once — and see and revoke every
 * link given out for this pipeline, with when it was last used.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { useTRPC } from '@/app/trpc/react';
import type { RouterOutputs } from '@/server/api/root';
import { checkOrigins, splitOriginList } from '@/server/embeds/origins';
import { shareSnippets } from '@/server/embeds/snippets';
import { Modal } from './modal';
import { Ago } from './time';
import { Button, cx, ErrorBox, inputClass, Notice, Spinner, Tag } from './ui';

type Created = RouterOutputs['embeds']['create'];
type Link = RouterOutputs['embeds']['list']['tokens'][number];

const EXPIRY = [
  { value: '', label: 'Never' },
  { value: '1', label: 'In 1 day' },
  { value: '7', label: 'In 7 days' },
  { value: '30', label: 'In 30 days' },
  { value: '90', label: 'In 90 days' },
  { value: '365', label: 'In 1 year' },
];

export function ShareDialog({ pipelineId, pipelineName }: { pipelineId: string; pipelineName?: string }) {
  const [open, setOpen] = useState(false);
  const trpc = useTRPC();
  const pipeline = useQuery({ ...trpc.pipelines.get.queryOptions({ id: pipelineId }), enabled: pipelineName === undefined });
  const name = pipelineName ?? pipeline.data?.pipeline.name;
  return (
    <>
      <Button onClick={() => setOpen(true)} data-testid="share-button" aria-haspopup="dialog">
        <svg aria-hidden viewBox="0 0 20 20" className="h-4 w-4" fill="none" stroke="currentColor" strokeWidth="1.7" strokeLinecap="round" strokeLinejoin="round">
          <path d="M10 3v9M6.5 6.5 10 3l3.5 3.5M4 11v4.5A1.5 1.5 0 0 0 5.5 17h9a1.5 1.5 0 0 0 1.5-1.5V11" />
        </svg>
        Share
      </Button>
      <Modal open={open} onClose={() => setOpen(false)} wide title={`Share ${name ?? 'this pipeline'}`} description="Read-only embeds for wikis, and status images for READMEs.">
        <SharePanel pipelineId={pipelineId} pipelineName={name ?? 'Pipeline'} />
      </Modal>
    </>
  );
}

function SharePanel({ pipelineId, pipelineName }: { pipelineId: string; pipelineName: string }) {
  const trpc = useTRPC();
  const links = useQuery(trpc.embeds.list.queryOptions({ pipelineId }));
  const [created, setCreated] = useState<Created | null>(null);
  return (
    <div className="space-y-6">
      {created ? (
        <CreatedLink created={created} name={pipelineName} onDone={() => setCreated(null)} />
      ) : (
        <NewLinkForm pipelineId={pipelineId} defaultOrigins={links.data?.defaultOrigins ?? []} onCreated={setCreated} />
      )}
      <section>
        <h3 className="mb-2 text-sm font-semibold">Links given out</h3>
        {links.isPending ? (
          <Spinner />
        ) : links.isError ? (
          <ErrorBox error={links.error} title="Could not load the links" />
        ) : links.data.tokens.length === 0 ? (
          <p className="text-sm text-muted">None yet.</p>
        ) : (
          <ul className="divide-y divide-line rounded-lg border border-line" data-testid="share-links">
            {links.data.tokens.map((t) => (
              <LinkRow key={t.id} link={t} pipelineId={pipelineId} />
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}

function NewLinkForm({ pipelineId, defaultOrigins, onCreated }: { pipelineId: string; defaultOrigins: string[]; onCreated: (c: Created) => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [label, setLabel] = useState('');
  const [scope, setScope] = useState<'view' | 'badge'>('view');
  const [origins, setOrigins] = useState('');
  const [expiry, setExpiry] = useState('');
  const list = splitOriginList(origins);
  const checked = checkOrigins(list);
  const create = useMutation(
    trpc.embeds.create.mutationOptions({
      onSuccess: async (c) => {
        await queryClient.invalidateQueries(trpc.embeds.list.queryFilter({ pipelineId }));
        onCreated(c);
      },
    }),
  );

  function onSubmit(e: FormEvent) {
    e.preventDefault();
    if (!checked.ok) return;
    create.mutate({ pipelineId, scope, label, allowedOrigins: checked.origins, expiresInDays: expiry ? Number(expiry) : null });
  }

  return (
    <form onSubmit={onSubmit} className="space-y-4 rounded-lg border border-line p-4" noValidate>
      <h3 className="text-sm font-semibold">New link</h3>
      <fieldset className="space-y-1.5">
        <legend className="mb-1 text-sm font-medium">Shows</legend>
        <label className="flex items-start gap-2 text-sm">
          <input type="radio" name="scope" value="view" checked={scope === 'view'} onChange={() => setScope('view')} className="mt-1" />
          <span>
            <span className="font-medium">Live view and images</span>
            <span className="block text-xs text-muted">The graph with the latest run, live, in a wiki frame; plus the diagram and badge images.</span>
          </span>
        </label>
        <label className="flex items-start gap-2 text-sm">
          <input type="radio" name="scope" value="badge" checked={scope === 'badge'} onChange={() => setScope('badge')} className="mt-1" />
          <span>
            <span className="font-medium">Status badge only</span>
            <span className="block text-xs text-muted">For links that end up public (README files): the name and last status, nothing else.</span>
          </span>
        </label>
      </fieldset>
      {scope === 'view' && (
        <div>
          <label htmlFor="share-origins" className="mb-1 block text-sm font-medium">
            Sites that may show it
          </label>
          <textarea
            id="share-origins"
            rows={3}
            value={origins}
            onChange={(e) => setOrigins(e.target.value)}
            placeholder={'https://wiki.example.com\nhttps://*.atlassian.net'}
            className={cx(inputClass, 'font-mono')}
            aria-describedby="share-origins-hint"
            aria-invalid={!checked.ok}
          />
          <div id="share-origins-hint" className="mt-1 text-xs text-muted">
            One origin per line: https, or http://localhost for trying it out.{' '}
            {list.length === 0 &&
              (defaultOrigins.length > 0 ? `Empty: the workspace default (${defaultOrigins.join(', ')}).` : 'Empty: only Pipewright’s own share page can show it.')}
          </div>
          {!checked.ok && (
            <ul className="mt-1 space-y-0.5 text-xs text-red-700 dark:text-red-300" role="alert">
              {checked.errors.map((m) => (
                <li key={m}>{m}</li>
              ))}
            </ul>
          )}
        </div>
      )}
      <div className="grid gap-4 sm:grid-cols-2">
        <div>
          <label htmlFor="share-expiry" className="mb-1 block text-sm font-medium">
            Expires
          </label>
          <select id="share-expiry" value={expiry} onChange={(e) => setExpiry(e.target.value)} className={inputClass}>
            {EXPIRY.map((o) => (
              <option key={o.value} value={o.value}>
                {o.label}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="share-label" className="mb-1 block text-sm font-medium">
            Label <span className="font-normal text-muted">(where it goes)</span>
          </label>
          <input id="share-label" value={label} maxLength={120} onChange={(e) => setLabel(e.target.value)} placeholder="Team wiki" className={inputClass} />
        </div>
      </div>
      {create.isError && <ErrorBox error={create.error} title="Could not create the link" />}
      <div className="flex justify-end">
        <Button type="submit" variant="primary" disabled={create.isPending || !checked.ok} data-testid="share-create">
          {create.isPending && <Spinner />} Create link
        </Button>
      </div>
    </form>
  );
}

function CreatedLink({ created, name, onDone }: { created: Created; name: string; onDone: () => void }) {
  const snippets = shareSnippets(name, created.scope, created.urls);
  return (
    <section className="space-y-3 rounded-lg border border-line p-4" data-testid="share-created">
      <Notice tone="success">
        Link created. Copy what you need now: the link’s token is not shown again (you can always create another one).
      </Notice>
      {snippets.map((s) => (
        <CopyBox key={s.id} id={s.id} label={s.label} hint={s.hint} text={s.text} />
      ))}
      <div className="flex justify-end">
        <Button onClick={onDone}>Done</Button>
      </div>
    </section>
  );
}

function CopyBox({ id, label, hint, text }: { id: string; label: string; hint: string; text: string }) {
  const [copied, setCopied] = useState(false);
  const boxId = `share-snippet-${id}`;
  async function copy() {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      // No clipboard permission (or not a secure context): select the text for Ctrl+C instead.
      const el = document.getElementById(boxId) as HTMLTextAreaElement | null;
      el?.select();
    }
    setCopied(true);
    setTimeout(() => setCopied(false), 1500);
  }
  return (
    <div>
      <div className="mb-1 flex items-end justify-between gap-3">
        <label htmlFor={boxId} className="text-sm font-medium">
          {label} <span className="font-normal text-muted">· {hint}</span>
        </label>
        <Button onClick={() => void copy()} className="px-2 py-1 text-xs" aria-label={`Copy ${label}`}>
          {copied ? 'Copied' : 'Copy'}
        </Button>
      </div>
      <textarea
        id={boxId}
        readOnly
        rows={Math.min(4, text.split('\n').length + (text.length > 110 ? 1 : 0))}
        value={text}
        onFocus={(e) => e.currentTarget.select()}
        className={cx(inputClass, 'font-mono text-xs')}
        data-snippet={id}
      />
    </div>
  );
}

function LinkRow({ link, pipelineId }: { link: Link; pipelineId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [confirming, setConfirming] = useState(false);
  const revoke = useMutation(
    trpc.embeds.revoke.mutationOptions({
      onSuccess: async () => {
        setConfirming(false);
        await queryClient.invalidateQueries(trpc.embeds.list.queryFilter({ pipelineId }));
      },
    }),
  );
  const tone =
    link.status === 'active'
      ? 'border-emerald-300 bg-emerald-50 text-emerald-800 dark:border-emerald-500/30 dark:bg-emerald-500/10 dark:text-emerald-300'
      : 'border-line bg-subtle text-muted';
  return (
    <li className="px-3 py-2.5 text-sm" data-share-link={link.id} data-status={link.status}>
      <div className="flex flex-wrap items-center gap-2">
        <span className="font-medium">{link.label || (link.scope === 'badge' ? 'Badge link' : 'Embed link')}</span>
        <Tag>{link.scope === 'badge' ? 'badge only' : 'live view'}</Tag>
        <Tag className={tone}>{link.status}</Tag>
        <span className="ml-auto text-xs text-muted">
          last used <Ago date={link.lastUsedAt} />
        </span>
      </div>
      <div className="mt-1 flex flex-wrap gap-x-3 gap-y-0.5 text-xs text-muted">
        <span>
          created <Ago date={link.createdAt} />
          {link.createdBy ? ` by ${link.createdBy}` : ''}
        </span>
        <span>{link.expiresAt ? <>expires <Ago date={link.expiresAt} /></> : 'never expires'}</span>
        {link.scope === 'view' && <span className="font-mono">{link.allowedOrigins.length > 0 ? link.allowedOrigins.join(' ') : 'workspace default sites'}</span>}
      </div>
      {link.status !== 'revoked' && (
        <div className="mt-2">
          {confirming ? (
            <div className="flex flex-wrap items-center gap-2 rounded-md bg-red-50 px-2.5 py-2 dark:bg-red-500/10" role="alertdialog" aria-label="Confirm revoking">
              <span className="text-xs text-red-800 dark:text-red-200">Revoke this link? Every embed and image using it stops working at once.</span>
              <Button variant="reject" className="px-2 py-1 text-xs" disabled={revoke.isPending} onClick={() => revoke.mutate({ id: link.id })}>
                {revoke.isPending && <Spinner />} Revoke
              </Button>
              <Button variant="ghost" className="px-2 py-1 text-xs" onClick={() => setConfirming(false)}>
                Keep it
              </Button>
            </div>
          ) : (
            <Button variant="danger" className="px-2 py-1 text-xs" onClick={() => setConfirming(true)}>
              Revoke…
            </Button>
          )}
          {revoke.isError && <ErrorBox error={revoke.error} className="mt-2" />}
        </div>
      )}
    </li>
  );
}
