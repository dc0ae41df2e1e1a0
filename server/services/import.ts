/**
 * Importing pipelines from other CI/CD tools (GitHub Actions, GitLab CI,
 * Spinnaker): a preview (the graph, the mapping report and the validator's
 * issues against this installation's environments) that saves nothing, and the
 * import itself, which runs the same pure importer again on the server (the
 * browser's graph is never trusted), optionally creates the environments the
 * file names, and stores a normal pipeline version with the source file kept
 * beside it for reference.
 */
import { TRPCError } from '@trpc/server';
import { and, eq } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { auditLog, pipelines, pipelineVersions, type ImportSourceRecord } from '../../db/schema';
import { validatePipeline } from '../../workflows/model';
import type { Client } from '@temporalio/client';
import { clip, gateEnvironmentStages, importPipelineFile, type ImportFormat, type ImportOptions, type ImportReport } from '../../workflows/model/import';
import type { SessionUser } from '../auth/session';
import { invalidPipeline, runnerOffline } from '../errors';
import { branchPatternSchema, cronProblem } from '../triggers/config';
import { approverFacts } from './approver-facts';
import { insertEnvironment, listEnvironments } from './environments';
import { deletePipelineTriggersAfterFailedStart, insertPipelineTriggers, startScheduleTriggers, type NewPipelineTrigger } from './triggers';

export type ImportInput = {
  text: string;
  fileName?: string;
  format?: ImportFormat;
  name?: string;
  supplied?: Record<string, string>;
};

/**
 * What each trigger the file declares would become here: a webhook trigger
 * with the push's branch filter, or a schedule — or why it cannot be created
 * (a tags-only push: tag pushes never start a run; a cron Temporal cannot read).
 */
export type TriggerProposal = { index: number; label: string; trigger?: NewPipelineTrigger; cannot?: string };

export function triggerProposals(format: ImportFormat, report: ImportReport): TriggerProposal[] {
  return report.triggers.map((t, index) => {
    if (t.kind === 'schedule') {
      const problem = cronProblem(t.cron);
      const label = `Schedule ${t.cron} (UTC)`;
      if (problem) return { index, label, cannot: `the cron expression cannot be read: ${problem}` };
      return { index, label, trigger: { kind: 'schedule', name: clip(`Schedule ${t.cron}`, 80), config: { cron: t.cron, timezone: 'UTC', params: {} } } };
    }
    const label = `Webhook on push to ${t.branches.length ? t.branches.join(', ') : 'tags only'}${t.tags.length ? ` (tags ${t.tags.join(', ')} are not carried: tag pushes never start a run)` : ''}`;
    if (t.branches.length === 0) return { index, label, cannot: 'the file starts runs on tag pushes only; a webhook trigger starts runs on branch pushes' };
    const bad = t.branches.find((b) => !branchPatternSchema.safeParse(b).success);
    if (bad) return { index, label, cannot: `the branch filter "${bad}" is not a valid branch name or pattern` };
    const provider = format === 'gitlab-ci' ? 'gitlab' : 'github';
    return { index, label, trigger: { kind: 'webhook', name: clip(`Push to ${t.branches.join(', ')}`, 80), config: { provider, branches: t.branches.slice(0, 50), mapping: {}, params: {} } } };
  });
}

function runImport(input: ImportInput) {
  const opts: ImportOptions = { format: input.format, name: input.name?.trim() || undefined, supplied: input.supplied };
  const result = importPipelineFile(input.text, opts);
  if (!result.ok) {
    throw new TRPCError({ code: 'BAD_REQUEST', message: `Cannot import this file: ${result.error}${result.line && !result.error.includes(`line ${result.line}`) ? ` (line ${result.line})` : ''}` });
  }
  return result;
}

/**
 * The graph, the report and the issues; nothing is saved. The graph is the one Import would save (gates put in
 * front of stages of environments that require one), and the issues are the ones starting it would meet: the
 * environments' protection (a Kubernetes stage needs an environment with a cluster connection, …) and gates
 * nobody here can pass, checked against this installation's environments, people and groups.
 */
export async function previewImport(db: Db, input: ImportInput) {
  const result = runImport(input);
  const [environments, approvers] = await Promise.all([listEnvironments(db), approverFacts(db)]);
  const existing = environments.map((e) => e.name);
  const spec = gateEnvironmentStages(
    result.spec,
    environments.filter((e) => e.requireGate).map((e) => e.name),
  );
  const protection = environments.map((e) => ({ name: e.name, requireGate: e.requireGate, clusterConnection: e.clusterConnection, namespace: e.namespace }));
  const { issues, ok } = validatePipeline(spec, { environments: existing, protection, approvers });
  const missingEnvironments = result.report.environments.filter((e) => !existing.includes(e.name));
  return { format: result.format, spec, report: result.report, issues, valid: ok, missingEnvironments, triggers: triggerProposals(result.format, result.report).map(({ index, label, trigger, cannot }) => ({ index, label, kind: trigger?.kind, cannot })) };
}

/** Creates the pipeline (version 1) from the file; with `createEnvironments`, also the environments it names that do not exist (admins only), in the same transaction. */
export async function importPipeline(
  db: Db,
  getClient: () => Promise<Client>,
  actor: Pick<SessionUser, 'id' | 'username' | 'role'>,
  input: ImportInput & { createEnvironments?: boolean; triggers?: number[] },
) {
  const result = runImport(input);
  // The triggers the person kept ticked: each must be one the file declares and one that can be created.
  const proposals = triggerProposals(result.format, result.report);
  const chosen = [...new Set(input.triggers ?? [])].map((i) => {
    const p = proposals[i];
    if (!p) throw new TRPCError({ code: 'BAD_REQUEST', message: `The file declares ${proposals.length} trigger(s); there is no trigger ${i + 1}.` });
    if (!p.trigger) throw new TRPCError({ code: 'BAD_REQUEST', message: `${p.label} cannot be created: ${p.cannot}.` });
    return p.trigger;
  });
  // Schedules live in Temporal too: reach it before anything is written.
  const client = chosen.some((t) => t.kind === 'schedule')
    ? await getClient().catch((err: unknown) => {
        throw runnerOffline(err instanceof Error ? err.message : undefined);
      })
    : undefined;
  const environments = await listEnvironments(db);
  const existing = environments.map((e) => e.name);
  const missing = result.report.environments.filter((e) => !existing.includes(e.name));
  if (input.createEnvironments && missing.length > 0 && actor.role !== 'admin') {
    await db.insert(auditLog).values({ actorId: actor.id, actorName: actor.username, action: 'pipelines.import', outcome: 'refused', reason: 'only admins create environments' });
    throw new TRPCError({ code: 'FORBIDDEN', message: `Only admins create environments; ask one to create ${missing.map((e) => e.name).join(', ')}, or import without creating them.` });
  }
  // Stages bound to an environment that requires a gate (one that exists, or a protected one created now) get one in front.
  const gated = [
    ...environments.filter((e) => e.requireGate).map((e) => e.name),
    ...(input.createEnvironments ? missing.filter((e) => e.protected).map((e) => e.name) : []),
  ];
  const spec = gateEnvironmentStages(result.spec, gated);
  const checked = validatePipeline(spec, { environments: [...existing, ...(input.createEnvironments ? missing.map((e) => e.name) : [])] });
  if (!checked.spec) throw invalidPipeline(`The imported pipeline is malformed: ${checked.issues[0]?.message ?? 'unknown error'}`, checked.issues);
  const id = crypto.randomUUID();
  const source: ImportSourceRecord = {
    format: result.format,
    fileName: (input.fileName ?? '').slice(0, 255),
    text: input.text,
    ...(input.supplied && Object.keys(input.supplied).length > 0 ? { supplied: input.supplied } : {}),
    report: result.report,
  };
  const message = `Imported from ${input.fileName || 'a pasted file'} (${result.format})`;
  const created = await db.transaction(async (tx) => {
    // The environments the file names are created with the pipeline: a failure later in this transaction leaves neither.
    const createdEnvironments: string[] = [];
    if (input.createEnvironments) {
      for (const env of missing) {
        const row = await insertEnvironment(tx, actor, { name: env.name, displayName: env.source.slice(0, 80) || env.name, requireGate: env.protected, description: `Created by importing ${input.fileName ?? 'a pipeline file'}.` });
        createdEnvironments.push(row.id);
      }
    }
    await tx.insert(pipelines).values({ id, name: checked.spec!.name, description: checked.spec!.description ?? '', latestVersion: 1, createdBy: actor.id });
    await tx.insert(pipelineVersions).values({ pipelineId: id, version: 1, spec: checked.spec!, valid: checked.ok, message, importSource: source, createdBy: actor.id });
    await tx.insert(auditLog).values({
      actorId: actor.id,
      actorName: actor.username,
      action: 'pipeline.import',
      outcome: 'ok',
      pipelineId: id,
      details: { format: result.format, fileName: source.fileName, stages: checked.spec!.nodes.length, environmentsCreated: input.createEnvironments ? missing.map((e) => e.name) : [], triggers: chosen.length },
    });
    // The triggers are created with the pipeline, in the same transaction.
    return { ...(await insertPipelineTriggers(tx, actor, id, chosen)), createdEnvironments };
  });
  if (client && created.rows.some((r) => r.type === 'schedule')) {
    try {
      await startScheduleTriggers(client, created.rows);
    } catch (err) {
      // Temporal refused a schedule: the pipeline and its triggers are taken back, so nothing half-made stays.
      await deletePipelineTriggersAfterFailedStart(db, id, created.createdEnvironments);
      await db.insert(auditLog).values({
        actorId: actor.id,
        actorName: actor.username,
        action: 'pipeline.import',
        outcome: 'refused',
        pipelineId: id,
        reason: `taken back: a schedule could not be started (${err instanceof Error ? err.message.slice(0, 300) : 'Temporal refused it'})`,
      });
      throw err;
    }
  }
  return {
    id,
    version: 1,
    valid: checked.ok,
    issues: checked.issues,
    report: result.report,
    triggers: created.rows.map((r) => ({ id: r.id, type: r.type, name: r.name })),
    /** Shown once: what the Git server's webhook is configured with. */
    webhookSecrets: created.secrets,
  };
}

/** The file a version was imported from (null when it was drawn here). */
export async function getImportSource(db: Db, pipelineId: string, version: number) {
  const row = await db
    .select({ importSource: pipelineVersions.importSource })
    .from(pipelineVersions)
    .where(and(eq(pipelineVersions.pipelineId, pipelineId), eq(pipelineVersions.version, version)))
    .get();
  return row?.importSource ?? null;
}
