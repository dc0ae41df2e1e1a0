'use client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useState } from 'react';
import { Button, Card, ErrorBox, PageHeader, SectionTitle, Spinner, buttonStyles, inputClass } from '@/app/components/ui';
import { describeError } from '@/app/lib/errors';
import { formatUtc } from '@/app/lib/format';
import { useTRPC } from '@/app/trpc/react';

function WrittenSectionEditor({ pipelineId, s, canEdit, print }: { pipelineId: string; s: { key: string; title: string; body: string; hint?: string; version: number | null; updatedByName: string | null; updatedAt: number | null }; canEdit: boolean; print: boolean }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const [editing, setEditing] = useState(false);
  const [body, setBody] = useState(s.body);
  const save = useMutation(
    trpc.insights.saveSection.mutationOptions({
      onSuccess: async () => {
        setEditing(false);
        await qc.invalidateQueries(trpc.insights.releasePlan.pathFilter());
      },
    }),
  );
  return (
    <section aria-labelledby={`w-${s.key}`} className="mb-6 break-inside-avoid" data-section={s.key}>
      <h2 id={`w-${s.key}`} className="mb-2 text-lg font-semibold">
        {s.title}
      </h2>
      {editing ? (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            save.mutate({ pipelineId, section: s.key, body });
          }}
        >
          <label className="sr-only" htmlFor={`body-${s.key}`}>
            {s.title}
          </label>
          <textarea id={`body-${s.key}`} className={`${inputClass} min-h-32 font-mono`} value={body} onChange={(e) => setBody(e.target.value)} placeholder={s.hint} />
          {save.error && <p className="mt-1 text-sm text-red-700">{describeError(save.error).message}</p>}
          <div className="mt-2 flex gap-2">
            <Button type="submit" variant="primary" disabled={save.isPending}>
              {save.isPending ? 'Saving…' : 'Save'}
            </Button>
            <Button onClick={() => setEditing(false)}>Cancel</Button>
          </div>
        </form>
      ) : (
        <>
          {s.body.trim() ? <div className="whitespace-pre-wrap text-sm">{s.body}</div> : <p className="text-sm italic text-muted">Not written yet. {s.hint}</p>}
          <p className="mt-1 text-xs text-muted">
            {s.updatedByName && `Written by ${s.updatedByName}, ${formatUtc(new Date(s.updatedAt!))}, for version ${s.version}. `}
            {canEdit && !print && (
              <button type="button" className="text-accent hover:underline" onClick={() => (setBody(s.body), setEditing(true))}>
                Edit {s.title.toLowerCase()}
              </button>
            )}
          </p>
        </>
      )}
    </section>
  );
}

type Issue = { runId: string; runNumber: number; environment: string; at: number; failure: string; failedStage: string | null; error: string | null; excerpt: string | null; cause: string; fix: string; fixRunNumber: number | null; updatedByName: string | null; updatedAt: number | null };

function IssueRow({ pipelineId, i, canEdit, print }: { pipelineId: string; i: Issue; canEdit: boolean; print: boolean }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const [editing, setEditing] = useState(false);
  const [cause, setCause] = useState(i.cause);
  const [fix, setFix] = useState(i.fix);
  const [fixRun, setFixRun] = useState(i.fixRunNumber ? String(i.fixRunNumber) : '');
  const save = useMutation(
    trpc.insights.saveIssue.mutationOptions({
      onSuccess: async () => {
        setEditing(false);
        await qc.invalidateQueries(trpc.insights.releasePlan.pathFilter());
      },
    }),
  );
  return (
    <li className="border-t border-line py-3" data-issue={`${i.runNumber}:${i.environment}`}>
      <p className="text-sm">
        <Link href={`/pipelines/${encodeURIComponent(pipelineId)}/runs/${encodeURIComponent(i.runId)}`} className="font-medium text-accent hover:underline">
          Run #{i.runNumber}
        </Link>{' '}
        · {i.environment} · {formatUtc(new Date(i.at))} · {i.failure}
        {i.failedStage && (
          <>
            {' '}
            (stage <code>{i.failedStage}</code>)
          </>
        )}
      </p>
      {i.error && <p className="mt-1 text-sm text-red-700 dark:text-red-300">{i.error}</p>}
      {i.excerpt && <pre className="mt-1 max-h-40 overflow-auto rounded bg-subtle p-2 text-xs">{i.excerpt}</pre>}
      {editing ? (
        <form
          className="mt-2 grid gap-2"
          onSubmit={(e) => {
            e.preventDefault();
            const n = fixRun.trim() ? Number(fixRun.replace(/^#/, '')) : null;
            save.mutate({ runId: i.runId, environment: i.environment, cause, fix, fixRunNumber: n && Number.isInteger(n) && n > 0 ? n : null });
          }}
        >
          <label className="text-sm">
            Cause
            <textarea className={inputClass} value={cause} onChange={(e) => setCause(e.target.value)} />
          </label>
          <label className="text-sm">
            Fix
            <textarea className={inputClass} value={fix} onChange={(e) => setFix(e.target.value)} />
          </label>
          <label className="text-sm">
            Run that fixed it (number)
            <input className={inputClass} value={fixRun} onChange={(e) => setFixRun(e.target.value)} inputMode="numeric" />
          </label>
          {save.error && <p className="text-sm text-red-700">{describeError(save.error).message}</p>}
          <div className="flex gap-2">
            <Button type="submit" variant="primary" disabled={save.isPending}>
              {save.isPending ? 'Saving…' : 'Save cause and fix'}
            </Button>
            <Button onClick={() => setEditing(false)}>Cancel</Button>
          </div>
        </form>
      ) : (
        <div className="mt-1 text-sm">
          <p>
            <span className="text-muted">Cause:</span> {i.cause || <em className="text-muted">not recorded</em>}
          </p>
          <p>
            <span className="text-muted">Fix:</span> {i.fix || <em className="text-muted">not recorded</em>}
            {i.fixRunNumber && ` (fixed by run #${i.fixRunNumber})`}
          </p>
          {i.updatedByName && <p className="text-xs text-muted">Recorded by {i.updatedByName}, {formatUtc(new Date(i.updatedAt!))}</p>}
          {canEdit && !print && (
            <button type="button" className="text-sm text-accent hover:underline" onClick={() => setEditing(true)}>
              Record cause and fix for run #{i.runNumber}
            </button>
          )}
        </div>
      )}
    </li>
  );
}

export function ReleasePlanView({ pipelineId, canEdit, print }: { pipelineId: string; canEdit: boolean; print: boolean }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const [search, setSearch] = useState('');
  const plan = useQuery(trpc.insights.releasePlan.queryOptions({ pipelineId }));
  const issues = useQuery({ ...trpc.insights.releasePlan.queryOptions({ pipelineId, search }), enabled: search.trim() !== '' });
  const review = useMutation(trpc.insights.markReviewed.mutationOptions({ onSuccess: () => qc.invalidateQueries(trpc.insights.releasePlan.pathFilter()) }));
  if (plan.isPending) {
    return (
      <p className="flex items-center gap-2 py-10 text-sm text-muted">
        <Spinner /> Loading the release plan…
      </p>
    );
  }
  if (plan.isError) return <ErrorBox error={plan.error} title="Could not load the release plan" />;
  const p = plan.data;
  const shown = search.trim() ? (issues.data?.issues ?? p.issues) : p.issues;
  const base = `/pipelines/${encodeURIComponent(pipelineId)}`;
  return (
    <article className="print:text-black">
      <PageHeader
        breadcrumbs={[
          { href: '/', label: 'Pipelines' },
          { href: base, label: p.pipeline.name },
        ]}
        title={`Release plan: ${p.pipeline.name}`}
        subtitle={`Version ${p.version}. Generated from the pipeline, its environments and its runs; the written sections are kept per version.`}
        actions={
          !print && (
            <div className="flex gap-2 print:hidden">
              <a href={`/api/pipelines/${encodeURIComponent(pipelineId)}/release-plan.md`} className={buttonStyles.secondary} download>
                Export Markdown
              </a>
              <Link href={`${base}/release-plan?print=1`} className={buttonStyles.secondary}>
                Printable
              </Link>
              <Link href={`/insights?pipeline=${encodeURIComponent(pipelineId)}`} className={buttonStyles.secondary}>
                Insights
              </Link>
            </div>
          )
        }
      />
      {p.derived.map((s) => (
        <section key={s.key} aria-labelledby={`d-${s.key}`} className="mb-6 break-inside-avoid" data-section={s.key}>
          <div className="mb-2 flex items-center gap-3">
            <h2 id={`d-${s.key}`} className="text-lg font-semibold">
              {s.title}
            </h2>
            {s.stale && <span className="rounded-full bg-amber-100 px-2 py-0.5 text-xs font-semibold text-amber-800">Changed since last reviewed</span>}
          </div>
          <Card className="p-4">
            <div className="whitespace-pre-wrap text-sm">{s.markdown}</div>
          </Card>
          <p className="mt-1 text-xs text-muted">
            {s.reviewedByName ? `Last reviewed by ${s.reviewedByName}, ${formatUtc(new Date(s.reviewedAt!))}. ` : 'Not reviewed yet. '}
            {canEdit && !print && (
              <button type="button" className="text-accent hover:underline" disabled={review.isPending} onClick={() => review.mutate({ pipelineId, section: s.key })}>
                Mark “{s.title}” reviewed
              </button>
            )}
          </p>
        </section>
      ))}
      {p.written.map((s) => (
        <WrittenSectionEditor key={`${s.key}:${s.updatedAt ?? 0}`} pipelineId={pipelineId} s={s} canEdit={canEdit} print={print} />
      ))}
      <section aria-labelledby="issue-log" className="mb-6">
        <SectionTitle
          aside={
            !print && (
              <input type="search" aria-label="Search the issue log" placeholder="Search causes, fixes, errors, logs…" className={`${inputClass} w-72`} value={search} onChange={(e) => setSearch(e.target.value)} />
            )
          }
        >
          <span id="issue-log">Issue log</span>
        </SectionTitle>
        {shown.length === 0 ? (
          <p className="text-sm text-muted">{search.trim() ? 'Nothing matches.' : 'No failed or rolled-back deployment in the last 90 days.'}</p>
        ) : (
          <ul>
            {shown.map((i) => (
              <IssueRow key={`${i.runId}:${i.environment}:${i.updatedAt ?? 0}`} pipelineId={pipelineId} i={i} canEdit={canEdit} print={print} />
            ))}
          </ul>
        )}
      </section>
    </article>
  );
}
