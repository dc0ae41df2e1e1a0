/**
 * What the insights charts draw (./charts.tsx, drawn on the server), derived from getInsights' result: pure, no
 * React and no chart code, so it is tested on its own (tests/unit/insights/chart-data.test.ts).
 */
import type { RouterOutputs } from '@/server/api/root';

type Data = RouterOutputs['insights']['metrics'];

/** One day's bar: deployments that went live and held (green) stacked under change failures (red). */
export type DayBar = { day: string; label: string; held: number; failed: number; deployments: number; failures: number; href: string };

/**
 * The day bars. A change failure is either a deployment that failed or one that went live and then failed (its
 * smoke test, a rollback), so the green part is the deployments that went live minus those that failed afterwards
 * and the red part is every change failure: the bar's height is what happened that day, each deployment once.
 */
export function dayBars(series: Data['series'], hrefFor: (day: string) => string): DayBar[] {
  return series.map((p) => ({
    day: p.day,
    label: p.day.slice(5),
    held: p.deployments - Math.min(p.deployments, p.failures),
    failed: p.failures,
    deployments: p.deployments,
    failures: p.failures,
    href: hrefFor(p.day),
  }));
}

/** One stage's median and p90 duration (ms) and how many runs they are made of. */
export type StageBar = { name: string; medianMs: number; p90Ms: number; count: number };

/** The slowest stages (by p90, as the table), at most `limit` of them. */
export function stageBars(stages: Data['stageDurations'], limit = 8): StageBar[] {
  return stages.slice(0, limit).map((s) => ({ name: s.name, medianMs: s.medianMs, p90Ms: s.p90Ms, count: s.count }));
}

/** One gate's median and p90 wait (ms), how many decisions they are made of, and its link to the runs that waited. */
export type GateBar = { name: string; medianMs: number; p90Ms: number; decided: number; waiting: number; href: string };

/** Gates with at least one decision (a wait to draw), longest median wait first, at most `limit`. */
export function gateBars(gates: Data['gateWaits'], hrefFor: (nodeId: string) => string, limit = 8): GateBar[] {
  return gates.flatMap((g) => (g.medianMs === null ? [] : [{ name: g.name, medianMs: g.medianMs, p90Ms: g.p90Ms ?? g.medianMs, decided: g.decided, waiting: g.waiting, href: hrefFor(g.nodeId) }])).slice(0, limit);
}
