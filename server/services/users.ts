/**
 * People, for admins: list, create, change role, name and groups, reset a
 * password. Every change is written to the audit log; a password reset also
 * signs the person out everywhere. The last admin cannot lose the role.
 */
import { TRPCError } from '@trpc/server';
import { and, asc, count, eq, max, ne } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { account, auditLog, groupMembers, session, user, type Role } from '../../db/schema';
import { getAuth } from '../auth/auth';
import type { SessionUser } from '../auth/session';
import { createUser, setGroups, type NewUser } from '../auth/users';
import { notFound } from '../errors';

type Actor = Pick<SessionUser, 'id' | 'username'>;

async function audit(db: Db, actor: Actor, action: string, details: Record<string, unknown>) {
  await db.insert(auditLog).values({ actorId: actor.id, actorName: actor.username, action, outcome: 'ok', details });
}

export async function listUsers(db: Db) {
  const [rows, groups, passwords, seen] = await Promise.all([
    db
      .select({ id: user.id, username: user.username, name: user.name, email: user.email, role: user.role, createdAt: user.createdAt })
      .from(user)
      .orderBy(asc(user.username), asc(user.email))
      .limit(5000),
    db.select({ userId: groupMembers.userId, group: groupMembers.group }).from(groupMembers),
    db.select({ userId: account.userId }).from(account).where(eq(account.providerId, 'credential')),
    db.select({ userId: session.userId, last: max(session.updatedAt) }).from(session).groupBy(session.userId),
  ]);
  const groupsOf = new Map<string, string[]>();
  for (const g of groups) groupsOf.set(g.userId, [...(groupsOf.get(g.userId) ?? []), g.group].sort());
  const withPassword = new Set(passwords.map((p) => p.userId));
  const lastSeen = new Map(seen.map((s) => [s.userId, s.last ? new Date(s.last) : null]));
  return rows.map((r) => ({
    ...r,
    groups: groupsOf.get(r.id) ?? [],
    /** Signs in with a password (else only through SSO). */
    password: withPassword.has(r.id),
    lastSeenAt: lastSeen.get(r.id) ?? null,
  }));
}

/** Every group name in use (for suggestions). */
export async function listGroups(db: Db): Promise<string[]> {
  const rows = await db.selectDistinct({ group: groupMembers.group }).from(groupMembers).orderBy(asc(groupMembers.group));
  return rows.map((r) => r.group);
}

function badRequest(message: string): never {
  throw new TRPCError({ code: 'BAD_REQUEST', message });
}

export async function adminCreateUser(db: Db, actor: Actor, input: NewUser) {
  const username = input.username.trim().toLowerCase();
  const email = input.email.trim().toLowerCase();
  if (await db.select({ id: user.id }).from(user).where(eq(user.username, username)).get()) badRequest(`The username "${username}" is taken.`);
  if (await db.select({ id: user.id }).from(user).where(eq(user.email, email)).get()) badRequest(`Someone already has the email ${email}.`);
  let created: SessionUser;
  try {
    created = await createUser(db, { ...input, username, email });
  } catch (err) {
    badRequest(err instanceof Error ? err.message : 'Could not create the account.');
  }
  await audit(db, actor, 'user.create', { userId: created.id, username: created.username, role: created.role, groups: created.groups });
  return created;
}

async function adminCount(db: Db, except: string): Promise<number> {
  const row = await db
    .select({ n: count() })
    .from(user)
    .where(and(eq(user.role, 'admin'), ne(user.id, except)))
    .get();
  return row?.n ?? 0;
}

export async function adminUpdateUser(db: Db, actor: Actor, input: { userId: string; role?: Role; name?: string; groups?: string[] }) {
  const before = await db.select({ id: user.id, username: user.username, name: user.name, role: user.role }).from(user).where(eq(user.id, input.userId)).get();
  if (!before) throw notFound('Person');
  const beforeGroups = (await db.select({ g: groupMembers.group }).from(groupMembers).where(eq(groupMembers.userId, input.userId))).map((r) => r.g).sort();
  if (input.role && input.role !== before.role && before.role === 'admin' && (await adminCount(db, before.id)) === 0) {
    throw new TRPCError({ code: 'CONFLICT', message: 'This is the only admin: make someone else an admin first.' });
  }
  const changes: Record<string, unknown> = {};
  if ((input.role && input.role !== before.role) || (input.name !== undefined && input.name.trim() !== before.name)) {
    const set: { role?: Role; name?: string; updatedAt: Date } = { updatedAt: new Date() };
    if (input.role && input.role !== before.role) {
      set.role = input.role;
      changes.role = { from: before.role, to: input.role };
    }
    if (input.name !== undefined && input.name.trim() !== before.name) {
      if (!input.name.trim()) badRequest('The name cannot be empty.');
      set.name = input.name.trim();
      changes.name = { from: before.name, to: set.name };
    }
    await db.update(user).set(set).where(eq(user.id, before.id));
  }
  if (input.groups) {
    const next = [...new Set(input.groups.map((g) => g.trim()).filter(Boolean))].sort();
    if (next.join('\n') !== beforeGroups.join('\n')) {
      await setGroups(db, before.id, next);
      changes.groups = { from: beforeGroups, to: next };
    }
  }
  if (Object.keys(changes).length > 0) await audit(db, actor, 'user.update', { userId: before.id, username: before.username, ...changes });
  return { changed: Object.keys(changes) };
}

export async function adminResetPassword(db: Db, actor: Actor, input: { userId: string; password: string }) {
  const target = await db.select({ id: user.id, username: user.username }).from(user).where(eq(user.id, input.userId)).get();
  if (!target) throw notFound('Person');
  const ctx = await getAuth().$context;
  const { minPasswordLength, maxPasswordLength } = ctx.password.config;
  if (input.password.length < minPasswordLength || input.password.length > maxPasswordLength) {
    badRequest(`The password must be ${minPasswordLength}–${maxPasswordLength} characters long.`);
  }
  const hash = await ctx.password.hash(input.password);
  const credential = await db
    .select({ id: account.id })
    .from(account)
    .where(and(eq(account.userId, target.id), eq(account.providerId, 'credential')))
    .get();
  if (credential) await db.update(account).set({ password: hash, updatedAt: new Date() }).where(eq(account.id, credential.id));
  else await ctx.internalAdapter.linkAccount({ userId: target.id, providerId: 'credential', accountId: target.id, password: hash });
  // Signed out everywhere: whoever knew the old password loses their sessions too.
  const ended = await db.delete(session).where(eq(session.userId, target.id)).returning({ id: session.id });
  await audit(db, actor, 'user.password_reset', { userId: target.id, username: target.username, sessionsEnded: ended.length });
  return { sessionsEnded: ended.length };
}
