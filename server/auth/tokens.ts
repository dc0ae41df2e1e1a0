/**
 * Session tokens stay in the HttpOnly cookie.
 *
 * better-auth puts the session token in the JSON of `/get-session`
 * (`session.token`), `/list-sessions` (each entry's `token`) and the sign-in
 * answers (`token`). A page never needs it — the browser sends the cookie —
 * and a token in JSON is one an injected script could read and carry away.
 * The auth route passes every JSON answer through `stripSessionTokens`.
 * (Nothing in the app reads those fields: `revokeSession({ token })` from the
 * browser is not offered; people sign out, admins reset sessions.)
 */

type Json = unknown;

/** The value without `token` fields where better-auth puts session tokens (top level, `session`, list entries). */
export function withoutTokens(value: Json): Json {
  if (Array.isArray(value)) return value.map(withoutTokens);
  if (!value || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === 'token') continue;
    out[k] = k === 'session' || k === 'sessions' ? withoutTokens(v) : v;
  }
  return out;
}

/** The response with session tokens removed from its JSON body; `setCookies` are appended to its headers. */
export async function stripSessionTokens(res: Response, setCookies: string[] = []): Promise<Response> {
  const isJson = (res.headers.get('content-type') ?? '').includes('application/json');
  if (!isJson && setCookies.length === 0) return res;
  const headers = new Headers(res.headers);
  for (const c of setCookies) headers.append('Set-Cookie', c);
  if (!isJson) return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
  const text = await res.text();
  let body = text;
  try {
    body = JSON.stringify(withoutTokens(JSON.parse(text)));
  } catch {
    // Not JSON after all: pass it on unchanged.
  }
  headers.delete('content-length');
  return new Response(body, { status: res.status, statusText: res.statusText, headers });
}
