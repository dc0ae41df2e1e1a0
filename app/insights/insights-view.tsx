/** The insights page body (a server component: no hooks, links and a GET form only). */
import Link from 'next/link';
import { Card, PageHeader, SectionTitle, Tag, buttonStyles, cx, inputClass } from '@/app/components/ui';
import { formatDuration, formatUtc } from '@/app/lib/format';
import type { RouterOutputs } from '@/server/api/root';
import { dayBars, gateBars, stageBars } from './chart-data';
import { DayBarsChart, GateWaitsChart, StageDurationsChart } from './charts';
import { insightsHref, type InsightsParams } from './params';

type Data = RouterOutputs['insights']['metrics'];
type Measure = Data['current']['deploymentFrequency'];

const BAND_STYLE: Record<string, string> = {
  elite: 'bg-emerald-100 text-emerald-800 dark:bg-emerald-500/15 dark:text-emerald-300',
  high: 'bg-sky-100 text-sky-800 dark:bg-sky-500/15 dark:text-sky-300',
  medium: 'bg-amber-100 text-amber-800 dark:bg-amber-500/15 dark:text-amber-300',
  low: 'bg-red-100 text-red-800 dark:bg-red-500/15 dark:text-red-300',
};

export const MEASURES = [
  { key: 'frequency', label: 'Deployment frequency', pick: (d: Data['current']) => d.deploymentFrequency, format: (v: number | null) => (v === null ? '—' : `${v >= 1 ? v.toFixed(1) : (v * 7).toFixed(1)} / ${v >= 1 ? 'day' : 'week'}`), better: 'up' },
  { key: 'lead', label: 'Lead time for changes', pick: (d: Data['current']) => d.leadTime, format: (v: number | null) => (v === null ? '—' : formatDuration(v)), better: 'down' },
  { key: 'cfr', label: 'Change failure rate', pick: (d: Data['current']) => d.changeFailureRate, format: (v: number | null) => (v === null ? '—' : `${Math.round(v * 100)} %`), better: 'down' },
  { key: 'restore', label: 'Time to restore', pick: (d: Data['current']) => d.timeToRestore, format: (v: number | null) => (v === null ? '—' : formatDuration(v)), better: 'down' },
] as const;

function Band({ band }: { band: string | null }) {
  if (!band) return <span className="text-xs text-muted">no band (no data)</span>;
  return <span className={cx('rounded-full px-2 py-0.5 text-xs font-semibold uppercase tracking-wide', BAND_STYLE[band])}>{band}</span>;
}

function trend(cur: number | null, prev: number | null, better: 'up' | 'down'): { text: string; good: boolean | null } {
  if (cur === null || prev === null) return { text: 'no earlier data to compare', good: null };
  if (cur === prev) return { text: 'same as the period before', good: null };
  const up = cur > prev;
  return { text: `${up ? '▲' : '▼'} from the period before`, good: up === (better === 'up') };
}

function MeasureCard({ m, data, params }: { m: (typeof MEASURES)[number]; data: Data; params: InsightsParams }) {
  const cur = m.pick(data.current) as Measure;
  const prev = m.pick(data.previous) as Measure;
  const t = trend(cur.value, prev.value, m.better);
  const detail =
    m.key === 'frequency'
      ? `${data.current.deploymentFrequency.count} deployments`
      : m.key === 'cfr'
        ? `${data.current.changeFailureRate.failures} of ${data.current.changeFailureRate.total} deployments`
        : m.key === 'restore'
          ? `${data.current.timeToRestore.unrestored} not restored yet`
          : 'median';
  return (
    <Card className="p-4" data-measure={m.key}>
      <div className="flex items-start justify-between gap-2">
        <h3 className="text-sm font-medium text-muted">{m.label}</h3>
        <Band band={cur.band} />
      </div>
      {/* elementtiming: the browser records when this number was painted (Element Timing API; bench:insights reads it). */}
      <p className="mt-2 text-2xl font-semibold tabular-nums" data-testid={`measure-${m.key}`} elementtiming={`measure-${m.key}`}>
        {m.format(cur.value)}
      </p>
      <p className="mt-1 text-xs text-muted">
        {detail} · was {m.format(prev.value)}{' '}
        <span className={cx(t.good === true && 'text-emerald-700 dark:text-emerald-300', t.good === false && 'text-red-700 dark:text-red-300')}>{t.text}</span>
      </p>
      <Link href={insightsHref('/insights', params, { show: m.key })} className="mt-2 inline-block text-sm text-accent hover:underline">
        {cur.runIds.length} run{cur.runIds.length === 1 ? '' : 's'} behind this number →
      </Link>
    </Card>
  );
}

function RunLink({ data, runId }: { data: Data; runId: string }) {
  const r = data.runs[runId];
  if (!r) return <span>—</span>;
  return (
    <a href={`/pipelines/${encodeURIComponent(r.pipelineId)}/runs/${encodeURIComponent(runId)}`} className="text-accent hover:underline">
      {r.pipelineName} #{r.number}
    </a>
  );
}

/** The deployments (or runs) behind the chosen number. */
function DrillDown({ data, params }: { data: Data; params: InsightsParams }) {
  const show = params.show!;
  let title = '';
  let rows = data.deployments;
  let runIds: string[] | null = null;
  if (show === 'frequency') {
    title = 'Deployments that went live';
    rows = rows.filter((d) => d.ok);
  } else if (show === 'lead') {
    title = 'Lead time of each deployment that went live';
    rows = rows.filter((d) => d.ok);
  } else if (show === 'cfr') {
    title = 'Change failures';
    rows = rows.filter((d) => d.failure);
  } else if (show === 'restore') {
    title = 'Change failures and what restored them';
    rows = rows.filter((d) => d.failure);
  } else if (show.startsWith('day:')) {
    title = `Deployments on ${show.slice(4)} (${data.window.timeZone})`;
    // The day's deployments: the instants the chart counted for that day (no time-zone conversion per row).
    const day = data.series.find((p) => p.day === show.slice(4));
    rows = day ? rows.filter((d) => d.at >= day.start && d.at < day.end) : [];
  } else if (show.startsWith('flaky:')) {
    const f = data.flakyStages.find((s) => s.nodeId === show.slice(6));
    title = `Runs where ${f?.name ?? show.slice(6)} failed, then passed`;
    runIds = f?.runIds ?? [];
  } else if (show.startsWith('gate:')) {
    const g = data.gateWaits.find((s) => s.nodeId === show.slice(5));
    title = `Runs that waited at ${g?.name ?? show.slice(5)}`;
    runIds = g?.runIds ?? [];
  } else {
    return null;
  }
  return (
    <Card className="mb-6 p-4" aria-labelledby="drill-title" data-testid="drill-down">
      <div className="mb-3 flex items-center justify-between">
        <h2 id="drill-title" className="text-base font-semibold">
          {title}
        </h2>
        <Link href={insightsHref('/insights', params, { show: undefined })} className={buttonStyles.ghost}>
          Close
        </Link>
      </div>
      {runIds ? (
        runIds.length === 0 ? (
          <p className="text-sm text-muted">No runs.</p>
        ) : (
          <ul className="flex flex-wrap gap-3 text-sm">
            {[...new Set(runIds)].map((id) => (
              <li key={id}>
                <RunLink data={data} runId={id} />
              </li>
            ))}
          </ul>
        )
      ) : rows.length === 0 ? (
        <p className="text-sm text-muted">No deployments.</p>
      ) : (
        <DeploymentsTable data={data} rows={rows} />
      )}
    </Card>
  );
}

function DeploymentsTable({ data, rows }: { data: Data; rows: Data['deployments'] }) {
  return (
    <div className="overflow-x-auto">
      <table className="w-full text-left text-sm">
        <thead className="text-xs uppercase text-muted">
          <tr>
            <th className="py-1 pr-3">Run</th>
            <th className="py-1 pr-3">Environment</th>
            <th className="py-1 pr-3">Deployed</th>
            <th className="py-1 pr-3">Lead time</th>
            <th className="py-1 pr-3">Change failure</th>
            <th className="py-1 pr-3">Restored by</th>
          </tr>
        </thead>
        <tbody>
          {rows.slice(0, 500).map((d) => (
            <tr key={`${d.runId}:${d.environment}`} className="border-t border-line">
              <td className="py-1 pr-3">
                <RunLink data={data} runId={d.runId} />
              </td>
              <td className="py-1 pr-3">{d.environment}</td>
              <td className="py-1 pr-3 tabular-nums">{formatUtc(new Date(d.at))}</td>
              <td className="py-1 pr-3 tabular-nums">{d.leadTimeMs === null ? '—' : formatDuration(d.leadTimeMs)}</td>
              <td className="py-1 pr-3">{d.failure ? `${d.failure}${d.failedStage ? ` (${d.failedStage})` : ''}` : 'no'}</td>
              <td className="py-1 pr-3">
                {d.restoredByRunId ? (
                  <>
                    <RunLink data={data} runId={d.restoredByRunId} /> after {formatDuration((d.restoredAt ?? d.at) - d.at)}
                  </>
                ) : d.failure ? (
                  'not yet'
                ) : (
                  '—'
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length > 500 && <p className="mt-2 text-xs text-muted">The 500 newest of {rows.length}; the CSV export has them all.</p>}
    </div>
  );
}

export function InsightsView({ data, params }: { data: Data; params: InsightsParams }) {
  const gates = gateBars(data.gateWaits, (nodeId) => insightsHref('/insights', params, { show: `gate:${nodeId}` }));
  const stages = stageBars(data.stageDurations);
  const scope = data.pipelineId ? (data.pipelines.find((p) => p.id === data.pipelineId)?.name ?? 'this pipeline') : 'all pipelines';
  return (
    <>
      <PageHeader
        title="Delivery insight"
        subtitle={`${scope}${data.environment ? `, ${data.environment}` : ', every environment'} · the last ${data.window.days} days · days in ${data.window.timeZone}. Rehearsals and deleted pipelines are left out.`}
        actions={
          <div className="flex gap-2">
            <a href={insightsHref('/api/insights/export', params, { show: undefined }) + '&format=csv'} className={buttonStyles.secondary} download>
              Export CSV
            </a>
            <a href={insightsHref('/api/insights/export', params, { show: undefined }) + '&format=json'} className={buttonStyles.secondary} download>
              Export JSON
            </a>
            {data.pipelineId && (
              <Link href={`/pipelines/${encodeURIComponent(data.pipelineId)}/release-plan`} className={buttonStyles.secondary}>
                Release plan
              </Link>
            )}
          </div>
        }
      />
      <form method="get" action="/insights" className="mb-6 flex flex-wrap items-end gap-3" aria-label="Filters">
        <label className="text-sm">
          <span className="mb-1 block text-muted">Pipeline</span>
          <select name="pipeline" defaultValue={data.pipelineId ?? ''} className={inputClass}>
            <option value="">All pipelines</option>
            {data.pipelines.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>
        </label>
        <label className="text-sm">
          <span className="mb-1 block text-muted">Environment</span>
          <select name="environment" defaultValue={data.environment ?? ''} className={inputClass}>
            <option value="">Every environment</option>
            {data.environments.map((e) => (
              <option key={e.name} value={e.name}>
                {e.displayName}
              </option>
            ))}
          </select>
        </label>
        <label className="text-sm">
          <span className="mb-1 block text-muted">Period</span>
          <select name="days" defaultValue={String(data.window.days)} className={inputClass}>
            <option value="7">7 days</option>
            <option value="30">30 days</option>
            <option value="90">90 days</option>
          </select>
        </label>
        <label className="text-sm">
          <span className="mb-1 block text-muted">Time zone</span>
          <input name="tz" defaultValue={data.window.timeZone} className={inputClass} list="insights-zones" />
          <datalist id="insights-zones">
            {['UTC', 'Europe/London', 'Europe/Berlin', 'America/New_York', 'America/Los_Angeles', 'Asia/Kolkata', 'Asia/Tokyo', 'Australia/Sydney'].map((z) => (
              <option key={z} value={z} />
            ))}
          </datalist>
        </label>
        <button type="submit" className={buttonStyles.primary}>
          Apply
        </button>
      </form>

      {params.show && <DrillDown data={data} params={params} />}

      <section aria-label="DORA measures" className="mb-8 grid gap-4 sm:grid-cols-2 lg:grid-cols-4">
        {MEASURES.map((m) => (
          <MeasureCard key={m.key} m={m} data={data} params={params} />
        ))}
      </section>
      <p className="-mt-5 mb-8 text-xs text-muted">
        Bands from the 2023 Accelerate State of DevOps report (DORA). How each number is defined: docs/insights.md. Trends compare with the {data.window.days} days before.
      </p>

      <section className="mb-8">
        <SectionTitle>Deployments per day</SectionTitle>
        <Card className="p-4">
          <figure>
            <DayBarsChart bars={dayBars(data.series, (day) => insightsHref('/insights', params, { show: `day:${day}` }))} />
            <figcaption className="mt-1 flex gap-4 text-xs text-muted">
              <span>
                <span className="mr-1 inline-block h-2 w-2 bg-emerald-500" aria-hidden />
                went live and held
              </span>
              <span>
                <span className="mr-1 inline-block h-2 w-2 bg-red-400" aria-hidden />
                change failure
              </span>
              {/* After the chart in the page: when this is painted, so is the chart (bench:insights reads it). */}
              <span elementtiming="day-chart-caption">Click a day for its deployments.</span>
            </figcaption>
          </figure>
          <details className="mt-3 text-sm">
            <summary className="cursor-pointer text-muted">The same as a table</summary>
            <table className="mt-2 w-full text-left">
              <caption className="sr-only">Deployments and change failures per day</caption>
              <thead className="text-xs uppercase text-muted">
                <tr>
                  <th className="pr-3">Day</th>
                  <th className="pr-3">Deployments</th>
                  <th className="pr-3">Change failures</th>
                </tr>
              </thead>
              <tbody>
                {data.series.map((p) => (
                  <tr key={p.day} className="border-t border-line">
                    <td className="pr-3 tabular-nums">
                      <a href={insightsHref('/insights', params, { show: `day:${p.day}` })} className="hover:underline">
                        {p.day}
                      </a>
                    </td>
                    <td className="pr-3 tabular-nums">{p.deployments}</td>
                    <td className="pr-3 tabular-nums">{p.failures}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </details>
        </Card>
      </section>

      <div className="grid gap-6 lg:grid-cols-2">
        <section>
          <SectionTitle>Slowest stages</SectionTitle>
          <Card className="overflow-x-auto p-4">
            {data.stageDurations.length === 0 ? (
              <p className="text-sm text-muted">No finished stages in this period.</p>
            ) : (
              <>
                <StageDurationsChart bars={stages} />
                <table className="mt-3 w-full text-left text-sm">
                <caption className="sr-only">Stage durations, slowest first</caption>
                <thead className="text-xs uppercase text-muted">
                  <tr>
                    <th className="pr-3">Stage</th>
                    <th className="pr-3">Runs</th>
                    <th className="pr-3">Median</th>
                    <th className="pr-3">p90</th>
                    <th className="pr-3">Slowest</th>
                  </tr>
                </thead>
                <tbody>
                  {data.stageDurations.map((s) => (
                    <tr key={s.nodeId} className="border-t border-line">
                      <td className="pr-3">{s.name}</td>
                      <td className="pr-3 tabular-nums">{s.count}</td>
                      <td className="pr-3 tabular-nums">{formatDuration(s.medianMs)}</td>
                      <td className="pr-3 tabular-nums">{formatDuration(s.p90Ms)}</td>
                      <td className="pr-3">
                        <RunLink data={data} runId={s.slowestRunId} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              </>
            )}
          </Card>
        </section>
        <section>
          <SectionTitle>Waiting for approval</SectionTitle>
          <Card className="overflow-x-auto p-4">
            {data.gateWaits.length === 0 ? (
              <p className="text-sm text-muted">No gates waited in this period.</p>
            ) : (
              <>
                {gates.length > 0 && (
                  <GateWaitsChart bars={gates} />
                )}
                <table className="mt-3 w-full text-left text-sm">
                <caption className="sr-only">How long each gate waited for a decision</caption>
                <thead className="text-xs uppercase text-muted">
                  <tr>
                    <th className="pr-3">Gate</th>
                    <th className="pr-3">Approvers</th>
                    <th className="pr-3">Decided</th>
                    <th className="pr-3">Median wait</th>
                    <th className="pr-3">p90</th>
                  </tr>
                </thead>
                <tbody>
                  {data.gateWaits.map((g) => (
                    <tr key={g.nodeId} className="border-t border-line">
                      <td className="pr-3">
                        <a href={insightsHref('/insights', params, { show: `gate:${g.nodeId}` })} className="text-accent hover:underline">
                          {g.name}
                        </a>
                      </td>
                      <td className="pr-3">{g.approvers}</td>
                      <td className="pr-3 tabular-nums">
                        {g.decided}
                        {g.waiting > 0 ? ` (${g.waiting} waiting)` : ''}
                      </td>
                      <td className="pr-3 tabular-nums">{g.medianMs === null ? '—' : formatDuration(g.medianMs)}</td>
                      <td className="pr-3 tabular-nums">{g.p90Ms === null ? '—' : formatDuration(g.p90Ms)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              </>
            )}
          </Card>
        </section>
        <section>
          <SectionTitle>Flaky stages</SectionTitle>
          <Card className="overflow-x-auto p-4">
            {data.flakyStages.length === 0 ? (
              <p className="text-sm text-muted">No stage failed and then passed with nothing changed in this period.</p>
            ) : (
              <table className="w-full text-left text-sm">
                <caption className="sr-only">Stages that failed, then passed on a retry or re-run</caption>
                <thead className="text-xs uppercase text-muted">
                  <tr>
                    <th className="pr-3">Stage</th>
                    <th className="pr-3">Failed, then passed</th>
                    <th className="pr-3">Ran</th>
                  </tr>
                </thead>
                <tbody>
                  {data.flakyStages.map((f) => (
                    <tr key={f.nodeId} className="border-t border-line">
                      <td className="pr-3">
                        <a href={insightsHref('/insights', params, { show: `flaky:${f.nodeId}` })} className="text-accent hover:underline">
                          {f.name}
                        </a>
                      </td>
                      <td className="pr-3 tabular-nums">{f.flaky}</td>
                      <td className="pr-3 tabular-nums">{f.executed}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </Card>
        </section>
        <section>
          <SectionTitle aside={<Tag>{data.deployments.length}</Tag>}>Deployments</SectionTitle>
          <Card className="p-4">{data.deployments.length === 0 ? <p className="text-sm text-muted">No deployments in this period.</p> : <DeploymentsTable data={data} rows={data.deployments.slice(0, 20)} />}</Card>
        </section>
      </div>
    </>
  );
}
