/**
 * Origins that may frame an embed, and the `frame-ancestors` directive built
 * from them.
 *
 * 1. An origin is `https://host[:port]`, optionally with a leading wildcard label
 *    (`https://*.atlassian.net`), or `http://localhost[:port]` /
 *    `http://127.0.0.1[:port]` for trying things out locally. Nothing else:
 *    no paths, queries, credentials, other schemes or bare `*`.
 * 2. Origins are normalised (lower case, default port dropped) so the list
 *    compares and deduplicates cleanly, and so nothing that reaches a CSP
 *    header can carry `;`, `,`, quotes or spaces.
 * 3. Pure module: no Node built-ins; the Share dialog uses it for live hints.
 */

/** At most this many origins per link. */
export const MAX_ALLOWED_ORIGINS = 20;

export type OriginCheck = { ok: true; origin: string } | { ok: false; error: string };

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);
const HOST_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** Checks and normalises one origin a person typed. */
export function checkOrigin(input: string): OriginCheck {
  const raw = input.trim();
  if (!raw) return { ok: false, error: 'is empty' };
  if (raw.length > 253 + 16) return { ok: false, error: 'is too long' };
  if (/[\s;,'"\\<>`]/.test(raw)) return { ok: false, error: 'must not contain spaces, quotes, commas or semicolons' };
  const m = /^([a-z][a-z0-9+.-]*):\/\/(\*\.)?([^/?#]*)(\/?)$/i.exec(raw);
  if (!m) return { ok: false, error: 'must look like https://wiki.example.com (no path, query or fragment)' };
  const scheme = m[1]!.toLowerCase();
  const wildcard = Boolean(m[2]);
  let url: URL;
  try {
    // A wildcard label is not a valid host; parse with a stand-in and put it back afterwards.
    url = new URL(`${scheme}://${wildcard ? 'wildcard-label.' : ''}${m[3]}`);
  } catch {
    return { ok: false, error: 'is not a valid origin' };
  }
  if (url.username || url.password) return { ok: false, error: 'must not contain a user name or password' };
  const host = url.hostname;
  const local = LOCAL_HOSTS.has(host);
  if (scheme === 'http') {
    if (!local || wildcard) return { ok: false, error: 'must use https (http is only allowed for localhost)' };
  } else if (scheme !== 'https') {
    return { ok: false, error: 'must use https' };
  }
  if (!local) {
    const labels = host.split('.');
    if (labels.some((l) => !HOST_LABEL.test(l))) return { ok: false, error: 'has an invalid host name' };
    if (wildcard && labels.length < 3) return { ok: false, error: 'may use a wildcard only in front of a domain with at least two labels (https://*.example.com)' };
    if (/^\d+$/.test(labels[labels.length - 1]!) && wildcard) return { ok: false, error: 'may not use a wildcard with an IP address' };
  }
  const origin = url.origin.replace('wildcard-label.', '*.');
  return { ok: true, origin };
}

/** Checks a list; returns the normalised, deduplicated origins or the problems by index. */
export function checkOrigins(inputs: readonly string[]): { ok: true; origins: string[] } | { ok: false; errors: string[] } {
  const errors: string[] = [];
  const out: string[] = [];
  inputs.forEach((input, i) => {
    const c = checkOrigin(input);
    if (!c.ok) errors.push(`Origin ${i + 1} (${input.trim().slice(0, 80) || 'empty'}) ${c.error}.`);
    else if (!out.includes(c.origin)) out.push(c.origin);
  });
  if (out.length > MAX_ALLOWED_ORIGINS) errors.push(`At most ${MAX_ALLOWED_ORIGINS} origins per link.`);
  return errors.length > 0 ? { ok: false, errors } : { ok: true, origins: out };
}

/** Splits a comma- or whitespace-separated list (the environment variable's format). */
export function splitOriginList(value: string | undefined): string[] {
  return (value ?? '')
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * The `frame-ancestors` directive for an embed: the app itself (its share
 * page frames the embed) plus the given origins; `'none'` when framing is not
 * allowed at all. Origins must come from `checkOrigin` (re-checked here, so a
 * bad stored value can never widen the policy).
 */
export function frameAncestors(origins: readonly string[] | null, opts: { self?: boolean } = {}): string {
  if (origins === null) return "frame-ancestors 'none'";
  const safe = origins.map((o) => checkOrigin(o)).flatMap((c) => (c.ok ? [c.origin] : []));
  const sources = [...(opts.self === false ? [] : ["'self'"]), ...new Set(safe)];
  return sources.length > 0 ? `frame-ancestors ${sources.join(' ')}` : "frame-ancestors 'none'";
}
