'use client';
/**
 * The insights charts, loaded after the page: the server sends the measures and tables ready to read, with each
 * chart's few numbers; the chart library (Recharts, ./charts-impl.tsx) arrives as its own script chunk once the
 * page is interactive, and a box of the chart's height holds its place meanwhile (nothing moves when it draws).
 */
import dynamic from 'next/dynamic';

/** Fills the box the server sized for the chart (see ChartBox in ./insights-view.tsx). */
function Placeholder() {
  return (
    <div className="flex h-full items-center justify-center rounded-md bg-subtle text-xs text-muted" aria-hidden>
      Drawing the chart…
    </div>
  );
}

export const DayBarsChart = dynamic(() => import('./charts-impl').then((m) => m.DayBarsChart), { ssr: false, loading: () => <Placeholder /> });

export const StageDurationsChart = dynamic(() => import('./charts-impl').then((m) => m.StageDurationsChart), { ssr: false, loading: () => <Placeholder /> });

export const GateWaitsChart = dynamic(() => import('./charts-impl').then((m) => m.GateWaitsChart), { ssr: false, loading: () => <Placeholder /> });
