'use client';
/**
 * Register, list and revoke runners. A new runner's token is shown once, with
 * the command that starts it; the list shows who is online (called in within
 * 30 s), when each was last seen, its version, host, labels and current stage.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Button, Card, EmptyState, ErrorBox, Notice, SectionTitle, Tag, inputClass } from '@/app/components/ui';
import { useTRPC } from '@/app/trpc/react';

const splitLabels = (text: string) =>
  text
    .split(/[\s,]+/)
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);

function ago(date: Date | string | null): string {
  if (!date) return 'never';
  const s = Math.max(0, Math.round((Date.now() - new Date(date).getTime()) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  return new Date(date).toLocaleString();
}

export function RunnersView() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  // Refreshed every 5 s so online/offline and the current stage follow the heartbeats.
  const list = useQuery({ ...trpc.runners.list.queryOptions(), refetchInterval: 5000 });
  const invalidate = () => queryClient.invalidateQueries({ queryKey: trpc.runners.list.queryKey() });
  const register = useMutation(trpc.runners.register.mutationOptions({ onSuccess: invalidate }));
  const revoke = useMutation(trpc.runners.revoke.mutationOptions({ onSuccess: invalidate }));

  const [name, setName] = useState('');
  const [labels, setLabels] = useState('');
  const [shown, setShown] = useState<{ name: string; token: string; labels: string[] } | null>(null);
  const [copied, setCopied] = useState(false);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    register.mutate(
      { name, labels: splitLabels(labels) },
      {
        onSuccess: ({ runner, token }) => {
          setShown({ name: runner.name, token, labels: runner.labels });
          setCopied(false);
          setName('');
          setLabels('');
        },
      },
    );
  };
  const origin = typeof window === 'undefined' ? '' : window.location.origin;
  const command = shown
    ? `npm run runner -- --url ${origin} --token ${shown.token}${shown.labels.length ? ` --labels ${shown.labels.join(',')}` : ''}`
    : '';

  return (
    <div className="grid gap-6 lg:grid-cols-[minmax(0,1fr)_24rem]">
      <section aria-labelledby="runners-list">
        <SectionTitle>
          <span id="runners-list">Registered runners</span>
        </SectionTitle>
        {list.error && <ErrorBox error={list.error} title="Could not load the runners" />}
        {revoke.error && <ErrorBox error={revoke.error} title="Could not revoke" className="mb-3" />}
        {list.data && list.data.length === 0 && (
          <EmptyState icon="⚙" title="No runners yet">
            Register one with the form, then start it on a machine that reaches Temporal and this app.
          </EmptyState>
        )}
        <ul className="space-y-3">
          {list.data?.map((r) => (
            <li key={r.id}>
              <Card className="p-4" data-testid={`runner-${r.name}`}>
                <div className="flex flex-wrap items-start justify-between gap-3">
                  <div className="min-w-0">
                    <p className="flex items-center gap-2 font-mono text-sm font-semibold text-fg">
                      <span
                        aria-hidden
                        className={`inline-block h-2 w-2 rounded-full ${r.revokedAt ? 'bg-red-500' : r.online ? 'bg-emerald-500' : 'bg-zinc-400'}`}
                      />
                      {r.name}
                      <span className="font-sans text-xs font-normal text-muted">{r.revokedAt ? 'revoked' : r.online ? 'online' : 'offline'}</span>
                    </p>
                    <p className="text-sm text-muted">
                      Last seen {ago(r.lastSeenAt)}
                      {r.host ? ` · ${r.host}` : ''}
                      {r.version ? ` · v${r.version}` : ''}
                    </p>
                    <div className="mt-2 flex flex-wrap gap-1.5">
                      {r.labels.length === 0 ? (
                        <Tag>default pool</Tag>
                      ) : (
                        r.labels.map((l) => (
                          <Tag key={l} mono>
                            {l}
                          </Tag>
                        ))
                      )}
                    </div>
                    {r.currentStage && r.online && (
                      <p className="mt-2 text-sm">
                        Running <span className="font-mono">{r.currentStage}</span>
                      </p>
                    )}
                  </div>
                  {!r.revokedAt && (
                    <Button
                      variant="danger"
                      onClick={() => {
                        if (window.confirm(`Revoke the runner "${r.name}"? It stops at its next call; its running stage is retried on another runner.`)) {
                          revoke.mutate({ id: r.id });
                        }
                      }}
                    >
                      Revoke
                    </Button>
                  )}
                </div>
              </Card>
            </li>
          ))}
        </ul>
      </section>

      <section aria-labelledby="runners-add">
        <Card className="p-4">
          <SectionTitle>
            <span id="runners-add">Register a runner</span>
          </SectionTitle>
          {shown ? (
            <div className="space-y-3">
              <Notice tone="warning">
                The token of <span className="font-mono">{shown.name}</span> is shown only now. Copy it; it cannot be shown again (revoke and register anew if it is lost).
              </Notice>
              <textarea readOnly className={`${inputClass} h-28 font-mono text-xs`} value={command} aria-label="Command that starts the runner" />
              <div className="flex gap-2">
                <Button
                  variant="primary"
                  onClick={() => {
                    void navigator.clipboard.writeText(command).then(() => setCopied(true));
                  }}
                >
                  {copied ? 'Copied' : 'Copy command'}
                </Button>
                <Button onClick={() => setShown(null)}>Done</Button>
              </div>
            </div>
          ) : (
            <form onSubmit={submit} className="space-y-3">
              <label className="block text-sm">
                <span className="mb-1 block font-medium text-fg">Name</span>
                <input className={inputClass} value={name} onChange={(e) => setName(e.target.value)} placeholder="build-1" required />
              </label>
              <label className="block text-sm">
                <span className="mb-1 block font-medium text-fg">Labels</span>
                <input className={inputClass} value={labels} onChange={(e) => setLabels(e.target.value)} placeholder="linux, k8s (at most 4)" />
                <span className="mt-1 block text-xs text-muted">Stages that ask for labels run only on runners that have all of them.</span>
              </label>
              {register.error && <ErrorBox error={register.error} />}
              <Button type="submit" variant="primary" disabled={register.isPending}>
                {register.isPending ? 'Registering…' : 'Register runner'}
              </Button>
            </form>
          )}
        </Card>
      </section>
    </div>
  );
}
