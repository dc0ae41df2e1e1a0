/**
 * The audit log, for admins: every decision, every refused attempt (who,
 * what, when, why refused) and other security-relevant changes, filtered,
 * paged (newest first) and exported as CSV.
 */
import { and, desc, eq, gte, lt, lte, or, sql, type AnyColumn, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '../../db/client';
import { auditLog, pipelines, user } from '../../db/schema';

export const auditFilterSchema = z.object({
  /** Part of the actor's username or id (case-insensitive). */
  actor: z.string().trim().max(200).optional(),
  /** An action (`gate.approve`), or a family ending in `.` (`gate.`, `user.`). */
  action: z.string().trim().max(200).optional(),
  outcome: z.enum(['ok', 'refused']).optional(),
  pipelineId: z.string().max(64).optional(),
  /** From this moment on (inclusive). */
  from: z.date().optional(),
  /** Up to this moment (inclusive). */
  to: z.date().optional(),
});
export type AuditFilter = z.infer<typeof auditFilterSchema>;

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);
/** `column LIKE pattern` with `\` escaping `%`, `_` and itself (SQLite has no default escape character). */
const like = (column: AnyColumn, pattern: string): SQL => sql`${column} like ${pattern} escape '\\'`;

function where(f: AuditFilter, beforeId?: number): SQL | undefined {
  const parts: (SQL | undefined)[] = [];
  if (f.actor) {
    const pattern = `%${escapeLike(f.actor.toLowerCase())}%`;
    parts.push(or(like(auditLog.actorName, pattern), like(auditLog.actorId, pattern)));
  }
  if (f.action) parts.push(f.action.endsWith('.') ? like(auditLog.action, `${escapeLike(f.action)}%`) : eq(auditLog.action, f.action));
  if (f.outcome) parts.push(eq(auditLog.outcome, f.outcome));
  if (f.pipelineId) parts.push(eq(auditLog.pipelineId, f.pipelineId));
  if (f.from) parts.push(gte(auditLog.at, f.from));
  if (f.to) parts.push(lte(auditLog.at, f.to));
  if (beforeId !== undefined) parts.push(lt(auditLog.id, beforeId));
  return and(...parts);
}

function page(db: Db, f: AuditFilter, limit: number, beforeId?: number) {
  return db
    .select({
      id: auditLog.id,
      at: auditLog.at,
      actorId: auditLog.actorId,
      actorName: auditLog.actorName,
      /** The actor's display name now (shown beside `actorName`, the username the entry recorded). */
      actorDisplayName: user.name,
      action: auditLog.action,
      outcome: auditLog.outcome,
      reason: auditLog.reason,
      pipelineId: auditLog.pipelineId,
      pipelineName: pipelines.name,
      runId: auditLog.runId,
      nodeId: auditLog.nodeId,
      details: auditLog.details,
    })
    .from(auditLog)
    .leftJoin(pipelines, eq(pipelines.id, auditLog.pipelineId))
    .leftJoin(user, eq(user.id, auditLog.actorId))
    .where(where(f, beforeId))
    .orderBy(desc(auditLog.id))
    .limit(limit);
}

export type AuditRow = Awaited<ReturnType<typeof page>>[number];

/** One page of entries, newest first; `nextCursor` continues below it. */
export async function listAudit(db: Db, f: AuditFilter & { cursor?: number; limit?: number }) {
  const limit = Math.min(f.limit ?? 100, 500);
  const rows = await page(db, f, limit + 1, f.cursor);
  const more = rows.length > limit;
  const items = more ? rows.slice(0, limit) : rows;
  return { items, nextCursor: more ? items[items.length - 1]!.id : null };
}

/** What the filters can offer: actions and pipelines that occur in the log. */
export async function auditFacets(db: Db) {
  const [actions, pipes] = await Promise.all([
    db.selectDistinct({ action: auditLog.action }).from(auditLog).orderBy(auditLog.action).limit(500),
    db
      .selectDistinct({ id: pipelines.id, name: pipelines.name })
      .from(auditLog)
      .innerJoin(pipelines, eq(pipelines.id, auditLog.pipelineId))
      .orderBy(pipelines.name)
      .limit(500),
  ]);
  return { actions: actions.map((a) => a.action), pipelines: pipes };
}

// ── CSV ──────────────────────────────────────────────────────────────────────

export const CSV_COLUMNS = ['time_utc', 'actor', 'actor_id', 'action', 'outcome', 'reason', 'pipeline', 'pipeline_id', 'run_id', 'stage', 'details'] as const;

/**
 * Characters that make a spreadsheet read a cell as a formula (OWASP "CSV
 * injection": `=`, `+`, `-`, `@`, tab, carriage return), also after leading
 * spaces or control characters some programs skip, and their full-width
 * forms, which some spreadsheets fold to the ASCII ones.
 */
const FORMULA_START = /^[\s\p{Cc}]*[=+\-@\uFF1D\uFF0B\uFF0D\uFF20]|^[\t\r]/u;

/**
 * One CSV field (RFC 4180): quoted when it holds a comma, quote, line break
 * or semicolon, quotes doubled. A value a spreadsheet would run as a formula
 * gets a leading `'` so it stays text. Semicolons are quoted too because
 * spreadsheets in locales whose list separator is `;` (most of Europe) split
 * unquoted fields there — `a;=cmd|…` would otherwise become a cell starting
 * with `=` (OWASP CSV injection guidance); a quoted field stays one cell.
 */
export function csvField(value: unknown): string {
  let s = value === null || value === undefined ? '' : typeof value === 'string' ? value : value instanceof Date ? value.toISOString() : JSON.stringify(value);
  if (FORMULA_START.test(s)) s = `'${s}`;
  return /[",;\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvLine(row: AuditRow): string {
  return [
    row.at.toISOString(),
    row.actorName,
    row.actorId,
    row.action,
    row.outcome,
    row.reason,
    row.pipelineName,
    row.pipelineId,
    row.runId,
    row.nodeId,
    row.details ?? null,
  ]
    .map(csvField)
    .join(',');
}

/** The whole filtered log as CSV lines (header first), read in pages so memory stays flat. */
export async function* auditCsv(db: Db, f: AuditFilter, pageSize = 1000): AsyncGenerator<string> {
  yield `${CSV_COLUMNS.join(',')}\r\n`;
  let cursor: number | undefined;
  for (;;) {
    const rows = await page(db, f, pageSize, cursor);
    if (rows.length === 0) return;
    yield rows.map((r) => `${csvLine(r)}\r\n`).join('');
    if (rows.length < pageSize) return;
    cursor = rows[rows.length - 1]!.id;
  }
}
