/**
 * What the insights charts draw: each day's bar is the deployments that held (green) under the change failures
 * (red), each deployment once, linking to that day; stage and gate bars keep the table's order, and a gate that
 * never decided has nothing to draw.
 */
import { describe, expect, it } from 'vitest';
import { dayBars, gateBars, stageBars } from '@/app/insights/chart-data';

const point = (day: string, deployments: number, failures: number) => ({ day, start: 0, end: 1, deployments, failures, runIds: [] });

describe('dayBars', () => {
  it('stacks held deployments under change failures and links each day', () => {
    const bars = dayBars([point('2026-12-01', 3, 1), point('2026-12-02', 0, 2), point('2026-12-03', 0, 0)], (d) => `/insights?show=day:${d}`);
    expect(bars.map((b) => [b.label, b.held, b.failed, b.href])).toEqual([
      ['12-01', 2, 1, '/insights?show=day:2026-12-01'],
      // Two deployments that failed outright: nothing held, two failures.
      ['12-02', 0, 2, '/insights?show=day:2026-12-02'],
      ['12-03', 0, 0, '/insights?show=day:2026-12-03'],
    ]);
  });
});

describe('stageBars and gateBars', () => {
  it('keep the slowest first, at most the limit, and leave out gates without a decision', () => {
    const stages = Array.from({ length: 10 }, (_, i) => ({ nodeId: `s${i}`, name: `Stage ${i}`, count: 3, medianMs: 1000 * (10 - i), p90Ms: 2000 * (10 - i), slowestRunId: 'r' }));
    expect(stageBars(stages, 3).map((s) => [s.name, s.medianMs, s.p90Ms])).toEqual([
      ['Stage 0', 10_000, 20_000],
      ['Stage 1', 9_000, 18_000],
      ['Stage 2', 8_000, 16_000],
    ]);
    const gates = [
      { nodeId: 'g1', name: 'Go', approvers: 'group approvers (1 of them)', decided: 2, waiting: 1, medianMs: 60_000, p90Ms: 90_000, runIds: ['a'] },
      { nodeId: 'g2', name: 'Never decided', approvers: '', decided: 0, waiting: 1, medianMs: null, p90Ms: null, runIds: ['b'] },
    ];
    expect(gateBars(gates, (id) => `/insights?show=gate:${id}`)).toEqual([{ name: 'Go', medianMs: 60_000, p90Ms: 90_000, decided: 2, waiting: 1, href: '/insights?show=gate:g1' }]);
  });
});
