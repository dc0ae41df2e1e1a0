/**
 * Delivery facts kept per run, so the metrics read compact rows instead of deriving every deployment again.
 *
 * 1. What a run contributes on its own — its deployments (environment, time, went live or not, when its change
 *    entered the pipeline, a change failure seen in the run itself), its rollback, and its executed stage results
 *    (duration, flaky) — is derived by the pure definitions (metrics.ts `runDeployments`, `stageFact`) and stored in
 *    `insight_deployments` and `insight_stages`. Rehearsals store none.
 * 2. Triggers (migration 0013_insights_facts) raise `insight_run_facts.changes` in the same transaction as every
 *    write to a run, its stage results or its promotion, whoever writes. Facts are written in one batch together
 *    with `derived_at`, each statement guarded by "`changes` is still what was read": a write that lands between
 *    reading a run and storing its facts leaves the run behind instead of storing facts of an older state.
 * 3. The control plane derives a run's facts right after recording its state (`refreshRunFacts`); the metrics
 *    derive every run still behind before they read (`refreshFactsBehind`). That second path also back-fills runs
 *    recorded before the migration, once.
 */
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from '../../../db/client';
import { insightRunFacts, promotions, runs, stageRuns } from '../../../db/schema';
import { executionPlanSchema } from '../../../workflows/model/plan';
import { planDeployInfo, runDeployments, stageFact, type InsightPlan, type InsightStage, type PlanDeployInfo } from './metrics';

/** A plan as the metrics see it: nodes, gate names and approvers, deploy facts per environment. */
export type FactsPlan = InsightPlan & { gates: Map<string, { name: string; approvers: string }>; deploy: PlanDeployInfo; rollbackEnvironment: string | null };

/** Plans by hash, parsed once per process (a plan never changes for its hash). */
const planCache = new Map<string, FactsPlan>();
const NO_PLAN: FactsPlan = { nodes: [], gates: new Map(), deploy: new Map(), rollbackEnvironment: null };

function approversText(g: { users: string[]; groups: string[]; quorum: number }): string {
  const who = [...g.groups.map((x) => `group ${x}`), ...g.users].join(', ');
  return `${who || 'nobody'} (${g.quorum} of them)`;
}

/** The plans of these hashes (one run read per hash not seen yet by this process). */
export async function loadPlans(db: Db, hashes: string[]): Promise<Map<string, FactsPlan>> {
  const missing = hashes.filter((h) => !planCache.has(h));
  for (let i = 0; i < missing.length; i += 200) {
    const chunk = missing.slice(i, i + 200);
    // One run per hash, found in runs_plan_hash_idx.
    const rows = await db
      .select({ hash: runs.planHash, plan: runs.plan })
      .from(runs)
      .where(inArray(sql`rowid`, db.select({ id: sql`min(rowid)` }).from(runs).where(inArray(runs.planHash, chunk)).groupBy(runs.planHash)));
    for (const r of rows) {
      const raw: unknown = typeof r.plan === 'string' ? JSON.parse(r.plan) : r.plan;
      const parsed = executionPlanSchema.safeParse(raw);
      const nodes = parsed.success ? parsed.data.nodes : [];
      const plan: InsightPlan = { nodes: nodes.map((n) => ({ id: n.id, kind: n.kind, name: n.name, environment: n.environment, needs: n.needs })) };
      planCache.set(r.hash, {
        ...plan,
        gates: new Map(nodes.filter((n) => n.gate).map((n) => [n.id, { name: n.name, approvers: approversText(n.gate!) }])),
        deploy: planDeployInfo(plan),
        rollbackEnvironment: plan.nodes.find((n) => n.kind === 'k8s-rollback' && n.environment)?.environment ?? null,
      });
    }
  }
  return new Map(hashes.map((h) => [h, planCache.get(h) ?? NO_PLAN]));
}

type Seen = { runId: string; changes: number };

/** `insight_deployments.row`: what the metrics read of a deployment or rollback, as one JSON array. */
export type FactRow = [
  kind: 'deploy' | 'rollback',
  runId: string,
  runNumber: number,
  pipelineId: string,
  environment: string,
  at: number,
  ok: 0 | 1,
  changeAt: number,
  failure: string | null,
  failedStage: string | null,
  runCreatedAt: number,
  ord: number,
];

/** Derives and stores the facts of these runs (chunks of 500), each as of the state read. */
async function deriveAndStore(db: Db, seen: Seen[]): Promise<void> {
  for (let i = 0; i < seen.length; i += 500) {
    const chunk = seen.slice(i, i + 500);
    const ids = chunk.map((s) => s.runId);
    const [runRows, stageRows, promotionRows] = await Promise.all([
      db
        .select({
          id: runs.id,
          number: runs.number,
          pipelineId: runs.pipelineId,
          trigger: runs.trigger,
          createdAt: runs.createdAt,
          planHash: runs.planHash,
          reusedFromRunId: runs.reusedFromRunId,
          rehearsal: runs.rehearsal,
        })
        .from(runs)
        .where(inArray(runs.id, ids)),
      db
        .select({ runId: stageRuns.runId, nodeId: stageRuns.nodeId, status: stageRuns.status, attempt: stageRuns.attempt, startedAt: stageRuns.startedAt, endedAt: stageRuns.endedAt, reusedFrom: stageRuns.reusedFrom })
        .from(stageRuns)
        .where(inArray(stageRuns.runId, ids)),
      db
        .select({ runId: promotions.runId, environment: promotions.environment, rollback: promotions.rollback, buildCreatedAt: runs.createdAt })
        .from(promotions)
        .innerJoin(runs, eq(runs.id, promotions.buildRunId))
        .where(inArray(promotions.runId, ids)),
    ]);
    const stagesByRun = new Map<string, InsightStage[]>();
    for (const s of stageRows) {
      const stage: InsightStage = { ...s, startedAt: s.startedAt?.getTime() ?? null, endedAt: s.endedAt?.getTime() ?? null };
      const list = stagesByRun.get(s.runId);
      if (list) list.push(stage);
      else stagesByRun.set(s.runId, [stage]);
    }
    // Re-runs: the run they re-ran (its plan, whether a rehearsal) and its stage statuses, for flaky stages.
    const sourceIds = [...new Set(runRows.filter((r) => r.trigger === 'rerun' && r.reusedFromRunId).map((r) => r.reusedFromRunId!))];
    const [sources, sourceStages] = sourceIds.length
      ? await Promise.all([
          db.select({ id: runs.id, planHash: runs.planHash, rehearsal: runs.rehearsal }).from(runs).where(inArray(runs.id, sourceIds)),
          db.select({ runId: stageRuns.runId, nodeId: stageRuns.nodeId, status: stageRuns.status }).from(stageRuns).where(inArray(stageRuns.runId, sourceIds)),
        ])
      : [[], []];
    const sourceById = new Map(sources.map((s) => [s.id, s]));
    const sourceStatus = new Map(sourceStages.map((s) => [`${s.runId}\n${s.nodeId}`, s.status]));
    const promotionByRun = new Map(promotionRows.map((p) => [p.runId, p]));
    const plans = await loadPlans(db, [...new Set(runRows.map((r) => r.planHash))]);

    const changesOf = new Map(chunk.map((s) => [s.runId, s.changes]));
    const deployments: unknown[] = [];
    const stages: unknown[] = [];
    for (const r of runRows) {
      if (r.rehearsal) continue;
      const changes = changesOf.get(r.id)!;
      const plan = plans.get(r.planHash)!;
      const p = promotionByRun.get(r.id);
      const createdAt = r.createdAt.getTime();
      const run = {
        id: r.id,
        number: r.number,
        pipelineId: r.pipelineId,
        status: '',
        trigger: r.trigger,
        createdAt,
        changeAt: p ? p.buildCreatedAt.getTime() : createdAt,
        planHash: r.planHash,
        rollbackOf: p?.rollback ? p.environment : r.trigger === 'rollback' ? plan.rollbackEnvironment : null,
      };
      const list = stagesByRun.get(r.id) ?? [];
      const own = runDeployments(run, plan.deploy, list);
      const envOrder = [...plan.deploy.keys()];
      const fact = (kind: 'deploy' | 'rollback', environment: string, ord: number, at: number, ok: 0 | 1, failure: string | null, failedStage: string | null) => {
        const row: FactRow = [kind, r.id, r.number, r.pipelineId, environment, at, ok, run.changeAt, failure, failedStage, createdAt, ord];
        deployments.push([r.id, environment, kind, r.pipelineId, r.number, createdAt, ord, at, ok, run.changeAt, failure, failedStage, changes, JSON.stringify(row)]);
      };
      for (const d of own.deployments) fact('deploy', d.environment, envOrder.indexOf(d.environment), d.at, d.ok ? 1 : 0, d.failure, d.failedStage);
      if (own.rollback) fact('rollback', own.rollback.environment, -1, own.rollback.at, 1, null, null);
      const source = r.trigger === 'rerun' && r.reusedFromRunId ? sourceById.get(r.reusedFromRunId) : undefined;
      const sameSource = source && !source.rehearsal && source.planHash === r.planHash;
      for (const s of list) {
        const fact = stageFact(s, sameSource ? sourceStatus.get(`${source.id}\n${s.nodeId}`) : undefined);
        if (fact) stages.push([r.id, s.nodeId, r.pipelineId, createdAt, fact.durationMs, fact.flaky ? 1 : 0, changes]);
      }
    }

    // One batch: every statement applies only to runs whose `changes` is still the value read above.
    const seenJson = JSON.stringify(chunk.map((s) => [s.runId, s.changes]));
    const current = sql`(select f.run_id from insight_run_facts f join json_each(${seenJson}) j on f.run_id = j.value ->> 0 and f.changes = j.value ->> 1)`;
    const stillCurrent = (runId: unknown, changes: unknown) => sql`exists (select 1 from insight_run_facts f where f.run_id = ${runId} and f.changes = ${changes})`;
    await db.batch([
      db.run(sql`delete from insight_deployments where run_id in ${current}`),
      db.run(sql`delete from insight_stages where run_id in ${current}`),
      db.run(sql`insert into insight_deployments (run_id, environment, kind, pipeline_id, run_number, run_created_at, ord, at, ok, change_at, failure, failed_stage, row)
        select j.value ->> 0, j.value ->> 1, j.value ->> 2, j.value ->> 3, j.value ->> 4, j.value ->> 5, j.value ->> 6, j.value ->> 7, j.value ->> 8, j.value ->> 9, j.value ->> 10, j.value ->> 11, j.value ->> 13
        from json_each(${JSON.stringify(deployments)}) j where ${stillCurrent(sql`j.value ->> 0`, sql`j.value ->> 12`)}`),
      db.run(sql`insert into insight_stages (run_id, node_id, pipeline_id, run_created_at, duration_ms, flaky)
        select j.value ->> 0, j.value ->> 1, j.value ->> 2, j.value ->> 3, j.value ->> 4, j.value ->> 5
        from json_each(${JSON.stringify(stages)}) j where ${stillCurrent(sql`j.value ->> 0`, sql`j.value ->> 6`)}`),
      db.run(sql`update insight_run_facts set derived_at = changes where run_id in ${current}`),
    ]);
  }
}

/**
 * Derives the facts of these runs now (the control plane calls it right after recording a run's state, a stage's
 * start or end, a run's start or a promotion). Runs whose facts are current are left alone.
 */
export async function refreshRunFacts(db: Db, runIds: string[]): Promise<void> {
  if (runIds.length === 0) return;
  const seen = await db
    .select({ runId: insightRunFacts.runId, changes: insightRunFacts.changes })
    .from(insightRunFacts)
    .where(and(inArray(insightRunFacts.runId, runIds), sql`${insightRunFacts.changes} <> ${insightRunFacts.derivedAt}`));
  await deriveAndStore(db, seen);
}

/** Databases whose runs from before the facts are marked (see `refreshFactsBehind`). */
const backFilled = new WeakSet<Db>();

/**
 * Derives every run whose facts are behind (found in a partial index of exactly those): after a write whose
 * writer did not derive them (it crashed, or wrote rows directly), and, once, the runs recorded before the
 * migration (found once per process: runs without a facts row). Returns how many were derived. A few rounds at most: a run written to again while it is derived
 * stays behind for the next read.
 */
export async function refreshFactsBehind(db: Db): Promise<number> {
  if (!backFilled.has(db)) {
    // Runs recorded before the facts existed (migration 0013 writes no rows): behind from now on. Once per process.
    await db.run(sql`insert or ignore into insight_run_facts (run_id, pipeline_id, changes, derived_at)
      select r.id, r.pipeline_id, 1, 0 from runs r where not exists (select 1 from insight_run_facts f where f.run_id = r.id)`);
    backFilled.add(db);
  }
  let done = 0;
  for (let round = 0; round < 3; round++) {
    const seen = await db.all<Seen>(sql`select run_id as runId, changes from insight_run_facts where changes <> derived_at limit 5000`);
    if (seen.length === 0) break;
    await deriveAndStore(db, seen);
    done += seen.length;
  }
  return done;
}

/**
 * `refreshRunFacts` for callers that must not fail because of it (the run state is recorded already): a failure is
 * logged, and the metrics derive the run when they are next read.
 */
export async function refreshRunFactsQuietly(db: Db, runIds: string[]): Promise<void> {
  try {
    await refreshRunFacts(db, runIds);
  } catch (err) {
    console.error(`[insights] facts of ${runIds.join(', ')} are derived at the next read:`, err instanceof Error ? err.message : err);
  }
}

/** Runs whose facts are due to be derived in the background, and whether they were written again meanwhile. */
const pendingRefresh = new Map<string, { again: boolean }>();
/** How long a run's writes are gathered before its facts are derived once for all of them. */
const REFRESH_DELAY_MS = 1000;

/**
 * `refreshRunFactsQuietly` off the caller's path (the runner API's stage begun/finished, where a stage
 * waits for the answer): not awaited, and at most once a second per run — a run's writes meanwhile are
 * derived together (a 100-stage chain writes 200 times in a few seconds). Nothing is lost if the
 * process stops first: the write marked the run behind, and the metrics derive it when next read.
 */
export function refreshRunFactsSoon(db: Db, runId: string): void {
  const pending = pendingRefresh.get(runId);
  if (pending) {
    pending.again = true;
    return;
  }
  const entry = { again: false };
  pendingRefresh.set(runId, entry);
  const run = async () => {
    try {
      do {
        entry.again = false;
        await refreshRunFactsQuietly(db, [runId]);
        if (entry.again) await new Promise((resolve) => setTimeout(resolve, REFRESH_DELAY_MS).unref?.());
      } while (entry.again);
    } finally {
      pendingRefresh.delete(runId);
    }
  };
  setTimeout(() => void run(), REFRESH_DELAY_MS).unref?.();
}
