/**
 * Environments: the promotion path (dev → test → staging → production), each
 * with its own variables, sealed secrets and protection rules.
 *
 * 1. Secrets are sealed with the workspace key (server/clusters/crypto.ts)
 *    with AAD `environments:<id>:<NAME>`, so a sealed value copied to another
 *    environment or name does not open. Nothing here returns or logs a value:
 *    views list secret names with who set them and when.
 * 2. `loadEnvironmentScope` is what the worker uses, just before a bound stage
 *    runs; values never pass through workflow history. A protected
 *    environment (approval gate required) releases nothing to a stage of a
 *    run whose gate for it has not approved.
 * 3. Every change is audited (`environment.*`); details never hold a secret.
 */
import { TRPCError } from '@trpc/server';
import { and, asc, eq, inArray, isNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '../../db/client';
import { auditLog, environments, gates, pipelines, pipelineVersions, ROLES, runs, type EnvironmentSecret, type Role } from '../../db/schema';
import { executionPlanSchema } from '../../workflows/model/plan';
import { environmentNameSchema } from '../../workflows/model/spec';
import { ENV_KEY_PATTERN, type EnvironmentScope } from '../../workflows/model/template';
import { open, resolveSecretKey, seal } from '../clusters/crypto';

type Actor = { id: string; username: string };

export const envKeySchema = z
  .string()
  .min(1, 'a name must not be empty')
  .max(64, 'a name may have at most 64 characters')
  .regex(ENV_KEY_PATTERN, 'names start with a letter or _ and contain only letters, digits and _ (e.g. DATABASE_URL)');

const variablesSchema = z
  .record(envKeySchema, z.string().max(4096, 'a value may have at most 4,096 characters'))
  .refine((v) => Object.keys(v).length <= 200, 'at most 200 variables');

const environmentFields = {
  displayName: z.string().trim().min(1, 'enter a display name').max(80),
  description: z.string().max(1000),
  variables: variablesSchema,
  promoteRoles: z.array(z.enum(ROLES)).max(ROLES.length),
  requireGate: z.boolean(),
  clusterConnection: z.string().trim().max(64).nullable(),
  namespace: z.string().trim().max(63).nullable(),
};

/** Creating: everything but the names has a default. */
export const environmentFieldsSchema = z.object({
  ...environmentFields,
  description: environmentFields.description.default(''),
  variables: environmentFields.variables.default({}),
  promoteRoles: environmentFields.promoteRoles.default(['author', 'admin']),
  requireGate: environmentFields.requireGate.default(false),
  clusterConnection: environmentFields.clusterConnection.default(null),
  namespace: environmentFields.namespace.default(null),
});

export const createEnvironmentSchema = environmentFieldsSchema.extend({ name: environmentNameSchema });
export type NewEnvironment = z.input<typeof createEnvironmentSchema>;
/** Updating: only what is given changes (no defaults here, or a partial update would reset the rest). */
export const updateEnvironmentSchema = z.object(environmentFields).partial().extend({ id: z.string().min(1).max(64) });

const aad = (id: string, name: string) => `environments:${id}:${name}`;

export type EnvironmentView = {
  id: string;
  name: string;
  displayName: string;
  position: number;
  description: string;
  variables: Record<string, string>;
  /** Names only, with who set them and when; never the values. */
  secrets: { name: string; updatedBy: string; updatedAt: Date }[];
  promoteRoles: Role[];
  requireGate: boolean;
  clusterConnection: string | null;
  namespace: string | null;
  updatedBy: string | null;
  updatedAt: Date;
};

function view(row: typeof environments.$inferSelect): EnvironmentView {
  return {
    id: row.id,
    name: row.name,
    displayName: row.displayName,
    position: row.position,
    description: row.description,
    variables: row.variables,
    secrets: Object.entries(row.secrets)
      .map(([name, s]) => ({ name, updatedBy: s.updatedBy, updatedAt: new Date(s.updatedAt) }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    promoteRoles: row.promoteRoles,
    requireGate: row.requireGate,
    clusterConnection: row.clusterConnection,
    namespace: row.namespace,
    updatedBy: row.updatedBy,
    updatedAt: row.updatedAt,
  };
}

/** Every environment in promotion order (safe to show to anyone signed in). */
export async function listEnvironments(db: Db): Promise<EnvironmentView[]> {
  const rows = await db.select().from(environments).orderBy(asc(environments.position), asc(environments.name));
  return rows.map(view);
}

async function getRow(db: Db, id: string) {
  const row = await db.select().from(environments).where(eq(environments.id, id)).get();
  if (!row) throw new TRPCError({ code: 'NOT_FOUND', message: 'Environment not found (it may have been deleted).' });
  return row;
}

async function audit(db: Db, actor: Actor, action: string, details: Record<string, unknown>) {
  await db.insert(auditLog).values({ actorId: actor.id, actorName: actor.username, action, outcome: 'ok', details });
}

export async function createEnvironment(db: Db, actor: Actor, raw: NewEnvironment): Promise<EnvironmentView> {
  return view(await db.transaction((tx) => insertEnvironment(tx, actor, raw)));
}

/** A transaction of `db` (what `insertEnvironment` writes into, so a caller can create environments with other rows, all or nothing). */
export type EnvironmentTransaction = Parameters<Parameters<Db['transaction']>[0]>[0];

/**
 * Writes one new environment and its audit row inside the caller's transaction
 * (a CONFLICT when the name is taken): an import creates the environments its
 * file names in the same transaction as the pipeline, so a failure leaves neither.
 */
export async function insertEnvironment(tx: EnvironmentTransaction, actor: Actor, raw: NewEnvironment) {
  const input = createEnvironmentSchema.parse(raw);
  const existing = await tx.select({ id: environments.id }).from(environments).where(eq(environments.name, input.name)).get();
  if (existing) throw new TRPCError({ code: 'CONFLICT', message: `An environment named "${input.name}" already exists.` });
  const last = await tx.select({ p: sql<number | null>`max(${environments.position})` }).from(environments).get();
  const [created] = await tx
    .insert(environments)
    .values({
      id: crypto.randomUUID(),
      name: input.name,
      displayName: input.displayName,
      position: (last?.p ?? -1) + 1,
      description: input.description,
      variables: input.variables,
      secrets: {},
      promoteRoles: input.promoteRoles,
      requireGate: input.requireGate,
      clusterConnection: input.clusterConnection || null,
      namespace: input.namespace || null,
      createdBy: actor.username,
      updatedBy: actor.username,
    })
    .returning();
  await tx.insert(auditLog).values({
    actorId: actor.id,
    actorName: actor.username,
    action: 'environment.create',
    outcome: 'ok',
    details: { name: input.name, promoteRoles: input.promoteRoles, requireGate: input.requireGate, variables: Object.keys(input.variables) },
  });
  return created!;
}

export async function updateEnvironment(db: Db, actor: Actor, raw: z.input<typeof updateEnvironmentSchema>): Promise<EnvironmentView> {
  const { id, ...fields } = updateEnvironmentSchema.parse(raw);
  const before = await getRow(db, id);
  const set: Partial<typeof environments.$inferInsert> = { updatedBy: actor.username, updatedAt: new Date() };
  if (fields.displayName !== undefined) set.displayName = fields.displayName;
  if (fields.description !== undefined) set.description = fields.description;
  if (fields.variables !== undefined) set.variables = fields.variables;
  if (fields.promoteRoles !== undefined) set.promoteRoles = fields.promoteRoles;
  if (fields.requireGate !== undefined) set.requireGate = fields.requireGate;
  if (fields.clusterConnection !== undefined) set.clusterConnection = fields.clusterConnection || null;
  if (fields.namespace !== undefined) set.namespace = fields.namespace || null;
  const [row] = await db.update(environments).set(set).where(eq(environments.id, id)).returning();
  await audit(db, actor, 'environment.update', {
    name: before.name,
    changed: Object.keys(fields),
    ...(fields.variables ? { variables: Object.keys(fields.variables) } : {}),
    ...(fields.promoteRoles ? { promoteRoles: fields.promoteRoles } : {}),
    ...(fields.requireGate !== undefined ? { requireGate: fields.requireGate } : {}),
  });
  return view(row!);
}

/** Sets (or replaces) a secret; the value is sealed at once and never shown again. */
export async function setSecret(db: Db, actor: Actor, input: { id: string; name: string; value: string }, key = resolveSecretKey()): Promise<EnvironmentView> {
  const name = envKeySchema.parse(input.name);
  if (!input.value) throw new TRPCError({ code: 'BAD_REQUEST', message: 'Enter a value for the secret.' });
  if (input.value.length > 16_384) throw new TRPCError({ code: 'BAD_REQUEST', message: 'A secret may have at most 16,384 characters.' });
  const row = await getRow(db, input.id);
  const replaced = Object.hasOwn(row.secrets, name);
  const secret: EnvironmentSecret = { sealed: seal(key, input.value, aad(row.id, name)), updatedBy: actor.username, updatedAt: Date.now() };
  // json_set on the one key: a concurrent change of another secret is not lost.
  const [updated] = await db
    .update(environments)
    .set({ secrets: sql`json_set(${environments.secrets}, ${`$."${name}"`}, json(${JSON.stringify(secret)}))`, updatedBy: actor.username, updatedAt: new Date() })
    .where(eq(environments.id, row.id))
    .returning();
  await audit(db, actor, replaced ? 'environment.secret.replace' : 'environment.secret.set', { name: row.name, secret: name });
  return view(updated!);
}

export async function deleteSecret(db: Db, actor: Actor, input: { id: string; name: string }): Promise<EnvironmentView> {
  const name = envKeySchema.parse(input.name);
  const row = await getRow(db, input.id);
  if (!Object.hasOwn(row.secrets, name)) throw new TRPCError({ code: 'NOT_FOUND', message: `Environment "${row.name}" has no secret "${name}".` });
  const [updated] = await db
    .update(environments)
    .set({ secrets: sql`json_remove(${environments.secrets}, ${`$."${name}"`})`, updatedBy: actor.username, updatedAt: new Date() })
    .where(eq(environments.id, row.id))
    .returning();
  await audit(db, actor, 'environment.secret.delete', { name: row.name, secret: name });
  return view(updated!);
}

/** New promotion order: `ids` must list every environment exactly once. */
export async function reorderEnvironments(db: Db, actor: Actor, ids: string[]): Promise<EnvironmentView[]> {
  const rows = await db.select({ id: environments.id, name: environments.name }).from(environments);
  const known = new Set(rows.map((r) => r.id));
  if (ids.length !== rows.length || new Set(ids).size !== ids.length || ids.some((id) => !known.has(id))) {
    throw new TRPCError({ code: 'CONFLICT', message: 'The list of environments changed meanwhile; reload the page and try again.' });
  }
  await db.transaction(async (tx) => {
    for (const [position, id] of ids.entries()) await tx.update(environments).set({ position }).where(eq(environments.id, id));
    const names = new Map(rows.map((r) => [r.id, r.name]));
    await tx.insert(auditLog).values({ actorId: actor.id, actorName: actor.username, action: 'environment.reorder', outcome: 'ok', details: { order: ids.map((id) => names.get(id)) } });
  });
  return listEnvironments(db);
}

/** Names of the pipelines whose newest version binds a stage to `name`. */
export async function pipelinesUsingEnvironment(db: Db, name: string): Promise<string[]> {
  const rows = await db
    .select({ name: pipelines.name, spec: pipelineVersions.spec })
    .from(pipelines)
    .innerJoin(pipelineVersions, sql`${pipelineVersions.pipelineId} = ${pipelines.id} and ${pipelineVersions.version} = ${pipelines.latestVersion}`)
    .where(isNull(pipelines.deletedAt));
  return rows
    .filter((r) => {
      const nodes = (r.spec as { nodes?: { environment?: unknown }[] } | null)?.nodes;
      return Array.isArray(nodes) && nodes.some((n) => n?.environment === name);
    })
    .map((r) => r.name);
}

export async function deleteEnvironment(db: Db, actor: Actor, id: string): Promise<void> {
  const row = await getRow(db, id);
  const users = await pipelinesUsingEnvironment(db, row.name);
  if (users.length > 0) {
    throw new TRPCError({
      code: 'CONFLICT',
      message: `Environment "${row.name}" is used by ${users.length === 1 ? 'the pipeline' : `${users.length} pipelines:`} ${users
        .slice(0, 5)
        .map((n) => `"${n}"`)
        .join(', ')}${users.length > 5 ? ', …' : ''}. Unbind their stages first.`,
    });
  }
  await db.transaction(async (tx) => {
    await tx.delete(environments).where(eq(environments.id, id));
    await tx.insert(auditLog).values({ actorId: actor.id, actorName: actor.username, action: 'environment.delete', outcome: 'ok', details: { name: row.name } });
  });
}

/** Thrown by `loadEnvironmentScope`; the message names the environment, never a value. */
export class EnvironmentUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnvironmentUnavailableError';
  }
}

/** The cluster connection (and namespace) Kubernetes stages bound to an environment may use. */
export type ClusterBinding = { connection: string | null; namespace: string | null };

/** What a bound stage gets: the environment's variables and opened secrets, and its cluster binding. */
export type StageEnvironment = EnvironmentScope & { cluster: ClusterBinding };

/**
 * The environment `name` with its secrets opened, for stage `nodeId` of run
 * `runId` (worker side, just before a bound stage runs; remote runners reach
 * it through the control plane's API, with the same checks).
 *
 * In an environment that requires an approval gate nothing is released —
 * neither secrets nor variables — unless a gate of this run bound to it, and
 * upstream of the stage through `success` edges, is recorded as approved (the
 * `gates` table, written by the workflow before anything after the gate
 * starts). The start of a run already refuses a stage that could run before
 * such a gate; this holds even if a plan slipped past that check.
 */
export async function loadEnvironmentScope(db: Db, name: string, stage: { runId: string; nodeId: string }, key?: Buffer): Promise<StageEnvironment> {
  const row = await db.select().from(environments).where(eq(environments.name, name)).get();
  if (!row) throw new EnvironmentUnavailableError(`there is no environment "${name}" (an admin creates them under Admin → Environments)`);
  if (row.requireGate) await assertGatePassed(db, row, stage);
  const secrets: Record<string, string> = {};
  const entries = Object.entries(row.secrets);
  if (entries.length > 0) {
    const k = key ?? resolveSecretKey();
    for (const [secretName, s] of entries) {
      try {
        secrets[secretName] = open(k, s.sealed, aad(row.id, secretName));
      } catch {
        throw new EnvironmentUnavailableError(`secret "${secretName}" of environment "${name}" cannot be decrypted (was the workspace key changed?)`);
      }
    }
  }
  return { name: row.name, variables: row.variables, secrets, cluster: { connection: row.clusterConnection, namespace: row.namespace } };
}

/** Throws unless a gate bound to `env`, upstream of the stage through success edges, approved in this run. */
async function assertGatePassed(db: Db, env: typeof environments.$inferSelect, stage: { runId: string; nodeId: string }): Promise<void> {
  const run = await db.select({ plan: runs.plan }).from(runs).where(eq(runs.id, stage.runId)).get();
  const parsed = executionPlanSchema.safeParse(run?.plan);
  const refused = () =>
    new EnvironmentUnavailableError(`environment "${env.name}" requires an approval gate; its variables and secrets are released only to stages after a gate bound to it has approved in this run`);
  if (!parsed.success) throw refused();
  const byId = new Map(parsed.data.nodes.map((n) => [n.id, n]));
  // Success-ancestors of the stage that are gates bound to this environment.
  const candidates: string[] = [];
  const seen = new Set<string>();
  const stack = [stage.nodeId];
  while (stack.length > 0) {
    for (const need of byId.get(stack.pop()!)?.needs ?? []) {
      if (need.on !== 'success' || seen.has(need.from)) continue;
      seen.add(need.from);
      const from = byId.get(need.from);
      if (from?.runtime === 'gate' && from.environment === env.name) candidates.push(from.id);
      stack.push(need.from);
    }
  }
  if (candidates.length === 0) throw refused();
  const approved = await db
    .select({ nodeId: gates.nodeId })
    .from(gates)
    .where(and(eq(gates.runId, stage.runId), inArray(gates.nodeId, candidates), eq(gates.status, 'approved')))
    .get();
  if (!approved) throw refused();
}
