/**
 * References inside text a shell runs travel as environment variables, never
 * as spliced text.
 *
 * 1. Why: a branch name comes from whoever can push to the repository, an
 *    output from whatever an earlier command printed. Pasted into
 *    `/bin/sh -c` text, `probe-$(id)` runs `id`. Expanded from a variable,
 *    the shell never parses the value as code, so it stays literal.
 * 2. How: in a stage kind's shell fields (`SHELL_STAGES`, e.g. a command's
 *    `command`), `${{ params.branch }}` becomes `${PW_PARAM_branch}` and the
 *    value goes into the process environment (the kind's env field). The
 *    interpreter does this for parameters and outputs (`resolveStageConfig`),
 *    the worker for variables and secrets (`resolveStageEnvironmentRefs`), so
 *    an environment's values still never reach workflow history. Writing the
 *    variable directly (`echo "building $PW_PARAM_branch"`, the recommended
 *    form) works too: a `PW_…` name written in a shell field is passed when it
 *    names a parameter, an output of an earlier stage, or a variable or secret
 *    of the stage's environment. Every other
 *    field (URLs, `env` values, paths) keeps plain substitution: nothing parses
 *    it as code.
 * 3. Names (`shellVariableNames`): `PW_PARAM_<name>`,
 *    `PW_OUTPUT_<stage>_<output>`, `PW_ENV_<NAME>`, `PW_SECRET_<NAME>`, each
 *    character outside `[A-Za-z0-9_]` written `_`. Two references that would
 *    get one name (`my-ver` and `my_ver`) are told apart deterministically:
 *    the one already spelt that way keeps it, the others (in sorted order)
 *    get `_2`, `_3`, … A variable the stage sets itself under the same name is
 *    overridden by the reference's value.
 * 4. Pure: the interpreter (workflow code), the worker and the validator use it.
 */
import {
  EnvironmentRefError,
  parseExpression,
  replaceTemplates,
  resolveEnvironmentRefs,
  resolveTemplates,
  scanTemplates,
  type EnvironmentScope,
  type TemplateRef,
  type TemplateScope,
} from './template';

/** Stage kinds whose config a shell runs: the fields it runs, and the field holding the process environment. */
export const SHELL_STAGES: Readonly<Record<string, { fields: readonly string[]; envField: string }>> = {
  command: { fields: ['command'], envField: 'env' },
};

/** The shell fields of `kind` (none for kinds that run no shell). */
export function shellStageOf(kind: string): { fields: readonly string[]; envField: string } | undefined {
  return Object.hasOwn(SHELL_STAGES, kind) ? SHELL_STAGES[kind] : undefined;
}

export const SHELL_VARIABLE_PREFIX = { param: 'PW_PARAM_', output: 'PW_OUTPUT_', env: 'PW_ENV_', secret: 'PW_SECRET_' } as const;

/** A name as it appears inside a variable name: characters outside `[A-Za-z0-9_]` written `_`. */
export const shellNamePart = (text: string) => text.replace(/[^A-Za-z0-9_]/g, '_');
const sanitize = shellNamePart;

/** One key per distinct thing referred to (the same parameter written twice is one variable). */
export function refKey(ref: TemplateRef): string {
  return ref.kind === 'output' ? `output\u0000${ref.stageId}\u0000${ref.name}` : `${ref.kind}\u0000${ref.name}`;
}

/** The variable name a reference gets before collisions are told apart. */
export function shellVariableBase(ref: TemplateRef): string {
  const prefix = SHELL_VARIABLE_PREFIX[ref.kind];
  return ref.kind === 'output' ? `${prefix}${sanitize(ref.stageId)}_${sanitize(ref.name)}` : `${prefix}${sanitize(ref.name)}`;
}

/** Whether the base name spells the reference without replacing any character. */
function spelledExactly(ref: TemplateRef): boolean {
  return ref.kind === 'output' ? sanitize(ref.stageId) === ref.stageId && sanitize(ref.name) === ref.name : sanitize(ref.name) === ref.name;
}

/** The variable name of each distinct reference (by `refKey`), collisions told apart as described above. */
export function shellVariableNames(refs: readonly TemplateRef[]): Map<string, string> {
  const distinct = new Map<string, TemplateRef>();
  for (const ref of refs) if (!distinct.has(refKey(ref))) distinct.set(refKey(ref), ref);
  const groups = new Map<string, { key: string; ref: TemplateRef }[]>();
  for (const [key, ref] of distinct) {
    const base = shellVariableBase(ref);
    groups.set(base, [...(groups.get(base) ?? []), { key, ref }]);
  }
  const taken = new Set(groups.keys());
  const names = new Map<string, string>();
  for (const base of [...groups.keys()].sort()) {
    const members = groups.get(base)!.sort((a, b) => Number(spelledExactly(b.ref)) - Number(spelledExactly(a.ref)) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    members.forEach(({ key }, i) => {
      if (i === 0) {
        names.set(key, base);
        return;
      }
      let n = i + 1;
      while (taken.has(`${base}_${n}`)) n++;
      taken.add(`${base}_${n}`);
      names.set(key, `${base}_${n}`);
    });
  }
  return names;
}

/** Every valid reference written in the shell fields of a stage's config. */
export function shellRefsOf(kind: string, config: unknown): { field: string; ref: TemplateRef }[] {
  const shell = shellStageOf(kind);
  if (!shell || config === null || typeof config !== 'object') return [];
  const out: { field: string; ref: TemplateRef }[] = [];
  for (const field of shell.fields) {
    const text = (config as Record<string, unknown>)[field];
    if (typeof text !== 'string') continue;
    for (const { raw, expr } of scanTemplates(text).matches) {
      const ref = parseExpression(expr, raw);
      if (ref) out.push({ field, ref });
    }
  }
  return out;
}

/**
 * The variable names of a stage's references: those written in its shell
 * fields plus, so that `"$PW_PARAM_x"` works when written directly, every
 * parameter in `paramNames` (collisions are told apart over all of them).
 */
export function shellVariablesOf(kind: string, config: unknown, paramNames: readonly string[] = []): Map<string, string> {
  return shellVariableNames([...shellRefsOf(kind, config).map((r) => r.ref), ...paramNames.map((name): TemplateRef => ({ kind: 'param', name, raw: '' }))]);
}

const isIdentifierCode = (code: number) => (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95;

/** Every `PW_…` variable name written in `text` (whole identifiers, as the shell reads `$PW_X`), in one pass. */
export function shellTokens(text: string): Set<string> {
  const found = new Set<string>();
  let from = 0;
  while (from < text.length) {
    const start = text.indexOf('PW_', from);
    if (start < 0) break;
    let end = start + 3;
    while (end < text.length && isIdentifierCode(text.charCodeAt(end))) end++;
    if (start === 0 || !isIdentifierCode(text.charCodeAt(start - 1))) found.add(text.slice(start, end));
    from = end;
  }
  return found;
}

function shellTokensOf(fields: readonly string[], config: unknown): Set<string> {
  const tokens = new Set<string>();
  if (config === null || typeof config !== 'object') return tokens;
  for (const field of fields) {
    const text = (config as Record<string, unknown>)[field];
    if (typeof text === 'string') for (const t of shellTokens(text)) tokens.add(t);
  }
  return tokens;
}

/** Own properties only, as `resolveTemplates` looks them up (an unknown reference is the empty string). */
function valueOf(ref: Extract<TemplateRef, { kind: 'param' | 'output' }>, scope: TemplateScope): string {
  if (ref.kind === 'param') return Object.hasOwn(scope.params, ref.name) ? String(scope.params[ref.name]) : '';
  const outputs = Object.hasOwn(scope.outputs, ref.stageId) ? scope.outputs[ref.stageId] : undefined;
  return outputs && Object.hasOwn(outputs, ref.name) ? outputs[ref.name]! : '';
}

function envOf(config: Record<string, unknown>, field: string): Record<string, unknown> {
  const env = config[field];
  return env !== null && typeof env === 'object' && !Array.isArray(env) ? (env as Record<string, unknown>) : {};
}

/**
 * The interpreter's resolution of a stage's config (the workflow calls it
 * just before the stage runs): in shell fields, parameter and output
 * references become variable expansions and their values go into the
 * environment; everything else is substituted as `resolveTemplates` does.
 * `env.`/`secrets.` references are left for the worker.
 */
export function resolveStageConfig(kind: string, config: Record<string, unknown>, scope: TemplateScope): Record<string, unknown> {
  const shell = shellStageOf(kind);
  if (!shell) return resolveTemplates(config, scope);
  // Named over everything the stage could use, so `$PW_PARAM_x` written directly finds its value too.
  const written = shellRefsOf(kind, config).map((r) => r.ref);
  const universe: TemplateRef[] = [
    ...written,
    ...Object.keys(scope.params).map((name): TemplateRef => ({ kind: 'param', name, raw: '' })),
    ...Object.entries(scope.outputs).flatMap(([stageId, outputs]) => Object.keys(outputs ?? {}).map((name): TemplateRef => ({ kind: 'output', stageId, name, raw: '' }))),
  ];
  const names = shellVariableNames(universe);
  const wanted = shellTokensOf(shell.fields, config);
  for (const ref of written) wanted.add(names.get(refKey(ref))!);
  const passed: Record<string, string> = {};
  for (const ref of universe) {
    const name = names.get(refKey(ref))!;
    if (!wanted.has(name) || Object.hasOwn(passed, name) || (ref.kind !== 'param' && ref.kind !== 'output')) continue;
    passed[name] = valueOf(ref, scope);
  }
  const out = resolveTemplates(config, scope);
  for (const field of shell.fields) {
    const text = config[field];
    if (typeof text !== 'string') continue;
    out[field] = replaceTemplates(text, ({ raw, expr }) => {
      const ref = parseExpression(expr, raw);
      return ref && (ref.kind === 'param' || ref.kind === 'output') ? `\${${names.get(refKey(ref))!}}` : raw;
    });
  }
  if (Object.keys(passed).length > 0) out[shell.envField] = { ...envOf(out, shell.envField), ...passed };
  return out;
}

/**
 * The worker's resolution of `${{ env.X }}`/`${{ secrets.X }}` for a stage of
 * any kind: in shell fields they become `${PW_ENV_X}`/`${PW_SECRET_X}` with the
 * value in the environment; elsewhere the value is substituted. Variables the
 * interpreter passed (names the drawn stage does not set) are data and are
 * left exactly as they are.
 * @throws EnvironmentRefError as `resolveEnvironmentRefs` does.
 */
export function resolveStageEnvironmentRefs<T extends Record<string, unknown>>(kind: string, config: T, drawn: unknown, env: EnvironmentScope | undefined): T {
  const shell = shellStageOf(kind);
  if (!shell) return resolveEnvironmentRefs(config, drawn, env);
  const drawnEnv = drawn !== null && typeof drawn === 'object' ? envOf(drawn as Record<string, unknown>, shell.envField) : {};
  const shellPaths = new Set(shell.fields);
  const passed: Record<string, string> = {};
  const resolved = resolveEnvironmentRefs(config, drawn, env, {
    skip: (path) => {
      const prefix = `${shell.envField}.`;
      return path.startsWith(prefix) && !Object.hasOwn(drawnEnv, path.slice(prefix.length));
    },
    render: (ref, value, path) => {
      if (!shellPaths.has(path)) return value;
      const name = shellVariableBase(ref);
      passed[name] = value;
      return `\${${name}}`;
    },
  });
  // `$PW_ENV_X` / `$PW_SECRET_X` written directly in the drawn stage (never in a value passed to it).
  if (env) {
    for (const token of shellTokensOf(shell.fields, drawn)) {
      const kind = token.startsWith(SHELL_VARIABLE_PREFIX.env) ? 'env' : token.startsWith(SHELL_VARIABLE_PREFIX.secret) ? 'secret' : undefined;
      if (!kind) continue;
      const name = token.slice(SHELL_VARIABLE_PREFIX[kind].length);
      const source = kind === 'env' ? env.variables : env.secrets;
      if (!Object.hasOwn(source, name)) {
        throw new EnvironmentRefError(`environment "${env.name}" has no ${kind === 'env' ? 'variable' : 'secret'} "${name}" (used as $${token} in ${shell.fields.join(', ')})`);
      }
      passed[token] = source[name]!;
    }
  }
  if (Object.keys(passed).length === 0) return resolved;
  return { ...resolved, [shell.envField]: { ...envOf(resolved, shell.envField), ...passed } };
}
