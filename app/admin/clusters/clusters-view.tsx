'use client';
/**
 * List, add, check and delete cluster connections. The form sends a token or a
 * kubeconfig once; the list only ever shows the server, the namespaces and the
 * last check — the API never returns credentials.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Button, Card, EmptyState, ErrorBox, Notice, SectionTitle, Tag, inputClass } from '@/app/components/ui';
import { useTRPC } from '@/app/trpc/react';

type AuthType = 'token' | 'kubeconfig';

function splitNamespaces(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

export function ClustersView() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const list = useQuery(trpc.clusters.list.queryOptions());
  const invalidate = () => queryClient.invalidateQueries({ queryKey: trpc.clusters.list.queryKey() });
  const create = useMutation(trpc.clusters.create.mutationOptions({ onSuccess: invalidate }));
  const remove = useMutation(trpc.clusters.delete.mutationOptions({ onSuccess: invalidate }));
  const check = useMutation(trpc.clusters.check.mutationOptions({ onSettled: invalidate }));

  const [authType, setAuthType] = useState<AuthType>('token');
  const [name, setName] = useState('');
  const [server, setServer] = useState('');
  const [token, setToken] = useState('');
  const [caPem, setCaPem] = useState('');
  const [kubeconfig, setKubeconfig] = useState('');
  const [namespaces, setNamespaces] = useState('');
  const [checkingId, setCheckingId] = useState<string | null>(null);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const allowedNamespaces = splitNamespaces(namespaces);
    const input =
      authType === 'token'
        ? { authType, name, server, token, caPem: caPem || undefined, allowedNamespaces }
        : { authType, name, kubeconfig, allowedNamespaces };
    create.mutate(input, {
      onSuccess: () => {
        // Secrets leave the page as soon as they are stored.
        setToken('');
        setKubeconfig('');
        setCaPem('');
        setName('');
        setServer('');
        setNamespaces('');
      },
    });
  };

  return (
    <div className="grid gap-6 lg:grid-cols-[minmax(0,1fr)_24rem]">
      <section aria-labelledby="clusters-list">
        <SectionTitle>
          <span id="clusters-list">Registered clusters</span>
        </SectionTitle>
        {list.error && <ErrorBox error={list.error} title="Could not load the connections" />}
        {check.error && <ErrorBox error={check.error} title="Check failed" className="mb-3" />}
        {remove.error && <ErrorBox error={remove.error} title="Could not delete" className="mb-3" />}
        {list.data && list.data.length === 0 && (
          <EmptyState icon="⎈" title="No clusters yet">
            Add one with the form: a server URL and a service-account token, or a self-contained kubeconfig.
          </EmptyState>
        )}
        <ul className="space-y-3">
          {list.data?.map((c) => (
            <li key={c.id}>
              <Card className="p-4">
                <div className="flex flex-wrap items-start justify-between gap-3">
                  <div className="min-w-0">
                    <p className="font-mono text-sm font-semibold text-fg">{c.name}</p>
                    <p className="truncate text-sm text-muted" title={c.server}>
                      {c.server || '(server from kubeconfig)'}
                    </p>
                    <div className="mt-2 flex flex-wrap gap-1.5">
                      <Tag>{c.authType === 'token' ? 'token' : 'kubeconfig'}</Tag>
                      {c.hasCa && <Tag>custom CA</Tag>}
                      {c.insecureSkipTlsVerify && <Tag className="text-amber-700 dark:text-amber-300">TLS not verified</Tag>}
                      {c.allowedNamespaces.length === 0 ? (
                        <Tag>all namespaces</Tag>
                      ) : (
                        c.allowedNamespaces.map((ns) => (
                          <Tag key={ns} mono>
                            {ns}
                          </Tag>
                        ))
                      )}
                    </div>
                  </div>
                  <div className="flex gap-2">
                    <Button
                      onClick={() => {
                        setCheckingId(c.id);
                        check.mutate({ id: c.id }, { onSettled: () => setCheckingId(null) });
                      }}
                      disabled={checkingId === c.id}
                    >
                      {checkingId === c.id ? 'Checking…' : 'Check connection'}
                    </Button>
                    <Button
                      variant="danger"
                      onClick={() => {
                        if (window.confirm(`Delete the connection "${c.name}"? Stages that use it will fail.`)) remove.mutate({ id: c.id });
                      }}
                    >
                      Delete
                    </Button>
                  </div>
                </div>
                {c.lastCheckedAt && (
                  <Notice tone={c.lastCheckOk ? 'success' : 'warning'} className="mt-3">
                    {c.lastCheckOk ? '✓ ' : '✗ '}
                    {c.lastCheckMessage}{' '}
                    <span className="text-xs opacity-75">({new Date(c.lastCheckedAt).toLocaleString()})</span>
                  </Notice>
                )}
              </Card>
            </li>
          ))}
        </ul>
      </section>

      <section aria-labelledby="clusters-add">
        <Card className="p-4">
          <SectionTitle>
            <span id="clusters-add">Add a cluster</span>
          </SectionTitle>
          <form onSubmit={submit} className="space-y-3">
            <label className="block text-sm">
              <span className="mb-1 block font-medium text-fg">Name</span>
              <input className={inputClass} value={name} onChange={(e) => setName(e.target.value)} placeholder="prod-eu" required />
            </label>
            <fieldset className="flex gap-4 text-sm">
              <legend className="sr-only">Credentials</legend>
              {(['token', 'kubeconfig'] as const).map((t) => (
                <label key={t} className="flex items-center gap-1.5">
                  <input type="radio" name="authType" checked={authType === t} onChange={() => setAuthType(t)} />
                  {t === 'token' ? 'Server + token' : 'Kubeconfig'}
                </label>
              ))}
            </fieldset>
            {authType === 'token' ? (
              <>
                <label className="block text-sm">
                  <span className="mb-1 block font-medium text-fg">API server URL</span>
                  <input className={inputClass} value={server} onChange={(e) => setServer(e.target.value)} placeholder="https://k8s.example.com:6443" required />
                </label>
                <label className="block text-sm">
                  <span className="mb-1 block font-medium text-fg">Bearer token</span>
                  <input className={inputClass} type="password" autoComplete="off" value={token} onChange={(e) => setToken(e.target.value)} required />
                </label>
                <label className="block text-sm">
                  <span className="mb-1 block font-medium text-fg">CA certificate (PEM, optional)</span>
                  <textarea className={`${inputClass} h-24 font-mono text-xs`} value={caPem} onChange={(e) => setCaPem(e.target.value)} placeholder="-----BEGIN CERTIFICATE-----" />
                </label>
              </>
            ) : (
              <label className="block text-sm">
                <span className="mb-1 block font-medium text-fg">Kubeconfig (self-contained: inline certificates and token)</span>
                <textarea className={`${inputClass} h-40 font-mono text-xs`} autoComplete="off" value={kubeconfig} onChange={(e) => setKubeconfig(e.target.value)} required />
              </label>
            )}
            <label className="block text-sm">
              <span className="mb-1 block font-medium text-fg">Allowed namespaces</span>
              <input className={inputClass} value={namespaces} onChange={(e) => setNamespaces(e.target.value)} placeholder="staging, prod (empty: all)" />
              <span className="mt-1 block text-xs text-muted">Stages using this connection may touch only these namespaces; empty allows any, and cluster-wide objects.</span>
            </label>
            {create.error && <ErrorBox error={create.error} />}
            <Button type="submit" variant="primary" disabled={create.isPending}>
              {create.isPending ? 'Saving…' : 'Add cluster'}
            </Button>
          </form>
        </Card>
      </section>
    </div>
  );
}
