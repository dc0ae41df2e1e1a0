/**
 * Sign-in against a real temporary SQLite file: seeding, password sign-in
 * (library API and HTTP handler), sessions → SessionUser, hashing, rate limits.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'pipewright-auth-'));
const BASE = 'http://localhost:3999';
Object.assign(process.env, {
  DATABASE_URL: `file:${join(dir, 'x.db')}`,
  PIPEWRIGHT_DATA_DIR: dir,
  PIPEWRIGHT_URL: BASE,
  PIPEWRIGHT_ADMIN_PASSWORD: 'admin-test-password',
  PIPEWRIGHT_DEMO_USERS: 'true',
  PIPEWRIGHT_NO_SEED: 'false',
});
for (const k of ['BETTER_AUTH_SECRET', 'PIPEWRIGHT_AUTH_SECRET', 'PIPEWRIGHT_OIDC_ISSUER', 'PIPEWRIGHT_OIDC_CLIENT_ID', 'PIPEWRIGHT_OIDC_CLIENT_SECRET']) {
  delete process.env[k];
}

const { resetEnvCache } = await import('@/server/env');
resetEnvCache();
const { migrate } = await import('@/db/migrate');
const { getDb, closeAllDbs } = await import('@/db/client');
const schema = await import('@/db/schema');
const { getAuth, resetAuth, COOKIE_PREFIX } = await import('@/server/auth/auth');
const { SIGN_IN_LIMITS, getSignInLimiter } = await import('@/server/auth/rate-limit');
const authRoute = await import('@/app/api/auth/[...all]/route');
const { getSessionUser, can } = await import('@/server/auth/session');
const { seedUsers, createUser, setGroups, DEMO_PASSWORD } = await import('@/server/auth/users');
const { safeNext } = await import('@/app/lib/safe-next');

/** The `name=value` pairs of a response's Set-Cookie headers, as a request Cookie header. */
function cookieHeader(res: Response): string {
  return res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
}

async function signIn(username: string, password: string): Promise<Headers> {
  const res = await getAuth().api.signInUsername({ body: { username, password }, asResponse: true });
  expect(res.status).toBe(200);
  return new Headers({ cookie: cookieHeader(res) });
}

beforeAll(async () => {
  await migrate();
});

afterAll(() => {
  resetAuth();
  closeAllDbs();
  rmSync(dir, { recursive: true, force: true });
});

describe('seedUsers', () => {
  it('creates the admin and one demo user per role once', async () => {
    const first = await seedUsers();
    expect(first).toEqual([
      'admin / admin-test-password (admin)',
      'ada / pipewright-demo (author)',
      'alan / pipewright-demo (approver)',
      'grace / pipewright-demo (approver)',
      'vera / pipewright-demo (viewer)',
    ]);
    const second = await seedUsers();
    expect(second).toEqual(['admin already exists', 'ada already exists', 'alan already exists', 'grace already exists', 'vera already exists']);

    const db = await getDb();
    const users = await db.select({ username: schema.user.username, role: schema.user.role }).from(schema.user);
    expect(users.map((u) => `${u.username}:${u.role}`).sort()).toEqual(['ada:author', 'admin:admin', 'alan:approver', 'grace:approver', 'vera:viewer']);
  });

  it('generated and kept the auth secret under the data dir, private', () => {
    const st = statSync(join(dir, 'auth-secret'));
    expect(st.size).toBeGreaterThanOrEqual(32);
    expect(st.mode & 0o077).toBe(0);
  });
});

describe('sign-in', () => {
  it('signs in with the right password and the session yields role and groups', async () => {
    const res = await getAuth().api.signInUsername({ body: { username: 'alan', password: DEMO_PASSWORD }, asResponse: true });
    expect(res.status).toBe(200);
    const setCookie = res.headers.getSetCookie().join('\n');
    expect(setCookie).toContain(`${COOKIE_PREFIX}.session_token=`);
    expect(setCookie).toMatch(/HttpOnly/i);

    const who = await getSessionUser(new Headers({ cookie: cookieHeader(res) }));
    expect(who).toMatchObject({ username: 'alan', name: 'Alan Turing', email: 'alan@example.com', role: 'approver', groups: ['approvers', 'qa'] });
    expect(who?.id).toEqual(expect.any(String));
  });

  it('accepts the username in any case', async () => {
    const headers = await signIn('Grace', DEMO_PASSWORD);
    expect((await getSessionUser(headers))?.groups).toEqual(['approvers', 'release-managers']);
  });

  it('refuses a wrong password and an unknown user', async () => {
    await expect(getAuth().api.signInUsername({ body: { username: 'ada', password: 'not-the-password' } })).rejects.toMatchObject({ statusCode: 401 });
    await expect(getAuth().api.signInUsername({ body: { username: 'nobody', password: DEMO_PASSWORD } })).rejects.toMatchObject({ statusCode: 401 });
  });

  it('has no session without a valid cookie, nor after sign-out', async () => {
    expect(await getSessionUser(new Headers())).toBeNull();
    expect(await getSessionUser(new Headers({ cookie: `${COOKIE_PREFIX}.session_token=forged.value` }))).toBeNull();
    const headers = await signIn('vera', DEMO_PASSWORD);
    expect((await getSessionUser(headers))?.role).toBe('viewer');
    await getAuth().api.signOut({ headers });
    expect(await getSessionUser(headers)).toBeNull();
  });

  it('stores a salted hash, not the password', async () => {
    const db = await getDb();
    const row = await db
      .select({ password: schema.account.password, providerId: schema.account.providerId })
      .from(schema.account)
      .innerJoin(schema.user, eq(schema.user.id, schema.account.userId))
      .where(eq(schema.user.username, 'ada'))
      .get();
    expect(row?.providerId).toBe('credential');
    expect(row?.password).toBeTruthy();
    expect(row?.password).not.toContain(DEMO_PASSWORD);
    expect(row?.password).toMatch(/^[0-9a-f]+:[0-9a-f]+$/);
    const other = await db
      .select({ password: schema.account.password })
      .from(schema.account)
      .innerJoin(schema.user, eq(schema.user.id, schema.account.userId))
      .where(eq(schema.user.username, 'vera'))
      .get();
    expect(other?.password).not.toBe(row?.password);
  });

  it('does not let visitors sign up or raise their own role', async () => {
    const signUp = await getAuth().handler(
      new Request(`${BASE}/api/auth/sign-up/email`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: BASE, 'x-forwarded-for': '198.51.100.1' },
        body: JSON.stringify({ email: 'mallory@example.com', password: 'mallory-password', name: 'Mallory', username: 'mallory' }),
      }),
    );
    expect(signUp.status).toBe(404);

    const headers = await signIn('vera', DEMO_PASSWORD);
    headers.set('content-type', 'application/json');
    headers.set('origin', BASE);
    // `/update-user` is not offered at all: no role, no username, no display name (approvers are known by it).
    for (const change of [{ role: 'admin' }, { username: 'grace2' }, { name: 'Grace Hopper' }]) {
      const update = await getAuth().handler(new Request(`${BASE}/api/auth/update-user`, { method: 'POST', headers, body: JSON.stringify(change) }));
      expect(update.status).toBe(404);
    }
    expect(await getSessionUser(headers)).toMatchObject({ username: 'vera', name: 'Vera Rubin', role: 'viewer' });
  });
});

describe('rate limits', () => {
  /** Through the app's HTTP route (CSRF check, per-client limiter, then better-auth). */
  const viaRoute = (body: Record<string, unknown>, ip?: string, cookie?: string) =>
    authRoute.POST(
      new Request(`${BASE}/api/auth/sign-in/${'email' in body ? 'email' : 'username'}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: BASE, ...(ip ? { 'x-forwarded-for': ip } : {}), ...(cookie ? { cookie } : {}) },
        body: JSON.stringify(body),
      }),
    );
  const withTrustProxy = async (value: 'true' | 'false', fn: () => Promise<void>) => {
    process.env.PIPEWRIGHT_TRUST_PROXY = value;
    resetEnvCache();
    getSignInLimiter().reset();
    try {
      await fn();
    } finally {
      delete process.env.PIPEWRIGHT_TRUST_PROXY;
      resetEnvCache();
      getSignInLimiter().reset();
    }
  };

  it(`behind a trusted proxy, refuses the ${SIGN_IN_LIMITS.perClient.max + 1}th rapid sign-in from one address, not from another`, async () => {
    await withTrustProxy('true', async () => {
      // The proxy appends the address it saw; what the client wrote to the left does not count.
      for (let i = 0; i < SIGN_IN_LIMITS.perClient.max; i++) {
        const res = await viaRoute({ username: 'ada', password: `wrong-${i}` }, `10.9.9.${i}, 203.0.113.7`);
        expect(res.status).toBe(401);
      }
      const limited = await viaRoute({ username: 'alan', password: DEMO_PASSWORD }, '203.0.113.7');
      expect(limited.status).toBe(429);
      const retryAfter = Number(limited.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(SIGN_IN_LIMITS.perClient.window);
      expect((await viaRoute({ username: 'ada', password: DEMO_PASSWORD }, '203.0.113.8')).status).toBe(200);
    });
  });

  it('without a trusted proxy, a forged X-Forwarded-For buys nothing, and one account\'s attempts never block another', async () => {
    await withTrustProxy('false', async () => {
      for (let i = 0; i < SIGN_IN_LIMITS.perClient.max; i++) {
        const res = await viaRoute({ username: 'alan', password: `wrong-${i}` }, `198.51.100.${i}`);
        expect(res.status).toBe(401);
      }
      expect((await viaRoute({ username: 'ALAN', password: DEMO_PASSWORD }, '198.51.100.99')).status).toBe(429);
      // Everybody else still signs in (no shared bucket), with or without the header.
      expect((await viaRoute({ username: 'vera', password: DEMO_PASSWORD })).status).toBe(200);
      expect((await viaRoute({ username: 'ada', password: DEMO_PASSWORD }, '198.51.100.1')).status).toBe(200);
    });
  });

  it('refuses sign-ins from another origin (CSRF) before counting them', async () => {
    const res = await authRoute.POST(
      new Request(`${BASE}/api/auth/sign-in/username`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: 'https://evil.example' },
        body: JSON.stringify({ username: 'ada', password: DEMO_PASSWORD }),
      }),
    );
    expect(res.status).toBe(403);
    const rows = await (await getDb()).select().from(schema.auditLog).where(eq(schema.auditLog.action, 'auth.sign-in.username'));
    expect(rows.at(-1)).toMatchObject({ outcome: 'refused', reason: expect.stringContaining('evil.example') });
  });

  it('a stranger\'s wrong guesses never lock the person\'s own browser out; username and e-mail count together', { timeout: 30_000 }, async () => {
    await withTrustProxy('false', async () => {
      // Grace signed in from her browser before: it holds a device cookie for her account.
      const mine = await viaRoute({ username: 'grace', password: DEMO_PASSWORD });
      expect(mine.status).toBe(200);
      const device = mine.headers.getSetCookie().find((c) => c.startsWith('pipewright.device='))!.split(';')[0]!;
      expect(device).toBeTruthy();
      getSignInLimiter().reset();
      // A stranger tries her username and her e-mail: one bucket, refused after the limit.
      const stranger: number[] = [];
      for (let i = 0; i < SIGN_IN_LIMITS.perClient.max + 2; i++) {
        const body = i % 2 ? { email: 'GRACE@example.com', password: `wrong-${i}` } : { username: 'grace', password: `wrong-${i}` };
        stranger.push((await viaRoute(body, `192.0.2.${i + 1}`)).status);
      }
      expect(stranger.slice(0, SIGN_IN_LIMITS.perClient.max)).toEqual(Array(SIGN_IN_LIMITS.perClient.max).fill(401));
      expect(stranger.slice(SIGN_IN_LIMITS.perClient.max)).toEqual([429, 429]);
      // Even with the right password, an unknown browser waits…
      expect((await viaRoute({ username: 'grace', password: DEMO_PASSWORD })).status).toBe(429);
      // …but Grace's own browser signs in, with her username or her e-mail.
      expect((await viaRoute({ username: 'grace', password: DEMO_PASSWORD }, undefined, device)).status).toBe(200);
      expect((await viaRoute({ email: 'grace@example.com', password: DEMO_PASSWORD }, undefined, device)).status).toBe(200);
      // A device cookie of another account, or a forged one, buys nothing.
      expect((await viaRoute({ username: 'grace', password: DEMO_PASSWORD }, undefined, device.replace(/\.[^.]+$/, '.forged'))).status).toBe(429);
      // Every failure and every refusal is in the audit log.
      const audited = await (await getDb()).select().from(schema.auditLog).where(eq(schema.auditLog.action, 'auth.sign_in'));
      const forGrace = audited.filter((a) => a.actorName === 'grace' || a.actorName === 'grace@example.com');
      expect(forGrace.filter((a) => a.reason === 'wrong username or password')).toHaveLength(SIGN_IN_LIMITS.perClient.max);
      expect(forGrace.some((a) => a.reason?.startsWith('too many'))).toBe(true);
    });
  });

  it('sign-in answers carry no session token in their JSON', async () => {
    const res = await viaRoute({ username: 'vera', password: DEMO_PASSWORD });
    expect(res.status).toBe(200);
    const json = (await res.json()) as Record<string, unknown>;
    expect(json).not.toHaveProperty('token');
    expect(json).toHaveProperty('user');
  });
});

describe('single sign-on users', () => {
  it('never bring a username of their own (nobody can claim an existing or reserved one); admins\' createUser keeps its username', async () => {
    const before = getAuth().options.databaseHooks?.user?.create?.before;
    expect(before).toBeTypeOf('function');
    const data = { name: 'Mallory', email: 'mallory@idp.example', emailVerified: true, username: 'admin', displayUsername: 'admin' };
    // Inside an HTTP endpoint (the OIDC callback is the only one that creates users: sign-up is off).
    const sso = await before!(data as never, { path: '/oauth2/callback/oidc' } as never);
    expect(sso).toMatchObject({ data: { name: 'Mallory', email: 'mallory@idp.example', username: null, displayUsername: null } });
    // Outside any endpoint (createUser, the seed): untouched.
    expect(await before!(data as never, null as never)).toBeUndefined();
    const db = await getDb();
    expect(await db.select().from(schema.user).where(eq(schema.user.email, 'mallory@idp.example'))).toEqual([]);
  });
});

describe('createUser and setGroups', () => {
  it('creates a user who can sign in, and replaces groups', async () => {
    const db = await getDb();
    const u = await createUser(db, { username: 'Linus', email: 'linus@example.com', password: 'linus-password', role: 'author', groups: ['kernel'] });
    expect(u).toMatchObject({ username: 'linus', role: 'author', groups: ['kernel'] });
    await setGroups(db, u.id, ['qa', 'approvers', 'qa']);
    const who = await getSessionUser(await signIn('linus', 'linus-password'));
    expect(who).toMatchObject({ id: u.id, role: 'author', groups: ['approvers', 'qa'] });
  });

  it('refuses a taken username, a taken email and a short password', async () => {
    const db = await getDb();
    await expect(createUser(db, { username: 'ada', email: 'ada2@example.com', password: 'long-enough' })).rejects.toThrow();
    await expect(createUser(db, { username: 'ada2', email: 'ada@example.com', password: 'long-enough' })).rejects.toThrow();
    await expect(createUser(db, { username: 'ada3', email: 'ada3@example.com', password: 'short' })).rejects.toThrow(/Password/);
    const rows = await db.select({ username: schema.user.username }).from(schema.user).where(eq(schema.user.email, 'ada2@example.com'));
    expect(rows).toEqual([]);
  });
});

describe('can', () => {
  const as = (role: 'viewer' | 'author' | 'approver' | 'admin') => ({ role });
  it('gives each role its capabilities', () => {
    const table = (['viewer', 'author', 'approver', 'admin'] as const).map((r) => [r, can.edit(as(r)), can.run(as(r)), can.decide(as(r)), can.admin(as(r))]);
    expect(table).toEqual([
      ['viewer', false, false, false, false],
      ['author', true, true, false, false],
      ['approver', false, false, true, false],
      ['admin', true, true, true, true],
    ]);
    expect([can.edit(null), can.run(null), can.decide(undefined), can.admin(null)]).toEqual([false, false, false, false]);
  });
});

describe('safeNext', () => {
  it('keeps same-site paths and refuses everything else', () => {
    expect(safeNext('/pipelines/p1?tab=runs#top')).toBe('/pipelines/p1?tab=runs#top');
    expect(safeNext('/')).toBe('/');
    for (const bad of [null, undefined, '', 'pipelines', 'https://evil.example/', '//evil.example', '/\\evil.example', '/\tevil', 'javascript:alert(1)', '/%0a']) {
      expect(safeNext(bad).startsWith('//')).toBe(false);
      expect(new URL(safeNext(bad), 'http://app.test').origin).toBe('http://app.test');
    }
    expect(safeNext('//evil.example')).toBe('/');
    expect(safeNext('https://evil.example/')).toBe('/');
  });
});
