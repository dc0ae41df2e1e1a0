'use client';
/**
 * The run page. Live without polling: the events stream (app/lib/live.tsx)
 * puts every change of the run into React Query's cache and streams the
 * selected stage's log; durations tick on a shared clock. Header actions:
 * cancel (with confirmation), run again, open in the Temporal Web UI.
 */
import { PersonName } from '@/app/components/person-name';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { memo, useMemo, useState, type ReactNode } from 'react';
import { GateDecision, VoteList, type DecideOutcome } from '@/app/components/gate-decision';
import { KindIcon } from '@/app/components/kind-icon';
import { LogPane } from '@/app/components/log-pane';
import { Modal } from '@/app/components/modal';
import { TriggerDetailsBlock } from '@/app/components/trigger-summary';
import { FINISHED_RUN, FINISHED_STAGE, RunStatusChip, StatusChip, statusBar } from '@/app/components/status';
import { Ago, DateTime, Elapsed, TimeLeft } from '@/app/components/time';
import { Button, Card, ErrorBox, Notice, PageHeader, Spinner, Tag, buttonStyles, cx, inputClass } from '@/app/components/ui';
import { shortHash } from '@/app/lib/format';
import { useLiveRun, useLiveStatus, type LiveStatus } from '@/app/lib/live';
import { rolloutProgressView, type RolloutProgressView } from '@/app/lib/rollout-progress';
import { useTRPC } from '@/app/trpc/react';
import type { RouterOutputs } from '@/server/api/root';
import { getStageDefinition } from '@/workflows/model';
import { planRerunFromFailed } from '@/workflows/model/rerun';
import { fourEyesRule } from '@/app/lib/four-eyes';

type Run = RouterOutputs['runs']['get'];
type Stage = Run['stages'][number];

/** The stage whose log to show when the reader has not picked one: what is running, else what failed, else the last that ran. */
function autoPick(stages: Stage[]): string | undefined {
  const withLogs = stages.filter((s) => s.kind !== 'approval' && s.kind !== 'wait');
  return (
    withLogs.find((s) => s.status === 'running')?.id ??
    withLogs.find((s) => s.status === 'failed')?.id ??
    [...withLogs].reverse().find((s) => s.attempt > 0 || s.startedAt)?.id ??
    withLogs[0]?.id ??
    stages[0]?.id
  );
}

export function RunView({
  runId,
  pipelineId,
  canRun,
  canDecideRole,
  userId,
  people,
  temporalUrl,
}: {
  runId: string;
  pipelineId: string;
  canRun: boolean;
  canDecideRole: boolean;
  userId: string;
  people: Record<string, string>;
  /** This run's workflow in the Temporal Web UI (operators), when a UI is configured. */
  temporalUrl?: string;
}) {
  const trpc = useTRPC();
  useLiveRun(runId);
  const live = useLiveStatus();
  const run = useQuery(trpc.runs.get.queryOptions({ id: runId }));
  // The gates this person may decide (kept live by the events stream, like the badge).
  const gates = useQuery(trpc.approvals.pending.queryOptions(undefined, { enabled: canDecideRole }));
  const [picked, setPicked] = useState<string | null>(null);
  // Stage names change only with the plan: one map for every card, kept across updates.
  const namesKey = run.data?.stages.map((s) => `${s.id}\u0000${s.name}`).join('\u0001') ?? '';
  const names = useMemo(() => new Map(namesKey ? namesKey.split('\u0001').map((e) => e.split('\u0000') as [string, string]) : []), [namesKey]);

  if (run.isPending) {
    return (
      <p className="flex items-center gap-2 py-10 text-sm text-muted">
        <Spinner /> Loading run…
      </p>
    );
  }
  if (run.isError) return <ErrorBox error={run.error} title="Could not load this run" />;

  const r = run.data;
  const finished = FINISHED_RUN.has(r.status);
  const selectedId = picked ?? autoPick(r.stages);
  const selected = r.stages.find((s) => s.id === selectedId);
  const done = r.stages.filter((s) => FINISHED_STAGE.has(s.status)).length;
  const canDecideGate = (gateId: string) => gates.data?.some((g) => g.runId === runId && g.gateId === gateId && g.canDecide) ?? false;
  const paramEntries = Object.entries(r.params);

  return (
    <>
      <PageHeader
        breadcrumbs={[
          { href: '/', label: 'Pipelines' },
          { href: `/pipelines/${pipelineId}`, label: r.pipelineName || 'Pipeline' },
        ]}
        title={
          <span data-testid="run-title">
            {r.rehearsal ? 'Rehearsal' : 'Run'} #{r.number}
            {r.rehearsal && (
              <span data-testid="rehearsal-mark" title="Commands were printed, not run; deploys only checked; webhooks not sent" className="ml-2 rounded border border-dashed border-current px-1.5 align-middle text-xs font-normal text-muted">
                rehearsal — nothing changed
              </span>
            )}
          </span>
        }
        badge={
          <span className="flex items-center gap-2">
            <span data-testid="run-status">
              <RunStatusChip display={r.display} size="md" />
            </span>
            {!finished && <LiveDot status={live} />}
          </span>
        }
        actions={
          <>
            {temporalUrl && (
              <a
                href={temporalUrl}
                target="_blank"
                rel="noopener noreferrer"
                className={buttonStyles.ghost}
                data-testid="temporal-link"
                title={`Workflow ${r.workflowId} in the Temporal Web UI`}
              >
                Open in Temporal <span aria-hidden>↗</span>
              </a>
            )}
            {canRun && (r.status === 'failed' || r.status === 'cancelled') && <RerunFromFailed run={r} pipelineId={pipelineId} />}
            {canRun && <RunAgain runId={runId} runNumber={r.number} pipelineId={pipelineId} version={r.pipelineVersion} params={r.params} />}
            {canRun && !finished && <CancelRun runId={runId} runNumber={r.number} />}
          </>
        }
      />

      {r.error && (
        <div role="alert" className="mb-6 rounded-lg border border-red-200 bg-red-50 px-4 py-3 text-sm text-red-800 dark:border-red-500/30 dark:bg-red-500/10 dark:text-red-200">
          <p className="font-medium">{r.status === 'cancelled' ? 'Cancelled' : 'The run failed'}</p>
          <p className="mt-0.5 whitespace-pre-wrap break-words">{r.error}</p>
        </div>
      )}
      {r.status === 'cancelled' && r.cancelledBy && !r.error && (
        <Notice className="mb-6">Cancelled by {people[r.cancelledBy] ?? r.cancelledBy}.</Notice>
      )}

      <Card className="mb-8 p-5">
        <dl className="grid grid-cols-2 gap-x-6 gap-y-4 text-sm sm:grid-cols-3 lg:grid-cols-6">
          <Meta label="Started by">
            <TriggerDetailsBlock run={r} people={people} />
            {r.reusedFromRun && (
              <span className="block text-xs text-muted">
                reuses{' '}
                <Link href={`/pipelines/${pipelineId}/runs/${r.reusedFromRun.id}`} className="hover:text-accent hover:underline" data-testid="run-reused-from">
                  run #{r.reusedFromRun.number ?? '?'}
                </Link>
              </span>
            )}
            {r.triggerDetails?.type === 'rollback' && (
              <span className="block text-xs text-muted">
                rolls back{' '}
                <Link href={`/pipelines/${pipelineId}/runs/${r.triggerDetails.sourceRunId}`} className="hover:text-accent hover:underline" data-testid="run-rollback-of">
                  run #{r.triggerDetails.sourceRunNumber}, stage {r.triggerDetails.sourceStageId}
                </Link>
              </span>
            )}
          </Meta>
          <Meta label="Version">
            <Link href={`/pipelines/${pipelineId}?version=${r.pipelineVersion}`} className="font-mono text-fg hover:text-accent hover:underline">
              v{r.pipelineVersion}
            </Link>
          </Meta>
          <Meta label="Plan">
            <span className="font-mono text-fg" data-testid="run-plan" title={`Execution plan sha256 ${r.planHash}`}>
              {shortHash(r.planHash)}
            </span>
          </Meta>
          <Meta label="Created">
            <Ago date={r.createdAt} />
          </Meta>
          <Meta label="Started">{r.startedAt ? <DateTime date={r.startedAt} /> : <span className="text-muted">not yet</span>}</Meta>
          <Meta label={finished ? 'Took' : 'Elapsed'}>
            <Elapsed start={r.startedAt ?? r.createdAt} end={r.endedAt ?? (finished ? r.startedAt ?? r.createdAt : null)} className="font-mono" />
            {r.endedAt && (
              <span className="block text-xs text-muted">
                ended <DateTime date={r.endedAt} />
              </span>
            )}
          </Meta>
        </dl>
        <div className="mt-4 flex flex-wrap items-center gap-1.5 border-t border-line pt-4 text-sm">
          <span className="mr-1 text-xs font-medium uppercase tracking-wide text-muted">Parameters</span>
          {paramEntries.length === 0 ? (
            <span className="text-muted">none</span>
          ) : (
            paramEntries.map(([k, v]) => (
              <Tag key={k} mono title={`${k}=${String(v)}`}>
                <span>
                  <span className="text-muted">{k}=</span>
                  <span className="text-fg">{String(v)}</span>
                </span>
              </Tag>
            ))
          )}
          <span className="ml-auto text-xs text-muted">
            {done}/{r.stages.length} stages finished
          </span>
        </div>
        <div aria-hidden className="mt-3 flex h-1.5 gap-0.5 overflow-hidden rounded-full">
          {r.stages.map((s) => (
            <span key={s.id} className={cx('flex-1', statusBar(s.status), s.status === 'running' && 'animate-pulse')} />
          ))}
        </div>
      </Card>

      {r.artifacts.length > 0 && <Artifacts run={r} />}

      <div className="grid gap-6 lg:grid-cols-[minmax(0,5fr)_minmax(0,7fr)]">
        <section aria-label="Stages">
          <h2 className="mb-3 text-sm font-semibold uppercase tracking-wide text-muted">Stages</h2>
          <ol className="space-y-2.5">
            {r.stages.map((s) => (
              <StageCard
                key={s.id}
                stage={s}
                names={names}
                runId={runId}
                pipelineId={pipelineId}
                selected={s.id === selectedId}
                onSelect={setPicked}
                canDecide={canDecideGate(s.id)}
                canDecideRole={canDecideRole}
                userId={userId}
                triggeredByMe={r.triggeredBy === userId}
                people={people}
                canRollBack={canRun}
                runNumber={r.number}
              />
            ))}
          </ol>
        </section>
        <section aria-label="Log" className="lg:sticky lg:top-20 lg:h-[calc(100vh-7rem)]">
          {selected ? (
            <LogPane
              key={selected.id}
              runId={runId}
              nodeId={selected.id}
              stageName={selected.name}
              runNumber={r.number}
              runFinished={finished}
              stageStatus={selected.status}
            />
          ) : (
            <p className="text-sm text-muted">Select a stage to see its log.</p>
          )}
        </section>
      </div>
    </>
  );
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}

/** The files the stages stored: name, stage, size, digest (copyable), download (signed-in people only). */
function Artifacts({ run }: { run: Run }) {
  const stageById = new Map(run.stages.map((s) => [s.id, s]));
  return (
    <Card className="mb-8 p-5">
      <section aria-label="Artifacts">
        <h2 className="mb-3 text-sm font-semibold uppercase tracking-wide text-muted">Artifacts</h2>
        <table className="w-full text-left text-sm" data-testid="artifacts">
          <thead className="text-xs uppercase tracking-wide text-muted">
            <tr>
              <th scope="col" className="pb-2 pr-4 font-medium">Name</th>
              <th scope="col" className="pb-2 pr-4 font-medium">Stage</th>
              <th scope="col" className="pb-2 pr-4 text-right font-medium">Size</th>
              <th scope="col" className="pb-2 pr-4 font-medium">Digest</th>
              <th scope="col" className="pb-2 font-medium">
                <span className="sr-only">Download</span>
              </th>
            </tr>
          </thead>
          <tbody className="divide-y divide-line">
            {run.artifacts.map((a) => {
              const stage = stageById.get(a.stage);
              return (
                <tr key={a.id} data-artifact={`${a.stage}.${a.name}`}>
                  <td className="py-1.5 pr-4 font-mono text-fg">{a.name}</td>
                  <td className="py-1.5 pr-4 text-fg">
                    {stage?.name ?? a.stage}
                    {stage?.reusedFrom && <span className="ml-1.5 text-xs text-muted">(built in run #{stage.reusedFrom.number ?? '?'})</span>}
                  </td>
                  <td className="py-1.5 pr-4 text-right font-mono text-muted" title={`${a.size} bytes`}>
                    {formatBytes(a.size)}
                  </td>
                  <td className="py-1.5 pr-4">
                    <CopyDigest digest={a.digest} />
                  </td>
                  <td className="py-1.5 text-right">
                    <a
                      href={`/api/runs/${run.id}/artifacts/${a.id}`}
                      download
                      className="text-accent hover:underline"
                      aria-label={`Download ${a.name} (${formatBytes(a.size)})`}
                    >
                      Download
                    </a>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </section>
    </Card>
  );
}

function CopyDigest({ digest }: { digest: string }) {
  const [copied, setCopied] = useState(false);
  const hex = digest.replace(/^sha256:/, '');
  return (
    <span className="flex items-center gap-2">
      <code className="font-mono text-xs text-fg" title={digest}>
        sha256:{hex.slice(0, 12)}…
      </code>
      <button
        type="button"
        className="rounded px-1.5 py-0.5 text-xs text-muted hover:bg-subtle hover:text-fg focus:outline-none focus-visible:ring-2 focus-visible:ring-accent"
        aria-label={`Copy digest ${digest}`}
        onClick={() => {
          void navigator.clipboard?.writeText(digest).then(
            () => {
              setCopied(true);
              setTimeout(() => setCopied(false), 1500);
            },
            () => undefined,
          );
        }}
      >
        {copied ? 'Copied' : 'Copy'}
      </button>
    </span>
  );
}

function Meta({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="min-w-0">
      <dt className="text-xs font-medium uppercase tracking-wide text-muted">{label}</dt>
      <dd className="mt-1 truncate text-fg">{children}</dd>
    </div>
  );
}

/**
 * A stage's card. Memoised: every live update replaces the run object, so a
 * card re-renders only when its own stage (compared as JSON), its selection or
 * what its person may do changed — a long run's page stays cheap to update.
 */
const StageCard = memo(StageCardView, (a, b) => {
  for (const k of Object.keys(a) as (keyof StageCardProps)[]) if (k !== 'stage' && a[k] !== b[k]) return false;
  return a.stage === b.stage || JSON.stringify(a.stage) === JSON.stringify(b.stage);
});

type StageCardProps = {
  stage: Stage;
  /** May start runs (authors, admins): offers "Roll back" on a finished k8s-deploy stage. */
  canRollBack: boolean;
  runNumber: number;
  names: Map<string, string>;
  runId: string;
  pipelineId: string;
  selected: boolean;
  onSelect: (id: string) => void;
  canDecide: boolean;
  canDecideRole: boolean;
  userId: string;
  triggeredByMe: boolean;
  people: Record<string, string>;
};

function StageCardView({
  stage: s,
  names,
  runId,
  pipelineId,
  selected,
  onSelect,
  canDecide,
  canDecideRole,
  userId,
  triggeredByMe,
  people,
  canRollBack,
  runNumber,
}: StageCardProps) {
  const def = getStageDefinition(s.kind);
  const [outcome, setOutcome] = useState<DecideOutcome | null>(null);
  const active = s.status === 'running' || s.status === 'waiting';
  const outputs = Object.entries(s.outputs);
  const gate = s.gate;
  const voted = gate?.votes.some((v) => v.userId === userId) ?? false;
  const approvals = gate?.votes.filter((v) => v.decision === 'approve').length ?? 0;
  const rollout = s.status === 'running' && s.kind.startsWith('k8s-') ? rolloutProgressView(s.progress) : null;

  return (
    <li
      data-stage={s.id}
      data-status={s.status}
      className={cx(
        'relative overflow-hidden rounded-xl border bg-surface shadow-sm transition-colors',
        selected ? 'border-accent ring-1 ring-accent/40' : 'border-line',
      )}
    >
      <span aria-hidden className={cx('absolute inset-y-0 left-0 w-1', statusBar(s.status))} />
      <button
        type="button"
        onClick={() => onSelect(s.id)}
        aria-pressed={selected}
        aria-label={`${s.name}: ${s.status}. Show log`}
        className="flex w-full items-start gap-3 py-3 pl-4 pr-3.5 text-left hover:bg-subtle/40 focus:outline-none focus-visible:bg-subtle/60"
      >
        <KindIcon kind={s.kind} className="mt-0.5 h-7 w-7" />
        <span className="min-w-0 flex-1">
          <span className="flex items-center justify-between gap-2">
            <span className="truncate font-medium text-fg">{s.name}</span>
            <StatusChip status={s.status} />
          </span>
          <span className="mt-0.5 flex flex-wrap items-center gap-x-3 gap-y-0.5 text-xs text-muted">
            <span>{def?.label ?? s.kind}</span>
            {s.reusedFrom && (
              <span data-testid="stage-reused" title="Not executed in this run: its result, outputs and artifacts were taken over from the run where it succeeded">
                <span aria-hidden>⤴ </span>reused from run #{s.reusedFrom.number ?? '?'}
              </span>
            )}
            {s.environment && (
              <span className="rounded bg-violet-50 px-1 font-mono text-violet-700 dark:bg-violet-500/10 dark:text-violet-300" title="Environment">
                {s.environment}
              </span>
            )}
            {s.kind !== 'approval' && s.attempt > 0 && (
              <span title="Attempt (the stage's own retries)" data-testid="stage-attempt">
                attempt {s.attempt}/{s.maxAttempts > 0 ? s.maxAttempts : '∞'}
                {s.executions > s.attempt && (
                  <span title="The worker started it again after an infrastructure failure (a lost worker, a restart)">
                    {' '}
                    · {s.executions - s.attempt} infrastructure {s.executions - s.attempt === 1 ? 'retry' : 'retries'}
                  </span>
                )}
              </span>
            )}
            {s.waitingFor ? (
              <span data-testid="stage-waiting-runner" className="text-amber-700 dark:text-amber-300">
                {s.waitingFor}
              </span>
            ) : (
              s.runner && (
                <span data-testid="stage-runner" title="The runner that ran this attempt">
                  on runner <span className="font-mono">{s.runner.name}</span>
                </span>
              )
            )}
            {s.startedAt && (
              <span className="font-mono" title="Duration" data-testid="stage-duration">
                <Elapsed start={s.startedAt} end={s.endedAt ?? (active ? null : s.startedAt)} />
              </span>
            )}
            {s.needs.length > 0 && s.status === 'pending' && (
              <span className="truncate">
                after{' '}
                {s.needs.map((n) => `${names.get(n.from) ?? n.from}${n.on === 'success' ? '' : n.on === 'failure' ? ' fails' : ' (always)'}`).join(', ')}
              </span>
            )}
          </span>
        </span>
      </button>

      {(s.error || s.summary || outputs.length > 0 || gate || s.reusedFrom || s.rollback?.ok || rollout) && (
        <div className="space-y-3 border-t border-line py-3 pl-4 pr-3.5 text-sm">
          {rollout && <RolloutProgress view={rollout} />}
          {canRollBack && s.rollback?.ok && (
            <RollbackDeploy runId={runId} runNumber={runNumber} pipelineId={pipelineId} stage={s} target={s.rollback.target} returnsTo={s.rollback.returnsTo} />
          )}
          {s.reusedFrom && (
            <p className="text-[13px] text-muted">
              Reused, not executed again:{' '}
              <Link href={`/pipelines/${pipelineId}/runs/${s.reusedFrom.id}`} className="text-accent hover:underline">
                see run #{s.reusedFrom.number ?? '?'}
              </Link>{' '}
              for its log.
            </p>
          )}
          {s.error && (
            <p className="whitespace-pre-wrap break-words rounded-md bg-red-50 px-2.5 py-1.5 text-[13px] text-red-800 dark:bg-red-500/10 dark:text-red-200">{s.error}</p>
          )}
          {s.summary && !s.error && <p className="whitespace-pre-wrap break-words text-[13px] text-muted">{s.summary}</p>}
          {outputs.length > 0 && (
            <div>
              <p className="mb-1 text-xs font-medium uppercase tracking-wide text-muted">Outputs</p>
              <dl className="grid grid-cols-[auto_minmax(0,1fr)] gap-x-3 gap-y-0.5 font-mono text-xs">
                {outputs.map(([k, v]) => (
                  <div key={k} className="contents">
                    <dt className="text-muted">{k}</dt>
                    <dd className="truncate text-fg" title={v}>
                      {v}
                    </dd>
                  </div>
                ))}
              </dl>
            </div>
          )}
          {gate && (
            <div className="space-y-3" data-testid="gate">
              {gate.rules.instructions && (
                <p className="whitespace-pre-wrap break-words rounded-md border border-amber-200 bg-amber-50/70 px-3 py-2 text-[13px] text-amber-950 dark:border-amber-500/25 dark:bg-amber-500/5 dark:text-amber-100">
                  {gate.rules.instructions}
                </p>
              )}
              <div className="flex flex-wrap gap-x-4 gap-y-1 text-xs text-muted">
                <span>
                  <span className="font-medium text-fg">
                    {approvals}/{gate.rules.quorum}
                  </span>{' '}
                  approval{gate.rules.quorum === 1 ? '' : 's'} needed
                </span>
                <span>
                  Approvers:{' '}
                  {[...gate.rules.groups.map((g) => `group ${g}`), ...gate.rules.users].join(', ') || 'nobody'}
                </span>
                <span data-testid="gate-four-eyes">{fourEyesRule(gate.rules.allowTriggerer, gate.protectedEnvironment).text}</span>
                {s.status === 'waiting' && gate.waitingSince && (
                  <span>
                    waiting since <Ago date={gate.waitingSince} />
                  </span>
                )}
                {s.status === 'waiting' && gate.deadlineAt && (
                  <span className="text-amber-700 dark:text-amber-300">
                    <TimeLeft deadline={gate.deadlineAt} />, then {gate.rules.onTimeout === 'approve' ? 'approved' : 'rejected'} automatically
                  </span>
                )}
                {gate.decidedBy && gate.status && gate.status !== 'waiting' && (
                  <span>
                    {gate.status === 'approved' ? 'Approved' : gate.status === 'rejected' ? 'Rejected' : 'Closed'} by{' '}
                    {gate.decidedBy === 'timeout' ? 'timeout' : <PersonName name={people[gate.votes.find((v) => v.userName === gate.decidedBy)?.userId ?? '']} username={gate.decidedBy} />}
                    {gate.decidedAt && (
                      <>
                        {' '}
                        <Ago date={gate.decidedAt} />
                      </>
                    )}
                  </span>
                )}
              </div>
              {gate.votes.length > 0 && <VoteList votes={gate.votes} people={people} />}
              {s.status === 'waiting' &&
                (outcome ? (
                  <Notice tone="success">
                    Your {outcome.decision === 'approve' ? 'approval' : 'rejection'} was recorded
                    {outcome.gateStatus === 'waiting' ? ` (${outcome.approvals}/${outcome.quorum} approvals so far).` : '.'}
                  </Notice>
                ) : canDecide ? (
                  <GateDecision runId={runId} gateId={s.id} onDecided={setOutcome} />
                ) : voted ? (
                  <p className="text-xs text-muted">You have voted on this gate; waiting for other approvers.</p>
                ) : canDecideRole && triggeredByMe && !fourEyesRule(gate.rules.allowTriggerer, gate.protectedEnvironment).starterMayApprove ? (
                  <p className="text-xs text-muted">You started this run (or requested this promotion), so someone else must approve it.</p>
                ) : null)}
            </div>
          )}
        </div>
      )}
    </li>
  );
}

function CancelRun({ runId, runNumber }: { runId: string; runNumber: number }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState('');
  const cancel = useMutation(
    trpc.runs.cancel.mutationOptions({
      onSuccess: async () => {
        await queryClient.invalidateQueries(trpc.runs.pathFilter());
        setOpen(false);
      },
    }),
  );
  return (
    <>
      <Button variant="danger" onClick={() => setOpen(true)}>
        Cancel run
      </Button>
      <Modal open={open} onClose={() => setOpen(false)} title={`Cancel run #${runNumber}?`} description="Running stages are stopped and nothing after them runs. This cannot be undone.">
        <form
          onSubmit={(e) => {
            e.preventDefault();
            cancel.mutate({ runId, reason: reason.trim() || undefined });
          }}
          className="space-y-4"
        >
          <div>
            <label htmlFor="cancel-reason" className="mb-1 block text-sm font-medium text-fg">
              Reason <span className="font-normal text-muted">(optional)</span>
            </label>
            <textarea id="cancel-reason" rows={2} maxLength={500} value={reason} onChange={(e) => setReason(e.target.value)} className={inputClass} />
          </div>
          {cancel.isError && <ErrorBox error={cancel.error} />}
          <div className="flex justify-end gap-2">
            <Button variant="ghost" onClick={() => setOpen(false)} disabled={cancel.isPending}>
              Keep running
            </Button>
            <Button type="submit" variant="reject" disabled={cancel.isPending}>
              {cancel.isPending && <Spinner />} Cancel run
            </Button>
          </div>
        </form>
      </Modal>
    </>
  );
}

/** A running Kubernetes stage's rollout: ready x/y bars per Deployment, the canary step, the traffic split (live, from its heartbeats). */
function RolloutProgress({ view }: { view: RolloutProgressView }) {
  return (
    <div className="space-y-2" data-testid="rollout-progress" aria-live="polite">
      {(view.phase || view.step) && (
        <p className="flex flex-wrap gap-x-3 text-xs text-muted">
          {view.phase && <span data-testid="rollout-phase">{view.phase}</span>}
          {view.step && (
            <span data-testid="rollout-step">
              step {view.step.n} of {view.step.of}
            </span>
          )}
        </p>
      )}
      {view.deployments.map((d) => {
        const pct = d.replicas > 0 ? Math.round((100 * d.ready) / d.replicas) : 100;
        return (
          <div key={d.name} data-testid="rollout-deployment" data-deployment={d.name}>
            <div className="mb-0.5 flex justify-between gap-2 font-mono text-xs">
              <span className="truncate text-fg">{d.name}</span>
              <span className="text-muted" title={`${d.updated} updated, ${d.available} available`}>
                {d.ready}/{d.replicas} ready · {d.updated} updated · {d.available} available
              </span>
            </div>
            <div
              role="progressbar"
              aria-label={`${d.name}: ${d.ready} of ${d.replicas} replicas ready`}
              aria-valuemin={0}
              aria-valuemax={d.replicas}
              aria-valuenow={d.ready}
              className="h-1.5 overflow-hidden rounded-full bg-subtle"
            >
              <div className="h-full rounded-full bg-sky-500 transition-[width] dark:bg-sky-400" style={{ width: `${pct}%` }} />
            </div>
          </div>
        );
      })}
      {view.weights && (
        <p className="text-xs text-muted" data-testid="rollout-weights">
          traffic ({view.weights.by === 'route' ? 'HTTPRoute weights' : 'by replicas'}): stable <span className="font-mono text-fg">{view.weights.stable}%</span> · canary{' '}
          <span className="font-mono text-fg">{view.weights.canary}%</span>
        </p>
      )}
    </div>
  );
}

type RollbackInfo = Extract<NonNullable<Stage['rollback']>, { ok: true }>;

/**
 * "Roll back" on a finished k8s-deploy stage: after a confirmation naming what
 * is rolled back where, starts a run with one k8s-rollback stage (the worker
 * does the work) and opens it.
 */
function RollbackDeploy({
  runId,
  runNumber,
  pipelineId,
  stage,
  target,
  returnsTo,
}: {
  runId: string;
  runNumber: number;
  pipelineId: string;
  stage: Stage;
  target: RollbackInfo['target'];
  returnsTo: string;
}) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const [open, setOpen] = useState(false);
  const rollback = useMutation(
    trpc.runs.rollbackDeploy.mutationOptions({
      onSuccess: async (res) => {
        await queryClient.invalidateQueries(trpc.runs.list.pathFilter());
        setOpen(false);
        router.push(`/pipelines/${pipelineId}/runs/${res.id}`);
      },
    }),
  );
  return (
    <>
      <Button variant="danger" onClick={() => setOpen(true)} data-testid="rollback-deploy" title={`Roll ${target.deployment} back to ${returnsTo}`}>
        <span aria-hidden>↶</span> Roll back
      </Button>
      <Modal
        open={open}
        onClose={() => setOpen(false)}
        title={`Roll back ${target.deployment}?`}
        description={`A new run of this pipeline with one "Roll back on Kubernetes" stage undoes what stage "${stage.name}" of run #${runNumber} deployed.`}
      >
        <form
          onSubmit={(e) => {
            e.preventDefault();
            rollback.mutate({ runId, stageId: stage.id });
          }}
          className="space-y-4 text-sm"
        >
          <dl className="grid grid-cols-[auto_minmax(0,1fr)] gap-x-4 gap-y-1" data-testid="rollback-target">
            <dt className="text-muted">Deployment</dt>
            <dd className="font-mono text-fg">{target.deployment}</dd>
            <dt className="text-muted">Namespace</dt>
            <dd className="font-mono text-fg">{target.namespace}</dd>
            <dt className="text-muted">Cluster connection</dt>
            <dd className="font-mono text-fg">{target.connection}</dd>
            <dt className="text-muted">Strategy</dt>
            <dd className="text-fg">{target.strategy}</dd>
            <dt className="text-muted">Returns to</dt>
            <dd className="text-fg">{returnsTo}</dd>
          </dl>
          {rollback.isError && <ErrorBox error={rollback.error} />}
          <div className="flex justify-end gap-2">
            <Button variant="ghost" onClick={() => setOpen(false)} disabled={rollback.isPending}>
              Keep it
            </Button>
            <Button type="submit" variant="reject" disabled={rollback.isPending} data-testid="rollback-deploy-confirm">
              {rollback.isPending && <Spinner />} Roll back
            </Button>
          </div>
        </form>
      </Modal>
    </>
  );
}

function LiveDot({ status }: { status: LiveStatus }) {
  const open = status === 'open';
  return (
    <span
      className={cx('flex items-center gap-1 text-xs', open ? 'text-sky-700 dark:text-sky-300' : 'text-muted')}
      data-testid="live-status"
      data-live={status}
      title={open ? 'Updates arrive as they happen' : 'Reconnecting to live updates…'}
    >
      <span aria-hidden className={cx('h-1.5 w-1.5 rounded-full', open ? 'animate-pulse bg-sky-500' : 'bg-slate-400')} />
      {open ? 'live' : status === 'idle' ? '' : 'reconnecting…'}
    </span>
  );
}

/**
 * "Re-run from the failed stage": a new run of the same version and parameters
 * that reuses every stage that succeeded here; the dialog lists what is reused
 * and what runs again (same rule as the server, `planRerunFromFailed`).
 */
function RerunFromFailed({ run, pipelineId }: { run: Run; pipelineId: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const [open, setOpen] = useState(false);
  const what = useMemo(
    () =>
      planRerunFromFailed(
        run.stages.map((s) => ({ id: s.id, needs: s.needs, isGate: s.gate !== null, kind: s.kind })),
        (id) => run.stages.find((s) => s.id === id)?.status,
      ),
    [run.stages],
  );
  const name = (id: string) => run.stages.find((s) => s.id === id)?.name ?? id;
  const again = useMutation(
    trpc.runs.rerunFromFailed.mutationOptions({
      onSuccess: async (res) => {
        await queryClient.invalidateQueries(trpc.runs.list.pathFilter());
        setOpen(false);
        router.push(`/pipelines/${pipelineId}/runs/${res.id}`);
      },
    }),
  );
  return (
    <>
      <Button variant="primary" onClick={() => setOpen(true)} data-testid="rerun-from-failed" title="Run again from the stage that failed, reusing what succeeded">
        <span aria-hidden>↻</span> Re-run from failed stage
      </Button>
      <Modal
        open={open}
        onClose={() => setOpen(false)}
        title="Re-run from the failed stage?"
        description={`A new run of v${run.pipelineVersion} with the parameters of run #${run.number}. Stages that succeeded are reused — not executed again — with their outputs and artifacts, unless a rollback undid them.`}
      >
        <form
          onSubmit={(e) => {
            e.preventDefault();
            again.mutate({ runId: run.id });
          }}
          className="space-y-4 text-sm"
        >
          <div>
            <p className="mb-1 font-medium text-fg">Reused from run #{run.number}</p>
            <p className="text-muted" data-testid="rerun-reused">
              {what.reuse.length > 0 ? what.reuse.map(name).join(', ') : 'nothing (no stage succeeded)'}
            </p>
          </div>
          <div>
            <p className="mb-1 font-medium text-fg">Runs again</p>
            <p className="text-muted" data-testid="rerun-again">
              {what.rerun.map(name).join(', ')}
            </p>
          </div>
          {what.undone.length > 0 && (
            <Notice>
              <span data-testid="rerun-undone">
                {[...new Set(what.undone.map((u) => u.by))].map((by) => {
                  const undone = what.undone.filter((u) => u.by === by).map((u) => name(u.id));
                  return (
                    <span key={by} className="block">
                      {undone.join(', ')} {undone.length === 1 ? 'runs' : 'run'} again, with everything after {undone.length === 1 ? 'it' : 'them'}: {name(by)} undid{' '}
                      {undone.length === 1 ? 'its' : 'their'} effect in run #{run.number}, so reusing {undone.length === 1 ? 'it' : 'them'} would report work that is no longer there.
                    </span>
                  );
                })}
              </span>
            </Notice>
          )}
          {what.rollbacks.length > 0 && (
            <p className="text-muted" data-testid="rerun-rollbacks">
              {what.rollbacks.map(name).join(', ')} {what.rollbacks.length === 1 ? 'is' : 'are'} not reused: a rollback runs again only if the failure it handles happens again.
            </p>
          )}
          {what.reaskedGates.length > 0 && (
            <Notice>
              Approval {what.reaskedGates.length === 1 ? 'gate' : 'gates'} {what.reaskedGates.map(name).join(', ')}{' '}
              {what.reaskedGates.length === 1 ? 'is' : 'are'} asked again: an approval covers what follows it at the moment it was given, and something after it runs again.
            </Notice>
          )}
          {again.isError && <ErrorBox error={again.error} />}
          <div className="flex justify-end gap-2">
            <Button variant="ghost" onClick={() => setOpen(false)} disabled={again.isPending}>
              Close
            </Button>
            <Button type="submit" variant="primary" disabled={again.isPending} data-testid="rerun-from-failed-confirm">
              {again.isPending && <Spinner />} Start run
            </Button>
          </div>
        </form>
      </Modal>
    </>
  );
}

/** "Run again": the same pipeline version and parameters (or the newest version), after a confirmation. */
function RunAgain({
  runId,
  runNumber,
  pipelineId,
  version,
  params,
}: {
  runId: string;
  runNumber: number;
  pipelineId: string;
  version: number;
  params: Record<string, string | number | boolean>;
}) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const [open, setOpen] = useState(false);
  const [latest, setLatest] = useState(false);
  const head = useQuery(trpc.pipelines.versions.queryOptions({ id: pipelineId }, { enabled: open }));
  const newest = head.data?.[0]?.version;
  const again = useMutation(
    trpc.runs.rerun.mutationOptions({
      onSuccess: async (res) => {
        await queryClient.invalidateQueries(trpc.runs.list.pathFilter());
        setOpen(false);
        router.push(`/pipelines/${pipelineId}/runs/${res.id}`);
      },
    }),
  );
  const entries = Object.entries(params);
  return (
    <>
      <Button variant="secondary" onClick={() => setOpen(true)} data-testid="run-again">
        <span aria-hidden>↻</span> Run again
      </Button>
      <Modal open={open} onClose={() => setOpen(false)} title={`Run again?`} description={`A new run with the parameters of run #${runNumber}.`}>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            again.mutate({ runId, latest });
          }}
          className="space-y-4"
        >
          <div className="flex flex-wrap gap-1.5 text-sm">
            {entries.length === 0 ? (
              <span className="text-muted">No parameters.</span>
            ) : (
              entries.map(([k, v]) => (
                <Tag key={k} mono>
                  <span>
                    <span className="text-muted">{k}=</span>
                    <span className="text-fg">{String(v)}</span>
                  </span>
                </Tag>
              ))
            )}
          </div>
          <fieldset className="space-y-1.5 text-sm">
            <legend className="mb-1 font-medium text-fg">Pipeline version</legend>
            <label className="flex items-center gap-2">
              <input type="radio" name="rerun-version" checked={!latest} onChange={() => setLatest(false)} /> v{version}, as this run
            </label>
            {newest !== undefined && newest !== version && (
              <label className="flex items-center gap-2">
                <input type="radio" name="rerun-version" checked={latest} onChange={() => setLatest(true)} /> v{newest}, the newest
              </label>
            )}
          </fieldset>
          {again.isError && <ErrorBox error={again.error} />}
          <div className="flex justify-end gap-2">
            <Button variant="ghost" onClick={() => setOpen(false)} disabled={again.isPending}>
              Close
            </Button>
            <Button type="submit" variant="primary" disabled={again.isPending} data-testid="run-again-confirm">
              {again.isPending && <Spinner />} Start run
            </Button>
          </div>
        </form>
      </Modal>
    </>
  );
}
