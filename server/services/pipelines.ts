/**
 * Pipelines: a head row plus immutable versions. Saving writes a new version
 * only if the author saw the newest one (no silent last-write-wins).
 */
import { TRPCError } from '@trpc/server';
import { and, desc, eq, isNull, sql } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { auditLog, pipelines, pipelineVersions, runs, user as userTable } from '../../db/schema';
import { SPEC_SCHEMA_VERSION, validatePipeline, type PipelineSpec, type ValidationIssue } from '../../workflows/model';
import type { SessionUser } from '../auth/session';
import { invalidPipeline, notFound } from '../errors';
import { approverFacts } from './approver-facts';
import { runStatuses } from './runs';

export function emptySpec(name: string, description?: string): PipelineSpec {
  return {
    schemaVersion: SPEC_SCHEMA_VERSION,
    name,
    ...(description ? { description } : {}),
    nodes: [],
    edges: [],
    parameters: [],
    settings: { concurrency: 1, defaultRetry: {}, stageTimeoutSeconds: 3600, runTimeoutSeconds: 0 },
  };
}

/**
 * The validator with what the workspace knows (people and groups, for gates' approvers): what the pipelines API
 * answers to "validate", and what save and show report. Never throws on bad documents.
 */
export async function validateDocument(db: Db, spec: unknown) {
  return validatePipeline(spec, { approvers: await approverFacts(db) });
}

/** Parses a document for saving: shape errors refuse the save, semantic errors make a draft. */
async function checkForSave(db: Db, spec: unknown): Promise<{ spec: PipelineSpec; issues: ValidationIssue[]; valid: boolean }> {
  const result = await validateDocument(db, spec);
  if (!result.spec) throw invalidPipeline(`The pipeline document is malformed: ${result.issues[0]?.message ?? 'unknown error'}`, result.issues);
  return { spec: result.spec, issues: result.issues, valid: result.ok };
}

export async function listPipelines(db: Db, opts: { search?: string } = {}) {
  const lastRun = db
    .select({
      pipelineId: runs.pipelineId,
      number: sql<number>`max(${runs.number})`.as('last_number'),
    })
    .from(runs)
    .groupBy(runs.pipelineId)
    .as('last_run');
  const rows = await db
    .select({
      id: pipelines.id,
      name: pipelines.name,
      description: pipelines.description,
      latestVersion: pipelines.latestVersion,
      updatedAt: pipelines.updatedAt,
      lastRunNumber: lastRun.number,
    })
    .from(pipelines)
    .leftJoin(lastRun, eq(lastRun.pipelineId, pipelines.id))
    .where(
      and(
        isNull(pipelines.deletedAt),
        opts.search ? sql`lower(${pipelines.name}) like ${`%${opts.search.toLowerCase()}%`}` : undefined,
      ),
    )
    .orderBy(desc(pipelines.updatedAt));
  const last = await Promise.all(
    rows.map((r) =>
      r.lastRunNumber
        ? db
            .select({ id: runs.id, status: runs.status, number: runs.number, createdAt: runs.createdAt })
            .from(runs)
            .where(and(eq(runs.pipelineId, r.id), eq(runs.number, r.lastRunNumber)))
            .get()
        : undefined,
    ),
  );
  const statuses = await runStatuses(
    db,
    last.filter((r) => r !== undefined),
  );
  return rows.map((r, i) => {
    const run = last[i];
    return { ...r, lastRun: run ? { ...run, display: statuses.get(run.id)! } : null };
  });
}

export async function getPipeline(db: Db, id: string, version?: number) {
  const head = await db.select().from(pipelines).where(and(eq(pipelines.id, id), isNull(pipelines.deletedAt))).get();
  if (!head) throw notFound('Pipeline');
  const v = await db
    .select({
      version: pipelineVersions.version,
      spec: pipelineVersions.spec,
      valid: pipelineVersions.valid,
      message: pipelineVersions.message,
      createdAt: pipelineVersions.createdAt,
      createdBy: userTable.username,
    })
    .from(pipelineVersions)
    .leftJoin(userTable, eq(userTable.id, pipelineVersions.createdBy))
    .where(and(eq(pipelineVersions.pipelineId, id), eq(pipelineVersions.version, version ?? head.latestVersion)))
    .get();
  if (!v) throw notFound(`Version ${version} of this pipeline`);
  // Parse again on the way out of the database (a trust boundary).
  const { spec, issues, ok } = await validateDocument(db, v.spec);
  if (!spec) throw new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: 'stored pipeline is unreadable' });
  return { pipeline: head, version: { ...v, spec }, issues, valid: ok };
}

export async function listVersions(db: Db, id: string) {
  return db
    .select({
      version: pipelineVersions.version,
      message: pipelineVersions.message,
      valid: pipelineVersions.valid,
      createdAt: pipelineVersions.createdAt,
      createdBy: userTable.username,
    })
    .from(pipelineVersions)
    .leftJoin(userTable, eq(userTable.id, pipelineVersions.createdBy))
    .where(eq(pipelineVersions.pipelineId, id))
    .orderBy(desc(pipelineVersions.version));
}

export async function createPipeline(
  db: Db,
  actor: Pick<SessionUser, 'id' | 'username'>,
  input: { name: string; description?: string; spec?: unknown; message?: string },
) {
  const { spec, issues, valid } = await checkForSave(db, input.spec === undefined ? emptySpec(input.name, input.description) : input.spec);
  const id = crypto.randomUUID();
  const name = input.spec === undefined ? input.name : spec.name;
  await db.transaction(async (tx) => {
    await tx.insert(pipelines).values({ id, name, description: input.description ?? spec.description ?? '', latestVersion: 1, createdBy: actor.id });
    await tx.insert(pipelineVersions).values({ pipelineId: id, version: 1, spec, valid, message: input.message ?? 'Created', createdBy: actor.id });
    await tx.insert(auditLog).values({ actorId: actor.id, actorName: actor.username, action: 'pipeline.create', outcome: 'ok', pipelineId: id });
  });
  return { id, version: 1, issues, valid };
}

export async function savePipelineVersion(
  db: Db,
  actor: Pick<SessionUser, 'id' | 'username'>,
  input: { pipelineId: string; baseVersion: number; spec: unknown; message?: string },
) {
  const { spec, issues, valid } = await checkForSave(db, input.spec);
  return db.transaction(async (tx) => {
    const head = await tx.select().from(pipelines).where(and(eq(pipelines.id, input.pipelineId), isNull(pipelines.deletedAt))).get();
    if (!head) throw notFound('Pipeline');
    if (head.latestVersion !== input.baseVersion) {
      const newer = await tx
        .select({ createdAt: pipelineVersions.createdAt, by: userTable.username })
        .from(pipelineVersions)
        .leftJoin(userTable, eq(userTable.id, pipelineVersions.createdBy))
        .where(and(eq(pipelineVersions.pipelineId, input.pipelineId), eq(pipelineVersions.version, head.latestVersion)))
        .get();
      throw new TRPCError({
        code: 'CONFLICT',
        message: `Version ${head.latestVersion} was saved by ${newer?.by ?? 'someone else'} at ${newer?.createdAt.toISOString() ?? 'an unknown time'} after you opened version ${input.baseVersion}. Open version ${head.latestVersion} to see their change before saving.`,
      });
    }
    const version = head.latestVersion + 1;
    await tx.insert(pipelineVersions).values({ pipelineId: head.id, version, spec, valid, message: input.message ?? '', createdBy: actor.id });
    await tx
      .update(pipelines)
      .set({ latestVersion: version, name: spec.name, description: spec.description ?? head.description, updatedAt: new Date() })
      .where(eq(pipelines.id, head.id));
    await tx.insert(auditLog).values({ actorId: actor.id, actorName: actor.username, action: 'pipeline.save', outcome: 'ok', pipelineId: head.id, details: { version } });
    return { id: head.id, version, issues, valid };
  });
}

export async function deletePipeline(db: Db, actor: Pick<SessionUser, 'id' | 'username'>, id: string) {
  const res = await db.update(pipelines).set({ deletedAt: new Date() }).where(and(eq(pipelines.id, id), isNull(pipelines.deletedAt)));
  if (res.rowsAffected === 0) throw notFound('Pipeline');
  await db.insert(auditLog).values({ actorId: actor.id, actorName: actor.username, action: 'pipeline.delete', outcome: 'ok', pipelineId: id });
}
