import { z } from 'zod';
import { LIMITS } from '../../model/limits';
import { defineStage, type ConfigProblem } from '../types';

/** Names of artifacts (as of outputs). */
const ARTIFACT_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;

export const commandConfigSchema = z.object({
  command: z.string().min(1, 'enter the command to run').max(LIMITS.valueLength).describe('Shell script run with `/bin/sh -c` (build, tests, static analysis, packaging). Read values as environment variables, never pasted into the script: "$PW_PARAM_<name>", "$PW_OUTPUT_<stage>_<output>", "$PW_ENV_<NAME>", "$PW_SECRET_<NAME>" (in double quotes). Lines `name=value` appended to `$PIPEWRIGHT_OUTPUT` become outputs of the stage.'),
  cwd: z.string().max(1024).optional().describe('Working directory, relative to the run\'s workspace (the folder the command starts in, shared by the stages of one run); it may not leave it.'),
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'not a valid variable name'), z.string().max(LIMITS.valueLength)).default({}).describe('Extra environment variables for the process.'),
  artifacts: z
    .array(
      z.object({
        name: z.string().regex(ARTIFACT_NAME, 'letters, digits, _ and -, starting with a letter or _').max(64).describe('Name later stages use: `<stage>.<name>` or `${{ stages.<stage>.outputs.artifact.<name>.digest }}`.'),
        path: z.string().min(1, 'enter the file to store').max(1024).describe('File the command produced, relative to the working directory.'),
      }),
    )
    .max(50)
    .optional()
    .describe('Files the stage produces. When it succeeds, each is stored once in the artifact store by its sha256 digest and published as the outputs `artifact.<name>.digest` and `artifact.<name>.size`.'),
  inputs: z
    .array(
      z.object({
        artifact: z.string().min(1, 'name the artifact').max(LIMITS.valueLength).describe('`<stage>.<name>` of an earlier stage of this run, or its digest (`${{ stages.<stage>.outputs.artifact.<name>.digest }}`).'),
        path: z.string().min(1, 'enter where to put the file').max(1024).describe('Where to put the file, relative to the working directory.'),
      }),
    )
    .max(50)
    .optional()
    .describe('Artifacts of earlier stages to place in the working directory before the command runs; each file is checked against its sha256 digest, and a mismatch fails the stage.'),
});
export type CommandConfig = z.infer<typeof commandConfigSchema>;

/** `<stage>.<name>` or, after templates are resolved, `sha256:<hex>`. */
const ARTIFACT_REF = /^(?:[A-Za-z_][A-Za-z0-9_-]*\.[A-Za-z_][A-Za-z0-9_-]*|sha256:[0-9a-f]{64})$/;
const isTemplate = (text: string) => text.includes('${{');

function checkCommand(config: CommandConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const seen = new Set<string>();
  if (config.cwd !== undefined && !isTemplate(config.cwd)) {
    if (config.cwd.startsWith('/') || /^[A-Za-z]:[\\/]/.test(config.cwd)) {
      problems.push({ path: 'cwd', message: 'must be relative to the run\'s workspace (e.g. app or services/api), not an absolute path' });
    } else if (config.cwd.split(/[\\/]/).includes('..')) {
      problems.push({ path: 'cwd', message: 'must stay inside the run\'s workspace (no "..")' });
    }
  }
  (config.artifacts ?? []).forEach((a, i) => {
    if (seen.has(a.name)) problems.push({ path: `artifacts[${i}].name`, message: `artifact "${a.name}" is declared twice` });
    seen.add(a.name);
    if (a.path.split(/[\\/]/).includes('..')) problems.push({ path: `artifacts[${i}].path`, message: 'must stay inside the working directory (no "..")' });
  });
  (config.inputs ?? []).forEach((input, i) => {
    if (!isTemplate(input.artifact) && !ARTIFACT_REF.test(input.artifact)) {
      problems.push({ path: `inputs[${i}].artifact`, message: 'use <stage>.<name> (e.g. build.app) or ${{ stages.<stage>.outputs.artifact.<name>.digest }}' });
    }
    if (input.path.split(/[\\/]/).includes('..')) problems.push({ path: `inputs[${i}].path`, message: 'must stay inside the working directory (no "..")' });
  });
  return problems;
}

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
  check: checkCommand,
});
