'use client';
/**
 * The insights charts, drawn with Recharts in the browser. Loaded on demand by ./charts.tsx after the page (its
 * measures and tables, rendered on the server) is on screen, so the chart library never holds back the numbers.
 * Each chart is an image for screen readers (`role="img"` with a summary); the page has the same data as tables.
 */
import type { ReactNode } from 'react';
import { Bar, BarChart, CartesianGrid, Legend, Tooltip, XAxis, YAxis, type BarShapeProps } from 'recharts';
import { formatDuration } from '@/app/lib/format';
import type { DayBar, GateBar, StageBar } from './chart-data';

const HELD = '#10b981'; // emerald-500, as the "went live" marks elsewhere
const FAILED = '#f87171'; // red-400
const MEDIAN = 'var(--pw-accent)';
const P90 = '#94a3b8'; // slate-400, readable on both backgrounds
const tick = { fill: 'var(--pw-muted)', fontSize: 11 };
const tooltipStyle = { background: 'var(--pw-surface)', border: '1px solid var(--pw-line)', borderRadius: 8, fontSize: 12, color: 'var(--pw-fg)' };

/** A chart filling the box the server sized for it, with a summary for screen readers. */
function Frame({ testId, label, children }: { testId: string; label: string; children: ReactNode }) {
  return (
    <div role="img" aria-label={label} data-testid={testId} className="h-full w-full">
      {children}
    </div>
  );
}

/** A bar (or a day's whole column) that is a link to the runs behind it. */
function linked(fill: string, kind: string) {
  return function LinkedBar(props: BarShapeProps) {
    const p = props.payload as { href: string; day?: string; name?: string };
    if (!(props.height > 0) && kind !== 'slot') return <g />;
    return (
      <a href={p.href} data-day={p.day} data-bar={kind} aria-label={p.day ?? p.name}>
        <rect x={props.x} y={props.y} width={props.width} height={Math.max(0, props.height)} fill={fill} />
      </a>
    );
  };
}

const slot = linked('transparent', 'slot');
const heldBar = linked(HELD, 'held');
const failedBar = linked(FAILED, 'failed');

/** Deployments per day: went live and held (green) under change failures (red); a day's column opens its deployments. */
export function DayBarsChart({ bars }: { bars: DayBar[] }) {
  const max = Math.max(0, ...bars.map((b) => b.held + b.failed));
  const total = bars.reduce((n, b) => n + b.deployments, 0);
  return (
    <Frame testId="day-bars" label={`Deployments per day over ${bars.length} days: ${total} went live, at most ${max} a day. The table below has each day.`}>
      <BarChart responsive data={bars} margin={{ top: 8, right: 8, bottom: 0, left: -16 }} style={{ width: '100%', height: '100%' }} barCategoryGap="20%">
        <CartesianGrid vertical={false} stroke="var(--pw-line)" />
        <XAxis dataKey="label" tick={tick} tickLine={false} axisLine={{ stroke: 'var(--pw-line)' }} interval="preserveStartEnd" minTickGap={16} />
        <YAxis allowDecimals={false} tick={tick} tickLine={false} axisLine={false} width={40} />
        <Tooltip
          cursor={{ fill: 'var(--pw-subtle)' }}
          contentStyle={tooltipStyle}
          labelFormatter={(_, items) => (items?.[0]?.payload as DayBar | undefined)?.day ?? ''}
          formatter={(value, name) => [value, name]}
        />
        <Bar dataKey="held" name="went live and held" stackId="day" fill={HELD} isAnimationActive={false} shape={heldBar} background={slot} />
        <Bar dataKey="failed" name="change failures" stackId="day" fill={FAILED} isAnimationActive={false} shape={failedBar} />
      </BarChart>
    </Frame>
  );
}

function durationTooltip(value: unknown) {
  return typeof value === 'number' ? formatDuration(value) : String(value);
}

/**
 * Median and p90 durations side by side, one row per name (stages, gates): the two charts below differ only
 * in their words and whether a row's bars link somewhere.
 */
function MedianP90Chart({
  bars,
  testId,
  title,
  medianName,
  shapes,
}: {
  bars: { name: string; medianMs: number; p90Ms: number }[];
  testId: string;
  title: string;
  medianName: string;
  shapes?: { median: ReturnType<typeof linked>; p90: ReturnType<typeof linked> };
}) {
  return (
    <Frame testId={testId} label={`${title}: ${bars.map((b) => `${b.name} median ${formatDuration(b.medianMs)}, p90 ${formatDuration(b.p90Ms)}`).join('; ')}.`}>
      <BarChart responsive layout="vertical" data={bars} margin={{ top: 0, right: 12, bottom: 0, left: 0 }} style={{ width: '100%', height: '100%' }} barGap={1}>
        <CartesianGrid horizontal={false} stroke="var(--pw-line)" />
        <XAxis type="number" tick={tick} tickFormatter={(v: number) => formatDuration(v)} axisLine={false} tickLine={false} />
        <YAxis type="category" dataKey="name" tick={tick} width={110} tickLine={false} axisLine={{ stroke: 'var(--pw-line)' }} />
        <Tooltip cursor={{ fill: 'var(--pw-subtle)' }} contentStyle={tooltipStyle} formatter={durationTooltip} />
        <Legend wrapperStyle={{ fontSize: 12 }} />
        <Bar dataKey="medianMs" name={medianName} fill={MEDIAN} isAnimationActive={false} {...(shapes ? { shape: shapes.median } : {})} />
        <Bar dataKey="p90Ms" name="p90" fill={P90} isAnimationActive={false} {...(shapes ? { shape: shapes.p90 } : {})} />
      </BarChart>
    </Frame>
  );
}

/** Slowest stages: median and p90 duration side by side, slowest p90 first. */
export function StageDurationsChart({ bars }: { bars: StageBar[] }) {
  return <MedianP90Chart bars={bars} testId="stage-durations-chart" title="Slowest stages" medianName="median" />;
}

const gateShapes = { median: linked(MEDIAN, 'median'), p90: linked(P90, 'p90') };

/** Waiting for approval: median and p90 wait per gate; a gate's bars open the runs that waited there. */
export function GateWaitsChart({ bars }: { bars: GateBar[] }) {
  return <MedianP90Chart bars={bars} testId="gate-waits-chart" title="Waiting for approval" medianName="median wait" shapes={gateShapes} />;
}
