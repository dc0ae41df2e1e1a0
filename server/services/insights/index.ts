/**
 * Delivery insight: loads real runs and derives the metrics (server/services/insights/metrics.ts).
 *
 * 1. Only real runs count: rehearsals (`runs.rehearsal`) and runs of deleted pipelines are left out here, in
 *    the query, so no metric can forget it.
 * 2. The window is the last 7, 30 or 90 days; the period before it (same length) is derived too, for trends.
 * 3. Plans are read once per plan hash (a plan never changes for its hash), stage results as five small columns.
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
    const rows = await db
      .select({ hash: runs.planHash, plan: sql<string>`min(${runs.plan})` })
      .from(runs)
      .where(inArray(runs.planHash, chunk))
      .groupBy(runs.planHash);
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

export type InsightsResult = Awaited<ReturnType<typeof getInsights>>;

export async function getInsights(db: Db, q: InsightsQuery) {
  const now = q.now ?? Date.now();
  const timeZone = q.timeZone && isTimeZone(q.timeZone) ? q.timeZone : 'UTC';
  const to = now;
  const from = now - q.days * DAY;
  const prevFrom = from - q.days * DAY;

  if (q.pipelineId) {
    const head = await db.select({ deletedAt: pipelines.deletedAt }).from(pipelines).where(eq(pipelines.id, q.pipelineId)).get();
    if (!head || head.deletedAt) throw notFound('Pipeline');
  }

  // Runs created since the start of the previous period (a deployment happens after its run is created).
  const where = and(eq(runs.rehearsal, false), isNull(pipelines.deletedAt), gte(runs.createdAt, new Date(prevFrom)), q.pipelineId ? eq(runs.pipelineId, q.pipelineId) : undefined);
  const runRows = await db
    .select({
      id: runs.id,
      number: runs.number,
      pipelineId: runs.pipelineId,
      pipelineName: pipelines.name,
      status: runs.status,
      trigger: runs.trigger,
      createdAt: runs.createdAt,
      planHash: runs.planHash,
      reusedFromRunId: runs.reusedFromRunId,
    })
    .from(runs)
    .innerJoin(pipelines, eq(pipelines.id, runs.pipelineId))
    .where(where);

  const [stageRows, promotionRows, gateRows, envRows, pipelineRows] = await Promise.all([
    db
      .select({
        runId: stageRuns.runId,
        nodeId: stageRuns.nodeId,
        status: stageRuns.status,
        attempt: stageRuns.attempt,
        startedAt: stageRuns.startedAt,
        endedAt: stageRuns.endedAt,
        error: stageRuns.error,
        reusedFrom: stageRuns.reusedFrom,
      })
      .from(stageRuns)
      .innerJoin(runs, eq(runs.id, stageRuns.runId))
      .innerJoin(pipelines, eq(pipelines.id, runs.pipelineId))
      .where(where),
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

  const promotionByRun = new Map(promotionRows.map((p) => [p.runId, p]));
  const plans = await loadPlans(db, [...new Set(runRows.map((r) => r.planHash))]);
  const insightRuns: InsightRun[] = runRows.map((r) => {
    const p = promotionByRun.get(r.id);
    return {
      id: r.id,
      number: r.number,
      pipelineId: r.pipelineId,
      status: r.status,
      trigger: r.trigger,
      createdAt: r.createdAt.getTime(),
      changeAt: p ? p.buildCreatedAt.getTime() : r.createdAt.getTime(),
      planHash: r.planHash,
      rollbackOf: p?.rollback ? p.environment : r.trigger === 'rollback' ? rollbackEnvironment(plans.get(r.planHash)) : null,
    };
  });
  const stages: InsightStage[] = stageRows.map((s) => ({ ...s, startedAt: s.startedAt?.getTime() ?? null, endedAt: s.endedAt?.getTime() ?? null }));
  const all = deriveDeployments({ runs: insightRuns, plans, stages });
  const deployments = q.environment ? all.filter((d) => d.environment === q.environment) : all;

  const runInfo = new Map(runRows.map((r) => [r.id, { number: r.number, pipelineId: r.pipelineId, pipelineName: r.pipelineName }]));
  const names = new Map<string, string>();
  const gateInfo = new Map<string, { name: string; approvers: string }>();
  for (const p of plans.values()) {
    for (const n of p.nodes) names.set(n.id, n.name);
    for (const [id, g] of p.gates) gateInfo.set(id, g);
  }
  // Stage-level measures cover the window (and the chosen environment's stages when one is chosen).
  const windowRuns = new Set(insightRuns.filter((r) => r.createdAt >= from).map((r) => r.id));
  const envNodes = q.environment ? new Set([...plans.values()].flatMap((p) => p.nodes.filter((n) => n.environment === q.environment).map((n) => n.id))) : null;
  const windowStages = stages.filter((s) => windowRuns.has(s.runId) && (!envNodes || envNodes.has(s.nodeId)));
  const reruns = new Map(runRows.filter((r) => r.trigger === 'rerun' && r.reusedFromRunId).map((r) => [r.id, r.reusedFromRunId!]));

  const ref = (runId: string) => ({ runId, ...(runInfo.get(runId) ?? { number: 0, pipelineId: '', pipelineName: '' }) });
  return {
    window: { days: q.days, from, to, timeZone },
    pipelineId: q.pipelineId ?? null,
    environment: q.environment ?? null,
    pipelines: pipelineRows,
    environments: envRows,
    current: dora(deployments, from, to),
    previous: dora(deployments, prevFrom, from),
    series: dailySeries(deployments, from, to, timeZone),
    deployments: deployments
      .filter((d) => d.at >= from && d.at < to)
      .reverse()
      .map((d) => ({ ...d, ...ref(d.runId), restoredByRunNumber: d.restoredByRunId ? (runInfo.get(d.restoredByRunId)?.number ?? null) : null })),
    stageDurations: stageDurations(windowStages, names).slice(0, 50),
    gateWaits: gateWaits(
      gateRows.filter((g) => !envNodes || envNodes.has(g.nodeId)).map((g) => ({ ...g, waitingSince: g.waitingSince.getTime(), decidedAt: g.decidedAt?.getTime() ?? null })),
      gateInfo,
    ),
    flakyStages: flakyStages(insightRuns, windowStages, reruns, names),
    runs: Object.fromEntries([...runInfo].map(([id, r]) => [id, r])) as Record<string, { number: number; pipelineId: string; pipelineName: string }>,
  };
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
