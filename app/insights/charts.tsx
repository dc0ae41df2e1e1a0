/**
 * The insights charts, drawn on the server with visx (scales, axes and grids from @visx/*) as plain SVG in
 * the page's HTML: they are painted with the numbers, before any script runs, and cost the browser no JavaScript.
 * Every bar is a link to the runs behind it (so drill-downs work from the keyboard and without JavaScript) with a
 * native tooltip (`<title>`); each chart is an image for screen readers (`role="img"` with a summary) and the page
 * has the same data as tables.
 *
 * The SVGs scale with their box (`viewBox`, width 100 %): the view box is as wide as the box usually is, and a
 * minimum width keeps the labels readable on narrow screens (the box scrolls sideways there).
 */
import { AxisBottom, AxisLeft } from '@visx/axis';
import { GridColumns, GridRows } from '@visx/grid';
import { Group } from '@visx/group';
import { scaleBand, scaleLinear } from '@visx/scale';
import { formatDuration, pluralize } from '@/app/lib/format';
import type { DayBar, GateBar, StageBar } from './chart-data';

const HELD = '#10b981'; // emerald-500, as the "went live" marks elsewhere
const FAILED = '#f87171'; // red-400
const MEDIAN = 'var(--pw-accent)';
const P90 = '#94a3b8'; // slate-400, readable on both backgrounds
const LINE = 'var(--pw-line)';
const tickLabel = { fill: 'var(--pw-muted)', fontSize: 11, fontFamily: 'inherit' } as const;

/** An SVG chart that scales with its box, with a summary for screen readers. */
function Frame({ testId, label, width, height, minWidth, children }: { testId: string; label: string; width: number; height: number; minWidth: number; children: React.ReactNode }) {
  return (
    <div className="overflow-x-auto">
      <svg
        role="img"
        aria-label={label}
        data-testid={testId}
        viewBox={`0 0 ${width} ${height}`}
        width="100%"
        className="block h-auto"
        style={{ minWidth }}
      >
        {children}
      </svg>
    </div>
  );
}

/** View-box height of the deployments-per-day chart. */
const DAY_CHART_HEIGHT = 176;
/** View-box height of a horizontal bar chart with `n` rows: room for the axis and legend, and two bars each. */
const horizontalChartHeight = (n: number) => 56 + n * 34;
/** Coordinates to a tenth of a unit: the page carries every number twice (HTML and React's payload). */
const r = (v: number) => Math.round(v * 10) / 10;

/** Deployments per day: went live and held (green) under change failures (red); a day's column opens its deployments. */
export function DayBarsChart({ bars }: { bars: DayBar[] }) {
  const width = 1000;
  const height = DAY_CHART_HEIGHT;
  const margin = { top: 8, right: 8, bottom: 22, left: 32 };
  const max = Math.max(0, ...bars.map((b) => b.held + b.failed));
  const total = bars.reduce((n, b) => n + b.deployments, 0);
  const x = scaleBand<string>({ domain: bars.map((b) => b.day), range: [margin.left, width - margin.right], paddingInner: 0.2, paddingOuter: 0.1 });
  const y = scaleLinear<number>({ domain: [0, Math.max(1, max)], range: [height - margin.bottom, margin.top], nice: true });
  const countTicks = y.ticks(Math.min(4, Math.max(1, max))).filter((t) => Number.isInteger(t));
  // About a dozen day labels, whatever the period.
  const every = Math.max(1, Math.ceil(bars.length / 12));
  const labelled = bars.filter((_, i) => i % every === 0).map((b) => b.day);
  const labelOf = new Map(bars.map((b) => [b.day, b.label]));
  const band = x.bandwidth();
  return (
    <Frame testId="day-bars" width={width} height={height} minWidth={640} label={`Deployments per day over ${bars.length} days: ${total} went live, at most ${max} a day. The table below has each day.`}>
      <GridRows scale={y} tickValues={countTicks} left={margin.left} width={width - margin.left - margin.right} stroke={LINE} />
      {bars.map((b) => {
        const left = x(b.day) ?? 0;
        const heldTop = y(b.held);
        const failedTop = y(b.held + b.failed);
        return (
          // One link per day: its whole column (so a day without bars is a target too) and both parts of its bar.
          <a key={b.day} href={b.href} data-day={b.day} className="chart-day" aria-label={`${b.day}: ${pluralize(b.held, 'deployment')} went live and held, ${pluralize(b.failed, 'change failure')}`}>
            <title>{`${b.day}: ${b.held} held, ${b.failed} failed`}</title>
            <rect data-bar="slot" x={r(left - (band * 0.2) / 2)} y={margin.top} width={r(band * 1.2)} height={height - margin.bottom - margin.top} fill="transparent" />
            {b.held > 0 && <rect data-bar="held" x={r(left)} y={r(heldTop)} width={r(band)} height={r(y(0) - heldTop)} fill={HELD} />}
            {b.failed > 0 && <rect data-bar="failed" x={r(left)} y={r(failedTop)} width={r(band)} height={r(heldTop - failedTop)} fill={FAILED} />}
          </a>
        );
      })}
      <AxisLeft scale={y} left={margin.left} tickValues={countTicks} tickFormat={(v) => String(v)} hideAxisLine hideTicks tickLabelProps={{ ...tickLabel, dx: -4 }} />
      <AxisBottom scale={x} top={height - margin.bottom} tickValues={labelled} tickFormat={(d) => labelOf.get(d) ?? d} stroke={LINE} hideTicks tickLabelProps={tickLabel} />
    </Frame>
  );
}

/**
 * Median and p90 durations side by side, one row per name (stages, gates): the two charts below differ only in
 * their words and whether a row's bars link somewhere.
 */
function MedianP90Chart({ bars, testId, title, medianName, hrefOf }: { bars: { name: string; medianMs: number; p90Ms: number }[]; testId: string; title: string; medianName: string; hrefOf?: (i: number) => string }) {
  const width = 560;
  const height = horizontalChartHeight(bars.length);
  const margin = { top: 4, right: 40, bottom: 44, left: 118 };
  const max = Math.max(1, ...bars.map((b) => Math.max(b.medianMs, b.p90Ms)));
  const x = scaleLinear<number>({ domain: [0, max], range: [margin.left, width - margin.right], nice: true });
  const rows = scaleBand<string>({ domain: bars.map((_, i) => String(i)), range: [margin.top, height - margin.bottom], paddingInner: 0.25, paddingOuter: 0.1 });
  const bar = rows.bandwidth() / 2 - 0.5;
  const ticks = x.ticks(4);
  const legendY = height - 10;
  const wrap = (i: number, kind: string, label: string, node: React.ReactNode) =>
    hrefOf ? (
      <a key={kind} href={hrefOf(i)} data-bar={kind} aria-label={label}>
        {node}
      </a>
    ) : (
      <g key={kind} data-bar={kind}>
        {node}
      </g>
    );
  return (
    <Frame testId={testId} width={width} height={height} minWidth={420} label={`${title}: ${bars.map((b) => `${b.name} median ${formatDuration(b.medianMs)}, p90 ${formatDuration(b.p90Ms)}`).join('; ')}.`}>
      <GridColumns scale={x} tickValues={ticks} top={margin.top} height={height - margin.top - margin.bottom} stroke={LINE} />
      {bars.map((b, i) => {
        const top = rows(String(i)) ?? 0;
        const tip = `${b.name}: ${medianName} ${formatDuration(b.medianMs)}, p90 ${formatDuration(b.p90Ms)}`;
        return (
          <Group key={i} top={top}>
            {/* One tooltip for the row: its name and both bars. */}
            <title>{tip}</title>
            <text x={margin.left - 6} y={rows.bandwidth() / 2} dy="0.33em" textAnchor="end" {...tickLabel}>
              {b.name.length > 16 ? `${b.name.slice(0, 15)}…` : b.name}
            </text>
            {wrap(i, 'median', `${b.name}: ${medianName}`, <rect x={margin.left} y={0} width={r(Math.max(0, x(b.medianMs) - margin.left))} height={r(bar)} fill={MEDIAN} />)}
            {wrap(i, 'p90', `${b.name}: p90`, <rect x={margin.left} y={r(bar + 1)} width={r(Math.max(0, x(b.p90Ms) - margin.left))} height={r(bar)} fill={P90} />)}
          </Group>
        );
      })}
      <AxisLeft scale={rows} left={margin.left} hideTicks tickFormat={() => ''} stroke={LINE} />
      <AxisBottom scale={x} top={height - margin.bottom} tickValues={ticks} tickFormat={(v) => formatDuration(Number(v))} hideAxisLine hideTicks tickLabelProps={tickLabel} />
      <g transform={`translate(${margin.left}, ${legendY})`} fontSize={12} fill="var(--pw-muted)">
        <rect width={10} height={10} y={-9} fill={MEDIAN} />
        <text x={14}>{medianName}</text>
        <rect x={110} width={10} height={10} y={-9} fill={P90} />
        <text x={124}>p90</text>
      </g>
    </Frame>
  );
}

/** Slowest stages: median and p90 duration side by side, slowest p90 first. */
export function StageDurationsChart({ bars }: { bars: StageBar[] }) {
  return <MedianP90Chart bars={bars} testId="stage-durations-chart" title="Slowest stages" medianName="median" />;
}

/** Waiting for approval: median and p90 wait per gate; a gate's bars open the runs that waited there. */
export function GateWaitsChart({ bars }: { bars: GateBar[] }) {
  return <MedianP90Chart bars={bars} testId="gate-waits-chart" title="Waiting for approval" medianName="median wait" hrefOf={(i) => bars[i]!.href} />;
}
