'use client';
/**
 * The insights charts, loaded after the page: the server sends the measures and tables ready to read, with each
 * chart's few numbers; the chart library (Recharts, ./charts-impl.tsx) is fetched and run only once the page has
 * painted and the browser is idle, so its script never holds back the numbers people came for. A box of the
 * chart's height holds its place meanwhile (nothing moves when it draws).
 */
import dynamic from 'next/dynamic';
import { useEffect, useState, type ComponentType } from 'react';

/** Fills the box the server sized for the chart (see ChartBox in ./insights-view.tsx). */
function Placeholder() {
  return (
    <div className="flex h-full items-center justify-center rounded-md bg-subtle text-xs text-muted" aria-hidden>
      Drawing the chart…
    </div>
  );
}

/** True once the page has painted and the browser had a moment to spare (at most half a second later). */
function usePagePainted(): boolean {
  const [painted, setPainted] = useState(false);
  useEffect(() => {
    let idle: number | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const frame = requestAnimationFrame(() => {
      timer = setTimeout(() => {
        if (typeof window.requestIdleCallback === 'function') idle = window.requestIdleCallback(() => setPainted(true), { timeout: 500 });
        else setPainted(true);
      }, 0);
    });
    return () => {
      cancelAnimationFrame(frame);
      if (timer !== undefined) clearTimeout(timer);
      if (idle !== undefined) window.cancelIdleCallback?.(idle);
    };
  }, []);
  return painted;
}

/** `Chart`, mounted (and its code fetched) only after the page has painted. */
function afterPaint<P extends object>(Chart: ComponentType<P>): ComponentType<P> {
  function Deferred(props: P) {
    return usePagePainted() ? <Chart {...props} /> : <Placeholder />;
  }
  Deferred.displayName = `AfterPaint(${Chart.displayName ?? 'Chart'})`;
  return Deferred;
}

export const DayBarsChart = afterPaint(dynamic(() => import('./charts-impl').then((m) => m.DayBarsChart), { ssr: false, loading: () => <Placeholder /> }));

export const StageDurationsChart = afterPaint(dynamic(() => import('./charts-impl').then((m) => m.StageDurationsChart), { ssr: false, loading: () => <Placeholder /> }));

export const GateWaitsChart = afterPaint(dynamic(() => import('./charts-impl').then((m) => m.GateWaitsChart), { ssr: false, loading: () => <Placeholder /> }));
