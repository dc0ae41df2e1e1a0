/**
 * Delivery insight: loads real runs and derives the metrics (server/services/insights/metrics.ts).
 *
 * 1. Only real runs count: rehearsals (`runs.rehearsal`) and runs of deleted pipelines are left out here, in
 *    the query, so no metric can forget it.
 * 2. The window is the last 7, 30 or 90 days; the period before it (same length) is derived too, for trends.
 * 3. Plans are read once per plan hash (a plan never changes for its hash), stage results as seven small columns
 *    (through covering indexes: see migration 0012_insights_indexes).
 */
import { and, eq, gte, inArray, isNull, sql } from 'drizzle-orm';
import type { Db } from '../../../db/client';
import { environments, gates, pipelines, promotions, runs, stageRuns } from '../../../db/schema';
import { executionPlanSchema } from '../../../workflows/model/plan';
import { notFound } from '../../errors';
import {
  DAY,
  dailySeries,
  deriveDeployments,
  dora,
  flakyStages,
  gateWaits,
  stageDurations,
  type Deployment,
  type InsightPlan,
  type InsightRun,
  type InsightStage,
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

/** Plans by hash, parsed once per process. */
const planCache = new Map<string, InsightPlan & { gates: Map<string, { name: string; approvers: string }> }>();

function approversText(g: { users: string[]; groups: string[]; quorum: number }): string {
  const who = [...g.groups.map((x) => `group ${x}`), ...g.users].join(', ');
  return `${who || 'nobody'} (${g.quorum} of them)`;
}

async function loadPlans(db: Db, hashes: string[]) {
  const missing = hashes.filter((h) => !planCache.has(h));
  for (let i = 0; i < missing.length; i += 200) {
    const chunk = missing.slice(i, i + 200);
    // One run per hash, found in runs_plan_hash_idx (a plan never changes for its hash).
    const rows = await db
      .select({ hash: runs.planHash, plan: runs.plan })
      .from(runs)
      .where(inArray(sql`rowid`, db.select({ id: sql`min(rowid)` }).from(runs).where(inArray(runs.planHash, chunk)).groupBy(runs.planHash)));
    for (const r of rows) {
      const raw: unknown = typeof r.plan === 'string' ? JSON.parse(r.plan) : r.plan;
      const parsed = executionPlanSchema.safeParse(raw);
      const nodes = parsed.success ? parsed.data.nodes : [];
      planCache.set(r.hash, {
        nodes: nodes.map((n) => ({ id: n.id, kind: n.kind, name: n.name, environment: n.environment, needs: n.needs })),
        gates: new Map(nodes.filter((n) => n.gate).map((n) => [n.id, { name: n.name, approvers: approversText(n.gate!) }])),
      });
    }
  }
  return new Map(hashes.map((h) => [h, planCache.get(h) ?? { nodes: [], gates: new Map() }]));
}

export type InsightsResult = Awaited<ReturnType<typeof deriveInsights>>;

/** Results by query and minute, with the fingerprint of the data they were derived from (newest last). */
const resultCache = new Map<string, { fp: string; result: InsightsResult }>();
const RESULT_CACHE_SIZE = 20;

/**
 * One string that changes whenever anything the metrics read can change: the runs in scope (count, newest,
 * ends, active, failed, rehearsals), their stage results (count, latest start and end, attempts, how many in
 * each state), promotions, gates (count, waiting, latest decision), environments and pipelines (names,
 * deletions). One query aggregated by SQLite over the covering indexes, about as cheap as a `count(*)`.
 */
async function dataFingerprint(db: Db, pipelineId: string | undefined): Promise<string> {
  const inScope = pipelineId ? sql`r.pipeline_id = ${pipelineId}` : sql`1`;
  const row = await db.get<{ fp: string | null }>(sql`
    select (
      select count(*) || ':' || coalesce(max(r.created_at), 0) || ':' || coalesce(max(r.ended_at), 0) || ':' || coalesce(sum(r.status in ('queued', 'running')), 0) || ':' || coalesce(sum(r.status = 'failed'), 0) || ':' || coalesce(sum(r.rehearsal), 0)
      from runs r where ${inScope}
    ) || '|' || (
      select count(*) || ':' || coalesce(max(s.started_at), 0) || ':' || coalesce(max(s.ended_at), 0) || ':' || coalesce(sum(s.attempt), 0) || ':' || coalesce(sum(s.reused_from is not null), 0) || ':' ||
        coalesce(sum(s.status = 'pending'), 0) || ':' || coalesce(sum(s.status = 'running'), 0) || ':' || coalesce(sum(s.status = 'waiting'), 0) || ':' || coalesce(sum(s.status = 'succeeded'), 0) || ':' ||
        coalesce(sum(s.status = 'failed'), 0) || ':' || coalesce(sum(s.status = 'skipped'), 0) || ':' || coalesce(sum(s.status = 'cancelled'), 0)
      from stage_runs s join runs r on r.id = s.run_id where ${inScope}
    ) || '|' || (
      select count(*) || ':' || coalesce(max(p.created_at), 0) || ':' || coalesce(sum(p.rollback), 0) from promotions p ${pipelineId ? sql`where p.pipeline_id = ${pipelineId}` : sql``}
    ) || '|' || (
      select count(*) || ':' || coalesce(sum(g.status = 'waiting'), 0) || ':' || coalesce(max(g.decided_at), 0) || ':' || coalesce(max(g.waiting_since), 0)
      from gates g join runs r on r.id = g.run_id where ${inScope}
    ) || '|' || (select count(*) || ':' || coalesce(max(updated_at), 0) || ':' || coalesce(sum(position * 7 + length(name) + length(display_name)), 0) from environments)
      || '|' || (select count(*) || ':' || coalesce(max(updated_at), 0) || ':' || coalesce(sum(deleted_at is not null), 0) || ':' || coalesce(sum(length(name)), 0) from pipelines) as fp
  `);
  return row?.fp ?? '';
}

/** Forgets every derived result (benchmarks measure the derivation itself with it). */
export function clearInsightsCache() {
  resultCache.clear();
}

/**
 * The metrics for a query. Derived results are kept per query for the minute they were asked in, for as long as
 * the data fingerprint (one aggregate query) stays the same: a page reload or a live refetch of unchanged data
 * does not derive every deployment again; any new run, stage result, promotion, gate decision, environment or
 * pipeline change does.
 */
export async function getInsights(db: Db, q: InsightsQuery) {
  const now = q.now ?? Date.now();
  const timeZone = q.timeZone && isTimeZone(q.timeZone) ? q.timeZone : 'UTC';
  if (q.pipelineId) {
    const head = await db.select({ deletedAt: pipelines.deletedAt }).from(pipelines).where(eq(pipelines.id, q.pipelineId)).get();
    if (!head || head.deletedAt) throw notFound('Pipeline');
  }
  const key = JSON.stringify([q.pipelineId ?? null, q.environment ?? null, q.days, timeZone, q.now ?? Math.floor(now / 60_000)]);
  const fp = await dataFingerprint(db, q.pipelineId);
  const hit = resultCache.get(key);
  if (hit && hit.fp === fp) return hit.result;
  const result = await deriveInsights(db, q, now, timeZone);
  resultCache.delete(key);
  if (resultCache.size >= RESULT_CACHE_SIZE) resultCache.delete(resultCache.keys().next().value!);
  resultCache.set(key, { fp, result });
  return result;
}

async function deriveInsights(db: Db, q: InsightsQuery, now: number, timeZone: string) {
  const to = now;
  const from = now - q.days * DAY;
  const prevFrom = from - q.days * DAY;

  // Runs created since the start of the previous period (a deployment happens after its run is created).
  // The run and stage rows are read through covering indexes (runs_insights_idx, stage_runs_insights_idx) and
  // handed over as one JSON document built by SQLite: 10,000 runs and 50,000 stage results cross the driver as
  // two values instead of 60,000 row objects.
  const scope = sql`${runs.rehearsal} = 0 and ${pipelines.deletedAt} is null and ${runs.createdAt} >= ${prevFrom}${q.pipelineId ? sql` and ${runs.pipelineId} = ${q.pipelineId}` : sql``}`;
  const where = and(eq(runs.rehearsal, false), isNull(pipelines.deletedAt), gte(runs.createdAt, new Date(prevFrom)), q.pipelineId ? eq(runs.pipelineId, q.pipelineId) : undefined);
  const [runJson, stageJson, promotionRows, gateRows, envRows, pipelineRows] = await Promise.all([
    db.get<{ j: string }>(sql`select json_group_array(json_array(${runs.id}, ${runs.number}, ${runs.pipelineId}, ${pipelines.name}, ${runs.status}, ${runs.trigger}, ${runs.createdAt}, ${runs.planHash}, ${runs.reusedFromRunId})) as j
      from ${runs} join ${pipelines} on ${pipelines.id} = ${runs.pipelineId} where ${scope}`),
    db.get<{ j: string }>(sql`select json_group_array(json_array(${stageRuns.runId}, ${stageRuns.nodeId}, ${stageRuns.status}, ${stageRuns.attempt}, ${stageRuns.startedAt}, ${stageRuns.endedAt}, ${stageRuns.reusedFrom})) as j
      from ${stageRuns} join ${runs} on ${runs.id} = ${stageRuns.runId} join ${pipelines} on ${pipelines.id} = ${runs.pipelineId} where ${scope}`),
    db
      .select({ runId: promotions.runId, buildCreatedAt: runs.createdAt, environment: promotions.environment, rollback: promotions.rollback })
      .from(promotions)
      .innerJoin(runs, eq(runs.id, promotions.buildRunId))
      .where(and(gte(promotions.createdAt, new Date(prevFrom)), q.pipelineId ? eq(promotions.pipelineId, q.pipelineId) : undefined)),
    db
      .select({ runId: gates.runId, nodeId: gates.nodeId, status: gates.status, waitingSince: gates.waitingSince, decidedAt: gates.decidedAt })
      .from(gates)
      .innerJoin(runs, eq(runs.id, gates.runId))
      .innerJoin(pipelines, eq(pipelines.id, runs.pipelineId))
      .where(and(where, gte(gates.waitingSince, new Date(from)))),
    db.select({ name: environments.name, displayName: environments.displayName, position: environments.position }).from(environments).orderBy(environments.position),
    db.select({ id: pipelines.id, name: pipelines.name }).from(pipelines).where(isNull(pipelines.deletedAt)).orderBy(pipelines.name),
  ]);
  type RunTuple = [string, number, string, string, string, string, number, string, string | null];
  type StageTuple = [string, string, string, number, number | null, number | null, string | null];
  const runTuples = JSON.parse(runJson?.j ?? '[]') as RunTuple[];
  const stages: InsightStage[] = (JSON.parse(stageJson?.j ?? '[]') as StageTuple[]).map(([runId, nodeId, status, attempt, startedAt, endedAt, reusedFrom]) => ({
    runId,
    nodeId,
    status,
    attempt,
    startedAt,
    endedAt,
    reusedFrom,
  }));

  const promotionByRun = new Map(promotionRows.map((p) => [p.runId, p]));
  const plans = await loadPlans(db, [...new Set(runTuples.map((r) => r[7]))]);
  // One pass over the runs: what the derivation needs, the run references of the page, re-runs, the window's runs.
  const insightRuns: InsightRun[] = [];
  const runInfo: Record<string, RunRef> = {};
  const reruns = new Map<string, string>();
  const windowRuns = new Set<string>();
  for (const [id, number, pipelineId, pipelineName, status, trigger, createdAt, planHash, reusedFromRunId] of runTuples) {
    const p = promotionByRun.get(id);
    insightRuns.push({
      id,
      number,
      pipelineId,
      status,
      trigger,
      createdAt,
      changeAt: p ? p.buildCreatedAt.getTime() : createdAt,
      planHash,
      rollbackOf: p?.rollback ? p.environment : trigger === 'rollback' ? rollbackEnvironment(plans.get(planHash)) : null,
    });
    runInfo[id] = { number, pipelineId, pipelineName };
    if (trigger === 'rerun' && reusedFromRunId) reruns.set(id, reusedFromRunId);
    if (createdAt >= from) windowRuns.add(id);
  }
  const all = deriveDeployments({ runs: insightRuns, plans, stages });
  const deployments = q.environment ? all.filter((d) => d.environment === q.environment) : all;

  const names = new Map<string, string>();
  const gateInfo = new Map<string, { name: string; approvers: string }>();
  for (const p of plans.values()) {
    for (const n of p.nodes) names.set(n.id, n.name);
    for (const [id, g] of p.gates) gateInfo.set(id, g);
  }
  // Stage-level measures cover the window (and the chosen environment's stages when one is chosen).
  const envNodes = q.environment ? new Set([...plans.values()].flatMap((p) => p.nodes.filter((n) => n.environment === q.environment).map((n) => n.id))) : null;
  const windowStages = stages.filter((s) => windowRuns.has(s.runId) && (!envNodes || envNodes.has(s.nodeId)));

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
    stageDurations: stageDurations(windowStages, names).slice(0, 50),
    gateWaits: gateWaits(
      gateRows.filter((g) => !envNodes || envNodes.has(g.nodeId)).map((g) => ({ ...g, waitingSince: g.waitingSince.getTime(), decidedAt: g.decidedAt?.getTime() ?? null })),
      gateInfo,
    ),
    flakyStages: flakyStages(insightRuns, windowStages, reruns, names),
    runs: runInfo,
  };
}

type RunRef = { number: number; pipelineId: string; pipelineName: string };

/** The deployments of [from, to), newest first, with their run's number and pipeline name. */
function windowDeployments(deployments: Deployment[], from: number, to: number, runInfo: Record<string, RunRef>) {
  const out: (Deployment & RunRef & { restoredByRunNumber: number | null })[] = [];
  for (let i = deployments.length - 1; i >= 0; i--) {
    const d = deployments[i]!;
    if (d.at < from || d.at >= to) continue;
    const r = runInfo[d.runId];
    out.push({
      runId: d.runId,
      runNumber: d.runNumber,
      pipelineId: r?.pipelineId ?? d.pipelineId,
      environment: d.environment,
      at: d.at,
      ok: d.ok,
      leadTimeMs: d.leadTimeMs,
      failure: d.failure,
      failedStage: d.failedStage,
      restoredAt: d.restoredAt,
      restoredByRunId: d.restoredByRunId,
      number: r?.number ?? 0,
      pipelineName: r?.pipelineName ?? '',
      restoredByRunNumber: d.restoredByRunId ? (runInfo[d.restoredByRunId]?.number ?? null) : null,
    });
  }
  return out;
}

function rollbackEnvironment(plan: InsightPlan | undefined): string | null {
  return plan?.nodes.find((n) => n.kind === 'k8s-rollback' && n.environment)?.environment ?? null;
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
