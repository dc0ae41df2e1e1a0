/**
 * The pipeline spec: what people draw and save.
 *
 * 1. This is the one definition of a pipeline, shared by the editor, the tRPC
 *    API, the compiler and the interpreter. Types are inferred from the zod
 *    schemas, never written by hand.
 * 2. The document schema checks *shape* only (ids are strings, positions are
 *    numbers, sizes are bounded). What a node's `config` must contain depends on
 *    its kind and is checked by `validate.ts` against the stage registry, so an
 *    unknown kind or a bad config becomes an issue painted on that node instead
 *    of a parse error for the whole document.
 * 3. Pure module: no Node built-ins, no DB, no React (a lint rule enforces it).
 */
import { z } from 'zod';
import { LIMITS } from './limits';
import { runsOnSchema } from './runners';

/** Current version of the spec document format. Bump with a migration in `migrate-spec.ts`. */
export const SPEC_SCHEMA_VERSION = 1;

/** Node and parameter ids: short, stable, safe in template references (`stages.<id>.outputs.x`). */
export const identifierSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(LIMITS.idLength, `must be at most ${LIMITS.idLength} characters`)
  .regex(/^[A-Za-z_][A-Za-z0-9_-]*$/, 'must start with a letter or _ and contain only letters, digits, _ and -');

/** Environment names (slugs): `dev`, `staging`, `prod-eu`. Shared by the admin API and the stage field. */
export const environmentNameSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(40, 'must be at most 40 characters')
  .regex(/^[a-z][a-z0-9-]*$/, 'must start with a lowercase letter and contain only lowercase letters, digits and -');

export const edgeConditionSchema = z.enum(['success', 'failure', 'always']);
export type EdgeCondition = z.infer<typeof edgeConditionSchema>;

export const positionSchema = z.object({ x: z.number().finite(), y: z.number().finite() });

/** Per-stage retry policy; anything left out falls back to the pipeline's `settings.defaultRetry`. */
export const retryPolicySchema = z.object({
  maxAttempts: z.number().int().min(1).max(LIMITS.maxAttempts).optional().describe('Total attempts including the first (1 = no retry).'),
  initialIntervalSeconds: z.number().min(0).max(86_400).optional().describe('Wait before the second attempt, in seconds.'),
  backoffCoefficient: z.number().min(1).max(10).optional().describe('Each wait is the previous one times this.'),
  maxIntervalSeconds: z.number().min(0).max(86_400).optional().describe('Upper bound of a wait between attempts, in seconds.'),
});
export type RetryPolicySpec = z.infer<typeof retryPolicySchema>;

export const nodeSchema = z.object({
  id: identifierSchema,
  /** Stage kind, e.g. `command`; checked against the registry by the validator. */
  kind: z.string().min(1).max(LIMITS.idLength),
  name: z.string().min(1, 'a stage needs a name').max(LIMITS.nameLength),
  description: z.string().max(LIMITS.descriptionLength).optional(),
  /** Kind-specific configuration; its schema lives in `workflows/stages/<kind>/definition.ts`. */
  config: z.record(z.string(), z.unknown()).default({}),
  position: positionSchema.default({ x: 0, y: 0 }),
  retry: retryPolicySchema.optional(),
  timeoutSeconds: z
    .number()
    .int()
    .min(1)
    .max(LIMITS.maxTimeoutSeconds)
    .optional()
    .describe('Limit for one attempt of this stage, in seconds (defaults to the pipeline\'s stage timeout).'),
  /**
   * The environment this stage works in (an environment's name, e.g. `staging`).
   * Bound stages may use `${{ env.NAME }}` and `${{ secrets.NAME }}`, and form
   * that environment's column on the promotion board.
   */
  environment: environmentNameSchema
    .optional()
    .describe('Environment this stage deploys to or checks (e.g. staging). Lets it use ${{ env.NAME }} and ${{ secrets.NAME }}, and shows it on the promotion board.'),
  /** Runner labels this stage needs (all must match); absent or empty = the default pool. Ignored by gates and waits. */
  runsOn: runsOnSchema.optional(),
});
export type PipelineNode = z.infer<typeof nodeSchema>;

export const edgeSchema = z.object({
  id: z.string().min(1).max(LIMITS.idLength * 2 + 16),
  from: z.string().min(1).max(LIMITS.idLength),
  to: z.string().min(1).max(LIMITS.idLength),
  on: edgeConditionSchema.default('success'),
});
export type PipelineEdge = z.infer<typeof edgeSchema>;

export const parameterTypeSchema = z.enum(['string', 'number', 'boolean']);
export type ParameterType = z.infer<typeof parameterTypeSchema>;

export const parameterSchema = z.object({
  name: identifierSchema,
  type: parameterTypeSchema.default('string'),
  description: z.string().max(LIMITS.descriptionLength).optional(),
  default: z.union([z.string().max(LIMITS.valueLength), z.number(), z.boolean()]).optional(),
  required: z.boolean().default(false),
});
export type PipelineParameter = z.infer<typeof parameterSchema>;

export const settingsSchema = z.object({
  concurrency: z.number().int().min(1).max(100).default(1).describe('How many runs of this pipeline may be in flight at once.'),
  defaultRetry: retryPolicySchema.default({}).describe('Retry policy of every stage that does not set its own.'),
  stageTimeoutSeconds: z.number().int().min(1).max(LIMITS.maxTimeoutSeconds).default(3600).describe('Default limit for one attempt of a stage, in seconds.'),
  runTimeoutSeconds: z.number().int().min(0).max(LIMITS.maxRunTimeoutSeconds).default(0).describe('Limit for the whole run, in seconds (0 = none).'),
});
export type PipelineSettings = z.infer<typeof settingsSchema>;

export const pipelineSpecSchema = z.object({
  schemaVersion: z.literal(SPEC_SCHEMA_VERSION),
  name: z.string().min(1, 'a pipeline needs a name').max(LIMITS.nameLength),
  description: z.string().max(LIMITS.descriptionLength).optional(),
  nodes: z.array(nodeSchema).max(LIMITS.maxNodes, `a pipeline may have at most ${LIMITS.maxNodes} stages`),
  edges: z.array(edgeSchema).max(LIMITS.maxEdges, `a pipeline may have at most ${LIMITS.maxEdges} connections`),
  parameters: z.array(parameterSchema).max(LIMITS.maxParameters).default([]),
  settings: settingsSchema.default({
    concurrency: 1,
    defaultRetry: {},
    stageTimeoutSeconds: 3600,
    runTimeoutSeconds: 0,
  }),
});
/** A pipeline as drawn (after defaults are applied). */
export type PipelineSpec = z.infer<typeof pipelineSpecSchema>;
/** A pipeline as written by a person or a file (defaults may be missing). */
export type PipelineSpecInput = z.input<typeof pipelineSpecSchema>;

/** Values a run is started with, by parameter name. */
export const runParametersSchema = z.record(
  z.string().max(LIMITS.idLength),
  z.union([z.string().max(LIMITS.valueLength), z.number(), z.boolean()]),
);
export type RunParameters = z.infer<typeof runParametersSchema>;
