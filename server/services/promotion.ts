/**
 * Promotion: the board of a pipeline's builds per environment, and Promote.
 *
 * 1. `getBoard` reads a pipeline's runs, their stage states (four small
 *    columns), the distinct plans they ran (one per plan hash) and its
 *    promotions, and derives the board (server/services/promotion-board.ts).
 * 2. `promote` is authorised by the target environment's protection rules
 *    (roles; an approval gate bound to it when it requires one), refuses a
 *    build that lacks something with the list of what it lacks, and starts a
 *    run of the build's pipeline version and parameters (trigger `promotion`)
 *    that reuses what the build already passed, runs the target's stages and
 *    leaves out later environments. Everything is audited, refusals too.
 */
import type { Client } from '@temporalio/client';
import { TRPCError } from '@trpc/server';
import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { auditLog, environments, pipelines, pipelineVersions, promotions, runs, stageRuns, user } from '../../db/schema';
import type { ExecutionPlan } from '../../workflows/model/plan';
import { refreshRunFactsQuietly } from './insights/facts';
import type { SessionUser } from '../auth/session';
import { notFound } from '../errors';
import { liveChanged } from '../live/app-live';
import { buildStagesOf, deriveBoard, environmentsOf, promotionPlan, type Board, type BoardEnvironment, type BoardPlan, type BoardStage } from './promotion-board';
import { runStatuses, startRun } from './runs';
import { describeRunStatus, type RunStatusDescription } from '../../workflows/model/run-status';

type Actor = Pick<SessionUser, 'id' | 'username' | 'name' | 'role'>;

function boardPlan(plan: ExecutionPlan): BoardPlan {
  return { nodes: plan.nodes.map((n) => ({ id: n.id, name: n.name, runtime: n.runtime, environment: n.environment, needs: n.needs, ...(n.gate ? { gate: { users: n.gate.users, groups: n.gate.groups } } : {}) })) };
}

/** Distinct plans by hash, parsed once per process (a plan never changes for its hash). */
const planCache = new Map<string, BoardPlan>();

async function loadBoardEnvironments(db: Db): Promise<BoardEnvironment[]> {
  const rows = await db
    .select({ name: environments.name, displayName: environments.displayName, position: environments.position, requireGate: environments.requireGate, promoteRoles: environments.promoteRoles })
    .from(environments)
    .orderBy(asc(environments.position));
  return rows;
}

type FullBoard = Board & { pipeline: { id: string; name: string } };

/** Derived boards by pipeline, with the fingerprint of the data they were derived from. */
const boardCache = new Map<string, { fp: string; board: FullBoard }>();
const BOARD_CACHE_SIZE = 20;

/**
 * One string that changes whenever anything the board shows can change: the
 * pipeline's runs (count, newest, ends, active ones), its stage results
 * (count, latest start and end, how many in each state), its promotions, the
 * environments and the pipeline's newest version. One query, aggregated in
 * SQLite (milliseconds), instead of deriving the board again (hundreds of ms
 * for 1,000 builds) on every live refetch.
 */
async function boardFingerprint(db: Db, pipelineId: string): Promise<string> {
  const row = await db.get<{ fp: string | null }>(sql`
    select (
      select count(*) || ':' || coalesce(max(created_at), 0) || ':' || coalesce(max(ended_at), 0) || ':' || coalesce(sum(status in ('queued', 'running')), 0) || ':' || coalesce(sum(status = 'failed'), 0)
      from runs where pipeline_id = ${pipelineId}
    ) || '|' || (
      select count(*) || ':' || coalesce(max(s.started_at), 0) || ':' || coalesce(max(s.ended_at), 0) || ':' || coalesce(sum(s.status = 'pending'), 0) || ':' || coalesce(sum(s.status = 'running'), 0) || ':' ||
        coalesce(sum(s.status = 'waiting'), 0) || ':' || coalesce(sum(s.status = 'succeeded'), 0) || ':' || coalesce(sum(s.status = 'failed'), 0) || ':' || coalesce(sum(s.status = 'skipped'), 0) || ':' || coalesce(sum(s.status = 'cancelled'), 0)
      from stage_runs s join runs r on r.id = s.run_id where r.pipeline_id = ${pipelineId}
    ) || '|' || (select count(*) from promotions where pipeline_id = ${pipelineId})
      || '|' || (select count(*) || ':' || coalesce(max(updated_at), 0) || ':' || coalesce(sum(position * 7 + length(name)), 0) from environments)
      || '|' || (select latest_version || ':' || name || ':' || coalesce(deleted_at, '') from pipelines where id = ${pipelineId}) as fp
  `);
  return row?.fp ?? '';
}

/**
 * The promotion board of a pipeline (everything a signed-in person may see; no
 * secret is involved). Derived from all builds; `limit` newest builds are
 * returned (`totalBuilds` says how many there are).
 */
export async function getBoard(
  db: Db,
  pipelineId: string,
  opts: { limit?: number } = {},
): Promise<Omit<FullBoard, 'history'> & { totalBuilds: number; history: (FullBoard['history'][number] & { runDisplay: RunStatusDescription | null })[] }> {
  const fp = await boardFingerprint(db, pipelineId);
  let cached = boardCache.get(pipelineId);
  if (!cached || cached.fp !== fp) {
    const board = await deriveBoardFromDb(db, pipelineId);
    boardCache.delete(pipelineId);
    if (boardCache.size >= BOARD_CACHE_SIZE) boardCache.delete(boardCache.keys().next().value!);
    cached = { fp, board };
    boardCache.set(pipelineId, cached);
  }
  const { board } = cached;
  const limit = opts.limit ?? Infinity;
  // A promotion run still going says what it waits for, in the app's words ("Waiting for approval — alan"); read
  // each time (the cached board does not follow gates).
  const shown = board.history.slice(0, 200);
  const displays = await runStatuses(
    db,
    shown.filter((p) => p.runStatus === 'running' || p.runStatus === 'queued').map((p) => ({ id: p.runId, status: p.runStatus! })),
  );
  const history = shown.map((p) => ({ ...p, runDisplay: displays.get(p.runId) ?? (p.runStatus ? describeRunStatus(p.runStatus) : null) }));
  return { ...board, builds: board.builds.slice(0, limit), totalBuilds: board.builds.length, history };
}

async function deriveBoardFromDb(db: Db, pipelineId: string): Promise<FullBoard> {
  const head = await db.select({ id: pipelines.id, name: pipelines.name, latest: pipelines.latestVersion, deletedAt: pipelines.deletedAt }).from(pipelines).where(eq(pipelines.id, pipelineId)).get();
  if (!head || head.deletedAt) throw notFound('Pipeline');
  const [envs, latest, runRows, promotionRows] = await Promise.all([
    loadBoardEnvironments(db),
    db.select({ spec: pipelineVersions.spec }).from(pipelineVersions).where(and(eq(pipelineVersions.pipelineId, head.id), eq(pipelineVersions.version, head.latest))).get(),
    db
      .select({
        id: runs.id,
        number: runs.number,
        status: runs.status,
        trigger: runs.trigger,
        planHash: runs.planHash,
        pipelineVersion: runs.pipelineVersion,
        params: runs.params,
        createdAt: runs.createdAt,
        triggeredByName: user.name,
      })
      .from(runs)
      .leftJoin(user, eq(user.id, runs.triggeredBy))
      // A rehearsal deployed nothing: it never shows a build in an environment.
      .where(and(eq(runs.pipelineId, head.id), eq(runs.rehearsal, false)))
      .orderBy(desc(runs.number)),
    db.select().from(promotions).where(eq(promotions.pipelineId, head.id)),
  ]);
  const missingPlans = [...new Set(runRows.map((r) => r.planHash))].filter((h) => !planCache.has(h));
  if (missingPlans.length > 0) {
    // One row per distinct plan (runs of one version share it).
    const rows = await db
      .selectDistinct({ planHash: runs.planHash, plan: runs.plan })
      .from(runs)
      .where(and(eq(runs.pipelineId, head.id), inArray(runs.planHash, missingPlans)))
      .groupBy(runs.planHash);
    for (const r of rows) {
      if (planCache.size >= 500) planCache.delete(planCache.keys().next().value!);
      planCache.set(r.planHash, boardPlan(r.plan as ExecutionPlan));
    }
  }
  // Stage results as one string per run (`node:status:endedAt,…`): a tenth of the rows of one row per stage.
  const packed = runRows.length
    ? await db.all<{ runId: string; stages: string | null }>(sql`
        select s.run_id as runId, group_concat(s.node_id || ':' || s.status || ':' || coalesce(s.ended_at, ''), ',') as stages
        from stage_runs s join runs r on r.id = s.run_id
        where r.pipeline_id = ${head.id}
        group by s.run_id`)
    : [];
  const stageRows: BoardStage[] = [];
  for (const row of packed) {
    for (const item of (row.stages ?? '').split(',')) {
      if (!item) continue;
      const [nodeId, status, endedAt] = item.split(':') as [string, string, string];
      stageRows.push({ runId: row.runId, nodeId, status, endedAt: endedAt ? Number(endedAt) : null, outputs: null });
    }
  }
  // Outputs only of build stages (version, commit), the only ones the board shows.
  const buildStageIds = [...new Set([...planCache.values()].flatMap((p) => buildStagesOf(p).map((n) => n.id)))];
  if (buildStageIds.length > 0 && runRows.length > 0) {
    const outputs = await db
      .select({ runId: stageRuns.runId, nodeId: stageRuns.nodeId, outputs: stageRuns.outputs })
      .from(stageRuns)
      .innerJoin(runs, eq(runs.id, stageRuns.runId))
      .where(and(eq(runs.pipelineId, head.id), inArray(stageRuns.nodeId, buildStageIds), sql`${stageRuns.outputs} is not null and ${stageRuns.outputs} != '{}'`));
    const byKey = new Map(outputs.map((o) => [`${o.runId}\n${o.nodeId}`, o.outputs as Record<string, string>]));
    for (const st of stageRows) st.outputs = byKey.get(`${st.runId}\n${st.nodeId}`) ?? null;
  }
  const order = new Map(envs.map((e) => [e.name, e.position]));
  const latestNodes = ((latest?.spec as { nodes?: { id?: string; environment?: string; needs?: unknown }[] } | undefined)?.nodes ?? []).map((n) => ({
    id: String(n.id),
    name: String(n.id),
    runtime: '',
    environment: typeof n.environment === 'string' ? n.environment : undefined,
    needs: [],
  }));
  let columns = environmentsOf({ nodes: latestNodes }, order);
  if (columns.length === 0) {
    // A newest version without environments: show the ones its recent builds used.
    columns = [...new Set(runRows.slice(0, 50).flatMap((r) => environmentsOf(planCache.get(r.planHash) ?? { nodes: [] }, order)))];
  }
  const board = deriveBoard({
    environments: envs,
    plans: planCache,
    columns,
    runs: runRows.map((r) => ({
      ...r,
      params: r.params as Record<string, string | number | boolean>,
      createdAt: r.createdAt.getTime(),
    })),
    stages: stageRows,
    promotions: promotionRows.map((p) => ({ ...p, createdAt: p.createdAt.getTime() })),
  });
  return { pipeline: { id: head.id, name: head.name }, ...board };
}

async function refuse(db: Db, actor: Actor, pipelineId: string, buildRunId: string, environment: string, reason: string, code: TRPCError['code']): Promise<never> {
  await db.insert(auditLog).values({
    actorId: actor.id,
    actorName: actor.username,
    action: 'promotion.promote',
    outcome: 'refused',
    pipelineId,
    runId: buildRunId,
    reason,
    details: { environment },
  });
  throw new TRPCError({ code, message: reason });
}

/**
 * Promotes build `buildRunId` into `environment`.
 * @throws FORBIDDEN (role not allowed by the environment), PRECONDITION_FAILED
 *   (the build lacks something: the message lists it; no approval gate bound to
 *   a gate-protected environment), NOT_FOUND.
 */
export async function promote(
  db: Db,
  getClient: () => Promise<Client>,
  actor: Actor,
  input: { pipelineId: string; buildRunId: string; environment: string },
): Promise<{ id: string; number: number; rollback: boolean }> {
  const env = await db.select().from(environments).where(eq(environments.name, input.environment)).get();
  if (!env) throw new TRPCError({ code: 'NOT_FOUND', message: `There is no environment "${input.environment}".` });
  const build = await db.select().from(runs).where(eq(runs.id, input.buildRunId)).get();
  if (!build || build.pipelineId !== input.pipelineId) throw notFound('Build');
  const label = `#${build.number}`;
  if (!env.promoteRoles.includes(actor.role)) {
    await refuse(
      db,
      actor,
      input.pipelineId,
      build.id,
      env.name,
      `Your role (${actor.role}) may not promote into ${env.displayName}; it allows ${env.promoteRoles.length ? env.promoteRoles.join(', ') : 'nobody'}.`,
      'FORBIDDEN',
    );
  }
  const board = await getBoard(db, input.pipelineId);
  const entry = board.builds.find((b) => b.runId === build.id);
  if (!entry) await refuse(db, actor, input.pipelineId, build.id, env.name, `Run ${label} is a promotion, not a build; promote the build it came from.`, 'PRECONDITION_FAILED');
  const plan = build.plan as ExecutionPlan;
  const bp = boardPlan(plan);
  const order = new Map((await loadBoardEnvironments(db)).map((e) => [e.name, e.position]));
  const lacks = entry!.missing[env.name] ?? (bp.nodes.some((n) => n.environment === env.name) ? [] : [`run ${label}'s pipeline version has no stage for ${env.name}`]);
  if (lacks.length > 0) {
    await refuse(db, actor, input.pipelineId, build.id, env.name, `Cannot promote build ${label} to ${env.name}: ${lacks.join('; ')}.`, 'PRECONDITION_FAILED');
  }
  if (env.requireGate && !plan.nodes.some((n) => n.environment === env.name && n.runtime === 'gate')) {
    await refuse(
      db,
      actor,
      input.pipelineId,
      build.id,
      env.name,
      `${env.displayName} requires an approval gate, and run ${label}'s pipeline version has no approval stage bound to ${env.name}. Add one (Approval stage, environment "${env.name}") before its deploy stages.`,
      'PRECONDITION_FAILED',
    );
  }

  // Reuse from the run where the build last passed the environment before the target (or the build itself).
  const path = environmentsOf(bp, order);
  const earlier = path.filter((e) => (order.get(e) ?? Infinity) < (order.get(env.name) ?? Infinity));
  const sourceRunId = (earlier.length ? entry!.cells[earlier[earlier.length - 1]!]?.runId : undefined) ?? build.id;
  const sourceStages = await db.select({ nodeId: stageRuns.nodeId, status: stageRuns.status }).from(stageRuns).where(eq(stageRuns.runId, sourceRunId));
  const succeeded = new Set(sourceStages.filter((s) => s.status === 'succeeded').map((s) => s.nodeId));
  const what = promotionPlan(bp, env.name, order, (id) => succeeded.has(id));
  const column = board.environments.find((c) => c.name === env.name);
  const rollback = Boolean(column?.live && column.live.runId !== build.id && column.live.number > build.number);

  const started = await startRun(db, getClient, actor, {
    pipelineId: input.pipelineId,
    version: build.pipelineVersion,
    params: build.params as Record<string, string | number | boolean>,
    trigger: 'promotion',
    reuse: { fromRunId: sourceRunId, nodes: what.reuse },
    omit: what.omit,
    omitReason: `not part of this promotion to ${env.name}`,
    // Aimed at one environment: a stage the promoter may not run refuses the promotion rather than leaving it out.
    beyondRole: 'refuse',
    auditDetails: { promotionOf: build.id, buildNumber: build.number, environment: env.name, rollback, reused: what.reuse, omitted: what.omit },
  });
  await db.insert(promotions).values({
    runId: started.id,
    pipelineId: input.pipelineId,
    buildRunId: build.id,
    environment: env.name,
    promotedBy: actor.id,
    promotedByName: actor.name || actor.username,
    rollback,
  });
  // The promotion names the build (lead time from its creation) and whether it rolls back: the run's facts follow.
  await refreshRunFactsQuietly(db, [started.id]);
  await db.insert(auditLog).values({
    actorId: actor.id,
    actorName: actor.username,
    action: 'promotion.promote',
    outcome: 'ok',
    pipelineId: input.pipelineId,
    runId: started.id,
    details: { build: build.id, buildNumber: build.number, environment: env.name, rollback },
  });
  liveChanged();
  return { id: started.id, number: started.number, rollback };
}
