'use client';
/**
 * Environments in promotion order. Admins create, reorder, edit, delete, and
 * set, replace or delete secrets (a value is typed once, sent once, and never
 * comes back: the list shows names, who set them and when). Others read.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Ago } from '@/app/components/time';
import { Button, Card, EmptyState, ErrorBox, SectionTitle, Tag, inputClass } from '@/app/components/ui';
import { useTRPC } from '@/app/trpc/react';
import type { RouterOutputs } from '@/server/api/root';

type Env = RouterOutputs['environments']['list'][number];
const ROLES = ['viewer', 'author', 'approver', 'admin'] as const;
type Role = (typeof ROLES)[number];

/** `KEY=value` lines ⇄ a record (the first `=` splits; blank lines ignored). */
function parseVariables(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const i = line.indexOf('=');
    if (i < 0) out[line.trim()] = '';
    else out[line.slice(0, i).trim()] = line.slice(i + 1);
  }
  return out;
}
const formatVariables = (v: Record<string, string>) =>
  Object.entries(v)
    .map(([k, x]) => `${k}=${x}`)
    .join('\n');

function useEnvMutations() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const invalidate = () => queryClient.invalidateQueries({ queryKey: trpc.environments.list.queryKey() });
  return {
    create: useMutation(trpc.environments.create.mutationOptions({ onSuccess: invalidate })),
    update: useMutation(trpc.environments.update.mutationOptions({ onSuccess: invalidate })),
    reorder: useMutation(trpc.environments.reorder.mutationOptions({ onSettled: invalidate })),
    remove: useMutation(trpc.environments.delete.mutationOptions({ onSuccess: invalidate })),
    setSecret: useMutation(trpc.environments.setSecret.mutationOptions({ onSuccess: invalidate })),
    deleteSecret: useMutation(trpc.environments.deleteSecret.mutationOptions({ onSuccess: invalidate })),
  };
}

export function EnvironmentsView({ isAdmin }: { isAdmin: boolean }) {
  const trpc = useTRPC();
  const list = useQuery(trpc.environments.list.queryOptions());
  const m = useEnvMutations();
  const envs = list.data ?? [];

  const move = (index: number, delta: number) => {
    const ids = envs.map((e) => e.id);
    const [id] = ids.splice(index, 1);
    ids.splice(index + delta, 0, id!);
    m.reorder.mutate({ ids });
  };

  return (
    <div className={isAdmin ? 'grid gap-6 lg:grid-cols-[minmax(0,1fr)_22rem]' : ''}>
      <section aria-labelledby="env-list">
        <SectionTitle>
          <span id="env-list">Promotion path</span>
        </SectionTitle>
        {list.error && <ErrorBox error={list.error} title="Could not load the environments" />}
        {m.reorder.error && <ErrorBox error={m.reorder.error} title="Could not reorder" className="mb-3" />}
        {m.remove.error && <ErrorBox error={m.remove.error} title="Could not delete" className="mb-3" />}
        {list.data && envs.length === 0 && (
          <EmptyState icon="⇢" title="No environments yet">
            {isAdmin ? 'Add dev, staging and production with the form, in the order builds should move through them.' : 'Ask an admin to add environments.'}
          </EmptyState>
        )}
        <ol className="space-y-3">
          {envs.map((env, i) => (
            <li key={env.id} aria-label={env.displayName}>
              <EnvironmentCard env={env} index={i} count={envs.length} isAdmin={isAdmin} onMove={move} mutations={m} />
            </li>
          ))}
        </ol>
      </section>
      {isAdmin && <CreateForm create={m.create} />}
    </div>
  );
}

function EnvironmentCard({
  env,
  index,
  count,
  isAdmin,
  onMove,
  mutations: m,
}: {
  env: Env;
  index: number;
  count: number;
  isAdmin: boolean;
  onMove: (index: number, delta: number) => void;
  mutations: ReturnType<typeof useEnvMutations>;
}) {
  const [editing, setEditing] = useState(false);
  return (
    <Card className="p-4">
      <div className="flex flex-wrap items-start justify-between gap-3">
        <div className="min-w-0">
          <p className="text-base font-semibold text-fg">
            <span className="mr-1.5 text-muted">{index + 1}.</span>
            {env.displayName} <span className="font-mono text-sm font-normal text-muted">{env.name}</span>
          </p>
          {env.description && <p className="text-sm text-muted">{env.description}</p>}
          <div className="mt-2 flex flex-wrap gap-1.5">
            <Tag title="Roles that may promote into it">promote: {env.promoteRoles.length ? env.promoteRoles.join(', ') : 'nobody'}</Tag>
            {env.requireGate && <Tag className="text-amber-700 dark:text-amber-300">approval gate required</Tag>}
            {env.clusterConnection && (
              <Tag mono>
                ⎈ {env.clusterConnection}
                {env.namespace ? `/${env.namespace}` : ''}
              </Tag>
            )}
          </div>
        </div>
        {isAdmin && (
          <div className="flex flex-wrap gap-1.5">
            <Button aria-label={`Move ${env.displayName} up`} disabled={index === 0 || m.reorder.isPending} onClick={() => onMove(index, -1)}>
              ↑
            </Button>
            <Button aria-label={`Move ${env.displayName} down`} disabled={index === count - 1 || m.reorder.isPending} onClick={() => onMove(index, 1)}>
              ↓
            </Button>
            <Button onClick={() => setEditing((e) => !e)} aria-expanded={editing}>
              {editing ? 'Close' : 'Edit'}
            </Button>
            <Button
              variant="danger"
              onClick={() => {
                if (window.confirm(`Delete the environment "${env.name}"? Its variables and secrets are deleted with it.`)) m.remove.mutate({ id: env.id });
              }}
            >
              Delete
            </Button>
          </div>
        )}
      </div>

      <div className="mt-3 grid gap-4 md:grid-cols-2">
        <div>
          <h3 className="mb-1 text-xs font-semibold uppercase tracking-wide text-muted">Variables</h3>
          {Object.keys(env.variables).length === 0 ? (
            <p className="text-sm text-muted">none</p>
          ) : (
            <dl className="space-y-0.5 font-mono text-xs">
              {Object.entries(env.variables).map(([k, v]) => (
                <div key={k} className="flex gap-2">
                  <dt className="text-fg">{k}</dt>
                  <dd className="truncate text-muted" title={v}>
                    {v}
                  </dd>
                </div>
              ))}
            </dl>
          )}
        </div>
        <Secrets env={env} isAdmin={isAdmin} mutations={m} />
      </div>
      {editing && isAdmin && <EditForm env={env} update={m.update} onDone={() => setEditing(false)} />}
    </Card>
  );
}

function Secrets({ env, isAdmin, mutations: m }: { env: Env; isAdmin: boolean; mutations: ReturnType<typeof useEnvMutations> }) {
  const [name, setName] = useState('');
  const [value, setValue] = useState('');
  const [replacing, setReplacing] = useState<string | null>(null);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    m.setSecret.mutate(
      { id: env.id, name: replacing ?? name, value },
      {
        onSuccess: () => {
          // The value leaves the page as soon as it is stored.
          setValue('');
          setName('');
          setReplacing(null);
        },
      },
    );
  };
  return (
    <div>
      <h3 className="mb-1 text-xs font-semibold uppercase tracking-wide text-muted">Secrets</h3>
      {env.secrets.length === 0 ? (
        <p className="text-sm text-muted">none</p>
      ) : (
        <ul className="space-y-1 text-xs">
          {env.secrets.map((s) => (
            <li key={s.name} className="flex flex-wrap items-center gap-2">
              <span className="font-mono text-fg">{s.name}</span>
              <span className="text-muted" aria-label="value hidden">
                •••
              </span>
              <span className="text-muted">
                set by {s.updatedBy} <Ago date={s.updatedAt} />
              </span>
              {isAdmin && (
                <>
                  <button type="button" className="text-accent hover:underline" onClick={() => setReplacing(s.name)}>
                    Replace
                  </button>
                  <button
                    type="button"
                    className="text-red-700 hover:underline dark:text-red-300"
                    onClick={() => {
                      if (window.confirm(`Delete the secret ${s.name} of ${env.name}? Stages using it will fail until it is set again.`)) m.deleteSecret.mutate({ id: env.id, name: s.name });
                    }}
                  >
                    Delete
                  </button>
                </>
              )}
            </li>
          ))}
        </ul>
      )}
      {isAdmin && (
        <form onSubmit={submit} className="mt-2 flex flex-wrap items-end gap-2" aria-label={`Set a secret of ${env.name}`}>
          {replacing ? (
            <p className="w-full text-xs text-muted">
              New value for <span className="font-mono text-fg">{replacing}</span>{' '}
              <button type="button" className="text-accent hover:underline" onClick={() => setReplacing(null)}>
                cancel
              </button>
            </p>
          ) : (
            <label className="text-xs">
              <span className="sr-only">Secret name</span>
              <input className={`${inputClass} w-36 py-1 font-mono text-xs`} placeholder="NAME" value={name} onChange={(e) => setName(e.target.value)} required />
            </label>
          )}
          <label className="text-xs">
            <span className="sr-only">Secret value</span>
            <input className={`${inputClass} w-40 py-1 text-xs`} type="password" autoComplete="off" placeholder="value" value={value} onChange={(e) => setValue(e.target.value)} required />
          </label>
          <Button type="submit" className="py-1 text-xs" disabled={m.setSecret.isPending}>
            {replacing ? 'Replace' : 'Add secret'}
          </Button>
          {m.setSecret.error && <ErrorBox error={m.setSecret.error} className="w-full" />}
          {m.deleteSecret.error && <ErrorBox error={m.deleteSecret.error} className="w-full" />}
        </form>
      )}
    </div>
  );
}

/** What "protected" means, next to the checkbox (the server enforces each point). */
const PROTECTION_HELP =
  'Every stage bound to it runs only after an approval gate bound to it approved in the same run (success connections only); its gates never approve on timeout and never count the approval of whoever started the run; its variables and secrets are released only after that gate passed.';

function RolesField({ value, onChange }: { value: Role[]; onChange: (r: Role[]) => void }) {
  return (
    <fieldset className="text-sm">
      <legend className="mb-1 font-medium text-fg">Roles that may deploy into it (promote, or start a run with stages bound to it)</legend>
      <div className="flex flex-wrap gap-3">
        {ROLES.map((r) => (
          <label key={r} className="flex items-center gap-1.5">
            <input type="checkbox" checked={value.includes(r)} onChange={(e) => onChange(e.target.checked ? [...value, r] : value.filter((x) => x !== r))} />
            {r}
          </label>
        ))}
      </div>
    </fieldset>
  );
}

function EditForm({ env, update, onDone }: { env: Env; update: ReturnType<typeof useEnvMutations>['update']; onDone: () => void }) {
  const [displayName, setDisplayName] = useState(env.displayName);
  const [description, setDescription] = useState(env.description);
  const [variables, setVariables] = useState(formatVariables(env.variables));
  const [roles, setRoles] = useState<Role[]>(env.promoteRoles);
  const [requireGate, setRequireGate] = useState(env.requireGate);
  const [cluster, setCluster] = useState(env.clusterConnection ?? '');
  const [namespace, setNamespace] = useState(env.namespace ?? '');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    update.mutate(
      { id: env.id, displayName, description, variables: parseVariables(variables), promoteRoles: roles, requireGate, clusterConnection: cluster || null, namespace: namespace || null },
      { onSuccess: onDone },
    );
  };
  return (
    <form onSubmit={submit} className="mt-4 space-y-3 border-t border-line pt-4" aria-label={`Edit ${env.name}`}>
      <div className="grid gap-3 md:grid-cols-2">
        <label className="block text-sm">
          <span className="mb-1 block font-medium text-fg">Display name</span>
          <input className={inputClass} value={displayName} onChange={(e) => setDisplayName(e.target.value)} required />
        </label>
        <label className="block text-sm">
          <span className="mb-1 block font-medium text-fg">Description</span>
          <input className={inputClass} value={description} onChange={(e) => setDescription(e.target.value)} />
        </label>
      </div>
      <label className="block text-sm">
        <span className="mb-1 block font-medium text-fg">Variables (one KEY=value per line)</span>
        <textarea className={`${inputClass} h-24 font-mono text-xs`} value={variables} onChange={(e) => setVariables(e.target.value)} />
      </label>
      <RolesField value={roles} onChange={setRoles} />
      <label className="flex items-center gap-2 text-sm">
        <input type="checkbox" checked={requireGate} onChange={(e) => setRequireGate(e.target.checked)} />
        Protected: requires an approval gate
      </label>
      <p className="text-xs text-muted">{PROTECTION_HELP}</p>
      <div className="grid gap-3 md:grid-cols-2">
        <label className="block text-sm">
          <span className="mb-1 block font-medium text-fg">Cluster connection (the only one its Kubernetes stages may use)</span>
          <input className={inputClass} value={cluster} onChange={(e) => setCluster(e.target.value)} placeholder="prod-eu" />
        </label>
        <label className="block text-sm">
          <span className="mb-1 block font-medium text-fg">Namespace (optional: the only one they may use)</span>
          <input className={inputClass} value={namespace} onChange={(e) => setNamespace(e.target.value)} placeholder="shop" />
        </label>
      </div>
      {update.error && <ErrorBox error={update.error} />}
      <div className="flex gap-2">
        <Button type="submit" variant="primary" disabled={update.isPending}>
          {update.isPending ? 'Saving…' : 'Save'}
        </Button>
        <Button onClick={onDone}>Cancel</Button>
      </div>
    </form>
  );
}

function CreateForm({ create }: { create: ReturnType<typeof useEnvMutations>['create'] }) {
  const [name, setName] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [variables, setVariables] = useState('');
  const [roles, setRoles] = useState<Role[]>(['author', 'admin']);
  const [requireGate, setRequireGate] = useState(false);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate(
      { name, displayName: displayName || name, variables: parseVariables(variables), promoteRoles: roles, requireGate },
      {
        onSuccess: () => {
          setName('');
          setDisplayName('');
          setVariables('');
        },
      },
    );
  };
  return (
    <section aria-labelledby="env-add">
      <Card className="p-4">
        <SectionTitle>
          <span id="env-add">Add an environment</span>
        </SectionTitle>
        <form onSubmit={submit} className="space-y-3">
          <label className="block text-sm">
            <span className="mb-1 block font-medium text-fg">Name</span>
            <input className={`${inputClass} font-mono`} value={name} onChange={(e) => setName(e.target.value)} placeholder="staging" required />
            <span className="mt-1 block text-xs text-muted">Lowercase letters, digits and -; stages refer to it by this name. It goes at the end of the path.</span>
          </label>
          <label className="block text-sm">
            <span className="mb-1 block font-medium text-fg">Display name</span>
            <input className={inputClass} value={displayName} onChange={(e) => setDisplayName(e.target.value)} placeholder="Staging" />
          </label>
          <label className="block text-sm">
            <span className="mb-1 block font-medium text-fg">Variables (KEY=value per line)</span>
            <textarea className={`${inputClass} h-20 font-mono text-xs`} value={variables} onChange={(e) => setVariables(e.target.value)} placeholder="URL=https://staging.example.com" />
          </label>
          <RolesField value={roles} onChange={setRoles} />
          <label className="flex items-center gap-2 text-sm">
            <input type="checkbox" checked={requireGate} onChange={(e) => setRequireGate(e.target.checked)} />
            Protected: requires an approval gate
          </label>
          <p className="text-xs text-muted">{PROTECTION_HELP}</p>
          {create.error && <ErrorBox error={create.error} />}
          <Button type="submit" variant="primary" disabled={create.isPending}>
            {create.isPending ? 'Adding…' : 'Add environment'}
          </Button>
        </form>
      </Card>
    </section>
  );
}
