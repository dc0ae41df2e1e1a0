import { z } from 'zod';
import { LIMITS } from '../../model/limits';
import { defineStage } from '../types';

export const commandConfigSchema = z.object({
  /** Shell script run with `/bin/sh -c` (build, tests, static analysis, packaging). */
  command: z.string().min(1, 'enter the command to run').max(LIMITS.valueLength),
  /** Working directory; relative paths are resolved against the worker's workspace root. */
  cwd: z.string().max(1024).optional(),
  /** Extra environment variables for the process. */
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'not a valid variable name'), z.string().max(LIMITS.valueLength)).default({}),
});
export type CommandConfig = z.infer<typeof commandConfigSchema>;

export const commandStage = defineStage({
  kind: 'command',
  label: 'Command',
  description: 'Run a process: build, unit or acceptance tests, static analysis, packaging.',
  icon: '▶',
  category: 'build',
  runtime: 'activity',
  configSchema: commandConfigSchema,
  defaults: { command: 'echo "hello from Pipewright"', env: {} },
  outputs: { names: [], dynamic: true },
});
