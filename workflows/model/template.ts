/**
 * The one template syntax: `${{ params.<name> }}` and
 * `${{ stages.<id>.outputs.<name> }}`, where an artifact a stage stored is the
 * output `artifact.<name>.digest` (`sha256:<hex>`) or `artifact.<name>.size`
 * (bytes), e.g. `${{ stages.build.outputs.artifact.app.digest }}`.
 *
 * Resolution is a plain lookup, never `eval`, and deterministic, so the
 * interpreter workflow can resolve a stage's config just before it runs it.
 */

export type TemplateRef =
  | { kind: 'param'; name: string; raw: string }
  | { kind: 'output'; stageId: string; name: string; raw: string };

const TEMPLATE = /\$\{\{\s*([^}]*?)\s*\}\}/g;
const PARAM = /^params\.([A-Za-z_][A-Za-z0-9_-]*)$/;
const OUTPUT = /^stages\.([A-Za-z_][A-Za-z0-9_-]*)\.outputs\.([A-Za-z_][A-Za-z0-9_-]*|artifact\.[A-Za-z_][A-Za-z0-9_-]*\.(?:digest|size))$/;

/** Output names under which a stage publishes an artifact it stored. */
export const artifactOutputNames = (name: string) => ({ digest: `artifact.${name}.digest`, size: `artifact.${name}.size` });

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

function lookup(ref: TemplateRef, scope: TemplateScope): string {
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
