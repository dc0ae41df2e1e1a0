/**
 * Delivery insight: the metrics read from the facts kept per run (facts.ts) and linked across runs (metrics.ts).
 *
 * 1. Only real runs count: rehearsals have no facts, and runs of deleted pipelines are left out here, in the
 *    queries, so no metric can forget it.
 * 2. The window is the last 7, 30 or 90 days; the period before it (same length) is derived too, for trends.
 * 3. Each run's deployments, rollback and executed stage results were derived once, when the control plane
 *    recorded them (`insight_deployments`, `insight_stages`, migration 0013_insights_facts); any run still behind
 *    (or recorded before that migration) is derived first. What needs several runs — rollbacks that make a change
 *    failure, restores — is linked here over those compact rows; stage durations and flaky stages are aggregated
 *    by SQLite, per stage.
 */
import { and, eq, gte, isNull, sql } from 'drizzle-orm';
import type { Db } from '../../../db/client';
import { environments, gates, pipelines, runs } from '../../../db/schema';
import { notFound } from '../../errors';
import { loadPlans, refreshFactsBehind, type FactRow } from './facts';
import {
  DAY,
  dailySeries,
  dora,
  durationOf,
  gateWaits,
  leadTimeOf,
  linkDeployments,
  sortDurations,
  sortFlaky,
  type Deployment,
  type FlakyStage,
  type Rollback,
} from './metrics';

export const WINDOWS = [7, 30, 90] as const;
export type WindowDays = (typeof WINDOWS)[number];

export type InsightsQuery = {
  pipelineId?: string;
  environment?: string;
  days: WindowDays;
  /** IANA time zone for calendar days (default UTC). */
  timeZone?: string;
  /** Fixed "now" (tests, exports that must match a page). */
  now?: number;
};

export type InsightsResult = Awaited<ReturnType<typeof deriveInsights>>;

/** Results by query and minute, with the fingerprint of the data they were derived from (newest last). */
const resultCache = new Map<string, { fp: string; result: InsightsResult }>();
const RESULT_CACHE_SIZE = 20;

/**
 * One string that changes whenever anything the metrics read can change: the change counters that triggers raise
 * in the same transaction as every write to runs, stage results, promotions and gates (of this pipeline, or of any
 * for all pipelines) and to pipelines and environments (migration 0013_insights_facts). Two rows by primary key.
 */
async function dataFingerprint(db: Db, pipelineId: string | undefined): Promise<string> {
  const rows = await db.all<{ scope: string; seq: number }>(sql`select scope, seq from insight_changes where scope in (${pipelineId ?? '*'}, 'catalog') order by scope`);
  return rows.map((r) => `${r.scope}:${r.seq}`).join('|');
}

/** Forgets every derived result (benchmarks measure the derivation itself with it). */
export function clearInsightsCache() {
  resultCache.clear();
}

/**
 * The metrics for a query. Derived results are kept per query for the minute they were asked in, for as long as
 * the data fingerprint stays the same: a page reload or a live refetch of unchanged data does not read the facts
 * again; any new run, stage result, promotion, gate decision, environment or pipeline change does.
 */
export async function getInsights(db: Db, q: InsightsQuery) {
  const now = q.now ?? Date.now();
  const timeZone = q.timeZone && isTimeZone(q.timeZone) ? q.timeZone : 'UTC';
  if (q.pipelineId) {
    const head = await db.select({ deletedAt: pipelines.deletedAt }).from(pipelines).where(eq(pipelines.id, q.pipelineId)).get();
    if (!head || head.deletedAt) throw notFound('Pipeline');
  }
  const key = JSON.stringify([q.pipelineId ?? null, q.environment ?? null, q.days, timeZone, q.now ?? Math.floor(now / 60_000)]);
  // Read before the facts: a write landing while they are read changes the fingerprint, so that result is not reused.
  const fp = await dataFingerprint(db, q.pipelineId);
  const hit = resultCache.get(key);
  if (hit && hit.fp === fp) return hit.result;
  await refreshFactsBehind(db);
  const result = await deriveInsights(db, q, now, timeZone);
  resultCache.delete(key);
  if (resultCache.size >= RESULT_CACHE_SIZE) resultCache.delete(resultCache.keys().next().value!);
  resultCache.set(key, { fp, result });
  return result;
}

type StageRow = { nodeId: string; mx: number | null; slowest: string; ds: string | null; executed: number; flaky: number; fr: string | null };

async function deriveInsights(db: Db, q: InsightsQuery, now: number, timeZone: string) {
  const to = now;
  const from = now - q.days * DAY;
  const prevFrom = from - q.days * DAY;
  const ofPipeline = (col: ReturnType<typeof sql.raw>) => (q.pipelineId ? sql` and ${col} = ${q.pipelineId}` : sql``);

  // Runs created since the start of the previous period (a deployment happens after its run is created). Facts are
  // handed over by SQLite as one JSON document each instead of tens of thousands of row objects.
  const runScope = and(eq(runs.rehearsal, false), isNull(pipelines.deletedAt), gte(runs.createdAt, new Date(prevFrom)), q.pipelineId ? eq(runs.pipelineId, q.pipelineId) : undefined);
  const [deploymentJson, stageRows, runJson, hashRows, gateRows, envRows, pipelineRows] = await Promise.all([
    db.get<{ j: string | null }>(sql`select '[' || group_concat(d.row) || ']' as j
      from insight_deployments d join pipelines p on p.id = d.pipeline_id
      where p.deleted_at is null and d.run_created_at >= ${prevFrom}${ofPipeline(sql.raw('d.pipeline_id'))}${q.environment ? sql` and d.environment = ${q.environment}` : sql``}`),
    // Per stage of the window's runs (in index order, no sort): durations (median, p90), the slowest run, executed and flaky counts.
    db.all<StageRow>(sql`select s.node_id as nodeId, max(s.duration_ms) as mx, s.run_id as slowest,
        json_group_array(s.duration_ms) filter (where s.duration_ms is not null) as ds,
        count(*) as executed, sum(s.flaky) as flaky, json_group_array(s.run_id order by s.run_created_at, s.run_id) filter (where s.flaky) as fr
      from insight_stages s join pipelines p on p.id = s.pipeline_id
      where p.deleted_at is null and s.run_created_at >= ${from}${ofPipeline(sql.raw('s.pipeline_id'))}
      group by s.node_id`),
    // The run references of the page, parsed straight into the object the result carries.
    db.get<{ j: string }>(sql`select json_group_object(${runs.id}, json_object('number', ${runs.number}, 'pipelineId', ${runs.pipelineId}, 'pipelineName', ${pipelines.name})) as j
      from ${runs} join ${pipelines} on ${pipelines.id} = ${runs.pipelineId} where ${runScope}`),
    db.selectDistinct({ hash: runs.planHash }).from(runs).innerJoin(pipelines, eq(pipelines.id, runs.pipelineId)).where(runScope),
    db
      .select({ runId: gates.runId, nodeId: gates.nodeId, status: gates.status, waitingSince: gates.waitingSince, decidedAt: gates.decidedAt })
      .from(gates)
      .innerJoin(runs, eq(runs.id, gates.runId))
      .innerJoin(pipelines, eq(pipelines.id, runs.pipelineId))
      .where(and(runScope, gte(gates.waitingSince, new Date(from)))),
    db.select({ name: environments.name, displayName: environments.displayName, position: environments.position }).from(environments).orderBy(environments.position),
    db.select({ id: pipelines.id, name: pipelines.name }).from(pipelines).where(isNull(pipelines.deletedAt)).orderBy(pipelines.name),
  ]);

  const plans = await loadPlans(db, hashRows.map((r) => r.hash));
  const runInfo = JSON.parse(runJson?.j ?? '{}') as Record<string, RunRef>;
  const pipelineName = new Map(pipelineRows.map((p) => [p.id, p.name]));

  // The runs' own deployments (in run order, as they were derived) and rollbacks, linked across runs.
  const tuples = (JSON.parse(deploymentJson?.j ?? '[]') as FactRow[]).sort((a, b) => a[5] - b[5] || a[2] - b[2] || a[10] - b[10] || a[11] - b[11]);
  // Made in the shape the page gets (windowDeployments hands the window's ones over as they are).
  const own: ListedDeployment[] = [];
  const rollbacks: (Rollback & { createdAt: number; number: number })[] = [];
  for (const [kind, runId, runNumber, pipelineId, environment, at, ok, changeAt, failure, failedStage, createdAt] of tuples) {
    if (kind === 'rollback') rollbacks.push({ environment, at, runId, pipelineId, createdAt, number: runNumber });
    else {
      own.push({
        runId,
        runNumber,
        pipelineId,
        environment,
        at,
        ok: ok === 1,
        leadTimeMs: leadTimeOf(ok === 1, at, changeAt),
        failure,
        failedStage,
        restoredAt: null,
        restoredByRunId: null,
        number: runNumber,
        pipelineName: pipelineName.get(pipelineId) ?? '',
        restoredByRunNumber: null,
      });
    }
  }
  rollbacks.sort((a, b) => a.createdAt - b.createdAt || a.number - b.number);
  const deployments = linkDeployments(own, rollbacks) as ListedDeployment[];

  const names = new Map<string, string>();
  const gateInfo = new Map<string, { name: string; approvers: string }>();
  for (const p of plans.values()) {
    for (const n of p.nodes) names.set(n.id, n.name);
    for (const [id, g] of p.gates) gateInfo.set(id, g);
  }
  // Stage-level measures cover the window (and the chosen environment's stages when one is chosen).
  const envNodes = q.environment ? new Set([...plans.values()].flatMap((p) => p.nodes.filter((n) => n.environment === q.environment).map((n) => n.id))) : null;
  const perStage = stageRows.filter((s) => !envNodes || envNodes.has(s.nodeId));
  const flaky: FlakyStage[] = perStage
    .filter((s) => s.flaky > 0)
    .map((s) => ({ nodeId: s.nodeId, name: names.get(s.nodeId) ?? s.nodeId, flaky: s.flaky, executed: s.executed, runIds: JSON.parse(s.fr ?? '[]') as string[] }));

  return {
    window: { days: q.days, from, to, timeZone },
    pipelineId: q.pipelineId ?? null,
    environment: q.environment ?? null,
    pipelines: pipelineRows,
    environments: envRows,
    current: dora(deployments, from, to),
    previous: dora(deployments, prevFrom, from),
    series: dailySeries(deployments, from, to, timeZone),
    deployments: windowDeployments(deployments, from, to, runInfo),
    stageDurations: sortDurations(perStage.filter((s) => s.mx !== null).map((s) => durationOf(s.nodeId, names.get(s.nodeId) ?? s.nodeId, Float64Array.from(JSON.parse(s.ds!) as number[]).sort() as unknown as number[], s.slowest))).slice(0, 50),
    gateWaits: gateWaits(
      gateRows.filter((g) => !envNodes || envNodes.has(g.nodeId)).map((g) => ({ ...g, waitingSince: g.waitingSince.getTime(), decidedAt: g.decidedAt?.getTime() ?? null })),
      gateInfo,
    ),
    flakyStages: sortFlaky(flaky),
    runs: runInfo,
  };
}

type RunRef = { number: number; pipelineId: string; pipelineName: string };

type ListedDeployment = Deployment & RunRef & { restoredByRunNumber: number | null };

/** The deployments of [from, to), newest first, with the number of the run that restored them. */
function windowDeployments(deployments: ListedDeployment[], from: number, to: number, runInfo: Record<string, RunRef>) {
  const out: ListedDeployment[] = [];
  for (let i = deployments.length - 1; i >= 0; i--) {
    const d = deployments[i]!;
    if (d.at < from || d.at >= to) continue;
    d.restoredByRunNumber = d.restoredByRunId ? (runInfo[d.restoredByRunId]?.number ?? null) : null;
    out.push(d);
  }
  return out;
}


export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export type DeploymentRow = Deployment & { number: number; pipelineName: string };

/** CSV of the deployments behind the numbers (formula-safe: cells starting with = + - @ are quoted with '). */
export function deploymentsCsv(result: InsightsResult): string {
  const header = ['pipeline', 'run', 'environment', 'deployed_at', 'went_live', 'lead_time_s', 'change_failure', 'failed_stage', 'restored_at', 'restored_by_run'];
  const cell = (v: unknown) => {
    let s = v === null || v === undefined ? '' : String(v);
    if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const lines = result.deployments.map((d) =>
    [
      d.pipelineName,
      d.number,
      d.environment,
      new Date(d.at).toISOString(),
      d.ok,
      d.leadTimeMs === null ? '' : Math.round(d.leadTimeMs / 1000),
      d.failure ?? '',
      d.failedStage ?? '',
      d.restoredAt ? new Date(d.restoredAt).toISOString() : '',
      d.restoredByRunNumber ?? '',
    ]
      .map(cell)
      .join(','),
  );
  return [header.join(','), ...lines].join('\n') + '\n';
}
