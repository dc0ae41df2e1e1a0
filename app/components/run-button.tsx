'use client';
/**
 * "Run": opens a form for the pipeline's parameters (typed, with defaults and
 * required marks), starts the run and goes to its page. Refusals are shown as
 * the server wrote them: the pipeline's problems, a parameter that is missing,
 * the runner being offline. When the start left environments out (the
 * person's role may not deploy there), the dialog says which and why before
 * going on to the run.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useState, type FormEvent } from 'react';
import { useTRPC } from '@/app/trpc/react';
import type { PipelineParameter } from '@/workflows/model';
import { Modal } from './modal';
import { Button, ErrorBox, inputClass, Spinner } from './ui';

type Values = Record<string, string | boolean>;

function initialValues(params: PipelineParameter[]): Values {
  const out: Values = {};
  for (const p of params) {
    if (p.type === 'boolean') out[p.name] = p.default === true || p.default === 'true';
    else out[p.name] = p.default === undefined ? '' : String(p.default);
  }
  return out;
}

function toRunParams(params: PipelineParameter[], values: Values): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const p of params) {
    const v = values[p.name];
    if (p.type === 'boolean') out[p.name] = v === true;
    else if (typeof v === 'string' && v.trim() !== '') out[p.name] = p.type === 'number' ? Number(v) : v;
    // Left empty: the server applies the default or says the parameter is required.
  }
  return out;
}

export function RunButton({
  pipelineId,
  pipelineName,
  version,
  variant = 'primary',
  size = 'md',
  onStarted,
  rehearsal,
}: {
  pipelineId: string;
  pipelineName: string;
  /** Run this version (default: the newest). */
  version?: number;
  variant?: 'primary' | 'secondary';
  size?: 'sm' | 'md';
  /** Called with the new run instead of going to its page (the editor paints it on the canvas). */
  onStarted?: (run: { id: string; number: number }) => void;
  /** "Rehearse": commands print what they would run, deploys are only checked, webhooks are not sent; gates as usual. */
  rehearsal?: boolean;
}) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <Button
        variant={variant}
        onClick={() => setOpen(true)}
        className={size === 'sm' ? 'px-2.5 py-1 text-[13px]' : undefined}
        aria-label={`${rehearsal ? 'Rehearse' : 'Run'} ${pipelineName}`}
        data-testid={rehearsal ? 'rehearse-button' : 'run-button'}
        title={rehearsal ? 'A run that changes nothing: commands are printed, deploys only checked, webhooks not sent; gates wait as usual' : undefined}
      >
        {rehearsal ? (
          <span aria-hidden className="text-[13px] leading-none">◌</span>
        ) : (
          <svg aria-hidden viewBox="0 0 16 16" className="h-3.5 w-3.5" fill="currentColor">
            <path d="M4.5 2.8v10.4a.6.6 0 0 0 .9.5l8.3-5.2a.6.6 0 0 0 0-1L5.4 2.3a.6.6 0 0 0-.9.5Z" />
          </svg>
        )}
        {rehearsal ? 'Rehearse' : 'Run'}
      </Button>
      <Modal
        open={open}
        onClose={() => setOpen(false)}
        title={`${rehearsal ? 'Rehearse' : 'Run'} ${pipelineName}`}
        description={`${version ? `Version ${version}` : 'Newest version'}${rehearsal ? ' — a rehearsal: commands are printed, not run; deploys are only checked; webhooks are not sent; gates wait for people as usual.' : ''}`}
      >
        <RunForm
          rehearsal={rehearsal}
          pipelineId={pipelineId}
          version={version}
          onCancel={() => setOpen(false)}
          onStarted={
            onStarted &&
            ((run) => {
              setOpen(false);
              onStarted(run);
            })
          }
        />
      </Modal>
    </>
  );
}

function RunForm({
  pipelineId,
  version,
  onCancel,
  onStarted,
  rehearsal,
}: {
  rehearsal?: boolean;
  pipelineId: string;
  version?: number;
  onCancel: () => void;
  onStarted?: (run: { id: string; number: number }) => void;
}) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const pipeline = useQuery(trpc.pipelines.get.queryOptions({ id: pipelineId, version }));
  const params = pipeline.data?.version.spec.parameters;
  const [values, setValues] = useState<Values | null>(null);
  const shown = values ?? (params ? initialValues(params) : {});

  const open = (run: { id: string; number: number }) => {
    if (onStarted) onStarted(run);
    else router.push(`/pipelines/${pipelineId}/runs/${run.id}`);
  };
  const start = useMutation(
    trpc.runs.start.mutationOptions({
      onSuccess: async (run) => {
        await queryClient.invalidateQueries(trpc.runs.pathFilter());
        await queryClient.invalidateQueries(trpc.pipelines.list.pathFilter());
        // Stages were left out: say so here first; the person goes on to the run.
        if (!run.leftOut) open(run);
      },
    }),
  );

  const started = start.data;
  if (started?.leftOut) {
    const { leftOut } = started;
    return (
      <div className="space-y-4" data-testid="run-left-out">
        <div role="status" className="rounded-lg border border-amber-300 bg-amber-50 px-3 py-2.5 text-sm text-amber-900 dark:border-amber-700 dark:bg-amber-950 dark:text-amber-100">
          <p className="font-medium">
            Run #{started.number} started without {leftOut.environments.map((e) => e.displayName).join(', ')}.
          </p>
          <ul className="mt-1.5 list-disc space-y-0.5 pl-5">
            {leftOut.environments.map((e) => (
              <li key={e.name}>
                {e.displayName}: {e.allowedRoles.length > 0 ? `deploying there needs the role ${e.allowedRoles.join(' or ')}` : 'it allows no role to deploy'}.
              </li>
            ))}
          </ul>
          <p className="mt-1.5">
            Left out: <span className="font-mono text-[13px]">{leftOut.stages.join(', ')}</span>. Once it passes, promote this build from the{' '}
            <Link className="underline" href={`/pipelines/${pipelineId}/promotion`}>
              promotion board
            </Link>{' '}
            (someone allowed to deploy there does).
          </p>
        </div>
        <div className="flex justify-end gap-2 pt-1">
          <Button type="button" variant="primary" onClick={() => open(started)} data-testid="open-started-run">
            Go to run #{started.number}
          </Button>
        </div>
      </div>
    );
  }

  if (pipeline.isPending) {
    return (
      <p className="flex items-center gap-2 py-6 text-sm text-muted">
        <Spinner /> Loading parameters…
      </p>
    );
  }
  if (pipeline.isError || !params) return <ErrorBox error={pipeline.error} title="Could not load this pipeline" />;

  function onSubmit(e: FormEvent) {
    e.preventDefault();
    if (!params) return;
    start.mutate({ pipelineId, version: pipeline.data?.version.version, params: toRunParams(params, shown), ...(rehearsal ? { rehearsal: true } : {}) });
  }

  const set = (name: string, v: string | boolean) => setValues({ ...shown, [name]: v });
  const busy = start.isPending || start.isSuccess;

  return (
    <form onSubmit={onSubmit} className="space-y-4" noValidate>
      {!pipeline.data.valid && (
        <ErrorBox
          title="This version has problems"
          error={{ message: 'Fix them before it can run.', data: { issues: pipeline.data.issues.filter((i) => i.severity === 'error') } }}
        />
      )}
      {params.length === 0 ? (
        <p className="rounded-lg bg-subtle px-3 py-2.5 text-sm text-muted">This pipeline takes no parameters.</p>
      ) : (
        <fieldset className="space-y-3.5" disabled={busy}>
          <legend className="mb-1 text-sm font-medium text-fg">Parameters</legend>
          {params.map((p) => {
            const id = `param-${p.name}`;
            const v = shown[p.name];
            if (p.type === 'boolean') {
              return (
                <label key={p.name} htmlFor={id} className="flex items-start gap-2.5 text-sm">
                  <input
                    id={id}
                    type="checkbox"
                    checked={v === true}
                    onChange={(e) => set(p.name, e.target.checked)}
                    className="mt-0.5 h-4 w-4 rounded border-line-strong accent-[var(--pw-accent)]"
                  />
                  <span>
                    <span className="font-mono text-[13px] font-medium text-fg">{p.name}</span>
                    {p.description && <span className="block text-xs text-muted">{p.description}</span>}
                  </span>
                </label>
              );
            }
            return (
              <div key={p.name}>
                <label htmlFor={id} className="flex items-baseline justify-between gap-2 text-sm">
                  <span className="font-mono text-[13px] font-medium text-fg">
                    {p.name}
                    {p.required && (
                      <span className="ml-0.5 text-red-600 dark:text-red-400" title="required">
                        *
                      </span>
                    )}
                  </span>
                  <span className="text-xs text-muted">{p.type}</span>
                </label>
                <input
                  id={id}
                  name={p.name}
                  type={p.type === 'number' ? 'number' : 'text'}
                  inputMode={p.type === 'number' ? 'decimal' : undefined}
                  step={p.type === 'number' ? 'any' : undefined}
                  required={p.required}
                  value={typeof v === 'string' ? v : ''}
                  onChange={(e) => set(p.name, e.target.value)}
                  placeholder={p.default !== undefined ? `default: ${String(p.default)}` : p.required ? 'required' : 'optional'}
                  className={`${inputClass} mt-1 font-mono`}
                />
                {p.description && <p className="mt-1 text-xs text-muted">{p.description}</p>}
              </div>
            );
          })}
        </fieldset>
      )}

      {start.isError && <ErrorBox error={start.error} title="The run did not start" />}

      <div className="flex justify-end gap-2 pt-1">
        <Button variant="ghost" onClick={onCancel} disabled={busy}>
          Cancel
        </Button>
        <Button type="submit" variant="primary" disabled={busy || !pipeline.data.valid} data-testid="start-run">
          {busy ? (
            <>
              <Spinner /> Starting…
            </>
          ) : (
            'Start run'
          )}
        </Button>
      </div>
    </form>
  );
}
