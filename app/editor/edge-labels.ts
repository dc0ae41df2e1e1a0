/**
 * Where each connection's condition label sits along its curve, so labels of
 * crossing or parallel connections do not cover each other.
 *
 * 1. Connections are drawn as React Flow's Bézier curves from a stage's right
 *    handle to the next stage's left handle; `bezierControls` is the same
 *    construction (`getBezierPath`, curvature 0.25), `bezierPoint` a point on it.
 * 2. `placeEdgeLabels` walks the connections in a stable order and gives each
 *    label the first position along its own curve (the middle first, then
 *    further out, alternating) whose box, with a small gap, meets no label
 *    placed before it; when every position meets one, the least covered. A
 *    uniform grid keeps it linear in the number of connections.
 * 3. Pure: the canvas feeds it positions and sizes; unit tests feed it
 *    crossing and stacked connections.
 */

export type Point = { x: number; y: number };

/** One connection: its end points (source handle, target handle) and its label's size. */
export type LabelEdge = { id: string; source: Point; target: Point; width: number; height: number };

/** A label's place: the curve parameter and the label's centre. */
export type LabelPlace = { t: number; x: number; y: number };

/** Positions along the curve tried in turn: the middle first. */
export const LABEL_POSITIONS = [0.5, 0.38, 0.62, 0.27, 0.73, 0.18, 0.82] as const;

/** Room kept between two labels, in px. */
export const LABEL_GAP = 4;

const CURVATURE = 0.25;

function controlOffset(distance: number): number {
  return distance >= 0 ? 0.5 * distance : CURVATURE * 25 * Math.sqrt(-distance);
}

/** The control points React Flow uses for a connection from a right-hand handle to a left-hand one. */
export function bezierControls(source: Point, target: Point): [Point, Point] {
  return [
    { x: source.x + controlOffset(target.x - source.x), y: source.y },
    { x: target.x - controlOffset(target.x - source.x), y: target.y },
  ];
}

/** The point at `t` (0…1) on the connection's curve. */
export function bezierPoint(source: Point, target: Point, t: number): Point {
  const [c1, c2] = bezierControls(source, target);
  const u = 1 - t;
  const a = u * u * u;
  const b = 3 * u * u * t;
  const c = 3 * u * t * t;
  const d = t * t * t;
  return { x: a * source.x + b * c1.x + c * c2.x + d * target.x, y: a * source.y + b * c1.y + c * c2.y + d * target.y };
}

type Box = { x1: number; y1: number; x2: number; y2: number };

const boxAt = (p: Point, w: number, h: number, gap: number): Box => ({ x1: p.x - w / 2 - gap / 2, y1: p.y - h / 2 - gap / 2, x2: p.x + w / 2 + gap / 2, y2: p.y + h / 2 + gap / 2 });

function overlapArea(a: Box, b: Box): number {
  const w = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1);
  const h = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1);
  return w > 0 && h > 0 ? w * h : 0;
}

const CELL = 128;

/** Label places for every connection (see the module comment). */
export function placeEdgeLabels(edges: readonly LabelEdge[], gap = LABEL_GAP): Map<string, LabelPlace> {
  const out = new Map<string, LabelPlace>();
  const grid = new Map<string, Box[]>();
  const cells = (b: Box) => {
    const keys: string[] = [];
    for (let cx = Math.floor(b.x1 / CELL); cx <= Math.floor(b.x2 / CELL); cx++) {
      for (let cy = Math.floor(b.y1 / CELL); cy <= Math.floor(b.y2 / CELL); cy++) keys.push(`${cx},${cy}`);
    }
    return keys;
  };
  const covered = (b: Box) => {
    let area = 0;
    const seen = new Set<Box>();
    for (const key of cells(b)) {
      for (const other of grid.get(key) ?? []) {
        if (seen.has(other)) continue;
        seen.add(other);
        area += overlapArea(b, other);
      }
    }
    return area;
  };
  const ordered = [...edges].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const e of ordered) {
    let best: { place: LabelPlace; box: Box; area: number } | null = null;
    for (const t of LABEL_POSITIONS) {
      const p = bezierPoint(e.source, e.target, t);
      const box = boxAt(p, e.width, e.height, gap);
      const area = covered(box);
      if (!best || area < best.area) best = { place: { t, x: p.x, y: p.y }, box, area };
      if (area === 0) break;
    }
    out.set(e.id, best!.place);
    for (const key of cells(best!.box)) {
      const list = grid.get(key);
      if (list) list.push(best!.box);
      else grid.set(key, [best!.box]);
    }
  }
  return out;
}
