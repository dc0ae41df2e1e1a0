/**
 * Real sign-ins for integration tests of route handlers (SSE, CSV export,
 * tRPC over HTTP): accounts made by `createUser` (password hashed by
 * better-auth) and the session cookie of a real password sign-in.
 * Call after `startHarness()` (better-auth is re-created for its database).
 */
import type { Db } from '../../db/client';
import { resetAuth, getAuth } from '../../server/auth/auth';
import type { SessionUser } from '../../server/auth/session';
import { createUser } from '../../server/auth/users';

export const TEST_PASSWORD = 'integration-password';

export type SignedIn = { user: SessionUser; cookie: string; headers: (extra?: Record<string, string>) => Headers };

export function freshAuth() {
  resetAuth();
}

/** Creates the account and signs in with its password. */
export async function signedIn(db: Db, u: { username: string; role: SessionUser['role']; groups?: string[]; name?: string }): Promise<SignedIn> {
  const user = await createUser(db, { username: u.username, name: u.name, email: `${u.username}@example.test`, password: TEST_PASSWORD, role: u.role, groups: u.groups });
  const cookie = await signInCookie(u.username);
  return { user, cookie, headers: (extra = {}) => new Headers({ cookie, ...extra }) };
}

export async function signInCookie(username: string, password = TEST_PASSWORD): Promise<string> {
  const res = await getAuth().api.signInUsername({ body: { username, password }, asResponse: true });
  if (res.status !== 200) throw new Error(`sign-in as ${username} failed: ${res.status} ${await res.text()}`);
  return res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
}

/** Reads Server-Sent Events from a Response (as tests/integration/embeds.test.ts does). */
export function sse(res: Response) {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const events: { event: string; data: string; at: number }[] = [];
  let ended = false;
  const pump = (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let i: number;
      while ((i = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data !== undefined) events.push({ event, data, at: Date.now() });
      }
    }
    ended = true;
  })();
  return {
    events,
    get ended() {
      return ended;
    },
    async waitFor<T = unknown>(pred: (e: { event: string; data: T }) => boolean, timeoutMs = 15_000, from = 0) {
      const deadline = Date.now() + timeoutMs;
      let seen = from;
      while (Date.now() < deadline) {
        for (; seen < events.length; seen++) {
          const e = events[seen]!;
          const parsed = { event: e.event, data: JSON.parse(e.data) as T };
          if (pred(parsed)) return { ...parsed, at: e.at, index: seen };
        }
        if (ended) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error(`no matching event within ${timeoutMs} ms; got ${events.map((e) => `${e.event}:${e.data.slice(0, 160)}`).join(' | ')}`);
    },
    cancel: () => reader.cancel().catch(() => undefined),
    done: pump,
  };
}
