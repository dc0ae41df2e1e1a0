/**
 * Share links for embeds: create, list and revoke them (authors and admins),
 * and check a token on every use.
 *
 * 1. The token is returned once, by `createShareToken`; the database keeps its
 *    sha256 only (server/embeds/token.ts).
 * 2. `authorizeShare` is the one gate every embed URL goes through: the token
 *    is well formed, known, for this pipeline, not revoked, not expired, the
 *    pipeline is not deleted, and the scope allows what is asked (`badge`
 *    tokens fetch the badge only). Refusals carry the HTTP status to answer
 *    with and the origins that may frame the error page.
 * 3. `lastUsedAt` is written at most once a minute per token.
 * 4. `loadEmbedView` reads what an embed shows: the graph (positions, names,
 *    kinds), stage statuses and times, parameter names and non-secret values —
 *    never stage config, environment, outputs, logs or error texts.
 */
import { TRPCError } from '@trpc/server';
import { and, desc, eq, isNull, lt, or } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { auditLog, pipelines, pipelineVersions, runs, shareTokens, user as userTable, type ShareScope } from '../../db/schema';
import { validatePipeline } from '../../workflows/model';
import type { SessionUser } from '../auth/session';
import { checkOrigins } from '../embeds/origins';
import { displayParams } from '../embeds/secrets';
import type { GraphEdge, GraphNode } from '../embeds/svg';
import { generateShareToken, hashShareToken, isWellFormedShareToken } from '../embeds/token';
import { getEnv } from '../env';
import { notFound } from '../errors';
import { runStatuses } from './runs';
import { fetchLatestRunId, fetchRunSnapshot, getRunHub, type RunSnapshot } from '../live/run-hub';

type Actor = Pick<SessionUser, 'id' | 'username'>;

export type ShareTokenRow = typeof shareTokens.$inferSelect;

/** How often `lastUsedAt` may be written per token. */
export const LAST_USED_RESOLUTION_MS = 60_000;

/** Longest expiry a link may have, in days. */
export const MAX_EXPIRY_DAYS = 3650;

/** URLs of everything a token opens. */
export function shareUrls(pipelineId: string, token: string, base = getEnv().publicUrl) {
  const root = base.replace(/\/+$/, '');
  const id = encodeURIComponent(pipelineId);
  const t = encodeURIComponent(token);
  const share = `${root}/share/pipelines/${id}?token=${t}`;
  return {
    embed: `${root}/embed/pipelines/${id}?token=${t}`,
    share,
    badge: `${root}/api/badge/${id}.svg?token=${t}`,
    diagram: `${root}/api/diagram/${id}.svg?token=${t}`,
    oembed: `${root}/api/oembed?format=json&url=${encodeURIComponent(share)}`,
  };
}

/** The origins that may frame embeds of this token: its own list, or the workspace default. */
export function effectiveOrigins(token: Pick<ShareTokenRow, 'allowedOrigins'>): string[] {
  const own = Array.isArray(token.allowedOrigins) ? token.allowedOrigins.filter((o): o is string => typeof o === 'string') : [];
  return own.length > 0 ? own : (getEnv().PIPEWRIGHT_EMBED_DEFAULT_ORIGINS ?? []);
}

export type TokenStatus = 'active' | 'revoked' | 'expired';

export function tokenStatus(t: Pick<ShareTokenRow, 'revokedAt' | 'expiresAt'>, now = Date.now()): TokenStatus {
  if (t.revokedAt) return 'revoked';
  if (t.expiresAt && t.expiresAt.getTime() <= now) return 'expired';
  return 'active';
}

export async function createShareToken(
  db: Db,
  actor: Actor,
  input: { pipelineId: string; scope: ShareScope; allowedOrigins: string[]; expiresInDays: number | null; label?: string },
) {
  const head = await db.select({ id: pipelines.id, deletedAt: pipelines.deletedAt }).from(pipelines).where(eq(pipelines.id, input.pipelineId)).get();
  if (!head || head.deletedAt) throw notFound('Pipeline');
  const checked = checkOrigins(input.allowedOrigins);
  if (!checked.ok) throw new TRPCError({ code: 'BAD_REQUEST', message: checked.errors.join(' ') });
  const token = generateShareToken();
  const id = crypto.randomUUID();
  const now = new Date();
  const expiresAt = input.expiresInDays ? new Date(now.getTime() + input.expiresInDays * 86_400_000) : null;
  const label = (input.label ?? '').trim();
  await db.insert(shareTokens).values({
    id,
    pipelineId: head.id,
    tokenHash: hashShareToken(token),
    scope: input.scope,
    allowedOrigins: checked.origins,
    label,
    expiresAt,
    createdBy: actor.id,
    createdAt: now,
  });
  await db.insert(auditLog).values({
    actorId: actor.id,
    actorName: actor.username,
    action: 'share.create',
    outcome: 'ok',
    pipelineId: head.id,
    details: { shareTokenId: id, scope: input.scope, origins: checked.origins, expiresAt: expiresAt?.toISOString() ?? null },
  });
  return {
    id,
    /** The token itself: shown now and never again. */
    token,
    scope: input.scope,
    label,
    allowedOrigins: checked.origins,
    expiresAt,
    createdAt: now,
    urls: shareUrls(head.id, token),
  };
}

export async function listShareTokens(db: Db, pipelineId: string) {
  const rows = await db
    .select({
      id: shareTokens.id,
      scope: shareTokens.scope,
      label: shareTokens.label,
      allowedOrigins: shareTokens.allowedOrigins,
      expiresAt: shareTokens.expiresAt,
      createdAt: shareTokens.createdAt,
      createdBy: userTable.username,
      revokedAt: shareTokens.revokedAt,
      lastUsedAt: shareTokens.lastUsedAt,
    })
    .from(shareTokens)
    .leftJoin(userTable, eq(userTable.id, shareTokens.createdBy))
    .where(eq(shareTokens.pipelineId, pipelineId))
    .orderBy(desc(shareTokens.createdAt));
  const now = Date.now();
  return {
    tokens: rows.map((r) => ({ ...r, allowedOrigins: (r.allowedOrigins as string[]) ?? [], status: tokenStatus(r, now) })),
    defaultOrigins: getEnv().PIPEWRIGHT_EMBED_DEFAULT_ORIGINS ?? [],
  };
}

export async function revokeShareToken(db: Db, actor: Actor, input: { id: string }) {
  const row = await db.select({ id: shareTokens.id, pipelineId: shareTokens.pipelineId, revokedAt: shareTokens.revokedAt }).from(shareTokens).where(eq(shareTokens.id, input.id)).get();
  if (!row) throw notFound('Share link');
  if (!row.revokedAt) {
    await db.update(shareTokens).set({ revokedAt: new Date(), revokedBy: actor.id }).where(and(eq(shareTokens.id, row.id), isNull(shareTokens.revokedAt)));
    await db.insert(auditLog).values({
      actorId: actor.id,
      actorName: actor.username,
      action: 'share.revoke',
      outcome: 'ok',
      pipelineId: row.pipelineId,
      details: { shareTokenId: row.id },
    });
  }
  // Open embeds in this process stop now; other processes notice within a poll.
  getRunHub().pokeShareToken(row.id);
  return { id: row.id, revoked: true };
}

// ── Using a token ────────────────────────────────────────────────────────────

export type ShareNeed = 'view' | 'badge';

export type ShareDenial = {
  ok: false;
  status: 400 | 401 | 403 | 404;
  code: 'missing' | 'unknown' | 'revoked' | 'expired' | 'deleted' | 'scope';
  message: string;
  /** Origins that may frame the error page (the token's, when it is known and for this pipeline), else null. */
  frameOrigins: string[] | null;
};

export type ShareGrant = {
  ok: true;
  token: ShareTokenRow;
  pipeline: { id: string; name: string; latestVersion: number };
  frameOrigins: string[];
};

const lastTouched = new Map<string, number>();

/** Records a use, at most once a minute per token (in memory first, then a guarded UPDATE). */
export async function touchShareToken(db: Db, tokenId: string, now = Date.now()): Promise<boolean> {
  const last = lastTouched.get(tokenId);
  if (last !== undefined && now - last < LAST_USED_RESOLUTION_MS) return false;
  lastTouched.set(tokenId, now);
  if (lastTouched.size > 10_000) lastTouched.clear();
  const res = await db
    .update(shareTokens)
    .set({ lastUsedAt: new Date(now) })
    .where(and(eq(shareTokens.id, tokenId), or(isNull(shareTokens.lastUsedAt), lt(shareTokens.lastUsedAt, new Date(now - LAST_USED_RESOLUTION_MS)))));
  return res.rowsAffected > 0;
}

/** Checks a token for one use (for `pipelineId`, or for its own pipeline when omitted); see the module comment. */
export async function authorizeShare(
  db: Db,
  rawToken: string | null | undefined,
  want: { pipelineId?: string; need: ShareNeed; touch?: boolean },
): Promise<ShareGrant | ShareDenial> {
  if (!rawToken) return { ok: false, status: 401, code: 'missing', message: 'This link has no access token.', frameOrigins: null };
  const unknown: ShareDenial = { ok: false, status: 404, code: 'unknown', message: 'This link is not valid.', frameOrigins: null };
  if (!isWellFormedShareToken(rawToken)) return unknown;
  const row = await db
    .select({ token: shareTokens, pipeline: { id: pipelines.id, name: pipelines.name, latestVersion: pipelines.latestVersion, deletedAt: pipelines.deletedAt } })
    .from(shareTokens)
    .innerJoin(pipelines, eq(pipelines.id, shareTokens.pipelineId))
    .where(eq(shareTokens.tokenHash, hashShareToken(rawToken)))
    .get();
  // A token for another pipeline answers exactly like an unknown one.
  if (!row || (want.pipelineId !== undefined && row.token.pipelineId !== want.pipelineId)) return unknown;
  const frameOrigins = effectiveOrigins(row.token);
  if (row.pipeline.deletedAt) return { ok: false, status: 404, code: 'deleted', message: 'This pipeline no longer exists.', frameOrigins };
  const status = tokenStatus(row.token);
  if (status === 'revoked') return { ok: false, status: 401, code: 'revoked', message: 'This link was revoked.', frameOrigins };
  if (status === 'expired') return { ok: false, status: 401, code: 'expired', message: 'This link has expired.', frameOrigins };
  if (want.need === 'view' && row.token.scope !== 'view') {
    return { ok: false, status: 403, code: 'scope', message: 'This link only shows the status badge.', frameOrigins };
  }
  if (want.touch !== false) await touchShareToken(db, row.token.id);
  const { deletedAt: _deleted, ...pipeline } = row.pipeline;
  return { ok: true, token: row.token, pipeline, frameOrigins };
}

// ── What an embed shows ──────────────────────────────────────────────────────

export type EmbedView = {
  pipeline: { id: string; name: string };
  /** The version drawn: the run's, or the newest when there is no run. */
  version: number;
  nodes: GraphNode[];
  edges: GraphEdge[];
  /** Declared parameter names and types (no defaults: they may be secrets). */
  parameters: { name: string; type: string }[];
  run: (Omit<RunSnapshot, 'stages'> & { params: { name: string; value: string; hidden: boolean }[] }) | null;
  stages: RunSnapshot['stages'];
};

/** The embed's data for `run` (`latest` or a run id of this pipeline); null when that run is not this pipeline's. */
export async function loadEmbedView(db: Db, pipeline: { id: string; name: string; latestVersion: number }, run: string): Promise<EmbedView | null> {
  const runId = run === 'latest' ? await fetchLatestRunId(db, pipeline.id) : run;
  const snapshot = runId ? await fetchRunSnapshot(db, runId) : null;
  if (run !== 'latest' && (!snapshot || snapshot.pipelineId !== pipeline.id)) return null;
  const version = snapshot?.pipelineVersion ?? pipeline.latestVersion;
  const v = await db
    .select({ spec: pipelineVersions.spec })
    .from(pipelineVersions)
    .where(and(eq(pipelineVersions.pipelineId, pipeline.id), eq(pipelineVersions.version, version)))
    .get();
  const spec = v ? validatePipeline(v.spec).spec : undefined;
  let params: { name: string; value: string; hidden: boolean }[] = [];
  if (snapshot) {
    const row = await db.select({ params: runs.params }).from(runs).where(eq(runs.id, snapshot.runId)).get();
    params = displayParams((row?.params ?? {}) as Record<string, unknown>);
  }
  return {
    pipeline: { id: pipeline.id, name: pipeline.name },
    version,
    nodes: (spec?.nodes ?? []).map((n) => ({ id: n.id, name: n.name, kind: n.kind, x: n.position.x, y: n.position.y })),
    edges: (spec?.edges ?? []).map((e) => ({ from: e.from, to: e.to, on: e.on })),
    parameters: (spec?.parameters ?? []).map((p) => ({ name: p.name, type: p.type })),
    run: snapshot
      ? {
          runId: snapshot.runId,
          pipelineId: snapshot.pipelineId,
          pipelineVersion: snapshot.pipelineVersion,
          number: snapshot.number,
          rehearsal: snapshot.rehearsal,
          status: snapshot.status,
          display: snapshot.display,
          startedAt: snapshot.startedAt,
          endedAt: snapshot.endedAt,
          params,
        }
      : null,
    stages: snapshot?.stages ?? {},
  };
}

/** The newest run's status, for the badge (rehearsals changed nothing, so they do not count). */
export async function latestRunStatus(db: Db, pipelineId: string) {
  const row = await db
    .select({ id: runs.id, status: runs.status, number: runs.number })
    .from(runs)
    .where(and(eq(runs.pipelineId, pipelineId), eq(runs.rehearsal, false)))
    .orderBy(desc(runs.number))
    .limit(1)
    .get();
  if (!row) return null;
  // The same wording as every page (describeRunStatus): waiting for approval, or for a runner.
  const display = (await runStatuses(db, [row])).get(row.id)!;
  return { ...row, status: display.key, display };
}
