/**
 * Release plans and the issue log (the database side of server/services/insights/release-plan.ts).
 *
 * 1. `getReleasePlan`: the derived sections of a pipeline version (flagged when their facts changed since the
 *    last review), the written sections as they stood for that version, and the issue log — every failed or
 *    rolled-back deployment of the last 90 days with its failing stage, error and log excerpt (logs are masked
 *    when the runner ships them), and what people recorded about it; `search` filters the log.
 * 2. Writes (`saveSection`, `markReviewed`, `saveIssue`) are for authors and admins (the router checks the role,
 *    the services check what is written), and each one is audited.
 */
import { TRPCError } from '@trpc/server';
import { and, asc, desc, eq, inArray, lte } from 'drizzle-orm';
import type { Db } from '../../../db/client';
import { auditLog, environments, issueLogEntries, logChunks, releasePlanReviews, releasePlanSections, runs, stageRuns } from '../../../db/schema';
import type { SessionUser } from '../../auth/session';
import { notFound } from '../../errors';
import { getPipeline } from '../pipelines';
import { getInsights } from '.';
import { deriveReleasePlan, releasePlanMarkdown, WRITTEN_SECTIONS, type IssueLogEntry, type WrittenSection } from './release-plan';
import { compareWrittenSections } from './section-changes';

type Actor = Pick<SessionUser, 'id' | 'username' | 'name'>;

export const MAX_SECTION_CHARS = 20_000;
export const MAX_ISSUE_TEXT = 4_000;
const EXCERPT_LINES = 20;

async function audit(db: Db, actor: Actor, action: string, pipelineId: string, details: Record<string, unknown>, runId?: string) {
  await db.insert(auditLog).values({ actorId: actor.id, actorName: actor.username, action, outcome: 'ok', pipelineId, runId, details });
}

/** The last lines of a stage's log (its newest attempt), or null. */
async function logExcerpt(db: Db, runId: string, nodeId: string): Promise<string | null> {
  const rows = await db
    .select({ text: logChunks.text, attempt: logChunks.attempt })
    .from(logChunks)
    .where(and(eq(logChunks.runId, runId), eq(logChunks.nodeId, nodeId)))
    .orderBy(desc(logChunks.attempt), desc(logChunks.offset))
    .limit(40);
  if (rows.length === 0) return null;
  const attempt = rows[0]!.attempt;
  const text = rows
    .filter((r) => r.attempt === attempt)
    .reverse()
    .map((r) => r.text)
    .join('');
  return text.trimEnd().split('\n').slice(-EXCERPT_LINES).join('\n').slice(-4000);
}

export async function getIssueLog(db: Db, pipelineId: string, opts: { search?: string; now?: number } = {}): Promise<IssueLogEntry[]> {
  const insights = await getInsights(db, { pipelineId, days: 90, now: opts.now });
  const failures = insights.deployments.filter((d) => d.failure);
  if (failures.length === 0) return [];
  const ids = [...new Set(failures.map((d) => d.runId))];
  const [notes, stageRows] = await Promise.all([
    db.select().from(issueLogEntries).where(inArray(issueLogEntries.runId, ids)),
    db.select({ runId: stageRuns.runId, nodeId: stageRuns.nodeId, error: stageRuns.error }).from(stageRuns).where(inArray(stageRuns.runId, ids)),
  ]);
  const fixRunIds = notes.map((n) => n.fixRunId).filter((x): x is string => !!x);
  const fixRuns = fixRunIds.length ? await db.select({ id: runs.id, number: runs.number }).from(runs).where(inArray(runs.id, fixRunIds)) : [];
  const fixNumber = new Map(fixRuns.map((r) => [r.id, r.number]));
  const note = new Map(notes.map((n) => [`${n.runId}\n${n.environment}`, n]));
  const errorOf = new Map(stageRows.map((s) => [`${s.runId}\n${s.nodeId}`, s.error]));
  const entries: IssueLogEntry[] = [];
  for (const d of failures) {
    const n = note.get(`${d.runId}\n${d.environment}`);
    entries.push({
      runId: d.runId,
      runNumber: d.number,
      environment: d.environment,
      at: d.at,
      failure: d.failure!,
      failedStage: d.failedStage,
      error: d.failedStage ? (errorOf.get(`${d.runId}\n${d.failedStage}`) ?? null) : null,
      excerpt: d.failedStage ? await logExcerpt(db, d.runId, d.failedStage) : null,
      cause: n?.cause ?? '',
      fix: n?.fix ?? '',
      fixRunNumber: n?.fixRunId ? (fixNumber.get(n.fixRunId) ?? null) : null,
      updatedByName: n?.updatedByName ?? null,
      updatedAt: n?.updatedAt.getTime() ?? null,
    });
  }
  const q = opts.search?.trim().toLowerCase();
  if (!q) return entries;
  return entries.filter((e) => [e.environment, e.failure, e.failedStage, e.error, e.excerpt, e.cause, e.fix, `#${e.runNumber}`].some((x) => x?.toLowerCase().includes(q)));
}

export async function getReleasePlan(db: Db, pipelineId: string, opts: { version?: number; search?: string; now?: number } = {}) {
  const { pipeline, version } = await getPipeline(db, pipelineId, opts.version);
  const envRows = await db.select().from(environments).orderBy(asc(environments.position));
  const derived = deriveReleasePlan({
    pipelineName: pipeline.name,
    nodes: version.spec.nodes.map((n) => ({ id: n.id, kind: n.kind, name: n.name, environment: n.environment, config: n.config as Record<string, unknown> })),
    edges: version.spec.edges,
    environments: envRows.map((e) => ({ ...e, promoteRoles: e.promoteRoles as string[] })),
  });
  const [reviews, sectionRows, issues] = await Promise.all([
    db.select().from(releasePlanReviews).where(eq(releasePlanReviews.pipelineId, pipelineId)),
    db
      .select()
      .from(releasePlanSections)
      .where(and(eq(releasePlanSections.pipelineId, pipelineId), lte(releasePlanSections.pipelineVersion, version.version)))
      .orderBy(desc(releasePlanSections.id)),
    getIssueLog(db, pipelineId, { search: opts.search, now: opts.now }),
  ]);
  const review = new Map(reviews.map((r) => [r.section, r]));
  const written: WrittenSection[] = WRITTEN_SECTIONS.map((s) => {
    const row = sectionRows.find((r) => r.section === s.key);
    return { key: s.key, title: s.title, hint: s.hint, body: row?.body ?? '', version: row?.pipelineVersion ?? null, updatedByName: row?.createdByName ?? null, updatedAt: row?.createdAt.getTime() ?? null };
  });
  const sections = derived.map((s) => {
    const r = review.get(s.key);
    return { ...s, stale: !!r && r.factsHash !== s.factsHash, reviewedByName: r?.reviewedByName ?? null, reviewedAt: r?.reviewedAt.getTime() ?? null };
  });
  const generatedAt = opts.now ?? Date.now();
  return {
    pipeline: { id: pipeline.id, name: pipeline.name, latestVersion: pipeline.latestVersion },
    version: version.version,
    derived: sections,
    written,
    issues,
    markdown: releasePlanMarkdown({ pipelineName: pipeline.name, version: version.version, generatedAt, derived: sections, written, issues }),
  };
}

/** What changed in the written sections between two versions (for the visual diff's side list). */
export async function sectionHistory(db: Db, pipelineId: string) {
  return db
    .select({ id: releasePlanSections.id, section: releasePlanSections.section, version: releasePlanSections.pipelineVersion, body: releasePlanSections.body, by: releasePlanSections.createdByName, at: releasePlanSections.createdAt })
    .from(releasePlanSections)
    .where(eq(releasePlanSections.pipelineId, pipelineId))
    .orderBy(desc(releasePlanSections.id))
    .limit(200);
}

/**
 * The written sections that changed between two versions of a pipeline, for the editor's version compare
 * (section-changes.ts). `'draft'` is the editor's unsaved draft: it carries the sections of the newest version.
 * Readable by whoever may read the versions themselves; a deleted pipeline or an unknown version is not found.
 */
export async function writtenSectionChanges(db: Db, pipelineId: string, from: number | 'draft', to: number | 'draft') {
  const { pipeline } = await getPipeline(db, pipelineId);
  const resolve = async (v: number | 'draft') => (v === 'draft' ? pipeline.latestVersion : (await getPipeline(db, pipelineId, v)).version.version);
  const [a, b] = [await resolve(from), await resolve(to)];
  const edits = await db
    .select({ id: releasePlanSections.id, section: releasePlanSections.section, version: releasePlanSections.pipelineVersion, body: releasePlanSections.body, by: releasePlanSections.createdByName, at: releasePlanSections.createdAt })
    .from(releasePlanSections)
    .where(and(eq(releasePlanSections.pipelineId, pipelineId), lte(releasePlanSections.pipelineVersion, Math.max(a, b))));
  return { from: a, to: b, sections: compareWrittenSections(edits.map((e) => ({ ...e, at: e.at.getTime() })), a, b) };
}

export async function saveSection(db: Db, actor: Actor, input: { pipelineId: string; section: string; body: string }) {
  if (!WRITTEN_SECTIONS.some((s) => s.key === input.section)) throw new TRPCError({ code: 'BAD_REQUEST', message: `There is no written section "${input.section}".` });
  const { pipeline } = await getPipeline(db, input.pipelineId);
  const body = input.body.replace(/\r\n/g, '\n');
  await db.insert(releasePlanSections).values({ pipelineId: pipeline.id, pipelineVersion: pipeline.latestVersion, section: input.section, body, createdBy: actor.id, createdByName: actor.name || actor.username });
  await audit(db, actor, 'release-plan.section', pipeline.id, { section: input.section, version: pipeline.latestVersion, chars: body.length });
  return { version: pipeline.latestVersion };
}

export async function markReviewed(db: Db, actor: Actor, input: { pipelineId: string; section: string }) {
  const plan = await getReleasePlan(db, input.pipelineId);
  const s = plan.derived.find((x) => x.key === input.section);
  if (!s) throw new TRPCError({ code: 'BAD_REQUEST', message: `There is no derived section "${input.section}".` });
  const values = { factsHash: s.factsHash, reviewedBy: actor.id, reviewedByName: actor.name || actor.username, reviewedAt: new Date() };
  await db
    .insert(releasePlanReviews)
    .values({ pipelineId: input.pipelineId, section: s.key, ...values })
    .onConflictDoUpdate({ target: [releasePlanReviews.pipelineId, releasePlanReviews.section], set: values });
  await audit(db, actor, 'release-plan.review', input.pipelineId, { section: s.key, factsHash: s.factsHash });
  return { ok: true };
}

export async function saveIssue(db: Db, actor: Actor, input: { runId: string; environment: string; cause: string; fix: string; fixRunNumber?: number | null }) {
  const run = await db.select({ id: runs.id, pipelineId: runs.pipelineId }).from(runs).where(eq(runs.id, input.runId)).get();
  if (!run) throw notFound('Run');
  await getPipeline(db, run.pipelineId); // a deleted pipeline's log is gone
  const log = await getIssueLog(db, run.pipelineId);
  if (!log.some((e) => e.runId === input.runId && e.environment === input.environment)) {
    throw new TRPCError({ code: 'BAD_REQUEST', message: 'That deployment is not in the issue log (only failed or rolled-back deployments of the last 90 days are).' });
  }
  let fixRunId: string | null = null;
  if (input.fixRunNumber) {
    const fixRun = await db.select({ id: runs.id }).from(runs).where(and(eq(runs.pipelineId, run.pipelineId), eq(runs.number, input.fixRunNumber))).get();
    if (!fixRun) throw new TRPCError({ code: 'BAD_REQUEST', message: `This pipeline has no run #${input.fixRunNumber}.` });
    fixRunId = fixRun.id;
  }
  const values = { cause: input.cause.trim(), fix: input.fix.trim(), fixRunId, updatedBy: actor.id, updatedByName: actor.name || actor.username, updatedAt: new Date() };
  await db
    .insert(issueLogEntries)
    .values({ runId: input.runId, environment: input.environment, pipelineId: run.pipelineId, ...values })
    .onConflictDoUpdate({ target: [issueLogEntries.runId, issueLogEntries.environment], set: values });
  await audit(db, actor, 'issue-log.update', run.pipelineId, { environment: input.environment, fixRunNumber: input.fixRunNumber ?? null }, input.runId);
  return { ok: true };
}
