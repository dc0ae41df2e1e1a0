/**
 * The one template syntax: `${{ params.<name> }}`,
 * `${{ stages.<id>.outputs.<name> }}` (an artifact a stage stored is the
 * output `artifact.<name>.digest` (`sha256:<hex>`) or `artifact.<name>.size`
 * (bytes), e.g. `${{ stages.build.outputs.artifact.app.digest }}`), and, in
 * stages bound to an environment, `${{ env.<NAME> }}` (a variable) and
 * `${{ secrets.<NAME> }}` (a secret).
 *
 * Resolution is a plain lookup, never `eval`, and deterministic, so the
 * interpreter workflow can resolve a stage's config just before it runs it.
 * `env.` and `secrets.` references are left as they are by `resolveTemplates`:
 * the worker's activity resolves them from the environment just before the
 * stage runs (`resolveEnvironmentRefs`), so workflow history never holds an
 * environment's values.
 */

export type TemplateRef =
  | { kind: 'param'; name: string; raw: string }
  | { kind: 'output'; stageId: string; name: string; raw: string }
  | { kind: 'env'; name: string; raw: string }
  | { kind: 'secret'; name: string; raw: string };

const PARAM = /^params\.([A-Za-z_][A-Za-z0-9_-]*)$/;
const OUTPUT = /^stages\.([A-Za-z_][A-Za-z0-9_-]*)\.outputs\.([A-Za-z_][A-Za-z0-9_-]*|artifact\.[A-Za-z_][A-Za-z0-9_-]*\.(?:digest|size))$/;

/** Output names under which a stage publishes an artifact it stored. */
export const artifactOutputNames = (name: string) => ({ digest: `artifact.${name}.digest`, size: `artifact.${name}.size` });
const ENV = /^env\.([A-Za-z_][A-Za-z0-9_]*)$/;
const SECRET = /^secrets\.([A-Za-z_][A-Za-z0-9_]*)$/;
/** Names of environment variables and secrets (what `${{ env.NAME }}` / `${{ secrets.NAME }}` accept). */
export const ENV_KEY_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

export type ParsedTemplate = { refs: TemplateRef[]; errors: string[] };

/** One `${{ … }}` found by `scanTemplates`: where it starts and ends, and the trimmed text inside. */
export type TemplateMatch = { start: number; end: number; raw: string; expr: string };

/**
 * Every `${{ … }}` in `text`, left to right, in one pass (indexOf, no regular
 * expression: the old `/\$\{\{\s*([^}]*?)\s*\}\}/` backtracked cubically on
 * `${{` followed by many spaces, and a viewer could stall the server with it).
 * A reference runs from `${{` to the first `}`, which must be followed by a
 * second `}`; `unclosed` is the first `${{` no reference covers.
 */
export function scanTemplates(text: string): { matches: TemplateMatch[]; unclosed: number } {
  const matches: TemplateMatch[] = [];
  let unclosed = -1;
  let from = 0;
  while (from < text.length) {
    const start = text.indexOf('${{', from);
    if (start < 0) break;
    const close = text.indexOf('}', start + 3);
    if (close < 0) {
      // No `}` anywhere after: neither this `${{` nor a later one can close.
      if (unclosed < 0) unclosed = start;
      break;
    }
    if (text.charCodeAt(close + 1) !== 0x7d /* } */) {
      // Every `${{` before `close` would stop at the same lone `}`: skip past it.
      if (unclosed < 0) unclosed = start;
      from = close + 1;
      continue;
    }
    const end = close + 2;
    matches.push({ start, end, raw: text.slice(start, end), expr: text.slice(start + 3, close).trim() });
    from = end;
  }
  return { matches, unclosed };
}

/** `text` with each match replaced by what `replace` returns for it (the rest copied as is). */
export function replaceTemplates(text: string, replace: (match: TemplateMatch) => string): string {
  const { matches } = scanTemplates(text);
  if (matches.length === 0) return text;
  let out = '';
  let at = 0;
  for (const m of matches) {
    out += text.slice(at, m.start) + replace(m);
    at = m.end;
  }
  return out + text.slice(at);
}

/** What one expression (the text inside `${{ }}`) refers to, or null when it is not a valid reference. */
export function parseExpression(expr: string, raw: string): TemplateRef | null {
  // The expressions are short; a longer one is not a reference (and never reaches the patterns below).
  if (expr.length > MAX_EXPRESSION_LENGTH) return null;
  const p = PARAM.exec(expr);
  if (p) return { kind: 'param', name: p[1]!, raw };
  const o = OUTPUT.exec(expr);
  if (o) return { kind: 'output', stageId: o[1]!, name: o[2]!, raw };
  const e = ENV.exec(expr);
  if (e) return { kind: 'env', name: e[1]!, raw };
  const sec = SECRET.exec(expr);
  if (sec) return { kind: 'secret', name: sec[1]!, raw };
  return null;
}

/** Longest text inside `${{ }}` that can be a reference (`stages.<64>.outputs.artifact.<64>.digest` fits). */
const MAX_EXPRESSION_LENGTH = 256;

/** Finds every `${{ … }}` in a string; malformed expressions are reported, not thrown. */
export function parseTemplate(text: string): ParsedTemplate {
  const refs: TemplateRef[] = [];
  const errors: string[] = [];
  const { matches, unclosed } = scanTemplates(text);
  for (const { raw, expr } of matches) {
    const ref = parseExpression(expr, raw);
    if (ref) refs.push(ref);
    else errors.push(`"${raw.length > 80 ? `${raw.slice(0, 77)}…` : raw}" is not a valid reference; use \${{ params.NAME }} or \${{ stages.ID.outputs.NAME }}`);
  }
  // A `${{` that no complete expression covers (missing `}}`, or a `}` inside) would reach the stage as literal text.
  if (unclosed >= 0) {
    errors.push(`"${text.slice(unclosed, unclosed + 40)}" is not a complete reference (it needs a closing }}); use \${{ params.NAME }} or \${{ stages.ID.outputs.NAME }}`);
  }
  return { refs, errors };
}

/** Every string inside a JSON-like value, with its path (for error messages). */
export function* stringsIn(value: unknown, path = ''): Generator<{ path: string; text: string }> {
  if (typeof value === 'string') {
    yield { path, text: value };
  } else if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) yield* stringsIn(value[i], `${path}[${i}]`);
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) yield* stringsIn(v, path ? `${path}.${k}` : k);
  }
}

export type TemplateScope = {
  params: Readonly<Record<string, string | number | boolean>>;
  outputs: Readonly<Record<string, Readonly<Record<string, string>>>>;
};

/** Own properties only: `params.constructor` must not find `Object.prototype.constructor`. */
function own<T>(record: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  return record !== undefined && Object.hasOwn(record, key) ? record[key] : undefined;
}

function lookup(ref: Extract<TemplateRef, { kind: 'param' | 'output' }>, scope: TemplateScope): string {
  if (ref.kind === 'param') {
    const v = own(scope.params, ref.name);
    return v === undefined ? '' : String(v);
  }
  return own(own(scope.outputs, ref.stageId), ref.name) ?? '';
}

/** Replaces references in one string. Unknown references become the empty string. */
export function resolveString(text: string, scope: TemplateScope): string {
  return replaceTemplates(text, ({ raw, expr }) => {
    const ref = parseExpression(expr, raw);
    return ref && (ref.kind === 'param' || ref.kind === 'output') ? lookup(ref, scope) : raw;
  });
}

/** Resolves every string inside a config value, returning a new value. */
export function resolveTemplates<T>(value: T, scope: TemplateScope): T {
  if (typeof value === 'string') return resolveString(value, scope) as T;
  if (Array.isArray(value)) return value.map((v) => resolveTemplates(v, scope)) as T;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = resolveTemplates(v, scope);
    return out as T;
  }
  return value;
}

/** What an environment gives the stages bound to it (worker side; never in workflow history). */
export type EnvironmentScope = {
  name: string;
  variables: Readonly<Record<string, string>>;
  secrets: Readonly<Record<string, string>>;
};

/** Thrown by `resolveEnvironmentRefs` for a reference the environment cannot answer; names it, never a value. */
export class EnvironmentRefError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnvironmentRefError';
  }
}

/** The `env.`/`secrets.` references in a string, in order (malformed expressions are ignored here). */
export function environmentRefsIn(text: string): Extract<TemplateRef, { kind: 'env' | 'secret' }>[] {
  return parseTemplate(text).refs.filter((r): r is Extract<TemplateRef, { kind: 'env' | 'secret' }> => r.kind === 'env' || r.kind === 'secret');
}

/** How `resolveEnvironmentRefs` treats particular strings (see `resolveStageEnvironmentRefs`). */
export type EnvironmentRefOptions = {
  /** Strings at these paths are data, left exactly as they are. */
  skip?: (path: string) => boolean;
  /** What a found reference becomes in the text (default: its value). */
  render?: (ref: Extract<TemplateRef, { kind: 'env' | 'secret' }>, value: string, path: string) => string;
};

/**
 * Replaces `${{ env.NAME }}` and `${{ secrets.NAME }}` in every string of a
 * config. Only references that were written in the stage's own config (as
 * drawn, `drawn`) are resolved: one that arrived inside a parameter value or
 * another stage's output would let whoever sets that value read a secret, so
 * it is refused.
 * @throws EnvironmentRefError naming what is missing or refused.
 */
export function resolveEnvironmentRefs<T>(value: T, drawn: unknown, env: EnvironmentScope | undefined, options: EnvironmentRefOptions = {}): T {
  const allowed = new Map<string, number>();
  for (const { path, text } of stringsIn(drawn)) {
    for (const ref of environmentRefsIn(text)) {
      const key = `${path}\u0000${ref.kind}\u0000${ref.name}`;
      allowed.set(key, (allowed.get(key) ?? 0) + 1);
    }
  }
  const walk = (v: unknown, path: string): unknown => {
    if (typeof v === 'string') {
      if (options.skip?.(path)) return v;
      const used = new Map<string, number>();
      return replaceTemplates(v, ({ raw, expr }) => {
        const ref = parseExpression(expr, raw);
        if (!ref || (ref.kind !== 'env' && ref.kind !== 'secret')) return raw;
        const { kind, name } = ref;
        const key = `${path}\u0000${kind}\u0000${name}`;
        const n = (used.get(key) ?? 0) + 1;
        used.set(key, n);
        const label = kind === 'env' ? `variable "${name}"` : `secret "${name}"`;
        if (n > (allowed.get(key) ?? 0)) {
          throw new EnvironmentRefError(`${path || 'config'}: a parameter or output value contains a reference to ${label}; only references written in the stage itself are resolved`);
        }
        if (!env) throw new EnvironmentRefError(`${path || 'config'}: ${label} is used but the stage is not bound to an environment`);
        const found = own(kind === 'env' ? env.variables : env.secrets, name);
        if (found === undefined) throw new EnvironmentRefError(`environment "${env.name}" has no ${label} (used in ${path || 'config'})`);
        return options.render ? options.render(ref, found, path) : found;
      });
    }
    if (Array.isArray(v)) return v.map((x, i) => walk(x, `${path}[${i}]`));
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = walk(x, path ? `${path}.${k}` : k);
      return out;
    }
    return v;
  };
  return walk(value, '') as T;
}

/**
 * Replaces every occurrence of each secret value with `•••` (longest first, so
 * a secret that contains another is masked whole). Values shorter than 3
 * characters are masked too: a leaked short secret is still a leak.
 */
export function maskSecrets(text: string, secretValues: readonly string[]): string {
  if (!text || secretValues.length === 0) return text;
  let out = text;
  for (const v of [...secretValues].filter(Boolean).sort((a, b) => b.length - a.length)) {
    if (out.includes(v)) out = out.split(v).join('•••');
  }
  return out;
}
