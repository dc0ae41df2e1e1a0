/**
 * Accounts: creating people (with a password hashed by better-auth), their
 * groups, and the first-start admin and demo users.
 *
 * 1. `createUser` writes through better-auth's internal adapter, so the user
 *    row, the `credential` account and the password hash are exactly what
 *    sign-in expects (public sign-up is disabled).
 * 2. `seedUsers` (run by `npm start`) is idempotent: an existing username is
 *    never touched, whatever the environment says now.
 *    - `admin`: password `PIPEWRIGHT_ADMIN_PASSWORD`, or a random one printed once.
 *    - Demo users `ada` (author), `alan` (approver; approvers, qa), `grace`
 *      (approver; approvers, release-managers), `vera` (viewer), password
 *      `pipewright-demo`: created unless `PIPEWRIGHT_DEMO_USERS=false` or
 *      `PIPEWRIGHT_NO_SEED=true` — in production too (with a printed warning).
 */
import { randomInt } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { getDb, type Db } from '../../db/client';
import { groupMembers, user, type Role } from '../../db/schema';
import { getEnv } from '../env';
import { getAuth } from './auth';
import type { SessionUser } from './session';

export type NewUser = {
  /** 3–30 characters: letters, digits, `_` and `.`; stored lower-cased. */
  username: string;
  /** Display name. Default the username. */
  name?: string;
  email: string;
  /** 8–128 characters. */
  password: string;
  /** Default `viewer`. */
  role?: Role;
  groups?: string[];
};

/**
 * Creates a person who signs in with `username` and `password`. Throws if the
 * username or email is taken or invalid. `db` must be the app database (the
 * one `getAuth()` uses); it receives the group memberships.
 */
export async function createUser(db: Db, input: NewUser): Promise<SessionUser> {
  const ctx = await getAuth().$context;
  const { minPasswordLength, maxPasswordLength } = ctx.password.config;
  if (input.password.length < minPasswordLength || input.password.length > maxPasswordLength) {
    throw new Error(`Password must be ${minPasswordLength}–${maxPasswordLength} characters long.`);
  }
  const role = input.role ?? 'viewer';
  const hash = await ctx.password.hash(input.password);
  const created = await ctx.internalAdapter.createUser({
    name: input.name ?? input.username,
    email: input.email,
    emailVerified: true,
    username: input.username,
    displayUsername: input.username,
    role,
  }, { method: 'email-password' });
  const groups = [...new Set(input.groups ?? [])].sort();
  try {
    await ctx.internalAdapter.linkAccount({ userId: created.id, providerId: 'credential', accountId: created.id, password: hash });
    await setGroups(db, created.id, groups);
  } catch (err) {
    await ctx.internalAdapter.deleteUser(created.id);
    throw err;
  }
  const u = created as typeof created & { username?: string | null };
  return { id: created.id, name: created.name, username: u.username ?? input.username.toLowerCase(), email: created.email, role, groups };
}

/** Replaces the person's group memberships with `groups`. */
export async function setGroups(db: Db, userId: string, groups: string[]): Promise<void> {
  const unique = [...new Set(groups.map((g) => g.trim()).filter(Boolean))];
  await db.transaction(async (tx) => {
    await tx.delete(groupMembers).where(eq(groupMembers.userId, userId));
    if (unique.length) await tx.insert(groupMembers).values(unique.map((group) => ({ group, userId })));
  });
}

// ── First start ──────────────────────────────────────────────────────────────

export const DEMO_PASSWORD = 'pipewright-demo';

export const DEMO_USERS: ReadonlyArray<Omit<NewUser, 'password'> & { role: Role }> = [
  { username: 'ada', name: 'Ada Lovelace', email: 'ada@example.com', role: 'author' },
  { username: 'alan', name: 'Alan Turing', email: 'alan@example.com', role: 'approver', groups: ['approvers', 'qa'] },
  { username: 'grace', name: 'Grace Hopper', email: 'grace@example.com', role: 'approver', groups: ['approvers', 'release-managers'] },
  { username: 'vera', name: 'Vera Rubin', email: 'vera@example.com', role: 'viewer' },
];

const PASSWORD_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';

function randomPassword(length = 16): string {
  let out = '';
  for (let i = 0; i < length; i++) out += PASSWORD_ALPHABET[randomInt(PASSWORD_ALPHABET.length)];
  return out;
}

async function usernameExists(db: Db, username: string): Promise<boolean> {
  const row = await db.select({ id: user.id }).from(user).where(eq(user.username, username.toLowerCase())).get();
  return row !== undefined;
}

/**
 * Creates the admin and (unless turned off) the demo users if they do not
 * exist yet. Returns lines for the console: `admin / <password> (admin)` for
 * each account created now, `admin already exists` for each one kept.
 */
export async function seedUsers(): Promise<string[]> {
  const env = getEnv();
  const db = await getDb();
  const lines: string[] = [];

  if (await usernameExists(db, 'admin')) {
    lines.push('admin already exists');
  } else {
    const password = env.PIPEWRIGHT_ADMIN_PASSWORD ?? randomPassword();
    await createUser(db, { username: 'admin', name: 'Administrator', email: env.PIPEWRIGHT_ADMIN_EMAIL, password, role: 'admin' });
    lines.push(`admin / ${password} (admin)`);
  }

  if (!env.PIPEWRIGHT_DEMO_USERS || env.PIPEWRIGHT_NO_SEED) return lines;
  let createdDemo = false;
  for (const demo of DEMO_USERS) {
    if (await usernameExists(db, demo.username)) {
      lines.push(`${demo.username} already exists`);
      continue;
    }
    await createUser(db, { ...demo, password: DEMO_PASSWORD });
    lines.push(`${demo.username} / ${DEMO_PASSWORD} (${demo.role})`);
    createdDemo = true;
  }
  if (createdDemo && env.NODE_ENV === 'production') {
    lines.push('warning: the demo users have a public password; set PIPEWRIGHT_DEMO_USERS=false and remove them on a shared instance');
  }
  return lines;
}
