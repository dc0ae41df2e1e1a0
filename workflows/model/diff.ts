/**
 * What changed between two versions of a pipeline.
 *
 * 1. Stages are matched by id, parameters by name. Connections are matched by
 *    id first and then by their two ends, so a connection that was deleted and
 *    drawn again between the same stages counts as the same one.
 * 2. A stage whose only change is its position is `moved`, not `changed`: the
 *    drawing moved, what runs did not.
 * 3. Changed fields are listed as dot paths (`config.command`, `retry.maxAttempts`,
 *    `config.env.TOKEN`); arrays are compared as a whole (`config.users`).
 * 4. Pure module: used by the editor's compare view and by tests.
 */
import type { PipelineEdge, PipelineNode, PipelineParameter, PipelineSpec } from './spec';

export type FieldChange = { path: string; before: unknown; after: unknown };

export type DiffStatus = 'added' | 'removed' | 'changed' | 'moved';

export type NodeDiff = {
  id: string;
  status: DiffStatus;
  /** The stage in the older version (absent when added). */
  before?: PipelineNode;
  /** The stage in the newer version (absent when removed). */
  after?: PipelineNode;
  changes: FieldChange[];
};

export type EdgeDiff = {
  /** Id in the newer version (or the older one when removed). */
  id: string;
  status: Exclude<DiffStatus, 'moved'>;
  before?: PipelineEdge;
  after?: PipelineEdge;
  changes: FieldChange[];
};

export type ParameterDiff = {
  name: string;
  status: Exclude<DiffStatus, 'moved'>;
  changes: FieldChange[];
};

export type SpecDiff = {
  nodes: NodeDiff[];
  edges: EdgeDiff[];
  parameters: ParameterDiff[];
  /** Name, description and settings of the pipeline itself. */
  pipeline: FieldChange[];
  /** True when nothing but positions changed (or nothing at all). */
  sameBehaviour: boolean;
  /** True when nothing changed at all. */
  empty: boolean;
};

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Structural equality of JSON-like values (key order does not matter). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (isPlainObject(a)) {
    if (!isPlainObject(b)) return false;
    const ak = Object.keys(a).filter((k) => a[k] !== undefined);
    const bk = Object.keys(b).filter((k) => b[k] !== undefined);
    if (ak.length !== bk.length) return false;
    for (const k of ak) if (!jsonEqual(a[k], b[k])) return false;
    return true;
  }
  return false;
}

/** Every leaf that differs between two values, as dot paths under `prefix`. Arrays count as leaves. */
export function fieldChanges(before: unknown, after: unknown, prefix = ''): FieldChange[] {
  if (jsonEqual(before, after)) return [];
  if (isPlainObject(before) && isPlainObject(after)) {
    const out: FieldChange[] = [];
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    for (const k of keys) out.push(...fieldChanges(before[k], after[k], prefix ? `${prefix}.${k}` : k));
    return out;
  }
  return [{ path: prefix, before, after }];
}

function nodeChanges(a: PipelineNode, b: PipelineNode): FieldChange[] {
  return fieldChanges(a, b);
}

/**
 * Compares two versions of a pipeline.
 * @example diffSpecs(v1.spec, v2.spec).nodes.filter((n) => n.status === 'added')
 */
export function diffSpecs(before: PipelineSpec, after: PipelineSpec): SpecDiff {
  // Stages.
  const nodes: NodeDiff[] = [];
  const beforeNodes = new Map(before.nodes.map((n) => [n.id, n]));
  const afterIds = new Set(after.nodes.map((n) => n.id));
  for (const b of after.nodes) {
    const a = beforeNodes.get(b.id);
    if (!a) {
      nodes.push({ id: b.id, status: 'added', after: b, changes: [] });
      continue;
    }
    const changes = nodeChanges(a, b);
    if (changes.length === 0) continue;
    const onlyMoved = changes.every((c) => c.path === 'position' || c.path.startsWith('position.'));
    nodes.push({ id: b.id, status: onlyMoved ? 'moved' : 'changed', before: a, after: b, changes });
  }
  for (const a of before.nodes) if (!afterIds.has(a.id)) nodes.push({ id: a.id, status: 'removed', before: a, changes: [] });

  // Connections: by id, then by their ends.
  const edges: EdgeDiff[] = [];
  const ends = (e: PipelineEdge) => `${e.from}\u0000${e.to}`;
  const unmatchedBefore = new Map(before.edges.map((e) => [e.id, e]));
  const unmatchedAfter: PipelineEdge[] = [];
  const pairs: [PipelineEdge, PipelineEdge][] = [];
  for (const b of after.edges) {
    const a = unmatchedBefore.get(b.id);
    if (a && ends(a) === ends(b)) {
      unmatchedBefore.delete(b.id);
      pairs.push([a, b]);
    } else {
      unmatchedAfter.push(b);
    }
  }
  const beforeByEnds = new Map<string, PipelineEdge>();
  for (const a of unmatchedBefore.values()) if (!beforeByEnds.has(ends(a))) beforeByEnds.set(ends(a), a);
  for (const b of unmatchedAfter) {
    const a = beforeByEnds.get(ends(b));
    if (a) {
      beforeByEnds.delete(ends(b));
      unmatchedBefore.delete(a.id);
      pairs.push([a, b]);
    } else {
      edges.push({ id: b.id, status: 'added', after: b, changes: [] });
    }
  }
  for (const [a, b] of pairs) {
    const changes = fieldChanges({ from: a.from, to: a.to, on: a.on }, { from: b.from, to: b.to, on: b.on });
    if (changes.length > 0) edges.push({ id: b.id, status: 'changed', before: a, after: b, changes });
  }
  for (const a of unmatchedBefore.values()) edges.push({ id: a.id, status: 'removed', before: a, changes: [] });

  // Parameters.
  const parameters: ParameterDiff[] = [];
  const beforeParams = new Map(before.parameters.map((p) => [p.name, p]));
  const afterParams = new Set(after.parameters.map((p) => p.name));
  const paramFields = (p: PipelineParameter) => ({ type: p.type, description: p.description, default: p.default, required: p.required });
  for (const b of after.parameters) {
    const a = beforeParams.get(b.name);
    if (!a) parameters.push({ name: b.name, status: 'added', changes: [] });
    else {
      const changes = fieldChanges(paramFields(a), paramFields(b));
      if (changes.length > 0) parameters.push({ name: b.name, status: 'changed', changes });
    }
  }
  for (const a of before.parameters) if (!afterParams.has(a.name)) parameters.push({ name: a.name, status: 'removed', changes: [] });

  // The pipeline itself.
  const pipeline = [
    ...fieldChanges(before.name, after.name, 'name'),
    ...fieldChanges(before.description, after.description, 'description'),
    ...fieldChanges(before.settings, after.settings, 'settings'),
  ];

  const empty = nodes.length === 0 && edges.length === 0 && parameters.length === 0 && pipeline.length === 0;
  const sameBehaviour = nodes.every((n) => n.status === 'moved') && edges.length === 0 && parameters.length === 0 && pipeline.length === 0;
  return { nodes, edges, parameters, pipeline, empty, sameBehaviour };
}

/** A short value for lists of changes: strings quoted and cut, objects as compact JSON. */
export function formatValue(value: unknown, max = 60): string {
  if (value === undefined) return '—';
  const text = typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value) ?? String(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
