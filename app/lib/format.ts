/** Formatting helpers shared by the pages (pure; safe on the server and in the browser). */

/** `850 ms`, `12.3 s`, `4 min 05 s`, `2 h 03 min`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.floor(s)} s`;
  const totalS = Math.floor(s);
  const m = Math.floor(totalS / 60);
  if (m < 60) return `${m} min ${String(totalS % 60).padStart(2, '0')} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${String(m % 60).padStart(2, '0')} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** `just now`, `5 s ago`, `3 min ago`, `2 h ago`, `4 d ago` (or `in …` for the future). */
export function formatRelative(date: Date, now: number): string {
  const diff = now - date.getTime();
  const abs = Math.abs(diff);
  const future = diff < 0;
  const wrap = (s: string) => (future ? `in ${s}` : `${s} ago`);
  if (abs < 5_000) return future ? 'in a moment' : 'just now';
  if (abs < 60_000) return wrap(`${Math.floor(abs / 1000)} s`);
  if (abs < 3_600_000) return wrap(`${Math.floor(abs / 60_000)} min`);
  if (abs < 86_400_000) return wrap(`${Math.floor(abs / 3_600_000)} h`);
  return wrap(`${Math.floor(abs / 86_400_000)} d`);
}

/** Deterministic (server and browser agree): `2025-11-28 04:41 UTC`. */
export function formatUtc(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** Local date and time for tooltips and detail rows (browser only: depends on the time zone). */
export function formatLocal(date: Date): string {
  return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

/** Time left until `deadline`: `4 min 10 s left`, or `overdue`. */
export function formatTimeLeft(deadline: Date, now: number): string {
  const left = deadline.getTime() - now;
  if (left <= 0) return 'time is up';
  return `${formatDuration(left)} left`;
}

export function shortHash(hash: string, length = 10): string {
  return hash.slice(0, length);
}

export function pluralize(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** Removes ANSI colour and cursor escape sequences from process output. */
export function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)/g, '');
}

export const ROLE_LABEL: Record<string, string> = {
  viewer: 'Viewer',
  author: 'Author',
  approver: 'Approver',
  admin: 'Admin',
};
