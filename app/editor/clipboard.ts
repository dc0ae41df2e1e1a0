/**
 * Copy and paste of stages, within a pipeline and between pipelines.
 *
 * 1. What is copied is plain JSON (`format: "pipewright/stages"`): the stages,
 *    the connections between them, and the parameters they refer to. It goes
 *    to the system clipboard, so it can be pasted into another pipeline, tab or
 *    a text file, and read back.
 * 2. Pasting is a trust boundary: the text is parsed with zod; a whole pipeline
 *    document (YAML/JSON export) is accepted too.
 * 3. Pasted stages get fresh ids where theirs are taken; connections and
 *    `${{ stages.<id>.outputs.x }}` references among them follow the new ids.
 */
import { z } from 'zod';
import {
  edgeSchema,
  LIMITS,
  nodeSchema,
  parameterSchema,
  parseTemplate,
  shellNamePart,
  stringsIn,
  type PipelineEdge,
  type PipelineNode,
  type PipelineParameter,
  type PipelineSpec,
} from '@/workflows/model';
import { edgeIdFor, uniqueId } from './ids';

export const CLIPBOARD_FORMAT = 'pipewright/stages';

export const clipboardPayloadSchema = z.object({
  format: z.literal(CLIPBOARD_FORMAT),
  version: z.literal(1),
  nodes: z.array(nodeSchema).min(1).max(LIMITS.maxNodes),
  edges: z.array(edgeSchema).max(LIMITS.maxEdges).default([]),
  parameters: z.array(parameterSchema).max(LIMITS.maxParameters).default([]),
});
export type ClipboardPayload = z.infer<typeof clipboardPayloadSchema>;

/** A pipeline document pasted whole: its stages, connections and parameters. */
const pastedDocumentSchema = z.object({
  nodes: z.array(nodeSchema).min(1).max(LIMITS.maxNodes),
  edges: z.array(edgeSchema).max(LIMITS.maxEdges).default([]),
  parameters: z.array(parameterSchema).max(LIMITS.maxParameters).default([]),
});

/** Parameters named in `${{ params.x }}` inside these stages. */
function referencedParams(nodes: readonly PipelineNode[]): Set<string> {
  const names = new Set<string>();
  for (const n of nodes) {
    for (const { text } of stringsIn(n.config)) for (const ref of parseTemplate(text).refs) if (ref.kind === 'param') names.add(ref.name);
  }
  return names;
}

/** The selected stages, the connections among them and the parameters they use. */
export function copyPayload(spec: PipelineSpec, nodeIds: Iterable<string>): ClipboardPayload | null {
  const ids = new Set(nodeIds);
  const nodes = spec.nodes.filter((n) => ids.has(n.id));
  if (nodes.length === 0) return null;
  const edges = spec.edges.filter((e) => ids.has(e.from) && ids.has(e.to));
  const used = referencedParams(nodes);
  const parameters = spec.parameters.filter((p) => used.has(p.name));
  return structuredClone({ format: CLIPBOARD_FORMAT, version: 1, nodes, edges, parameters });
}

export function serializePayload(payload: ClipboardPayload): string {
  return JSON.stringify(payload, null, 2);
}

/** Reads clipboard text: our own format or a whole pipeline document (JSON). Anything else is `null`. */
export function parsePayload(text: string): ClipboardPayload | null {
  if (text.length > LIMITS.specSize) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  const own = clipboardPayloadSchema.safeParse(raw);
  if (own.success) return own.data;
  const doc = pastedDocumentSchema.safeParse(raw);
  if (doc.success) return { format: CLIPBOARD_FORMAT, version: 1, ...doc.data };
  return null;
}

const OUTPUT_REF = /(\$\{\{\s*stages\.)([A-Za-z_][A-Za-z0-9_-]*)(\.outputs\.)/g;

const OUTPUT_VARIABLE = /(?<![A-Za-z0-9_])PW_OUTPUT_[A-Za-z0-9_]+/g;

/**
 * Rewrites `${{ stages.<old>.outputs.x }}` and `$PW_OUTPUT_<old>_x` (the form
 * commands use) in every string of a config value.
 */
export function remapOutputRefs<T>(value: T, ids: ReadonlyMap<string, string>): T {
  // Longest first: a stage `a_b` must not be taken for stage `a` with an output `b_…`.
  const prefixes = [...ids].map(([from, to]) => [`PW_OUTPUT_${shellNamePart(from)}_`, `PW_OUTPUT_${shellNamePart(to)}_`] as const).sort((a, b) => b[0].length - a[0].length);
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') {
      const refs = v.replace(OUTPUT_REF, (all, head: string, id: string, tail: string) => {
        const next = ids.get(id);
        return next ? `${head}${next}${tail}` : all;
      });
      return prefixes.length === 0 ? refs : refs.replace(OUTPUT_VARIABLE, (name) => {
        const hit = prefixes.find(([from]) => name.startsWith(from) && name.length > from.length);
        return hit ? hit[1] + name.slice(hit[0].length) : name;
      });
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = walk(x);
      return out;
    }
    return v;
  };
  return walk(value) as T;
}

export type PasteResult = { spec: PipelineSpec; nodeIds: string[]; edgeIds: string[]; addedParameters: string[] };

/**
 * Adds the payload to `spec` with fresh ids where needed.
 * @param at where the top-left stage of the payload goes; by default 40 units
 *   down and right of where it was, further when that spot is occupied.
 */
export function pastePayload(spec: PipelineSpec, payload: ClipboardPayload, at?: { x: number; y: number }): PasteResult {
  const taken = new Set(spec.nodes.map((n) => n.id));
  const ids = new Map<string, string>();
  for (const n of payload.nodes) ids.set(n.id, uniqueId(n.id, taken));

  const minX = Math.min(...payload.nodes.map((n) => n.position.x));
  const minY = Math.min(...payload.nodes.map((n) => n.position.y));
  let dx: number;
  let dy: number;
  if (at) {
    dx = at.x - minX;
    dy = at.y - minY;
  } else {
    const occupied = new Set(spec.nodes.map((n) => `${Math.round(n.position.x)},${Math.round(n.position.y)}`));
    let step = 1;
    const clash = (d: number) => payload.nodes.some((n) => occupied.has(`${Math.round(n.position.x + d)},${Math.round(n.position.y + d)}`));
    while (clash(step * 40) && step < 50) step++;
    dx = dy = step * 40;
  }

  const nodes: PipelineNode[] = payload.nodes.map((n) => ({
    ...structuredClone(n),
    id: ids.get(n.id)!,
    position: { x: Math.round(n.position.x + dx), y: Math.round(n.position.y + dy) },
    config: remapOutputRefs(structuredClone(n.config), ids),
  }));

  const edgeTaken = new Set(spec.edges.map((e) => e.id));
  const edges: PipelineEdge[] = [];
  for (const e of payload.edges) {
    const from = ids.get(e.from);
    const to = ids.get(e.to);
    if (!from || !to) continue;
    edges.push({ id: edgeIdFor(from, to, edgeTaken), from, to, on: e.on });
  }

  const have = new Set(spec.parameters.map((p) => p.name));
  const used = referencedParams(nodes);
  const parameters: PipelineParameter[] = payload.parameters.filter((p) => used.has(p.name) && !have.has(p.name));

  return {
    spec: {
      ...spec,
      nodes: [...spec.nodes, ...nodes],
      edges: [...spec.edges, ...edges],
      parameters: parameters.length ? [...spec.parameters, ...structuredClone(parameters)] : spec.parameters,
    },
    nodeIds: nodes.map((n) => n.id),
    edgeIds: edges.map((e) => e.id),
    addedParameters: parameters.map((p) => p.name),
  };
}
