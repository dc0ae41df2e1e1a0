/**
 * Auto-layout with ELK's layered algorithm (elkjs), left to right.
 *
 * The result is stored in the spec's positions, so a drawing looks the same
 * every time it is opened; layout runs only when asked (or for a document that
 * has no positions at all). ELK is loaded on first use so it does not weigh on
 * the editor's first load. Model order is kept, so the same graph always gets
 * the same drawing.
 */
import type { ElkNode } from 'elkjs/lib/elk-api';
import type { PipelineSpec } from '@/workflows/model';

/** Size of a stage on the canvas (see stage-node.tsx); used when a stage was not measured yet. */
export const NODE_SIZE = { width: 220, height: 64 } as const;
export const GRID = 20;

type Elk = { layout(graph: ElkNode): Promise<ElkNode> };
let elk: Promise<Elk> | undefined;

function loadElk(): Promise<Elk> {
  elk ??= import('elkjs/lib/elk.bundled.js').then((m) => {
    const ELK = (m as unknown as { default: new () => Elk }).default;
    return new ELK();
  });
  return elk;
}

const snap = (v: number) => Math.round(v / GRID) * GRID;

export async function layoutPositions(
  spec: Pick<PipelineSpec, 'nodes' | 'edges'>,
  sizes: ReadonlyMap<string, { width: number; height: number }> = new Map(),
): Promise<Map<string, { x: number; y: number }>> {
  if (spec.nodes.length === 0) return new Map();
  const ids = new Set(spec.nodes.map((n) => n.id));
  const graph: ElkNode = {
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'RIGHT',
      'elk.spacing.nodeNode': '40',
      'elk.layered.spacing.nodeNodeBetweenLayers': '90',
      'elk.spacing.componentComponent': '60',
      'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',
      'elk.layered.crossingMinimization.forceNodeModelOrder': 'false',
      'elk.layered.nodePlacement.strategy': 'BRANDES_KOEPF',
      'elk.layered.nodePlacement.bk.fixedAlignment': 'BALANCED',
      'elk.separateConnectedComponents': 'true',
      'elk.randomSeed': '1',
    },
    children: spec.nodes.map((n) => {
      const size = sizes.get(n.id) ?? NODE_SIZE;
      return { id: n.id, width: size.width, height: size.height };
    }),
    edges: spec.edges
      .filter((e) => ids.has(e.from) && ids.has(e.to) && e.from !== e.to)
      .map((e) => ({ id: e.id, sources: [e.from], targets: [e.to] })),
  };
  const result = await (await loadElk()).layout(graph);
  const out = new Map<string, { x: number; y: number }>();
  for (const c of result.children ?? []) out.set(c.id, { x: snap(c.x ?? 0), y: snap(c.y ?? 0) });
  return out;
}

/** True when no stage has a position (a document written by hand): lay it out on the way in. */
export function needsLayout(spec: Pick<PipelineSpec, 'nodes'>): boolean {
  return spec.nodes.length > 1 && spec.nodes.every((n) => n.position.x === 0 && n.position.y === 0);
}
