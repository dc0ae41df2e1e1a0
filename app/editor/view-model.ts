/**
 * The canvas view model: React Flow nodes and edges *derived* from the spec and
 * its overlays (selection, validation issues, a version diff, a run's status).
 * Nothing here is stored in the spec — run status and issues are painted on.
 *
 * Objects are cached per spec node/edge and overlay signature, so an edit to
 * one stage hands React Flow one new object and leaves the other 999 alone.
 */
import type { Edge, Node } from '@xyflow/react';
import { getStageDefinition, type EdgeCondition, type PipelineEdge, type PipelineNode, type PipelineSpec, type ValidationIssue } from '@/workflows/model';
import type { DiffStatus, SpecDiff } from '@/workflows/model/diff';
import { NODE_SIZE } from './layout';

export type IssueSummary = { errors: number; warnings: number; messages: string[] };

export type StageNodeData = {
  node: PipelineNode;
  kindLabel: string;
  issues?: IssueSummary;
  diff?: DiffStatus;
  /** Status of this stage in the run being watched. */
  status?: string;
  readOnly: boolean;
};
export type StageFlowNode = Node<StageNodeData, 'stage'>;

export type ConditionEdgeData = {
  on: EdgeCondition;
  issues?: IssueSummary;
  diff?: Exclude<DiffStatus, 'moved'>;
  readOnly: boolean;
  fromName: string;
  toName: string;
  /** Where along the curve the condition label sits (0…1; placed so labels do not cover each other: edge-labels.ts). */
  labelAt: number;
};
export type ConditionFlowEdge = Edge<ConditionEdgeData, 'condition'>;

export type Overlays = {
  selectedNodes: ReadonlySet<string>;
  selectedEdges: ReadonlySet<string>;
  measured: ReadonlyMap<string, { width: number; height: number }>;
  issuesByNode: ReadonlyMap<string, IssueSummary>;
  issuesByEdge: ReadonlyMap<string, IssueSummary>;
  diffByNode?: ReadonlyMap<string, DiffStatus>;
  diffByEdge?: ReadonlyMap<string, Exclude<DiffStatus, 'moved'>>;
  statusByNode?: ReadonlyMap<string, string>;
  /** Label positions along each connection (edge-labels.ts); 0.5 (the middle) when missing. */
  labelAt?: ReadonlyMap<string, number>;
  readOnly: boolean;
};

/** Issues grouped by the stage and the connection they point at. */
export function groupIssues(issues: readonly ValidationIssue[]): { byNode: Map<string, IssueSummary>; byEdge: Map<string, IssueSummary>; general: ValidationIssue[] } {
  const byNode = new Map<string, IssueSummary>();
  const byEdge = new Map<string, IssueSummary>();
  const general: ValidationIssue[] = [];
  const add = (map: Map<string, IssueSummary>, id: string, i: ValidationIssue) => {
    let s = map.get(id);
    if (!s) map.set(id, (s = { errors: 0, warnings: 0, messages: [] }));
    if (i.severity === 'error') s.errors++;
    else s.warnings++;
    if (s.messages.length < 5) s.messages.push(i.message);
  };
  for (const i of issues) {
    if (i.edgeId) add(byEdge, i.edgeId, i);
    if (i.nodeId) add(byNode, i.nodeId, i);
    if (!i.edgeId && !i.nodeId) general.push(i);
  }
  return { byNode, byEdge, general };
}

/** Diff statuses by id, for painting a comparison. */
/**
 * Diff status by canvas id, for the graph `comparisonSpec` built (`shown`): a removed connection is looked up
 * under the id it has on that canvas — its own, or `<id>~removed` when a newer connection took its id.
 */
export function diffMaps(diff: SpecDiff, shown: PipelineSpec): { nodes: Map<string, DiffStatus>; edges: Map<string, Exclude<DiffStatus, 'moved'>> } {
  const onCanvas = new Set(shown.edges.map((e) => e.id));
  return {
    nodes: new Map(diff.nodes.map((n) => [n.id, n.status])),
    edges: new Map(diff.edges.map((e) => [e.status === 'removed' && onCanvas.has(`${e.id}~removed`) ? `${e.id}~removed` : e.id, e.status])),
  };
}

/** The graph shown in a comparison: the newer version plus what the older one had and the newer one lost. */
export function comparisonSpec(before: PipelineSpec, after: PipelineSpec, diff: SpecDiff): PipelineSpec {
  const removedNodes = diff.nodes.filter((n) => n.status === 'removed' && n.before).map((n) => n.before!);
  const removedEdges = diff.edges.filter((e) => e.status === 'removed' && e.before).map((e) => e.before!);
  const edgeIds = new Set(after.edges.map((e) => e.id));
  return {
    ...after,
    nodes: [...after.nodes, ...removedNodes],
    // A removed connection can share its id with a new one; give it a distinct id on the canvas.
    edges: [...after.edges, ...removedEdges.map((e) => (edgeIds.has(e.id) ? { ...e, id: `${e.id}~removed` } : e))],
  };
}

function summarySig(s: IssueSummary | undefined): string {
  return s ? `${s.errors}/${s.warnings}/${s.messages[0] ?? ''}` : '';
}

type NodeCacheEntry = { src: PipelineNode; sig: string; rf: StageFlowNode };
type EdgeCacheEntry = { src: PipelineEdge; sig: string; rf: ConditionFlowEdge };

export function createFlowCache() {
  const nodes = new Map<string, NodeCacheEntry>();
  const edges = new Map<string, EdgeCacheEntry>();
  let lastNodes: StageFlowNode[] = [];
  let lastEdges: ConditionFlowEdge[] = [];

  function flowNodes(spec: PipelineSpec, o: Overlays): StageFlowNode[] {
    const out: StageFlowNode[] = new Array(spec.nodes.length);
    const seen = new Set<string>();
    let same = lastNodes.length === spec.nodes.length;
    spec.nodes.forEach((n, i) => {
      seen.add(n.id);
      const selected = o.selectedNodes.has(n.id);
      const issues = o.issuesByNode.get(n.id);
      const diff = o.diffByNode?.get(n.id);
      const status = o.statusByNode?.get(n.id);
      const size = o.measured.get(n.id);
      const sig = `${selected ? 1 : 0}|${summarySig(issues)}|${diff ?? ''}|${status ?? ''}|${size ? `${size.width}x${size.height}` : ''}|${o.readOnly ? 1 : 0}`;
      const hit = nodes.get(n.id);
      let rf: StageFlowNode;
      if (hit && hit.src === n && hit.sig === sig) rf = hit.rf;
      else {
        const def = getStageDefinition(n.kind);
        const kindLabel = def?.label ?? n.kind;
        const problems = issues ? [issues.errors && `${issues.errors} error${issues.errors === 1 ? '' : 's'}`, issues.warnings && `${issues.warnings} warning${issues.warnings === 1 ? '' : 's'}`].filter(Boolean).join(', ') : '';
        rf = {
          id: n.id,
          type: 'stage',
          position: n.position,
          selected,
          data: { node: n, kindLabel, issues, diff, status, readOnly: o.readOnly },
          ariaLabel: `${n.name}, ${kindLabel} stage${problems ? `, ${problems}` : ''}${diff ? `, ${diff}` : ''}${status ? `, ${status}` : ''}`,
          // The size is known before rendering, so off-screen stages are never mounted (large pipelines).
          width: NODE_SIZE.width,
          height: NODE_SIZE.height,
          ...(size ? { measured: size } : {}),
          draggable: !o.readOnly,
          connectable: !o.readOnly,
          deletable: !o.readOnly,
        };
        nodes.set(n.id, { src: n, sig, rf });
      }
      if (same && lastNodes[i] !== rf) same = false;
      out[i] = rf;
    });
    for (const id of nodes.keys()) if (!seen.has(id)) nodes.delete(id);
    if (same) return lastNodes;
    lastNodes = out;
    return out;
  }

  function flowEdges(spec: PipelineSpec, o: Overlays): ConditionFlowEdge[] {
    const names = new Map(spec.nodes.map((n) => [n.id, n.name]));
    const out: ConditionFlowEdge[] = new Array(spec.edges.length);
    const seen = new Set<string>();
    let same = lastEdges.length === spec.edges.length;
    spec.edges.forEach((e, i) => {
      seen.add(e.id);
      const selected = o.selectedEdges.has(e.id);
      const issues = o.issuesByEdge.get(e.id);
      const diff = o.diffByEdge?.get(e.id);
      const fromName = names.get(e.from) ?? e.from;
      const toName = names.get(e.to) ?? e.to;
      const labelAt = o.labelAt?.get(e.id) ?? 0.5;
      const sig = `${selected ? 1 : 0}|${summarySig(issues)}|${diff ?? ''}|${o.readOnly ? 1 : 0}|${fromName}|${toName}|${labelAt}`;
      const hit = edges.get(e.id);
      let rf: ConditionFlowEdge;
      if (hit && hit.src === e && hit.sig === sig) rf = hit.rf;
      else {
        rf = {
          id: e.id,
          type: 'condition',
          source: e.from,
          target: e.to,
          selected,
          data: { on: e.on, issues, diff, readOnly: o.readOnly, fromName, toName, labelAt },
          ariaLabel: `Connection from ${fromName} to ${toName}, runs on ${e.on}${issues?.errors ? `, ${issues.errors} error${issues.errors === 1 ? '' : 's'}` : ''}${diff ? `, ${diff}` : ''}`,
          deletable: !o.readOnly,
          zIndex: selected ? 1 : 0,
        };
        edges.set(e.id, { src: e, sig, rf });
      }
      if (same && lastEdges[i] !== rf) same = false;
      out[i] = rf;
    });
    for (const id of edges.keys()) if (!seen.has(id)) edges.delete(id);
    if (same) return lastEdges;
    lastEdges = out;
    return out;
  }

  return { flowNodes, flowEdges };
}
