/**
 * What an embed may say about a run's parameters: every name, and a value
 * only when neither the name nor the value looks like a secret. Stage config
 * and environment values are never shown at all (see services/embeds.ts).
 */

const SECRET_NAME = /(secret|token|passw|passphrase|pwd|api[_-]?key|access[_-]?key|private|credential|auth(?!or)|cert|signature|session|cookie|salt|dsn|(^|[_-])key$|^key([_-]|$)|connection[_-]?string)/i;

const SECRET_VALUE = [
  /^eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}/, // JWT
  /-----BEGIN [A-Z ]+-----/, // PEM
  /^(gh[pousr]_|github_pat_|glpat-|xox[abprs]-|sk-|sk_live_|rk_live_|AKIA|ASIA|AIza|pwe_|npm_)/, // well-known key prefixes
  /:\/\/[^/\s:@]+:[^/\s@]+@/, // credentials in a URL
];

/** Value shown in place of a hidden one. */
export const HIDDEN_VALUE = '••••••';

/** True when a parameter called `name` with `value` should not be shown. */
export function looksSecret(name: string, value: unknown): boolean {
  if (SECRET_NAME.test(name)) return true;
  if (typeof value !== 'string') return false;
  const v = value.trim();
  if (SECRET_VALUE.some((re) => re.test(v))) return true;
  // Long unbroken mixes of letters and digits (random keys, hashes) rather than words or versions.
  if (v.length >= 20 && !/\s/.test(v) && /[A-Za-z]/.test(v) && /\d/.test(v) && !/^[\w.-]+\.[a-z]{2,}(\/|$)/i.test(v)) {
    const letters = new Set(v).size;
    if (letters >= 12) return true;
  }
  return false;
}

/** Parameters for display: names always, values masked when they look secret, long ones shortened. */
export function displayParams(values: Record<string, unknown>): { name: string; value: string; hidden: boolean }[] {
  return Object.entries(values).map(([name, value]) => {
    if (looksSecret(name, value)) return { name, value: HIDDEN_VALUE, hidden: true };
    const text = String(value);
    return { name, value: text.length > 60 ? `${text.slice(0, 59)}…` : text, hidden: false };
  });
}
