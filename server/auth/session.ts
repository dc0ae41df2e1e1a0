/**
 * Who is asking: the signed-in person behind a request, and what their role
 * lets them do.
 *
 * 1. `getSessionUser(headers)` reads the session cookie through better-auth
 *    (the session is checked against the database on every call) and adds the
 *    person's groups from `group_members`.
 * 2. Roles: viewer reads only; author edits pipelines and starts or cancels
 *    runs; approver decides gates (and may not edit); admin does everything.
 *    Whether an approver may decide a particular gate is checked against the
 *    gate's own approver list elsewhere (server/services/approvals.ts).
 */
import { eq } from 'drizzle-orm';
import { getDb } from '../../db/client';
import { groupMembers, ROLES, type Role } from '../../db/schema';
import { getAuth } from './auth';

export type SessionUser = {
  id: string;
  name: string;
  /** Lower-cased username; for SSO users without one, their email (never equal to a username, which has no `@`). */
  username: string;
  email: string;
  role: 'viewer' | 'author' | 'approver' | 'admin';
  groups: string[];
  /** The session this request came with (absent for people made outside a request, e.g. `createUser`). */
  sessionId?: string;
};

function toRole(value: unknown): Role {
  return (ROLES as readonly unknown[]).includes(value) ? (value as Role) : 'viewer';
}

/** The signed-in person for these request headers (cookie), or null. */
export async function getSessionUser(headers: Headers): Promise<SessionUser | null> {
  const result = await getAuth().api.getSession({ headers });
  if (!result) return null;
  const u = result.user;
  const db = await getDb();
  const rows = await db.select({ group: groupMembers.group }).from(groupMembers).where(eq(groupMembers.userId, u.id));
  return {
    id: u.id,
    name: u.name,
    username: u.username ?? u.email,
    email: u.email,
    role: toRole(u.role),
    groups: rows.map((r) => r.group).sort(),
    sessionId: result.session.id,
  };
}

type Who = Pick<SessionUser, 'role'> | null | undefined;

/** What a role may do. Each helper is false for a signed-out person (null). */
export const can = {
  /** Create, edit, delete pipelines: authors and admins. */
  edit: (u: Who): boolean => u?.role === 'author' || u?.role === 'admin',
  /** Start and cancel runs: authors and admins. */
  run: (u: Who): boolean => u?.role === 'author' || u?.role === 'admin',
  /** Approve or reject gates (if also named by the gate): approvers and admins. */
  decide: (u: Who): boolean => u?.role === 'approver' || u?.role === 'admin',
  /** Manage users and settings: admins. */
  admin: (u: Who): boolean => u?.role === 'admin',
};
