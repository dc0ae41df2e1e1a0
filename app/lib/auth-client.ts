/**
 * better-auth's browser client (same origin, `/api/auth`).
 *
 * `signIn.username({ username, password })`, `signIn.social({ provider: 'oidc' })`
 * for SSO, `signOut()`, and the `useSession()` hook.
 */
import { createAuthClient } from 'better-auth/react';
import { inferAdditionalFields, usernameClient } from 'better-auth/client/plugins';

export const authClient = createAuthClient({
  // CSRF: the auth route accepts POSTs that carry this header (server/security/csrf.ts).
  fetchOptions: { headers: { 'x-pipewright-csrf': '1' } },
  plugins: [usernameClient(), inferAdditionalFields({ user: { role: { type: 'string', required: false, input: false } } })],
});

export const { signIn, signOut, useSession } = authClient;

