/**
 * Three-way merge of pipeline documents: two people edited the same version
 * (the base); one saved first (theirs); the other's draft (mine) goes on top.
 *
 * 1. Stages and connections are matched by id, parameters by name; the
 *    pipeline's own fields (name, description, settings) and every stage's
 *    fields are merged value by value (dot paths, as in diff.ts). Arrays
 *    (a gate's approvers, a stage's labels) are one value.
 * 2. A value only one side changed takes that side's change; a value both
 *    changed the same way is taken once. Nothing either side saved is dropped.
 * 3. A value both changed differently — or a stage one side deleted and the
 *    other changed — is a conflict, listed with both sides, and decided per
 *    conflict by the person merging (`choices`). Where a stage was placed is
 *    not worth asking about: when both moved it, yours is kept and the merge
 *    says so in `notes`.
 * 4. Pure: used by the editor when a save is refused because someone else
 *    saved first, and by unit tests.
 */
import { jsonEqual } from './diff';
import type { PipelineSpec } from './spec';

/** One value both sides changed differently. `undefined` on a side means that side deleted it. */
export type MergeConflict = {
  /** Stable key of the conflict (for `choices`). */
  key: string;
  /** Where it is: `['nodes', id, 'config', 'command']`, `['edges', id]`, `['parameters', name]`, `['name']`. */
  path: string[];
  base: unknown;
  mine: unknown;
  theirs: unknown;
};

export type MergeChoice = 'mine' | 'theirs';

export type MergeResult = {
  /** The merged document; each conflict resolved as `choices` says (unanswered ones: mine). */
  spec: PipelineSpec;
  conflicts: MergeConflict[];
  /** Conflicts not answered in `choices`. */
  unresolved: string[];
  /** What the merge decided without asking (e.g. both moved a stage: yours kept). */
  notes: string[];
  /** Paths of values taken from theirs (their saved changes the merge kept). */
  fromTheirs: string[][];
};

type Json = unknown;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function conflictKey(path: readonly string[]): string {
  return JSON.stringify(path);
}

/** A pipeline with its lists keyed (stages and connections by id, parameters by name), so they merge by identity. */
function keyed(spec: PipelineSpec | undefined): Record<string, Json> {
  if (!spec) return {};
  const { nodes, edges, parameters, ...rest } = spec;
  return {
    ...rest,
    nodes: Object.fromEntries(nodes.map((n) => [n.id, n])),
    edges: Object.fromEntries(edges.map((e) => [e.id, e])),
    parameters: Object.fromEntries(parameters.map((p) => [p.name, p])),
  };
}

/** Ids in the order the newest drawing has them: theirs first, then what only mine has. */
function ordered<T>(merged: Record<string, T>, ...orders: string[][]): T[] {
  const out: T[] = [];
  const seen = new Set<string>();
  for (const order of orders) {
    for (const id of order) {
      if (seen.has(id) || !Object.hasOwn(merged, id)) continue;
      seen.add(id);
      out.push(merged[id]!);
    }
  }
  for (const [id, v] of Object.entries(merged)) if (!seen.has(id)) out.push(v);
  return out;
}

/**
 * Merges `mine` onto `theirs`, both edited from `base`.
 * @example mergeSpecs(v4, myDraft, v5).conflicts.length === 0 // A renamed Build, B renamed Deploy: both kept
 */
export function mergeSpecs(base: PipelineSpec, mine: PipelineSpec, theirs: PipelineSpec, choices: Readonly<Record<string, MergeChoice>> = {}): MergeResult {
  const conflicts: MergeConflict[] = [];
  const unresolved: string[] = [];
  const notes: string[] = [];
  const fromTheirs: string[][] = [];
  const nodeName = (id: string) => mine.nodes.find((n) => n.id === id)?.name ?? theirs.nodes.find((n) => n.id === id)?.name ?? base.nodes.find((n) => n.id === id)?.name ?? id;

  const merge = (b: Json, m: Json, t: Json, path: string[]): Json => {
    if (jsonEqual(m, t)) return m;
    if (jsonEqual(b, m)) {
      fromTheirs.push(path);
      return t;
    }
    if (jsonEqual(b, t)) return m;
    if (path.length === 3 && path[0] === 'nodes' && path[2] === 'position' && m !== undefined && t !== undefined) {
      notes.push(`Both of you moved stage "${nodeName(path[1]!)}": it stays where you put it.`);
      return m;
    }
    // Both changed it, differently: merge inside objects, else it is a conflict.
    if (isPlainObject(m) && isPlainObject(t) && (b === undefined || isPlainObject(b))) {
      const out: Record<string, Json> = {};
      const keys = [...new Set([...Object.keys(t), ...Object.keys(m)])];
      for (const k of keys) {
        const v = merge(isPlainObject(b) ? b[k] : undefined, m[k], t[k], [...path, k]);
        if (v !== undefined) out[k] = v;
      }
      return out;
    }
    const key = conflictKey(path);
    conflicts.push({ key, path, base: b, mine: m, theirs: t });
    const choice = choices[key];
    if (!choice) unresolved.push(key);
    if (choice === 'theirs') fromTheirs.push(path);
    return choice === 'theirs' ? t : m;
  };

  const merged = merge(keyed(base), keyed(mine), keyed(theirs), []) as Record<string, Json>;
  const { nodes, edges, parameters, ...rest } = merged;
  const spec = {
    ...rest,
    nodes: ordered(nodes as Record<string, PipelineSpec['nodes'][number]>, theirs.nodes.map((n) => n.id), mine.nodes.map((n) => n.id)),
    edges: ordered(edges as Record<string, PipelineSpec['edges'][number]>, theirs.edges.map((e) => e.id), mine.edges.map((e) => e.id)),
    parameters: ordered(parameters as Record<string, PipelineSpec['parameters'][number]>, theirs.parameters.map((p) => p.name), mine.parameters.map((p) => p.name)),
  } as PipelineSpec;
  return { spec, conflicts, unresolved, notes, fromTheirs };
}

/** A conflict in words, for the merge dialog: what it is about (`Stage "Deploy" · config.command`). */
export function describeConflictPath(path: readonly string[], names: { node: (id: string) => string; edge: (id: string) => string }): string {
  const [kind, id, ...field] = path;
  const rest = field.length > 0 ? ` · ${field.join('.')}` : '';
  if (kind === 'nodes') return `Stage "${names.node(id!)}"${rest}`;
  if (kind === 'edges') return `Connection ${names.edge(id!)}${rest}`;
  if (kind === 'parameters') return `Parameter ${id}${rest}`;
  return `Pipeline ${path.join('.')}`;
}
