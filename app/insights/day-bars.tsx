/**
 * Deployments and change failures per day as an SVG bar chart; every bar links to the deployments of its day.
 * Drawn on the server (no script), sized by viewBox so it fits any width; the page has the same data as a table.
 */
type Point = { day: string; deployments: number; failures: number };

export function DayBars({ series, hrefFor }: { series: Point[]; hrefFor: (day: string) => string }) {
  const W = 720;
  const H = 160;
  const pad = { l: 28, r: 8, t: 8, b: 22 };
  const max = Math.max(1, ...series.map((p) => p.deployments + p.failures));
  const slot = (W - pad.l - pad.r) / Math.max(1, series.length);
  const bar = Math.max(2, slot * 0.7);
  const y = (v: number) => pad.t + (H - pad.t - pad.b) * (1 - v / max);
  const labelEvery = Math.ceil(series.length / 8);
  return (
    <figure>
      <svg viewBox={`0 0 ${W} ${H}`} className="h-40 w-full" role="img" aria-label={`Deployments per day, at most ${max} a day`} data-testid="day-bars">
        <line x1={pad.l} x2={W - pad.r} y1={y(0)} y2={y(0)} className="stroke-line" />
        <text x={pad.l - 4} y={y(max) + 4} textAnchor="end" className="fill-muted text-[10px]">
          {max}
        </text>
        <text x={pad.l - 4} y={y(0)} textAnchor="end" className="fill-muted text-[10px]">
          0
        </text>
        {series.map((p, i) => {
          const x = pad.l + i * slot + (slot - bar) / 2;
          const ok = p.deployments - Math.min(p.deployments, p.failures);
          const total = p.deployments + (p.failures > p.deployments ? p.failures - p.deployments : 0);
          return (
            <a key={p.day} href={hrefFor(p.day)} aria-label={`${p.day}: ${p.deployments} deployments, ${p.failures} change failures`} data-day={p.day}>
              <title>{`${p.day}: ${p.deployments} deployments, ${p.failures} change failures`}</title>
              <rect x={pad.l + i * slot} y={pad.t} width={slot} height={H - pad.t - pad.b} fill="transparent" />
              {total > 0 && <rect x={x} y={y(total)} width={bar} height={y(0) - y(total)} className="fill-red-400" />}
              {ok > 0 && <rect x={x} y={y(ok)} width={bar} height={y(0) - y(ok)} className="fill-emerald-500" />}
              {i % labelEvery === 0 && (
                <text x={x + bar / 2} y={H - 6} textAnchor="middle" className="fill-muted text-[10px]">
                  {p.day.slice(5)}
                </text>
              )}
            </a>
          );
        })}
      </svg>
      <figcaption className="mt-1 flex gap-4 text-xs text-muted">
        <span>
          <span className="mr-1 inline-block h-2 w-2 bg-emerald-500" aria-hidden />
          went live and held
        </span>
        <span>
          <span className="mr-1 inline-block h-2 w-2 bg-red-400" aria-hidden />
          change failure
        </span>
        <span>Click a day for its deployments.</span>
      </figcaption>
    </figure>
  );
}
