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

const TEMPLATE = /\$\{\{\s*([^}]*?)\s*\}\}/g;
const PARAM = /^params\.([A-Za-z_][A-Za-z0-9_-]*)$/;
const OUTPUT = /^stages\.([A-Za-z_][A-Za-z0-9_-]*)\.outputs\.([A-Za-z_][A-Za-z0-9_-]*|artifact\.[A-Za-z_][A-Za-z0-9_-]*\.(?:digest|size))$/;

/** Output names under which a stage publishes an artifact it stored. */
export const artifactOutputNames = (name: string) => ({ digest: `artifact.${name}.digest`, size: `artifact.${name}.size` });
const ENV = /^env\.([A-Za-z_][A-Za-z0-9_]*)$/;
const SECRET = /^secrets\.([A-Za-z_][A-Za-z0-9_]*)$/;
/** Names of environment variables and secrets (what `${{ env.NAME }}` / `${{ secrets.NAME }}` accept). */
export const ENV_KEY_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

export type ParsedTemplate = { refs: TemplateRef[]; errors: string[] };

/** Finds every `${{ … }}` in a string; malformed expressions are reported, not thrown. */
export function parseTemplate(text: string): ParsedTemplate {
  const refs: TemplateRef[] = [];
  const errors: string[] = [];
  for (const match of text.matchAll(TEMPLATE)) {
    const expr = match[1] ?? '';
    const raw = match[0];
    const p = PARAM.exec(expr);
    if (p) {
      refs.push({ kind: 'param', name: p[1]!, raw });
      continue;
    }
    const o = OUTPUT.exec(expr);
    if (o) {
      refs.push({ kind: 'output', stageId: o[1]!, name: o[2]!, raw });
      continue;
    }
    const e = ENV.exec(expr);
    if (e) {
      refs.push({ kind: 'env', name: e[1]!, raw });
      continue;
    }
    const sec = SECRET.exec(expr);
    if (sec) {
      refs.push({ kind: 'secret', name: sec[1]!, raw });
      continue;
    }
    errors.push(`"${raw}" is not a valid reference; use \${{ params.NAME }} or \${{ stages.ID.outputs.NAME }}`);
  }
  // A `${{` that no complete expression covers (missing `}}`, or a `}` inside) would reach the stage as literal text.
  const rest = text.replace(TEMPLATE, '');
  const open = rest.indexOf('${{');
  if (open >= 0) {
    errors.push(`"${rest.slice(open, open + 40)}" is not a complete reference (it needs a closing }}); use \${{ params.NAME }} or \${{ stages.ID.outputs.NAME }}`);
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
  return text.replace(TEMPLATE, (raw, expr: string) => {
    const p = PARAM.exec(expr.trim());
    if (p) return lookup({ kind: 'param', name: p[1]!, raw }, scope);
    const o = OUTPUT.exec(expr.trim());
    if (o) return lookup({ kind: 'output', stageId: o[1]!, name: o[2]!, raw }, scope);
    return raw;
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

/**
 * Replaces `${{ env.NAME }}` and `${{ secrets.NAME }}` in every string of a
 * config. Only references that were written in the stage's own config (as
 * drawn, `drawn`) are resolved: one that arrived inside a parameter value or
 * another stage's output would let whoever sets that value read a secret, so
 * it is refused.
 * @throws EnvironmentRefError naming what is missing or refused.
 */
export function resolveEnvironmentRefs<T>(value: T, drawn: unknown, env: EnvironmentScope | undefined): T {
  const allowed = new Map<string, number>();
  for (const { path, text } of stringsIn(drawn)) {
    for (const ref of environmentRefsIn(text)) {
      const key = `${path}\u0000${ref.kind}\u0000${ref.name}`;
      allowed.set(key, (allowed.get(key) ?? 0) + 1);
    }
  }
  const walk = (v: unknown, path: string): unknown => {
    if (typeof v === 'string') {
      const used = new Map<string, number>();
      return v.replace(TEMPLATE, (raw, expr: string) => {
        const t = expr.trim();
        const e = ENV.exec(t);
        const s = e ? null : SECRET.exec(t);
        if (!e && !s) return raw;
        const kind = e ? 'env' : 'secret';
        const name = (e ?? s)![1]!;
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
        return found;
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
