'use client';
/**
 * People: the list with each person's role and groups (changed in place), a
 * form to create an account, and a password reset that signs the person out
 * everywhere. The server checks and audits every change.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useId, useState, type FormEvent } from 'react';
import { Modal } from '@/app/components/modal';
import { Ago } from '@/app/components/time';
import { Button, Card, ErrorBox, Notice, SectionTitle, Spinner, Tag, inputClass } from '@/app/components/ui';
import { ROLE_LABEL } from '@/app/lib/format';
import { useTRPC } from '@/app/trpc/react';
import type { RouterOutputs } from '@/server/api/root';

type Person = RouterOutputs['users']['list'][number];
type Role = Person['role'];
const ROLES: Role[] = ['viewer', 'author', 'approver', 'admin'];
const ROLE_HELP: Record<Role, string> = {
  viewer: 'sees everything, changes nothing',
  author: 'edits pipelines, starts and cancels runs',
  approver: 'decides gates that name them',
  admin: 'everything, plus people and settings',
};

const splitGroups = (text: string) =>
  [
    ...new Set(
      text
        .split(/[\s,]+/)
        .map((g) => g.trim())
        .filter(Boolean),
    ),
  ];

export function UsersView({ currentUserId }: { currentUserId: string }) {
  const trpc = useTRPC();
  const people = useQuery(trpc.users.list.queryOptions());
  const groups = useQuery(trpc.users.groups.queryOptions());
  const [resetFor, setResetFor] = useState<Person | null>(null);
  const [flash, setFlash] = useState<string | null>(null);

  return (
    <div className="grid gap-6 lg:grid-cols-[minmax(0,1fr)_22rem]">
      <section aria-labelledby="people-list">
        <SectionTitle>
          <span id="people-list">People</span>
        </SectionTitle>
        {flash && (
          <Notice tone="success" className="mb-3">
            <span data-testid="users-flash">{flash}</span>
          </Notice>
        )}
        {people.isError && <ErrorBox error={people.error} title="Could not load people" />}
        {people.isPending ? (
          <p className="flex items-center gap-2 py-6 text-sm text-muted">
            <Spinner /> Loading…
          </p>
        ) : (
          <Card className="overflow-hidden">
            <div className="overflow-x-auto">
              <table className="w-full text-left text-sm">
                <thead className="border-b border-line bg-subtle/60 text-xs uppercase tracking-wide text-muted">
                  <tr>
                    <th scope="col" className="px-4 py-2.5 font-medium">
                      Person
                    </th>
                    <th scope="col" className="px-4 py-2.5 font-medium">
                      Role
                    </th>
                    <th scope="col" className="px-4 py-2.5 font-medium">
                      Groups
                    </th>
                    <th scope="col" className="px-4 py-2.5 font-medium">
                      <span className="sr-only">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody className="divide-y divide-line">
                  {people.data?.map((p) => (
                    <PersonRow key={p.id} p={p} self={p.id === currentUserId} onReset={() => setResetFor(p)} onDone={setFlash} groupSuggestions={groups.data ?? []} />
                  ))}
                </tbody>
              </table>
            </div>
          </Card>
        )}
      </section>
      <aside>
        <NewPerson onCreated={(p) => setFlash(`Created ${p.username} (${ROLE_LABEL[p.role]}).`)} />
      </aside>
      <ResetPassword person={resetFor} onClose={() => setResetFor(null)} onDone={setFlash} />
    </div>
  );
}

function PersonRow({
  p,
  self,
  onReset,
  onDone,
  groupSuggestions,
}: {
  p: Person;
  self: boolean;
  onReset: () => void;
  onDone: (message: string) => void;
  groupSuggestions: string[];
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [groupsText, setGroupsText] = useState(p.groups.join(', '));
  const listId = useId();
  const update = useMutation(
    trpc.users.update.mutationOptions({
      onSuccess: async (res, input) => {
        await queryClient.invalidateQueries(trpc.users.pathFilter());
        if (res.changed.length) onDone(`Saved ${p.username}: ${input.role ? `role ${ROLE_LABEL[input.role]}` : 'groups'}.`);
      },
    }),
  );
  const groupsChanged = splitGroups(groupsText).sort().join(',') !== [...p.groups].sort().join(',');
  return (
    <tr data-testid="person" data-username={p.username ?? ''} className="align-top">
      <td className="px-4 py-3">
        <p className="font-medium text-fg">
          {p.name} {self && <Tag className="ml-1">you</Tag>}
        </p>
        <p className="text-xs text-muted">
          <span className="font-mono">{p.username ?? '(SSO)'}</span> · {p.email}
        </p>
        <p className="mt-0.5 text-xs text-muted">
          {p.lastSeenAt ? (
            <>
              last active <Ago date={p.lastSeenAt} />
            </>
          ) : (
            'never signed in'
          )}
          {!p.password && ' · single sign-on only'}
        </p>
      </td>
      <td className="px-4 py-3">
        <label className="sr-only" htmlFor={`role-${p.id}`}>
          Role of {p.username}
        </label>
        <select
          id={`role-${p.id}`}
          value={p.role}
          disabled={update.isPending}
          onChange={(e) => update.mutate({ userId: p.id, role: e.target.value as Role })}
          className={`${inputClass} w-32 py-1.5`}
          data-testid="role-select"
        >
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {ROLE_LABEL[r]}
            </option>
          ))}
        </select>
        {update.isError && <ErrorBox error={update.error} className="mt-2" />}
      </td>
      <td className="px-4 py-3">
        <form
          className="flex items-center gap-1.5"
          onSubmit={(e) => {
            e.preventDefault();
            update.mutate({ userId: p.id, groups: splitGroups(groupsText) });
          }}
        >
          <label className="sr-only" htmlFor={`groups-${p.id}`}>
            Groups of {p.username}
          </label>
          <input
            id={`groups-${p.id}`}
            list={listId}
            value={groupsText}
            onChange={(e) => setGroupsText(e.target.value)}
            placeholder="no groups"
            className={`${inputClass} min-w-40 py-1.5`}
            data-testid="groups-input"
          />
          <datalist id={listId}>
            {groupSuggestions.map((g) => (
              <option key={g} value={g} />
            ))}
          </datalist>
          {groupsChanged && (
            <Button type="submit" variant="secondary" disabled={update.isPending} className="py-1">
              Save
            </Button>
          )}
        </form>
      </td>
      <td className="px-4 py-3 text-right">
        <Button variant="ghost" onClick={onReset} className="text-xs">
          Reset password
        </Button>
      </td>
    </tr>
  );
}

function NewPerson({ onCreated }: { onCreated: (p: { username: string; role: Role }) => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [form, setForm] = useState({ username: '', name: '', email: '', password: '', role: 'viewer' as Role, groups: '' });
  const create = useMutation(
    trpc.users.create.mutationOptions({
      onSuccess: async (p) => {
        await queryClient.invalidateQueries(trpc.users.pathFilter());
        setForm({ username: '', name: '', email: '', password: '', role: 'viewer', groups: '' });
        onCreated(p);
      },
    }),
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate({ ...form, name: form.name || form.username, groups: splitGroups(form.groups) });
  };
  const field = (key: keyof typeof form, label: string, props: Record<string, unknown> = {}) => (
    <div>
      <label htmlFor={`new-${key}`} className="mb-1 block text-sm font-medium text-fg">
        {label}
      </label>
      <input
        id={`new-${key}`}
        value={form[key]}
        onChange={(e) => setForm((f) => ({ ...f, [key]: e.target.value }))}
        className={inputClass}
        {...props}
      />
    </div>
  );
  return (
    <Card className="p-5">
      <h2 className="mb-4 font-semibold text-fg">New person</h2>
      <form onSubmit={submit} className="space-y-3">
        {field('username', 'Username', { required: true, minLength: 3, maxLength: 30, pattern: '[A-Za-z0-9_.]+', autoComplete: 'off' })}
        {field('name', 'Name', { maxLength: 100, placeholder: 'Default: the username' })}
        {field('email', 'Email', { required: true, type: 'email', autoComplete: 'off' })}
        {field('password', 'Password', { required: true, type: 'password', minLength: 8, maxLength: 128, autoComplete: 'new-password' })}
        <div>
          <label htmlFor="new-role" className="mb-1 block text-sm font-medium text-fg">
            Role
          </label>
          <select id="new-role" value={form.role} onChange={(e) => setForm((f) => ({ ...f, role: e.target.value as Role }))} className={inputClass}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {ROLE_LABEL[r]} — {ROLE_HELP[r]}
              </option>
            ))}
          </select>
        </div>
        {field('groups', 'Groups', { placeholder: 'e.g. approvers, qa' })}
        {create.isError && <ErrorBox error={create.error} />}
        <Button type="submit" variant="primary" disabled={create.isPending} className="w-full">
          {create.isPending && <Spinner />} Create account
        </Button>
      </form>
    </Card>
  );
}

function ResetPassword({ person, onClose, onDone }: { person: Person | null; onClose: () => void; onDone: (message: string) => void }) {
  const trpc = useTRPC();
  const [password, setPassword] = useState('');
  const reset = useMutation(
    trpc.users.resetPassword.mutationOptions({
      onSuccess: (res) => {
        onDone(`New password set for ${person?.username}; ${res.sessionsEnded} session(s) ended.`);
        setPassword('');
        onClose();
      },
    }),
  );
  return (
    <Modal
      open={person !== null}
      onClose={onClose}
      title={`Reset the password of ${person?.username ?? ''}?`}
      description="They are signed out everywhere and sign in with the new password. Tell it to them over a channel you trust."
    >
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (person) reset.mutate({ userId: person.id, password });
        }}
        className="space-y-4"
      >
        <div>
          <label htmlFor="reset-password" className="mb-1 block text-sm font-medium text-fg">
            New password
          </label>
          <input
            id="reset-password"
            type="password"
            autoComplete="new-password"
            required
            minLength={8}
            maxLength={128}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            className={inputClass}
          />
        </div>
        {reset.isError && <ErrorBox error={reset.error} />}
        <div className="flex justify-end gap-2">
          <Button variant="ghost" onClick={onClose} disabled={reset.isPending}>
            Cancel
          </Button>
          <Button type="submit" variant="danger" disabled={reset.isPending}>
            {reset.isPending && <Spinner />} Set password
          </Button>
        </div>
      </form>
    </Modal>
  );
}
