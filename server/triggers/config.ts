/**
 * What a trigger is configured with, and what a run records about what
 * started it. Zod first: the API parses its input with these, and rows read
 * back from the database are parsed again (a trust boundary).
 */
import { z } from 'zod';
import { identifierSchema, runParametersSchema } from '../../workflows/model';

export const WEBHOOK_PROVIDERS = ['github', 'gitlab'] as const;
export type WebhookProvider = (typeof WEBHOOK_PROVIDERS)[number];

/** A branch filter: a name, or a pattern where `*` matches within a path segment and `**` across segments. */
export const branchPatternSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[^\s~^:?\\[]+$/, 'not a valid branch name or pattern');

/**
 * Which run parameter receives which push field. A field left out goes to the
 * parameter of the same name (`branch`, `commit`, `author`) when the pipeline
 * declares one; parameters the pipeline does not declare are never set.
 */
export const payloadMappingSchema = z.object({
  branch: identifierSchema.optional(),
  commit: identifierSchema.optional(),
  author: identifierSchema.optional(),
});
export type PayloadMapping = z.infer<typeof payloadMappingSchema>;

export const webhookConfigSchema = z.object({
  provider: z.enum(WEBHOOK_PROVIDERS),
  /** Empty: every branch. Tag pushes never start a run. */
  branches: z.array(branchPatternSchema).max(50).default([]),
  mapping: payloadMappingSchema.default({}),
  /** Fixed parameter values for runs this trigger starts. */
  params: runParametersSchema.default({}),
});
export type WebhookConfig = z.infer<typeof webhookConfigSchema>;

type CronField = { name: string; min: number; max: number; names?: readonly string[]; question?: boolean };
const SECOND: CronField = { name: 'second', min: 0, max: 59 };
const MINUTE: CronField = { name: 'minute', min: 0, max: 59 };
const HOUR: CronField = { name: 'hour', min: 0, max: 23 };
const DAY_OF_MONTH: CronField = { name: 'day of month', min: 1, max: 31, question: true };
const MONTH: CronField = { name: 'month', min: 1, max: 12, names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'] };
const DAY_OF_WEEK: CronField = { name: 'day of week', min: 0, max: 7, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'], question: true };
const YEAR: CronField = { name: 'year', min: 1970, max: 2999 };
/** Fields by count, as Temporal reads them: 5, then a year at the end (6), then seconds at the front (7). */
const CRON_LAYOUTS: Record<number, CronField[]> = {
  5: [MINUTE, HOUR, DAY_OF_MONTH, MONTH, DAY_OF_WEEK],
  6: [MINUTE, HOUR, DAY_OF_MONTH, MONTH, DAY_OF_WEEK, YEAR],
  7: [SECOND, MINUTE, HOUR, DAY_OF_MONTH, MONTH, DAY_OF_WEEK, YEAR],
};

/** What is wrong with one field of a cron expression (undefined: nothing). Values, ranges and steps are checked. */
function cronFieldProblem(text: string, f: CronField): string | undefined {
  const value = (v: string): number | string => {
    const named = f.names?.indexOf(v.toUpperCase()) ?? -1;
    if (named >= 0) return named + (f.min === 1 ? 1 : 0);
    if (!/^\d{1,4}$/.test(v)) return `${f.name} "${v}" is not a number`;
    const n = Number(v);
    return n < f.min || n > f.max ? `${f.name} ${n} is out of range (${f.min}–${f.max})` : n;
  };
  for (const item of text.split(',')) {
    if (item === '') return `${f.name} has an empty list item`;
    const [range, step, extra] = item.split('/');
    if (extra !== undefined) return `${f.name} "${item}" has more than one "/"`;
    if (step !== undefined) {
      if (!/^\d{1,4}$/.test(step)) return `${f.name} step "${step}" is not a number`;
      if (Number(step) < 1) return `${f.name} step must be at least 1`;
    }
    if (range === '*' || (range === '?' && f.question)) continue;
    const [from, to, more] = range!.split('-');
    if (more !== undefined || from === '' || to === '') return `${f.name} "${item}" is not a value or a range`;
    const a = value(from!);
    if (typeof a === 'string') return a;
    if (to !== undefined) {
      const b = value(to);
      if (typeof b === 'string') return b;
      if (b < a) return `${f.name} range ${range} goes backwards`;
    }
  }
  return undefined;
}

/** What is wrong with a cron expression, or undefined when Temporal Schedules can read it. */
export function cronProblem(cron: string): string | undefined {
  const c = cron.trim();
  if (/^@(yearly|annually|monthly|weekly|daily|midnight|hourly)$/.test(c) || /^@every \d+[smhd](\/\d+[smhd])?$/.test(c)) return undefined;
  if (c.startsWith('@every')) return 'write @every with a number and a unit, e.g. @every 15m';
  const fields = c.split(/\s+/);
  const layout = CRON_LAYOUTS[fields.length];
  if (!layout) return 'use 5 fields (minute hour day-of-month month day-of-week), a shorthand like @daily, or @every 15m';
  for (let i = 0; i < layout.length; i++) {
    const problem = cronFieldProblem(fields[i]!, layout[i]!);
    if (problem) return problem;
  }
  return undefined;
}

/**
 * A cron expression as Temporal Schedules read it (5–7 fields, `@daily`…, or `@every 30m`), with every field's
 * values, ranges and steps checked — the same check in the form and on the server, so a bad expression is said
 * while it is typed, not when Temporal refuses it.
 */
export const cronSchema = z
  .string()
  .trim()
  .min(1, 'enter a cron expression')
  .max(200)
  .superRefine((c, ctx) => {
    const problem = cronProblem(c);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export const scheduleConfigSchema = z.object({
  cron: cronSchema,
  timezone: z.string().min(1).max(64).default('UTC').refine(isTimeZone, 'unknown time zone (use an IANA name such as Europe/Paris)'),
  params: runParametersSchema.default({}),
});
export type ScheduleConfig = z.infer<typeof scheduleConfigSchema>;

export const upstreamConfigSchema = z.object({
  upstreamPipelineId: z.string().min(1).max(64),
  params: runParametersSchema.default({}),
});
export type UpstreamConfig = z.infer<typeof upstreamConfigSchema>;

/** Longest chain of pipelines starting each other through upstream triggers (a loop stops here). */
export const MAX_UPSTREAM_CHAIN = 10;

/** What a run records about what started it (`runs.trigger_details`). */
export const triggerDetailsSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('webhook'),
    triggerId: z.string(),
    provider: z.enum(WEBHOOK_PROVIDERS),
    deliveryId: z.string(),
    event: z.string(),
    branch: z.string(),
    commit: z.string(),
    author: z.string(),
    repository: z.string().optional(),
  }),
  z.object({ type: z.literal('schedule'), triggerId: z.string(), cron: z.string(), timezone: z.string(), firedAt: z.number().optional() }),
  z.object({
    type: z.literal('upstream'),
    triggerId: z.string(),
    upstreamPipelineId: z.string(),
    /** Its name when the run started (for the run page; the pipeline may be renamed or deleted later). */
    upstreamPipelineName: z.string().optional(),
    upstreamRunId: z.string(),
    upstreamRunNumber: z.number(),
    /** Pipelines of the chain so far, oldest first (loop protection). */
    chain: z.array(z.string()),
  }),
  z.object({
    type: z.literal('rollback'),
    sourceRunId: z.string(),
    sourceRunNumber: z.number(),
    sourceStageId: z.string(),
    connection: z.string(),
    namespace: z.string(),
    deployment: z.string(),
    strategy: z.string().optional(),
  }),
  z.object({ type: z.literal('rerun'), fromRunId: z.string(), fromRunNumber: z.number(), reused: z.array(z.string()) }),
  z.object({
    type: z.literal('promotion'),
    buildRunId: z.string(),
    buildRunNumber: z.number(),
    environment: z.string(),
    rollback: z.boolean(),
  }),
]);
export type TriggerDetails = z.infer<typeof triggerDetailsSchema>;

/** Parses what a run row holds (null when absent or from an older shape). */
export function parseTriggerDetails(value: unknown): TriggerDetails | null {
  if (value === null || value === undefined) return null;
  const parsed = triggerDetailsSchema.safeParse(value);
  return parsed.success ? parsed.data : null;
}
