/**
 * Cluster connections: what admins register so k8s stages can deploy.
 *
 * 1. Credentials (a bearer token, or a whole self-contained kubeconfig) are
 *    sealed with AES-256-GCM before they reach the database; the additional
 *    authenticated data is the row id, so a sealed value moved to another row
 *    does not open.
 * 2. `listConnections` returns only what is safe to show: never the token or
 *    the kubeconfig. Nothing here logs a secret.
 * 3. `createClusterResolver` is what the worker's activities use: it opens a
 *    connection by name at execution time, so secrets never pass through
 *    Temporal's workflow history.
 * 4. `checkConnection` proves the credentials work (SelfSubjectReview) and
 *    reports, per allowed namespace, whether they may update Deployments.
 */
import { desc, eq } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { auditLog, clusterConnections } from '../../db/schema';
import { K8sClient, kubeConfigFor } from '../../workflows/k8s/client';
import { apiReason } from '../../workflows/k8s/errors';
import { StageFailure, type ClusterConnectionSecret, type ClusterConnections } from '../../workflows/stages/executor-types';
import { open, resolveSecretKey, seal } from './crypto';

export type NewClusterConnection = {
  name: string;
  description?: string;
  allowedNamespaces: string[];
} & (
  | { authType: 'token'; server: string; token: string; caPem?: string; insecureSkipTlsVerify?: boolean }
  | { authType: 'kubeconfig'; kubeconfig: string }
);

export type ClusterConnectionInfo = {
  id: string;
  name: string;
  description: string;
  authType: 'token' | 'kubeconfig';
  server: string;
  hasCa: boolean;
  insecureSkipTlsVerify: boolean;
  allowedNamespaces: string[];
  createdBy: string | null;
  createdAt: Date;
  lastCheckedAt: Date | null;
  lastCheckOk: boolean | null;
  lastCheckMessage: string | null;
};

export class ClusterConnectionError extends Error {
  constructor(
    message: string,
    readonly code: 'BAD_REQUEST' | 'CONFLICT' | 'NOT_FOUND',
  ) {
    super(message);
    this.name = 'ClusterConnectionError';
  }
}

type Actor = { id: string; username: string };
type Secret = { token?: string; kubeconfig?: string };

const aad = (id: string) => `cluster_connections:${id}`;

function info(row: typeof clusterConnections.$inferSelect): ClusterConnectionInfo {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    authType: row.authType,
    server: row.server,
    hasCa: Boolean(row.caPem),
    insecureSkipTlsVerify: row.insecureSkipTlsVerify,
    allowedNamespaces: row.allowedNamespaces,
    createdBy: row.createdBy,
    createdAt: row.createdAt,
    lastCheckedAt: row.lastCheckedAt,
    lastCheckOk: row.lastCheckOk,
    lastCheckMessage: row.lastCheckMessage,
  };
}

export async function listConnections(db: Db): Promise<ClusterConnectionInfo[]> {
  const rows = await db.select().from(clusterConnections).orderBy(desc(clusterConnections.createdAt));
  return rows.map(info);
}

export async function createConnection(db: Db, actor: Actor, input: NewClusterConnection, key = resolveSecretKey()): Promise<ClusterConnectionInfo> {
  const id = crypto.randomUUID();
  let server: string;
  let secret: Secret;
  let caPem: string | null = null;
  let insecure = false;
  if (input.authType === 'kubeconfig') {
    // Parse now: a kubeconfig that would run programs or read files on the worker is refused here, not at deploy time.
    let kcServer: string | undefined;
    try {
      kcServer = kubeConfigFor({ name: input.name, kubeconfig: input.kubeconfig, allowedNamespaces: [] }).getCurrentCluster()?.server;
    } catch (err) {
      throw new ClusterConnectionError(err instanceof StageFailure ? err.message : 'the kubeconfig does not parse', 'BAD_REQUEST');
    }
    server = kcServer ?? '';
    secret = { kubeconfig: input.kubeconfig };
  } else {
    server = input.server;
    secret = { token: input.token };
    caPem = input.caPem?.trim() || null;
    insecure = input.insecureSkipTlsVerify ?? false;
  }
  const existing = await db.select({ id: clusterConnections.id }).from(clusterConnections).where(eq(clusterConnections.name, input.name));
  if (existing.length > 0) throw new ClusterConnectionError(`a connection named "${input.name}" already exists`, 'CONFLICT');
  const [row] = await db
    .insert(clusterConnections)
    .values({
      id,
      name: input.name,
      description: input.description ?? '',
      authType: input.authType,
      server,
      caPem,
      insecureSkipTlsVerify: insecure,
      secret: seal(key, JSON.stringify(secret), aad(id)),
      allowedNamespaces: [...new Set(input.allowedNamespaces)],
      createdBy: actor.username,
    })
    .returning();
  await db.insert(auditLog).values({ actorId: actor.id, actorName: actor.username, action: 'cluster.create', outcome: 'ok', details: { name: input.name, server } });
  return info(row!);
}

export async function deleteConnection(db: Db, actor: Actor, id: string): Promise<void> {
  const [row] = await db.delete(clusterConnections).where(eq(clusterConnections.id, id)).returning({ name: clusterConnections.name });
  if (!row) throw new ClusterConnectionError('no such cluster connection', 'NOT_FOUND');
  await db.insert(auditLog).values({ actorId: actor.id, actorName: actor.username, action: 'cluster.delete', outcome: 'ok', details: { name: row.name } });
}

function toSecret(row: typeof clusterConnections.$inferSelect, key: Buffer): ClusterConnectionSecret {
  const secret = JSON.parse(open(key, row.secret, aad(row.id))) as Secret;
  return {
    name: row.name,
    kubeconfig: secret.kubeconfig,
    server: row.authType === 'token' ? row.server : undefined,
    token: secret.token,
    caPem: row.caPem ?? undefined,
    insecureSkipTlsVerify: row.insecureSkipTlsVerify,
    allowedNamespaces: row.allowedNamespaces,
  };
}

/** The decrypted connection named `name` (worker side), or a StageFailure when there is none. */
export async function getConnectionSecret(db: Db, name: string, key = resolveSecretKey()): Promise<ClusterConnectionSecret> {
  const [row] = await db.select().from(clusterConnections).where(eq(clusterConnections.name, name));
  if (!row) throw new StageFailure(`there is no cluster connection named "${name}" (an admin registers them under Admin → Clusters)`, 'InvalidConfig');
  try {
    return toSecret(row, key);
  } catch (err) {
    throw new StageFailure(`cluster connection "${name}": ${(err as Error).message}`, 'InvalidConfig');
  }
}

/** What the worker's activities use: connections looked up and decrypted when a stage runs. */
export function createClusterResolver(db: Db, key?: Buffer): ClusterConnections {
  let cached = key;
  return {
    get: (name) => getConnectionSecret(db, name, (cached ??= resolveSecretKey())),
  };
}

export type CheckResult = { ok: boolean; message: string; version?: string; user?: string; namespaces: { namespace: string; canDeploy: boolean }[] };

/** Tries the connection: who the credentials are, the server version, and deploy rights per allowed namespace. */
export async function checkConnection(db: Db, id: string, key = resolveSecretKey()): Promise<CheckResult> {
  const [row] = await db.select().from(clusterConnections).where(eq(clusterConnections.id, id));
  if (!row) throw new ClusterConnectionError('no such cluster connection', 'NOT_FOUND');
  let result: CheckResult;
  try {
    const client = new K8sClient(toSecret(row, key), AbortSignal.timeout(20_000));
    const who = await client.whoAmI();
    const version = (await client.version()).gitVersion;
    const namespaces = await Promise.all(
      (row.allowedNamespaces.length > 0 ? row.allowedNamespaces : ['default']).slice(0, 20).map(async (namespace) => ({
        namespace,
        canDeploy: (await client.canI('patch', 'apps', 'deployments', namespace)).allowed,
      })),
    );
    const denied = namespaces.filter((n) => !n.canDeploy).map((n) => n.namespace);
    result = {
      ok: denied.length === 0,
      version,
      user: who.username,
      namespaces,
      message:
        `connected as ${who.username ?? 'unknown user'} to Kubernetes ${version ?? '(unknown version)'}` +
        (denied.length ? `; may not update Deployments in ${denied.join(', ')}` : ''),
    };
  } catch (err) {
    const reason = err instanceof StageFailure ? err.message : apiReason(err);
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    result = { ok: false, namespaces: [], message: `cannot connect: ${reason}${cause?.code ? ` (${cause.code})` : cause?.message ? ` (${cause.message})` : ''}` };
  }
  await db
    .update(clusterConnections)
    .set({ lastCheckedAt: new Date(), lastCheckOk: result.ok, lastCheckMessage: result.message.slice(0, 1000) })
    .where(eq(clusterConnections.id, id));
  return result;
}
