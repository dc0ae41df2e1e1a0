'use client';
/**
 * "Triggers" on the pipeline page: what starts this pipeline besides Run.
 *
 * 1. Everyone signed in sees the webhooks (with their recent deliveries), the
 *    schedules (with their next firings, read from Temporal) and the upstream
 *    pipelines. Authors and admins add, pause, rotate and delete them; the
 *    server enforces that, the page only hides the buttons.
 * 2. A webhook's secret is shown once, right after it is created or rotated,
 *    with copy buttons and how to set it up in GitHub and GitLab.
 * 3. Forms check with the same zod schemas as the server (server/triggers/config.ts),
 *    so a bad cron expression or time zone is said before anything is sent.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useState, type FormEvent, type ReactNode } from 'react';
import { Modal } from '@/app/components/modal';
import { Ago, DateTime } from '@/app/components/time';
import { useLiveRunsList } from '@/app/lib/live';
import { Button, Card, ErrorBox, Notice, SectionTitle, Spinner, Tag, cx, inputClass } from '@/app/components/ui';
import { useTRPC } from '@/app/trpc/react';
import type { RouterOutputs } from '@/server/api/root';
import { cronSchema, isTimeZone, type WebhookProvider } from '@/server/triggers/config';

type Trigger = RouterOutputs['triggers']['list'][number];
type WebhookTrigger = Extract<Trigger, { type: 'webhook' }>;
type ScheduleTrigger = Extract<Trigger, { type: 'schedule' }>;
type UpstreamTrigger = Extract<Trigger, { type: 'upstream' }>;
type ScheduleStatus = RouterOutputs['triggers']['scheduleStatus'][string];
type NewSecret = { url: string; secret: string; provider: WebhookProvider; title: string };

const PROVIDERS: Record<WebhookProvider, string> = { github: 'GitHub', gitlab: 'GitLab' };

/** How often the triggers' "Last: …" is re-read while the panel is open. */
const LAST_FIRED_REFRESH_MS = 5_000;

export function TriggersPanel({ pipelineId, canEdit, parameters }: { pipelineId: string; canEdit: boolean; parameters: string[] }) {
  const trpc = useTRPC();
  // A trigger's "Last: …" changes when it fires, which happens without anyone on this page doing anything:
  // the list is refreshed when runs change (live stream) and every few seconds while it has triggers
  // (a firing that starts nothing — skipped, ignored, refused — changes no run).
  const list = useQuery({ ...trpc.triggers.list.queryOptions({ pipelineId }), refetchInterval: (q) => ((q.state.data?.length ?? 0) > 0 ? LAST_FIRED_REFRESH_MS : false) });
  useLiveRunsList();
  const hasSchedules = list.data?.some((t) => t.type === 'schedule') ?? false;
  const status = useQuery({ ...trpc.triggers.scheduleStatus.queryOptions({ pipelineId }), enabled: hasSchedules, refetchInterval: 15_000 });
  const [adding, setAdding] = useState<Trigger['type'] | null>(null);
  const [secret, setSecret] = useState<NewSecret | null>(null);

  const webhooks = (list.data ?? []).filter((t): t is WebhookTrigger => t.type === 'webhook');
  const schedules = (list.data ?? []).filter((t): t is ScheduleTrigger => t.type === 'schedule');
  const upstreams = (list.data ?? []).filter((t): t is UpstreamTrigger => t.type === 'upstream');

  return (
    <section data-testid="triggers">
      <SectionTitle
        aside={
          canEdit ? (
            <div className="flex flex-wrap gap-1.5">
              <Button className="px-2 py-1 text-xs" onClick={() => setAdding('webhook')} data-testid="add-webhook">
                + Webhook
              </Button>
              <Button className="px-2 py-1 text-xs" onClick={() => setAdding('schedule')} data-testid="add-schedule">
                + Schedule
              </Button>
              <Button className="px-2 py-1 text-xs" onClick={() => setAdding('upstream')} data-testid="add-upstream">
                + Upstream pipeline
              </Button>
            </div>
          ) : undefined
        }
      >
        Triggers
      </SectionTitle>

      {secret && <SecretShown secret={secret} onDone={() => setSecret(null)} />}

      {list.isPending ? (
        <p className="flex items-center gap-2 text-sm text-muted">
          <Spinner /> Loading triggers…
        </p>
      ) : list.isError ? (
        <ErrorBox error={list.error} title="Could not load the triggers" />
      ) : (
        <Card className="divide-y divide-line">
          <Row title="Manual" icon={ICONS.manual}>
            <p className="text-sm text-muted">People with the run permission start it with Run, giving its parameters.</p>
          </Row>
          {webhooks.map((t) => (
            <WebhookRow key={t.id} trigger={t} canEdit={canEdit} parameters={parameters} onSecret={setSecret} />
          ))}
          {schedules.map((t) => (
            <ScheduleRow key={t.id} trigger={t} status={status.data?.[t.id]} statusLoading={status.isPending} canEdit={canEdit} />
          ))}
          {upstreams.map((t) => (
            <UpstreamRow key={t.id} trigger={t} canEdit={canEdit} />
          ))}
          {list.data.length === 0 && (
            <p className="px-4 py-3 text-sm text-muted">
              No webhook, schedule or upstream pipeline starts it yet.{canEdit ? ' Add one above.' : ''}
            </p>
          )}
        </Card>
      )}

      <Modal open={adding === 'webhook'} onClose={() => setAdding(null)} title="New webhook" description="A push to GitHub or GitLab starts this pipeline." wide>
        {adding === 'webhook' && (
          <WebhookForm
            pipelineId={pipelineId}
            parameters={parameters}
            onDone={(s) => {
              setAdding(null);
              if (s) setSecret(s);
            }}
          />
        )}
      </Modal>
      <Modal open={adding === 'schedule'} onClose={() => setAdding(null)} title="New schedule" description="Starts this pipeline at the times a cron expression names.">
        {adding === 'schedule' && <ScheduleForm pipelineId={pipelineId} onDone={() => setAdding(null)} />}
      </Modal>
      <Modal open={adding === 'upstream'} onClose={() => setAdding(null)} title="New upstream pipeline" description="Starts this pipeline each time another one succeeds.">
        {adding === 'upstream' && <UpstreamForm pipelineId={pipelineId} onDone={() => setAdding(null)} />}
      </Modal>
    </section>
  );
}

const svg = (d: string) => (
  <svg viewBox="0 0 20 20" className="h-3.5 w-3.5" fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" strokeLinejoin="round">
    <path d={d} />
  </svg>
);
const ICONS = {
  manual: svg('M6 4.5v11l9-5.5z'),
  webhook: svg('M4 7h10l-3-3M16 13H6l3 3'),
  schedule: svg('M10 3.5a6.5 6.5 0 1 0 0 13 6.5 6.5 0 0 0 0-13zM10 6.5V10l2.5 1.5'),
  upstream: svg('M5 4v6a3 3 0 0 0 3 3h7M12 10l3 3-3 3'),
};

function Row({ title, icon, badges, actions, children, testId }: { title: ReactNode; icon: ReactNode; badges?: ReactNode; actions?: ReactNode; children?: ReactNode; testId?: string }) {
  return (
    <div className="px-4 py-3" data-testid={testId}>
      <div className="flex flex-wrap items-center gap-2">
        <span aria-hidden className="flex h-6 w-6 items-center justify-center rounded-md bg-subtle text-xs text-muted">
          {icon}
        </span>
        <span className="font-medium text-fg">{title}</span>
        {badges}
        {actions && <div className="ml-auto flex flex-wrap items-center gap-1.5">{actions}</div>}
      </div>
      {children && <div className="mt-1.5 pl-8">{children}</div>}
    </div>
  );
}

const pausedTag = <Tag className="border-amber-300 bg-amber-50 text-amber-800 dark:border-amber-500/30 dark:bg-amber-500/10 dark:text-amber-300">paused</Tag>;

function useInvalidate(pipelineId: string) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  return async () => {
    await Promise.all([
      queryClient.invalidateQueries(trpc.triggers.list.queryFilter({ pipelineId })),
      queryClient.invalidateQueries(trpc.triggers.scheduleStatus.queryFilter({ pipelineId })),
      queryClient.invalidateQueries(trpc.triggers.deliveries.pathFilter()),
    ]);
  };
}

/** Pause/resume and delete, with an inline confirmation for delete. */
function CommonActions({ trigger, pauseLabel = 'Disable', resumeLabel = 'Enable' }: { trigger: Trigger; pauseLabel?: string; resumeLabel?: string }) {
  const trpc = useTRPC();
  const invalidate = useInvalidate(trigger.pipelineId);
  const [confirming, setConfirming] = useState(false);
  const setEnabled = useMutation(trpc.triggers.setEnabled.mutationOptions({ onSuccess: invalidate }));
  const remove = useMutation(trpc.triggers.delete.mutationOptions({ onSuccess: invalidate }));
  const error = setEnabled.error ?? remove.error;
  const label = trigger.name || trigger.type;
  return (
    <>
      <Button
        className="px-2 py-1 text-xs"
        disabled={setEnabled.isPending}
        onClick={() => setEnabled.mutate({ id: trigger.id, enabled: !trigger.enabled })}
        aria-label={`${trigger.enabled ? pauseLabel : resumeLabel} ${label}`}
      >
        {setEnabled.isPending && <Spinner />} {trigger.enabled ? pauseLabel : resumeLabel}
      </Button>
      {confirming ? (
        <span className="flex items-center gap-1.5 rounded-md bg-red-50 px-2 py-1 text-xs dark:bg-red-500/10" role="alertdialog" aria-label={`Confirm deleting ${label}`}>
          Delete?
          <Button variant="danger" className="px-2 py-0.5 text-xs" disabled={remove.isPending} onClick={() => remove.mutate({ id: trigger.id })}>
            {remove.isPending && <Spinner />} Delete
          </Button>
          <Button variant="ghost" className="px-2 py-0.5 text-xs" onClick={() => setConfirming(false)}>
            Keep
          </Button>
        </span>
      ) : (
        <Button variant="ghost" className="px-2 py-1 text-xs" onClick={() => setConfirming(true)} aria-label={`Delete ${label}`}>
          Delete
        </Button>
      )}
      {error && <ErrorBox error={error} className="basis-full" />}
    </>
  );
}

function LastResult({ trigger }: { trigger: Trigger }) {
  if (!trigger.lastFiredAt) return <p className="text-xs text-muted">Not fired yet.</p>;
  return (
    <p className="text-xs text-muted">
      Last: {trigger.lastResult ?? '—'} · <Ago date={trigger.lastFiredAt} />
    </p>
  );
}

// ── Webhooks ────────────────────────────────────────────────────────────────

function WebhookRow({ trigger, canEdit, parameters, onSecret }: { trigger: WebhookTrigger; canEdit: boolean; parameters: string[]; onSecret: (s: NewSecret) => void }) {
  const trpc = useTRPC();
  const [showDeliveries, setShowDeliveries] = useState(false);
  const [editing, setEditing] = useState(false);
  const [confirmRotate, setConfirmRotate] = useState(false);
  const rotate = useMutation(
    trpc.triggers.rotateSecret.mutationOptions({
      onSuccess: ({ secret }) => {
        setConfirmRotate(false);
        onSecret({ url: trigger.url, secret, provider: trigger.config.provider, title: `New secret for ${trigger.name || 'the webhook'}` });
      },
    }),
  );
  const { config } = trigger;
  const mapping = (['branch', 'commit', 'author'] as const).map((field) => `${field} → ${config.mapping[field] ?? field}`);
  return (
    <Row
      testId="trigger-webhook"
      icon={ICONS.webhook}
      title={trigger.name || `${PROVIDERS[config.provider]} webhook`}
      badges={
        <>
          <Tag>{PROVIDERS[config.provider]}</Tag>
          {!trigger.enabled && pausedTag}
        </>
      }
      actions={
        canEdit ? (
          <>
            <Button className="px-2 py-1 text-xs" onClick={() => setEditing(true)}>
              Edit
            </Button>
            {confirmRotate ? (
              <span className="flex items-center gap-1.5 rounded-md bg-amber-50 px-2 py-1 text-xs dark:bg-amber-500/10" role="alertdialog" aria-label="Confirm rotating the secret">
                The old secret stops working.
                <Button variant="primary" className="px-2 py-0.5 text-xs" disabled={rotate.isPending} onClick={() => rotate.mutate({ id: trigger.id })}>
                  {rotate.isPending && <Spinner />} Rotate
                </Button>
                <Button variant="ghost" className="px-2 py-0.5 text-xs" onClick={() => setConfirmRotate(false)}>
                  Cancel
                </Button>
              </span>
            ) : (
              <Button className="px-2 py-1 text-xs" onClick={() => setConfirmRotate(true)}>
                Rotate secret
              </Button>
            )}
            <CommonActions trigger={trigger} />
          </>
        ) : undefined
      }
    >
      <div className="space-y-1 text-sm">
        <p className="flex flex-wrap items-center gap-2">
          <code className="break-all rounded bg-subtle px-1.5 py-0.5 font-mono text-xs text-fg">{trigger.url}</code>
          <CopyButton text={trigger.url} label="webhook URL" />
        </p>
        <p className="text-xs text-muted">
          Branches: {config.branches.length ? config.branches.map((b) => <Tag key={b} mono className="mr-1">{b}</Tag>) : 'all'} · Parameters:{' '}
          <span className="font-mono">{mapping.join(', ')}</span>
          {Object.keys(config.params).length > 0 && <span className="font-mono">, {Object.entries(config.params).map(([k, v]) => `${k}=${String(v)}`).join(', ')}</span>}
        </p>
        <LastResult trigger={trigger} />
        {rotate.isError && <ErrorBox error={rotate.error} title="Could not rotate the secret" />}
        <button
          type="button"
          className="text-xs font-medium text-accent hover:underline"
          aria-expanded={showDeliveries}
          onClick={() => setShowDeliveries((v) => !v)}
          data-testid="show-deliveries"
        >
          {showDeliveries ? 'Hide recent deliveries' : 'Recent deliveries'}
        </button>
        {showDeliveries && <Deliveries triggerId={trigger.id} pipelineId={trigger.pipelineId} />}
      </div>
      <Modal open={editing} onClose={() => setEditing(false)} title="Edit webhook" wide>
        {editing && <WebhookForm pipelineId={trigger.pipelineId} parameters={parameters} existing={trigger} onDone={() => setEditing(false)} />}
      </Modal>
    </Row>
  );
}

const OUTCOME_STYLE: Record<string, string> = {
  started: 'text-emerald-700 dark:text-emerald-300',
  ignored: 'text-muted',
  failed: 'text-red-700 dark:text-red-300',
  received: 'text-sky-700 dark:text-sky-300',
  queued: 'text-amber-700 dark:text-amber-300',
};

function Deliveries({ triggerId, pipelineId }: { triggerId: string; pipelineId: string }) {
  const trpc = useTRPC();
  const deliveries = useQuery({ ...trpc.triggers.deliveries.queryOptions({ triggerId, limit: 20 }), refetchInterval: 5_000 });
  if (deliveries.isPending) return <Spinner />;
  if (deliveries.isError) return <ErrorBox error={deliveries.error} title="Could not load the deliveries" />;
  if (deliveries.data.length === 0) return <p className="text-xs text-muted">No deliveries yet. Rejected ones (a wrong signature) are in the audit log.</p>;
  return (
    <ul className="divide-y divide-line rounded-md border border-line text-xs" data-testid="deliveries" aria-live="polite">
      {deliveries.data.map((d) => (
        <li key={d.deliveryId} className="flex flex-wrap items-center gap-x-3 gap-y-0.5 px-2.5 py-1.5">
          <span className={cx('w-14 font-medium', OUTCOME_STYLE[d.outcome])}>{d.outcome}</span>
          <span className="font-mono text-muted" title={d.deliveryId}>
            {d.deliveryId.replace(/^(github|gitlab):/, '').slice(0, 18)}
          </span>
          <span className="min-w-0 flex-1 truncate text-fg" title={d.message}>
            {d.runId && d.runNumber ? (
              <Link href={`/pipelines/${pipelineId}/runs/${d.runId}`} className="font-medium text-accent hover:underline">
                run #{d.runNumber}
              </Link>
            ) : (
              d.message
            )}
          </span>
          <Ago date={d.receivedAt} className="text-muted" />
        </li>
      ))}
    </ul>
  );
}

function splitList(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

function WebhookForm({ pipelineId, parameters, existing, onDone }: { pipelineId: string; parameters: string[]; existing?: WebhookTrigger; onDone: (s?: NewSecret) => void }) {
  const trpc = useTRPC();
  const invalidate = useInvalidate(pipelineId);
  const [provider, setProvider] = useState<WebhookProvider>(existing?.config.provider ?? 'github');
  const [name, setName] = useState(existing?.name ?? '');
  const [branches, setBranches] = useState(existing?.config.branches.join(', ') ?? 'main');
  const [mapping, setMapping] = useState<Record<'branch' | 'commit' | 'author', string>>({
    branch: existing?.config.mapping.branch ?? 'branch',
    commit: existing?.config.mapping.commit ?? 'commit',
    author: existing?.config.mapping.author ?? 'author',
  });
  const [ownSecret, setOwnSecret] = useState('');
  const create = useMutation(
    trpc.triggers.createWebhook.mutationOptions({
      onSuccess: async (c) => {
        await invalidate();
        onDone({ url: c.trigger.type === 'webhook' ? c.trigger.url : '', secret: c.secret, provider: c.trigger.type === 'webhook' ? c.trigger.config.provider : provider, title: 'Webhook created' });
      },
    }),
  );
  const update = useMutation(
    trpc.triggers.updateWebhook.mutationOptions({
      onSuccess: async () => {
        await invalidate();
        onDone();
      },
    }),
  );
  const mutation = existing ? update : create;
  const choices = Array.from(new Set([...parameters, 'branch', 'commit', 'author']));

  function onSubmit(e: FormEvent) {
    e.preventDefault();
    const config = { provider, branches: splitList(branches), mapping, params: existing?.config.params ?? {} };
    if (existing) update.mutate({ id: existing.id, name, config });
    else create.mutate({ pipelineId, name, config, secret: ownSecret || undefined });
  }

  return (
    <form onSubmit={onSubmit} className="space-y-4" noValidate>
      <fieldset className="flex flex-wrap gap-4" disabled={Boolean(existing)}>
        <legend className="mb-1 text-sm font-medium">Git server</legend>
        {(Object.keys(PROVIDERS) as WebhookProvider[]).map((p) => (
          <label key={p} className="flex items-center gap-2 text-sm">
            <input type="radio" name="provider" value={p} checked={provider === p} onChange={() => setProvider(p)} />
            {PROVIDERS[p]} <span className="text-xs text-muted">({p === 'github' ? 'HMAC-signed' : 'secret token'})</span>
          </label>
        ))}
      </fieldset>
      <div className="grid gap-4 sm:grid-cols-2">
        <Field id="webhook-name" label="Name" hint="Optional, e.g. the repository.">
          <input id="webhook-name" value={name} maxLength={100} onChange={(e) => setName(e.target.value)} placeholder="acme/shop" className={inputClass} />
        </Field>
        <Field id="webhook-branches" label="Branches" hint="Comma-separated; * within a segment, ** across. Empty: every branch.">
          <input id="webhook-branches" value={branches} onChange={(e) => setBranches(e.target.value)} placeholder="main, release/*" className={cx(inputClass, 'font-mono')} />
        </Field>
      </div>
      <fieldset>
        <legend className="mb-1 text-sm font-medium">Push fields to run parameters</legend>
        <p className="mb-2 text-xs text-muted">A parameter the pipeline does not declare is left out.</p>
        <div className="grid gap-3 sm:grid-cols-3">
          {(['branch', 'commit', 'author'] as const).map((field) => (
            <Field key={field} id={`webhook-map-${field}`} label={field}>
              <select id={`webhook-map-${field}`} value={mapping[field]} onChange={(e) => setMapping({ ...mapping, [field]: e.target.value })} className={cx(inputClass, 'font-mono')}>
                {choices.map((c) => (
                  <option key={c} value={c}>
                    {c}
                    {parameters.includes(c) ? '' : ' (not declared)'}
                  </option>
                ))}
              </select>
            </Field>
          ))}
        </div>
      </fieldset>
      {!existing && (
        <Field id="webhook-secret" label="Secret" hint="Leave empty for a generated one (recommended). At least 16 characters.">
          <input id="webhook-secret" type="password" autoComplete="off" value={ownSecret} onChange={(e) => setOwnSecret(e.target.value)} className={cx(inputClass, 'font-mono')} />
        </Field>
      )}
      {mutation.isError && <ErrorBox error={mutation.error} title={existing ? 'Could not save the webhook' : 'Could not create the webhook'} />}
      <div className="flex justify-end gap-2">
        <Button onClick={() => onDone()}>Cancel</Button>
        <Button type="submit" variant="primary" disabled={mutation.isPending} data-testid="webhook-submit">
          {mutation.isPending && <Spinner />} {existing ? 'Save' : 'Create webhook'}
        </Button>
      </div>
    </form>
  );
}

function Field({ id, label, hint, error, children }: { id: string; label: string; hint?: string; error?: string | null; children: ReactNode }) {
  return (
    <div>
      <label htmlFor={id} className="mb-1 block text-sm font-medium">
        {label}
      </label>
      {children}
      {hint && !error && <p className="mt-1 text-xs text-muted">{hint}</p>}
      {error && (
        <p className="mt-1 text-xs text-red-700 dark:text-red-300" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}

function CopyButton({ text, label }: { text: string; label: string }) {
  const [copied, setCopied] = useState(false);
  async function copy() {
    try {
      await navigator.clipboard.writeText(text);
      setCopied(true);
      setTimeout(() => setCopied(false), 1500);
    } catch {
      // No clipboard here (not a secure context): the value is selectable next to the button.
      setCopied(false);
    }
  }
  return (
    <Button onClick={() => void copy()} className="px-2 py-0.5 text-xs" aria-label={`Copy ${label}`}>
      {copied ? 'Copied' : 'Copy'}
    </Button>
  );
}

function CopyField({ id, label, value }: { id: string; label: string; value: string }) {
  return (
    <div>
      <div className="mb-1 flex items-end justify-between gap-3">
        <label htmlFor={id} className="text-sm font-medium">
          {label}
        </label>
        <CopyButton text={value} label={label} />
      </div>
      <input id={id} readOnly value={value} onFocus={(e) => e.currentTarget.select()} className={cx(inputClass, 'font-mono text-xs')} data-testid={id} />
    </div>
  );
}

/** The URL and the secret, once, with how to set them up on the Git server. */
function SecretShown({ secret, onDone }: { secret: NewSecret; onDone: () => void }) {
  return (
    <Card className="mb-4 space-y-3 p-4" data-testid="webhook-secret-shown">
      <Notice tone="success">
        <span className="font-medium">{secret.title}.</span> Copy the secret now: it is not shown again (you can rotate it to get a new one).
      </Notice>
      <CopyField id="webhook-url" label="Payload URL" value={secret.url} />
      <CopyField id="webhook-secret-value" label={secret.provider === 'github' ? 'Secret' : 'Secret token'} value={secret.secret} />
      {secret.provider === 'github' ? (
        <ol className="list-decimal space-y-0.5 pl-5 text-sm text-muted">
          <li>In the repository on GitHub: Settings → Webhooks → Add webhook.</li>
          <li>
            Payload URL: the URL above; Content type: <span className="font-mono text-fg">application/json</span>; Secret: the secret above.
          </li>
          <li>“Just the push event”, Active, then Add webhook. GitHub sends a ping; this pipeline answers “pong”.</li>
        </ol>
      ) : (
        <ol className="list-decimal space-y-0.5 pl-5 text-sm text-muted">
          <li>In the project on GitLab: Settings → Webhooks → Add new webhook.</li>
          <li>URL: the URL above; Secret token: the secret above.</li>
          <li>Trigger: Push events (the branch filter here applies either way), then Add webhook; “Test → Push events” starts a run.</li>
        </ol>
      )}
      <div className="flex justify-end">
        <Button onClick={onDone}>Done</Button>
      </div>
    </Card>
  );
}

// ── Schedules ───────────────────────────────────────────────────────────────

function ScheduleRow({ trigger, status, statusLoading, canEdit }: { trigger: ScheduleTrigger; status: ScheduleStatus | undefined; statusLoading: boolean; canEdit: boolean }) {
  const trpc = useTRPC();
  const invalidate = useInvalidate(trigger.pipelineId);
  const runNow = useMutation(trpc.triggers.runNow.mutationOptions({ onSuccess: invalidate }));
  const paused = !trigger.enabled || (status && 'paused' in status && status.paused);
  return (
    <Row
      testId="trigger-schedule"
      icon={ICONS.schedule}
      title={trigger.name || 'Schedule'}
      badges={
        <>
          <Tag mono>{trigger.config.cron}</Tag>
          <Tag>{trigger.config.timezone}</Tag>
          {paused && pausedTag}
        </>
      }
      actions={
        canEdit ? (
          <>
            <Button className="px-2 py-1 text-xs" disabled={runNow.isPending} onClick={() => runNow.mutate({ id: trigger.id })}>
              {runNow.isPending && <Spinner />} Run now
            </Button>
            <CommonActions trigger={trigger} pauseLabel="Pause" resumeLabel="Resume" />
          </>
        ) : undefined
      }
    >
      <div className="space-y-1 text-xs text-muted" aria-live="polite">
        {statusLoading && !status ? (
          <p className="flex items-center gap-2">
            <Spinner /> Asking the runner for the next firings…
          </p>
        ) : !status ? null : 'error' in status ? (
          <p className="text-amber-700 dark:text-amber-300">Next firings unknown: {status.error}</p>
        ) : status.missing ? (
          <p className="text-amber-700 dark:text-amber-300">The runner does not have this schedule; it is re-created when the worker starts.</p>
        ) : paused ? (
          <p>Paused: nothing fires until it is resumed.</p>
        ) : status.nextTimes.length ? (
          <p data-testid="next-firings">
            Next (your time):{' '}
            {status.nextTimes.map((t, i) => (
              <span key={t.toISOString()}>
                {i > 0 && ', '}
                <DateTime date={t} className="text-fg" />
              </span>
            ))}
          </p>
        ) : (
          <p>No firing ahead.</p>
        )}
        <LastResult trigger={trigger} />
        {runNow.isSuccess && (
          <p className="text-emerald-700 dark:text-emerald-300">
            Started{' '}
            <Link href={`/pipelines/${trigger.pipelineId}/runs/${runNow.data.runId}`} className="font-medium underline">
              run #{runNow.data.runNumber}
            </Link>
            .
          </p>
        )}
        {runNow.isError && <ErrorBox error={runNow.error} title="Could not fire the schedule" />}
      </div>
    </Row>
  );
}

function browserTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

const CRON_EXAMPLES = [
  ['0 3 * * *', 'every night at 03:00'],
  ['*/15 * * * 1-5', 'every 15 minutes on weekdays'],
  ['@daily', 'at midnight'],
  ['@every 30m', 'every 30 minutes'],
] as const;

function ScheduleForm({ pipelineId, onDone }: { pipelineId: string; onDone: () => void }) {
  const trpc = useTRPC();
  const invalidate = useInvalidate(pipelineId);
  const [name, setName] = useState('');
  const [cron, setCron] = useState('0 3 * * *');
  const [timezone, setTimezone] = useState(browserTimeZone);
  const [paused, setPaused] = useState(false);
  const [touched, setTouched] = useState(false);
  const create = useMutation(
    trpc.triggers.createSchedule.mutationOptions({
      onSuccess: async () => {
        await invalidate();
        onDone();
      },
    }),
  );
  const cronCheck = cronSchema.safeParse(cron);
  const cronError = cronCheck.success ? null : (cronCheck.error.issues[0]?.message ?? 'not a cron expression');
  const tzError = isTimeZone(timezone.trim()) && timezone.trim() ? null : 'unknown time zone (use an IANA name such as Europe/Paris)';
  const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];

  function onSubmit(e: FormEvent) {
    e.preventDefault();
    setTouched(true);
    if (cronError || tzError) return;
    create.mutate({ pipelineId, name, config: { cron: cron.trim(), timezone: timezone.trim(), params: {} }, enabled: !paused });
  }

  return (
    <form onSubmit={onSubmit} className="space-y-4" noValidate>
      <Field id="schedule-name" label="Name" hint="Optional, e.g. “nightly”.">
        <input id="schedule-name" value={name} maxLength={100} onChange={(e) => setName(e.target.value)} className={inputClass} />
      </Field>
      <Field id="schedule-cron" label="Cron expression" hint="minute hour day-of-month month day-of-week" error={touched ? cronError : null}>
        <input
          id="schedule-cron"
          value={cron}
          onChange={(e) => setCron(e.target.value)}
          onBlur={() => setTouched(true)}
          aria-invalid={touched && Boolean(cronError)}
          className={cx(inputClass, 'font-mono')}
        />
      </Field>
      <ul className="-mt-2 flex flex-wrap gap-1.5 text-xs">
        {CRON_EXAMPLES.map(([c, label]) => (
          <li key={c}>
            <button type="button" onClick={() => setCron(c)} className="rounded border border-line px-1.5 py-0.5 text-muted hover:bg-subtle hover:text-fg" title={label}>
              <span className="font-mono">{c}</span> · {label}
            </button>
          </li>
        ))}
      </ul>
      <Field id="schedule-tz" label="Time zone" error={touched ? tzError : null}>
        <input id="schedule-tz" list="schedule-tz-list" value={timezone} onChange={(e) => setTimezone(e.target.value)} onBlur={() => setTouched(true)} aria-invalid={touched && Boolean(tzError)} className={inputClass} />
        <datalist id="schedule-tz-list">
          {zones.map((z) => (
            <option key={z} value={z} />
          ))}
        </datalist>
      </Field>
      <label className="flex items-center gap-2 text-sm">
        <input type="checkbox" checked={paused} onChange={(e) => setPaused(e.target.checked)} /> Start paused
      </label>
      {create.isError && <ErrorBox error={create.error} title="Could not create the schedule" />}
      <div className="flex justify-end gap-2">
        <Button onClick={onDone}>Cancel</Button>
        <Button type="submit" variant="primary" disabled={create.isPending} data-testid="schedule-submit">
          {create.isPending && <Spinner />} Create schedule
        </Button>
      </div>
    </form>
  );
}

// ── Upstream pipelines ──────────────────────────────────────────────────────

function UpstreamRow({ trigger, canEdit }: { trigger: UpstreamTrigger; canEdit: boolean }) {
  return (
    <Row
      testId="trigger-upstream"
      icon={ICONS.upstream}
      title={
        <>
          After{' '}
          {trigger.upstreamPipelineName ? (
            <Link href={`/pipelines/${trigger.config.upstreamPipelineId}`} className="text-accent hover:underline">
              {trigger.upstreamPipelineName}
            </Link>
          ) : (
            <span className="text-muted">a deleted pipeline</span>
          )}{' '}
          succeeds
        </>
      }
      badges={!trigger.enabled ? pausedTag : undefined}
      actions={canEdit ? <CommonActions trigger={trigger} /> : undefined}
    >
      <LastResult trigger={trigger} />
    </Row>
  );
}

function UpstreamForm({ pipelineId, onDone }: { pipelineId: string; onDone: () => void }) {
  const trpc = useTRPC();
  const invalidate = useInvalidate(pipelineId);
  const pipelines = useQuery(trpc.pipelines.list.queryOptions());
  const [upstream, setUpstream] = useState('');
  const create = useMutation(
    trpc.triggers.createUpstream.mutationOptions({
      onSuccess: async () => {
        await invalidate();
        onDone();
      },
    }),
  );
  const others = (pipelines.data ?? []).filter((p) => p.id !== pipelineId);

  function onSubmit(e: FormEvent) {
    e.preventDefault();
    if (!upstream) return;
    const name = others.find((p) => p.id === upstream)?.name ?? '';
    create.mutate({ pipelineId, name: `after ${name}`.slice(0, 100), config: { upstreamPipelineId: upstream, params: {} } });
  }

  return (
    <form onSubmit={onSubmit} className="space-y-4" noValidate>
      <Field id="upstream-pipeline" label="Pipeline" hint="Each successful run of it starts this pipeline once.">
        {pipelines.isPending ? (
          <Spinner />
        ) : (
          <select id="upstream-pipeline" value={upstream} onChange={(e) => setUpstream(e.target.value)} className={inputClass} required>
            <option value="">Choose a pipeline…</option>
            {others.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>
        )}
      </Field>
      {pipelines.isError && <ErrorBox error={pipelines.error} title="Could not load the pipelines" />}
      {create.isError && <ErrorBox error={create.error} title="Could not add the upstream pipeline" />}
      <div className="flex justify-end gap-2">
        <Button onClick={onDone}>Cancel</Button>
        <Button type="submit" variant="primary" disabled={create.isPending || !upstream} data-testid="upstream-submit">
          {create.isPending && <Spinner />} Add
        </Button>
      </div>
    </form>
  );
}
