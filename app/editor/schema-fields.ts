/**
 * Form fields from a stage kind's zod schema — the same schema the server and
 * the runner check — through `z.toJSONSchema` (input side: fields with a
 * default are optional). Every property becomes a field: text, long text,
 * number, switch, choice, list of text, key/value pairs, list of objects,
 * nested group, a choice between object variants (discriminated unions), and
 * raw JSON for anything else. Labels come from `title` or the property name,
 * help text from `.describe()`.
 */
import { z } from 'zod';

type JsonSchema = {
  type?: string | string[];
  title?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: JsonSchema | boolean;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
};

type Base = {
  key: string;
  label: string;
  help?: string;
  required: boolean;
  default?: unknown;
};

export type Field =
  | (Base & { type: 'text'; multiline: boolean; minLength?: number; maxLength?: number; pattern?: string })
  | (Base & { type: 'number'; integer: boolean; min?: number; max?: number })
  | (Base & { type: 'boolean' })
  | (Base & { type: 'choice'; options: string[] })
  | (Base & { type: 'text-list'; maxItems?: number })
  | (Base & { type: 'key-value'; keyPattern?: string })
  | (Base & { type: 'object-list'; fields: Field[]; maxItems?: number })
  | (Base & { type: 'group'; fields: Field[] })
  | (Base & { type: 'variant'; discriminator: string; variants: { value: string; label: string; fields: Field[] }[] })
  | (Base & { type: 'json' });

const WORDS: Record<string, string> = { url: 'URL', json: 'JSON', http: 'HTTP', id: 'ID', cwd: 'Working directory', env: 'Environment', ab: 'A/B', k8s: 'Kubernetes' };

/** `expectStatus` → "Expect status", `jsonPath` → "JSON path", `cwd` → "Working directory". */
export function humanize(key: string): string {
  if (WORDS[key]) return WORDS[key];
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[-_]+/g, ' ')
    .split(' ')
    .filter(Boolean)
    .map((w) => WORDS[w.toLowerCase()] ?? w.toLowerCase());
  const text = words.join(' ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

const LONG_TEXT = /^(command|script|manifests|instructions|description|body)$/i;

function typeOf(s: JsonSchema): string | undefined {
  return Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type;
}

function variantsOf(s: JsonSchema): JsonSchema[] | undefined {
  return s.oneOf ?? s.anyOf;
}

/** The property all variants share with a distinct constant value (`type` in `{ type: 'canary', … }`). */
function discriminatorOf(variants: JsonSchema[]): string | undefined {
  const first = variants[0]?.properties;
  if (!first) return undefined;
  for (const key of Object.keys(first)) {
    const values = variants.map((v) => v.properties?.[key]?.const);
    if (values.every((v) => typeof v === 'string') && new Set(values).size === values.length) return key;
  }
  return undefined;
}

function toField(key: string, s: JsonSchema, required: boolean): Field {
  const base: Base = { key, label: s.title ?? humanize(key), help: s.description, required, default: s.default };
  const variants = variantsOf(s);
  if (variants) {
    const discriminator = discriminatorOf(variants);
    if (discriminator) {
      return {
        ...base,
        type: 'variant',
        discriminator,
        variants: variants.map((v) => {
          const value = String(v.properties?.[discriminator]?.const);
          const rest = { ...v, properties: { ...v.properties } };
          delete rest.properties[discriminator];
          return { value, label: v.title ?? humanize(value), fields: objectFields(rest) };
        }),
      };
    }
    return { ...base, type: 'json' };
  }
  if (s.enum && s.enum.every((v) => typeof v === 'string')) return { ...base, type: 'choice', options: s.enum as string[] };
  switch (typeOf(s)) {
    case 'string':
      return {
        ...base,
        type: 'text',
        multiline: (s.maxLength ?? 0) >= 8000 || LONG_TEXT.test(key),
        minLength: s.minLength,
        maxLength: s.maxLength,
        pattern: s.pattern,
      };
    case 'number':
    case 'integer': {
      const max = s.maximum ?? s.exclusiveMaximum;
      return { ...base, type: 'number', integer: typeOf(s) === 'integer', min: s.minimum ?? s.exclusiveMinimum, max: max !== undefined && max < Number.MAX_SAFE_INTEGER ? max : undefined };
    }
    case 'boolean':
      return { ...base, type: 'boolean' };
    case 'array': {
      const items = s.items ?? {};
      if (typeOf(items) === 'string' && !items.enum) return { ...base, type: 'text-list', maxItems: s.maxItems };
      if (typeOf(items) === 'object' && items.properties) return { ...base, type: 'object-list', fields: objectFields(items), maxItems: s.maxItems };
      return { ...base, type: 'json' };
    }
    case 'object': {
      const extra = s.additionalProperties;
      if (!s.properties && extra && typeof extra === 'object' && typeOf(extra) === 'string') {
        return { ...base, type: 'key-value', keyPattern: (s as { propertyNames?: JsonSchema }).propertyNames?.pattern };
      }
      if (s.properties) return { ...base, type: 'group', fields: objectFields(s) };
      return { ...base, type: 'json' };
    }
    default:
      return { ...base, type: 'json' };
  }
}

function objectFields(s: JsonSchema): Field[] {
  const required = new Set(s.required ?? []);
  return Object.entries(s.properties ?? {}).map(([key, prop]) => toField(key, prop, required.has(key)));
}

const cache = new WeakMap<z.ZodType, Field[]>();

/** The form of an object schema (cached per schema). */
export function fieldsFor(schema: z.ZodType): Field[] {
  let fields = cache.get(schema);
  if (!fields) {
    const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
    fields = objectFields(json);
    cache.set(schema, fields);
  }
  return fields;
}

/** Path of a field inside the config, in the validator's notation (`dependencies[0].url`). */
export function joinPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  return parent ? `${parent}.${key}` : key;
}

/** A value for a new entry of a list of objects: the required fields' defaults, or empty text. */
export function emptyObject(fields: Field[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    if (f.default !== undefined) out[f.key] = structuredClone(f.default);
    else if (f.required) out[f.key] = f.type === 'number' ? (f.min ?? 0) : f.type === 'boolean' ? false : f.type === 'text' ? '' : f.type === 'text-list' ? [] : f.type === 'key-value' ? {} : undefined;
  }
  return out;
}
