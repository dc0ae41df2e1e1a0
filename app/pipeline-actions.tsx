'use client';
/**
 * Pipelines list additions: the New pipeline dialog's template form, and per
 * pipeline Edit, Duplicate and Delete (with confirmation).
 */
import { useMutation, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useState, type FormEvent } from 'react';
import { Modal } from '@/app/components/modal';
import { Button, buttonStyles, cx, ErrorBox, inputClass, Spinner } from '@/app/components/ui';
import { useTRPC, useTRPCClient } from '@/app/trpc/react';
import { getStageDefinition } from '@/workflows/model';
import { PIPELINE_TEMPLATES } from '@/workflows/model/templates';

/** Starting from a template (a tab of the New pipeline dialog). */
export function TemplateForm({ onCancel }: { onCancel: () => void }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const [picked, setPicked] = useState(PIPELINE_TEMPLATES[0]!.id);
  const [name, setName] = useState('');
  const template = PIPELINE_TEMPLATES.find((t) => t.id === picked) ?? PIPELINE_TEMPLATES[0]!;
  const create = useMutation(
    trpc.pipelines.create.mutationOptions({
      onSuccess: async (res) => {
        await queryClient.invalidateQueries(trpc.pipelines.pathFilter());
        router.push(`/pipelines/${res.id}/edit`);
      },
    }),
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const finalName = name.trim() || template.name;
    create.mutate({ name: finalName, spec: { ...template.spec, name: finalName }, message: `Created from the “${template.name}” template` });
  };
  const busy = create.isPending || create.isSuccess;
  return (
    <form onSubmit={submit} className="space-y-4">
      <fieldset>
        <legend className="mb-2 text-sm font-medium text-fg">Template</legend>
        <div className="grid gap-3 sm:grid-cols-2">
          {PIPELINE_TEMPLATES.map((t) => {
            const kinds = [...new Set(t.spec.nodes.map((n) => n.kind))];
            return (
              <label
                key={t.id}
                className={cx(
                  'flex cursor-pointer flex-col rounded-xl border p-4 transition-colors',
                  picked === t.id ? 'border-accent bg-accent/5 ring-1 ring-accent' : 'border-line hover:border-line-strong hover:bg-subtle/50',
                )}
                data-testid="template-option"
              >
                <span className="flex items-start gap-2">
                  <input type="radio" name="template" value={t.id} checked={picked === t.id} onChange={() => setPicked(t.id)} className="mt-1 accent-[var(--pw-accent)]" />
                  <span>
                    <span className="block font-medium text-fg">{t.name}</span>
                    <span className="mt-0.5 block text-[13px] text-muted">{t.description}</span>
                  </span>
                </span>
                <span className="mt-3 flex flex-wrap gap-1 pl-6">
                  <span className="rounded bg-subtle px-1.5 py-0.5 text-[11px] text-muted">{t.spec.nodes.length} stages</span>
                  {kinds.map((k) => (
                    <span key={k} className="rounded bg-subtle px-1.5 py-0.5 text-[11px] text-muted">
                      {getStageDefinition(k)?.label ?? k}
                    </span>
                  ))}
                </span>
              </label>
            );
          })}
        </div>
      </fieldset>
      <div>
        <label htmlFor="template-name" className="mb-1 block text-sm font-medium text-fg">
          Name
        </label>
        <input id="template-name" value={name} onChange={(e) => setName(e.target.value)} placeholder={template.name} maxLength={120} className={inputClass} />
      </div>
      {create.isError && <ErrorBox error={create.error} title="The pipeline was not created" />}
      <div className="flex justify-end gap-2">
        <Button variant="ghost" onClick={onCancel} disabled={busy}>
          Cancel
        </Button>
        <Button type="submit" variant="primary" disabled={busy} data-testid="create-from-template">
          {busy ? (
            <>
              <Spinner /> Creating…
            </>
          ) : (
            'Create and open the editor'
          )}
        </Button>
      </div>
    </form>
  );
}

export function PipelineRowActions({ id, name }: { id: string; name: string }) {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const router = useRouter();
  const queryClient = useQueryClient();
  const [confirm, setConfirm] = useState(false);
  const duplicate = useMutation({
    mutationFn: async () => {
      const source = await queryClient.fetchQuery(trpc.pipelines.get.queryOptions({ id }));
      const copyName = `${name} (copy)`.slice(0, 120);
      return client.pipelines.create.mutate({
        name: copyName,
        spec: { ...source.version.spec, name: copyName },
        message: `Duplicated from “${name}” version ${source.version.version}`,
      });
    },
    onSuccess: async (res) => {
      await queryClient.invalidateQueries(trpc.pipelines.pathFilter());
      router.push(`/pipelines/${res.id}/edit`);
    },
  });
  const remove = useMutation(
    trpc.pipelines.delete.mutationOptions({
      onSuccess: async () => {
        setConfirm(false);
        await queryClient.invalidateQueries(trpc.pipelines.pathFilter());
      },
    }),
  );
  return (
    <>
      <Link href={`/pipelines/${id}/edit`} className={cx(buttonStyles.secondary, 'px-2.5 py-1 text-[13px]')} aria-label={`Edit ${name}`} data-testid="edit-pipeline">
        <svg aria-hidden viewBox="0 0 20 20" className="h-3.5 w-3.5" fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" strokeLinejoin="round">
          <path d="M13.5 3.5l3 3L7 16H4v-3z" />
        </svg>
        Edit
      </Link>
      <Button
        variant="ghost"
        className="px-2 py-1 text-[13px]"
        onClick={() => duplicate.mutate()}
        disabled={duplicate.isPending}
        aria-label={`Duplicate ${name}`}
        title={duplicate.isError ? `Could not duplicate: ${duplicate.error.message}` : 'Duplicate'}
        data-testid="duplicate-pipeline"
      >
        {duplicate.isPending ? <Spinner /> : 'Duplicate'}
      </Button>
      <Button variant="ghost" className="px-2 py-1 text-[13px] hover:!text-red-600" onClick={() => setConfirm(true)} aria-label={`Delete ${name}`} data-testid="delete-pipeline">
        Delete
      </Button>
      <Modal open={confirm} onClose={() => setConfirm(false)} title={`Delete “${name}”?`} description="It disappears from the list and can no longer be run or edited. Runs already made are kept in the history and the audit log.">
        <div className="space-y-4">
          {remove.isError && <ErrorBox error={remove.error} title="Not deleted" />}
          <div className="flex justify-end gap-2">
            <Button variant="ghost" onClick={() => setConfirm(false)} disabled={remove.isPending}>
              Cancel
            </Button>
            <Button variant="danger" onClick={() => remove.mutate({ id })} disabled={remove.isPending} data-testid="confirm-delete">
              {remove.isPending ? <Spinner /> : null} Delete pipeline
            </Button>
          </div>
        </div>
      </Modal>
    </>
  );
}
