import { z } from 'zod';
import { LIMITS } from '../../model/limits';
import { defineStage } from '../types';

export const commandConfigSchema = z.object({
  command: z.string().min(1, 'enter the command to run').max(LIMITS.valueLength).describe('Shell script run with `/bin/sh -c` (build, tests, static analysis, packaging). Lines `name=value` appended to `$PIPEWRIGHT_OUTPUT` become outputs of the stage.'),
  cwd: z.string().max(1024).optional().describe('Working directory; relative paths are resolved against the worker\'s workspace root.'),
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'not a valid variable name'), z.string().max(LIMITS.valueLength)).default({}).describe('Extra environment variables for the process.'),
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
