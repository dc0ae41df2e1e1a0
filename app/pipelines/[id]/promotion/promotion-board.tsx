'use client';
/**
 * The promotion board: a row per build, a column per environment (in
 * promotion order), what is live where, Promote on eligible builds (and "Roll
 * back to #N" on the live environment's previous build), and the history.
 *
 * Live without polling: the app's event stream refetches the board when runs
 * start or change state, when gates start or stop waiting (the approvals
 * feed), and when the newest active run changes (its run events).
 */
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { memo, useEffect, useMemo, useState } from 'react';
import { Modal } from '@/app/components/modal';
import { RunStatusChip, StatusChip, StatusDot, statusLabel } from '@/app/components/status';
import { Ago } from '@/app/components/time';
import { Button, Card, EmptyState, ErrorBox, Notice, PageHeader, SectionTitle, Tag, buttonStyles, cx } from '@/app/components/ui';
import { formatUtc, pluralize } from '@/app/lib/format';
import { useLiveRun, useLiveRunsList, useLiveStatus } from '@/app/lib/live';
import { useTRPC } from '@/app/trpc/react';
import type { RouterOutputs } from '@/server/api/root';
import { PAGE } from './page-size';

type Board = RouterOutputs['promotion']['board'];
type Build = Board['builds'][number];
type Column = Board['environments'][number];
type Cell = Build['cells'][string];

const CELL: Record<Cell['status'], { label: string; chip: string; glyph: string }> = {
  passed: { label: 'Passed', glyph: '✓', chip: 'bg-emerald-50 text-emerald-700 ring-emerald-600/25 dark:bg-emerald-500/10 dark:text-emerald-300 dark:ring-emerald-400/30' },
  failed: { label: 'Failed', glyph: '✕', chip: 'bg-red-50 text-red-700 ring-red-600/25 dark:bg-red-500/10 dark:text-red-300 dark:ring-red-400/30' },
  running: { label: 'Running', glyph: '●', chip: 'bg-sky-50 text-sky-700 ring-sky-600/25 dark:bg-sky-500/10 dark:text-sky-300 dark:ring-sky-400/30' },
  waiting: { label: 'Waiting at gate', glyph: '◷', chip: 'bg-amber-50 text-amber-800 ring-amber-600/30 dark:bg-amber-500/10 dark:text-amber-300 dark:ring-amber-400/30' },
  none: { label: 'Not yet', glyph: '○', chip: 'bg-slate-50 text-slate-500 ring-slate-400/25 dark:bg-slate-500/5 dark:text-slate-400 dark:ring-slate-500/25' },
};

type PromoteTarget = { build: Pick<Build, 'runId' | 'number' | 'version'>; env: Column; rollback: boolean };

function buildLabel(b: Pick<Build, 'number' | 'version'>) {
  return b.version ? `#${b.number} (${b.version})` : `#${b.number}`;
}

/** Refetches the board when something it shows may have changed (events only; no polling). */
function useLiveBoard(pipelineId: string, board: Board | undefined) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  useLiveRunsList();
  // The newest active run (usually the promotion just started) streams its changes.
  const active = useMemo(() => {
    const promotion = board?.history.find((h) => h.runStatus === 'queued' || h.runStatus === 'running');
    if (promotion) return promotion.runId;
    return board?.builds.find((b) => b.status === 'queued' || b.status === 'running')?.runId ?? null;
  }, [board]);
  useLiveRun(active ?? '');
  useEffect(() => {
    const boardKey = trpc.promotion.board.queryKey({ pipelineId });
    const watched = [JSON.stringify(trpc.approvals.pending.queryKey()), active ? JSON.stringify(trpc.runs.get.queryKey({ id: active })) : null];
    let timer: ReturnType<typeof setTimeout> | undefined;
    const unsubscribe = queryClient.getQueryCache().subscribe((event) => {
      if (event.type !== 'updated' || event.action.type !== 'success') return;
      if (!watched.includes(JSON.stringify(event.query.queryKey))) return;
      timer ??= setTimeout(() => {
        timer = undefined;
        void queryClient.invalidateQueries({ queryKey: boardKey });
      }, 50);
    });
    return () => {
      unsubscribe();
      if (timer) clearTimeout(timer);
    };
  }, [trpc, queryClient, pipelineId, active]);
}

export function PromotionBoard({ pipelineId, role }: { pipelineId: string; role: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [limit, setLimit] = useState(PAGE);
  const query = useQuery({ ...trpc.promotion.board.queryOptions({ pipelineId, limit }), placeholderData: keepPreviousData });
  const board = query.data;
  useLiveBoard(pipelineId, board);
  const live = useLiveStatus();
  const [target, setTarget] = useState<PromoteTarget | null>(null);
  const [started, setStarted] = useState<{ id: string; number: number; env: string; build: number } | null>(null);
  const promote = useMutation(
    trpc.promotion.promote.mutationOptions({
      onSuccess: (run, vars) => {
        setStarted({ id: run.id, number: run.number, env: vars.environment, build: target?.build.number ?? 0 });
        setTarget(null);
        void queryClient.invalidateQueries({ queryKey: trpc.promotion.board.queryKey({ pipelineId }) });
      },
    }),
  );

  const open = (t: PromoteTarget) => {
    promote.reset();
    setTarget(t);
  };

  if (!board) {
    return query.error ? <ErrorBox error={query.error} title="Could not load the promotion board" /> : <p className="text-sm text-muted">Loading…</p>;
  }
  const columns = board.environments;
  return (
    <>
      <PageHeader
        title="Promotion board"
        breadcrumbs={[
          { href: '/', label: 'Pipelines' },
          { href: `/pipelines/${pipelineId}`, label: board.pipeline.name },
        ]}
        subtitle="Every build of this pipeline, how far it got on the way to production, and what runs where now. A build can be promoted into an environment once it passed every earlier one."
        badge={
          <span className="text-xs text-muted" aria-live="polite">
            {live === 'open' ? '● live' : live === 'retrying' ? 'reconnecting…' : ''}
          </span>
        }
      />
      {started && (
        <Notice tone="success" className="mb-4">
          Promotion of build #{started.build} to {started.env} started:{' '}
          <Link href={`/pipelines/${pipelineId}/runs/${started.id}`} className="font-medium underline">
            run #{started.number}
          </Link>
          .
        </Notice>
      )}
      {columns.length === 0 ? (
        <EmptyState icon="⇢" title="No environments in this pipeline yet">
          Bind stages to environments (the stage&apos;s <em>Environment</em> field in the editor) to see builds move through them here.
        </EmptyState>
      ) : (
        <>
          <section aria-label="Live now" className="mb-6 grid gap-3" style={{ gridTemplateColumns: `repeat(${Math.min(columns.length, 5)}, minmax(0, 1fr))` }}>
            {columns.map((env, i) => (
              <LiveCard key={env.name} env={env} index={i} canPromote={(env.promoteRoles as string[]).includes(role)} onRollback={open} />
            ))}
          </section>
          <section aria-labelledby="builds-title" className="mb-8">
            <SectionTitle aside={<span className="text-xs text-muted">
                  {board.builds.length < board.totalBuilds ? `newest ${board.builds.length} of ${pluralize(board.totalBuilds, 'build')}` : pluralize(board.totalBuilds, 'build')}
                </span>}>
              <span id="builds-title">Builds</span>
            </SectionTitle>
            {board.builds.length === 0 ? (
              <EmptyState icon="▶" title="No builds yet">
                Run the pipeline; each run that builds is a build you can promote.
              </EmptyState>
            ) : (
              <Card className="overflow-x-auto">
                <table className="w-full text-left text-sm">
                  <thead className="border-b border-line text-xs uppercase tracking-wide text-muted">
                    <tr>
                      <th scope="col" className="px-3 py-2 font-semibold">
                        Build
                      </th>
                      {columns.map((env) => (
                        <th key={env.name} scope="col" className="px-3 py-2 font-semibold">
                          {env.displayName}
                        </th>
                      ))}
                    </tr>
                  </thead>
                  <tbody className="divide-y divide-line">
                    {board.builds.map((b, i) => (
                      <BuildRow key={b.runId} build={b} recent={i < 50} first={i === 0} columns={columns} pipelineId={pipelineId} role={role} onPromote={open} />
                    ))}
                  </tbody>
                </table>
                {board.builds.length < board.totalBuilds && (
                  <div className="border-t border-line p-2 text-center">
                    <Button onClick={() => setLimit((l) => Math.max(l, board.builds.length) + 100)} aria-busy={query.isPlaceholderData}>
                      {query.isPlaceholderData ? 'Loading…' : `Show older builds (${board.totalBuilds - board.builds.length} more)`}
                    </Button>
                  </div>
                )}
              </Card>
            )}
          </section>
          <History board={board} pipelineId={pipelineId} />
        </>
      )}
      <Modal open={target !== null} onClose={() => setTarget(null)} title={target ? `${target.rollback ? 'Roll back' : 'Promote'} ${target.env.displayName} to build ${buildLabel(target.build)}?` : ''}>
        {target && (
          <div className="space-y-3 text-sm">
            <p className="text-muted">
              This starts a run of build #{target.build.number}&apos;s pipeline version with its parameters. What the build already passed is reused, not rebuilt; the stages
              bound to <strong className="text-fg">{target.env.name}</strong> run with its variables and secrets; later environments are left out.
            </p>
            {target.env.requireGate && <Notice tone="warning">{target.env.displayName} is protected: the run waits at its approval gate until an approver decides.</Notice>}
            {promote.error && <ErrorBox error={promote.error} title="Not promoted" />}
            <div className="flex justify-end gap-2">
              <Button onClick={() => setTarget(null)}>Cancel</Button>
              <Button
                variant="primary"
                disabled={promote.isPending}
                onClick={() => promote.mutate({ pipelineId, buildRunId: target.build.runId, environment: target.env.name })}
              >
                {promote.isPending ? 'Starting…' : target.rollback ? `Roll back to #${target.build.number}` : `Promote to ${target.env.displayName}`}
              </Button>
            </div>
          </div>
        )}
      </Modal>
    </>
  );
}

function LiveCard({ env, index, canPromote, onRollback }: { env: Column; index: number; canPromote: boolean; onRollback: (t: PromoteTarget) => void }) {
  const liveBuild = env.live;
  const previous = env.previous;
  return (
    <Card className="p-3" data-testid={`live-${env.name}`}>
      <div className="flex items-center justify-between gap-2">
        <p className="text-xs font-semibold uppercase tracking-wide text-muted">
          <span aria-hidden className="mr-1 text-line-strong">
            {index + 1}.
          </span>
          {env.displayName}
        </p>
        {env.requireGate && <Tag title="Promotion into it passes an approval gate">needs approval</Tag>}
      </div>
      {/* elementtiming: the browser records when this was painted (Element Timing; bench:board reads it). */}
      <p className="mt-1 text-lg font-semibold text-fg" aria-label={`Live in ${env.displayName}`} elementtiming={`live-${env.name}`}>
        {liveBuild ? buildLabel(liveBuild) : <span className="text-sm font-normal text-muted">nothing deployed yet</span>}
      </p>
      {env.live && (
        <p className="text-xs text-muted">
          since <Ago date={new Date(env.live.at)} />
        </p>
      )}
      {previous && canPromote && (
        <button
          type="button"
          className={cx(buttonStyles.ghost, 'mt-1 -ml-2 text-xs')}
          onClick={() => onRollback({ build: { runId: previous.runId, number: previous.number, version: previous.version }, env, rollback: true })}
        >
          ↶ Roll back to {buildLabel(previous)}
        </button>
      )}
    </Card>
  );
}

const BuildRow = memo(function BuildRow({
  build,
  recent,
  first,
  columns,
  pipelineId,
  role,
  onPromote,
}: {
  build: Build;
  /** The newest build: its number is marked for Element Timing (bench:board reads when it was painted). */
  first: boolean;
  /** Recent builds say "3 min ago" (ticking); older ones a fixed date, so a long board does not re-render every second. */
  recent: boolean;
  columns: Column[];
  pipelineId: string;
  role: string;
  onPromote: (t: PromoteTarget) => void;
}) {
  return (
    <tr className="align-top" data-testid={`build-${build.number}`}>
      <th scope="row" className="px-3 py-2 font-normal">
        <div className="flex flex-wrap items-center gap-2">
          <a href={`/pipelines/${pipelineId}/runs/${build.runId}`} className="font-semibold text-fg hover:underline" elementtiming={first ? 'newest-build' : undefined}>
            #{build.number}
          </a>
          {build.version && <Tag mono>{build.version}</Tag>}
          {build.commit && <Tag mono title="commit">{build.commit.slice(0, 10)}</Tag>}
        </div>
        <p className="mt-0.5 text-xs text-muted">
          {build.by ?? 'automation'} · {recent ? <Ago date={new Date(build.createdAt)} /> : <time dateTime={new Date(build.createdAt).toISOString()}>{formatUtc(new Date(build.createdAt))}</time>}
        </p>
        <p className="mt-1 flex flex-wrap gap-1">
          {build.buildStages.map((s) => (
            <span key={s.id} className="inline-flex items-center gap-1 text-xs text-muted" title={`${s.name}: ${statusLabel(s.status)}`}>
              <StatusDot status={s.status} />
              {s.name}
              <span className="sr-only">: {statusLabel(s.status)}</span>
            </span>
          ))}
        </p>
      </th>
      {columns.map((env) => (
        <BoardCell key={env.name} build={build} env={env} pipelineId={pipelineId} role={role} canPromote={(env.promoteRoles as string[]).includes(role)} onPromote={onPromote} />
      ))}
    </tr>
  );
});

/** Who may promote into an environment, in words ("approvers and admins"). */
function promoters(roles: readonly string[]): string {
  const plural = roles.map((r) => `${r}s`);
  return plural.length === 0 ? 'nobody' : plural.length === 1 ? plural[0]! : `${plural.slice(0, -1).join(', ')} and ${plural.at(-1)}`;
}

function BoardCell({
  build,
  env,
  pipelineId,
  role,
  canPromote,
  onPromote,
}: {
  build: Build;
  env: Column;
  pipelineId: string;
  role: string;
  canPromote: boolean;
  onPromote: (t: PromoteTarget) => void;
}) {
  const cell = build.cells[env.name] ?? { status: 'none' as const, detail: '' };
  const style = CELL[cell.status];
  const missing = build.missing[env.name] ?? [];
  const isLive = env.live?.runId === build.runId;
  const busy = cell.status === 'running' || cell.status === 'waiting';
  return (
    <td className="px-3 py-2" data-testid={`cell-${build.number}-${env.name}`} data-status={cell.status}>
      <div className="flex flex-col items-start gap-1">
        <span className={cx('inline-flex items-center gap-1 rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset', style.chip)} title={cell.detail}>
          <span aria-hidden>{style.glyph}</span>
          {cell.runId && cell.status !== 'none' ? (
            <a href={`/pipelines/${pipelineId}/runs/${cell.runId}`} className="hover:underline" aria-label={`${env.displayName}: ${style.label.toLowerCase()} (${cell.detail})`}>
              {style.label}
              {cell.runNumber !== build.number ? ` · #${cell.runNumber}` : ''}
            </a>
          ) : (
            style.label
          )}
        </span>
        {isLive && <span className="text-xs font-semibold text-emerald-700 dark:text-emerald-300">live now</span>}
        {canPromote && !busy && !isLive && missing.length === 0 && (
          <button
            type="button"
            className={cx(buttonStyles.secondary, 'px-2 py-0.5 text-xs')}
            onClick={() => onPromote({ build, env, rollback: Boolean(env.live && env.live.number > build.number) })}
            aria-label={`Promote build #${build.number} to ${env.displayName}`}
          >
            Promote
          </button>
        )}
        {!canPromote && !busy && !isLive && missing.length === 0 && (
          <span className="max-w-[14rem] text-xs text-muted" data-testid="promote-not-allowed">
            Only {promoters(env.promoteRoles as string[])} may promote into {env.displayName}; your role is {role}.
          </span>
        )}
        {missing.length > 0 && cell.status === 'none' && (
          <span className="max-w-[14rem] text-xs text-muted" title={missing.join('\n')} data-testid="not-eligible">
            Not eligible: {missing[0]}
            {missing.length > 1 ? ` (+${missing.length - 1} more)` : ''}
          </span>
        )}
      </div>
    </td>
  );
}

function History({ board, pipelineId }: { board: Board; pipelineId: string }) {
  const envName = new Map(board.environments.map((e) => [e.name, e.displayName]));
  return (
    // Below the builds, off screen when the page opens: the browser lays it out and paints it when it is scrolled
    // near (content-visibility), not before the board's first paint.
    <section aria-labelledby="history-title" className="[content-visibility:auto] [contain-intrinsic-size:auto_1200px]">
      <SectionTitle>
        <span id="history-title">Promotion history</span>
      </SectionTitle>
      {board.history.length === 0 ? (
        <p className="text-sm text-muted">Nothing promoted yet.</p>
      ) : (
        <Card>
          <ul className="divide-y divide-line text-sm" aria-label="Promotions">
            {board.history.slice(0, 100).map((p) => (
              <li key={p.runId} className="flex flex-wrap items-center gap-x-3 gap-y-1 px-3 py-2">
                {p.runDisplay ? <RunStatusChip display={p.runDisplay} /> : p.runStatus && <StatusChip status={p.runStatus} />}
                <span className="text-fg">
                  {p.rollback ? 'Rolled back' : 'Promoted'} build #{p.buildNumber} {p.rollback ? 'in' : 'to'} <strong>{envName.get(p.environment) ?? p.environment}</strong>
                </span>
                <span className="text-muted">
                  by {p.promotedByName} · <Ago date={new Date(p.createdAt)} />
                </span>
                {p.runNumber !== null && (
                  <a href={`/pipelines/${pipelineId}/runs/${p.runId}`} className="text-accent hover:underline">
                    run #{p.runNumber}
                  </a>
                )}
              </li>
            ))}
          </ul>
        </Card>
      )}
    </section>
  );
}
