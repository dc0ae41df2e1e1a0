/** Placement of connection labels along their curves (app/editor/edge-labels.ts). */
import { getBezierPath, Position } from '@xyflow/react';
import { describe, expect, it } from 'vitest';
import { bezierPoint, LABEL_GAP, placeEdgeLabels, type LabelEdge } from '@/app/editor/edge-labels';

const W = 90;
const H = 20;
const boxOf = (p: { x: number; y: number }) => ({ x1: p.x - W / 2, y1: p.y - H / 2, x2: p.x + W / 2, y2: p.y + H / 2 });
const intersect = (a: ReturnType<typeof boxOf>, b: ReturnType<typeof boxOf>) => a.x1 < b.x2 && b.x1 < a.x2 && a.y1 < b.y2 && b.y1 < a.y2;

describe('connection labels', () => {
  it('draws on the same curve React Flow draws (its middle is getBezierPath’s label point)', () => {
    for (const [s, t] of [
      [{ x: 0, y: 0 }, { x: 300, y: 200 }],
      [{ x: 400, y: 50 }, { x: 0, y: 0 }],
    ] as const) {
      const [, lx, ly] = getBezierPath({ sourceX: s.x, sourceY: s.y, sourcePosition: Position.Right, targetX: t.x, targetY: t.y, targetPosition: Position.Left });
      const p = bezierPoint(s, t, 0.5);
      expect(p.x).toBeCloseTo(lx, 6);
      expect(p.y).toBeCloseTo(ly, 6);
    }
  });

  it('keeps the labels of two crossing connections apart, each on its own curve', () => {
    // a(0,0) → d(400,200) and c(0,200) → b(400,0): both midpoints are (200,100).
    const edges: LabelEdge[] = [
      { id: 'a-d', source: { x: 0, y: 0 }, target: { x: 400, y: 200 }, width: W, height: H },
      { id: 'c-b', source: { x: 0, y: 200 }, target: { x: 400, y: 0 }, width: W, height: H },
    ];
    const places = placeEdgeLabels(edges);
    const ad = places.get('a-d')!;
    const cb = places.get('c-b')!;
    expect(intersect(boxOf(ad), boxOf(cb))).toBe(false);
    // The first keeps the middle; each label lies on its own connection.
    expect(ad.t).toBe(0.5);
    for (const e of edges) {
      const p = places.get(e.id)!;
      const on = bezierPoint(e.source, e.target, p.t);
      expect(p.x).toBeCloseTo(on.x, 6);
      expect(p.y).toBeCloseTo(on.y, 6);
    }
  });

  it('leaves labels that do not meet in the middle, and spreads a bundle of parallel connections', () => {
    const apart = placeEdgeLabels([
      { id: 'x', source: { x: 0, y: 0 }, target: { x: 300, y: 0 }, width: W, height: H },
      { id: 'y', source: { x: 0, y: 200 }, target: { x: 300, y: 200 }, width: W, height: H },
    ]);
    expect([apart.get('x')!.t, apart.get('y')!.t]).toEqual([0.5, 0.5]);

    // Four connections from one stage to four stacked ones, nearly on top of each other near the source.
    const fan: LabelEdge[] = [0, 1, 2, 3].map((i) => ({ id: `f${i}`, source: { x: 0, y: 0 }, target: { x: 500, y: i * 18 }, width: W, height: H }));
    const places = placeEdgeLabels(fan);
    const boxes = fan.map((e) => {
      const p = places.get(e.id)!;
      return { x1: p.x - W / 2 - LABEL_GAP / 2, y1: p.y - H / 2 - LABEL_GAP / 2, x2: p.x + W / 2 + LABEL_GAP / 2, y2: p.y + H / 2 + LABEL_GAP / 2 };
    });
    for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) expect(intersect(boxes[i]!, boxes[j]!)).toBe(false);
  });

  it('is the same whatever order the connections come in', () => {
    const edges: LabelEdge[] = [
      { id: 'a-d', source: { x: 0, y: 0 }, target: { x: 400, y: 200 }, width: W, height: H },
      { id: 'c-b', source: { x: 0, y: 200 }, target: { x: 400, y: 0 }, width: W, height: H },
    ];
    expect([...placeEdgeLabels(edges)].sort()).toEqual([...placeEdgeLabels([...edges].reverse())].sort());
  });
});
