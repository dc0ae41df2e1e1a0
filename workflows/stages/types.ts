/**
 * What a stage kind is.
 *
 * 1. A kind is one folder under `workflows/stages/<kind>/`: `definition.ts`
 *    (pure: config schema and metadata, loaded by the editor, the API, the
 *    compiler) and, for kinds that run on a worker, `executor.ts` (Node only).
 * 2. Adding a kind: create the folder, add one line to `registry.ts` and, if it
 *    has an executor, one line to `executors.ts`.
 */
import type { z } from 'zod';

export type StageCategory = 'build' | 'test' | 'deploy' | 'gate' | 'flow' | 'notify';

/**
 * How the interpreter runs a kind:
 * - `activity`: an executor on a worker (a process, an HTTP call, …);
 * - `timer`: a durable workflow timer (no worker work at all);
 * - `gate`: a manual approval decided through Workflow Updates.
 */
export type StageRuntime = 'activity' | 'timer' | 'gate';

export type ConfigProblem = { path: string; message: string };

export interface StageDefinition<S extends z.ZodType<Record<string, unknown>> = z.ZodType<Record<string, unknown>>> {
  kind: string;
  label: string;
  /** One sentence for the palette. */
  description: string;
  /** A short glyph shown on the node and in the palette. */
  icon: string;
  category: StageCategory;
  runtime: StageRuntime;
  configSchema: S;
  /** Config of a freshly dropped node. */
  defaults: z.input<S>;
  /**
   * Outputs this kind always produces, for checking `${{ stages.X.outputs.Y }}`.
   * `dynamic: true` means the stage may produce other names too (e.g. a command
   * writing `name=value` lines to `$PIPEWRIGHT_OUTPUT`).
   */
  outputs: { names: readonly string[]; dynamic: boolean };
  /** Checks beyond the schema (cross-field rules). */
  check?: (config: z.output<S>) => ConfigProblem[];
}

/** Helper that keeps the generic parameter when declaring a definition. */
export function defineStage<S extends z.ZodType<Record<string, unknown>>>(def: StageDefinition<S>): StageDefinition<S> {
  return def;
}
