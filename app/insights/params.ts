/** The insights page's filters, read from its URL (`?pipeline=&environment=&days=&tz=&show=`). */
export type InsightsParams = { pipelineId?: string; environment?: string; days: 7 | 30 | 90; timeZone: string; show?: string };

const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v) || undefined;

export function parseInsightsParams(sp: Record<string, string | string[] | undefined>): InsightsParams {
  const days = Number(one(sp.days));
  return {
    pipelineId: one(sp.pipeline)?.slice(0, 64),
    environment: one(sp.environment)?.slice(0, 64),
    days: days === 7 || days === 90 ? days : 30,
    timeZone: (one(sp.tz) ?? 'UTC').slice(0, 64),
    show: one(sp.show)?.slice(0, 40),
  };
}

/** The URL of the page (or an export) with these filters, and `over` applied. */
export function insightsHref(base: string, p: InsightsParams, over: Partial<InsightsParams> = {}): string {
  const q = { ...p, ...over };
  const s = new URLSearchParams();
  if (q.pipelineId) s.set('pipeline', q.pipelineId);
  if (q.environment) s.set('environment', q.environment);
  s.set('days', String(q.days));
  if (q.timeZone && q.timeZone !== 'UTC') s.set('tz', q.timeZone);
  if (q.show) s.set('show', q.show);
  return `${base}?${s.toString()}`;
}
