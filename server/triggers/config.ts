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

/** A cron expression as Temporal Schedules read it (5–7 fields, `@daily`…, or `@every 30m`). */
export const cronSchema = z
  .string()
  .trim()
  .min(1, 'enter a cron expression')
  .max(200)
  .refine((c) => /^@(yearly|annually|monthly|weekly|daily|midnight|hourly)$/.test(c) || /^@every \d+[smhd](\/\d+[smhd])?$/.test(c) || [5, 6, 7].includes(c.split(/\s+/).length), {
    message: 'use 5 fields (minute hour day-of-month month day-of-week), a shorthand like @daily, or @every 15m',
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
