import { describe, expect, it } from 'vitest';
import { compilePipeline, validatePipeline } from '../../../workflows/model';
import { getTemplate, layeredPositions, PIPELINE_TEMPLATES } from '../../../workflows/model/templates';

describe('pipeline templates', () => {
  it.each(PIPELINE_TEMPLATES.map((t) => [t.id, t] as const))('%s validates with no issues at all and compiles', (_id, template) => {
    const result = validatePipeline(template.spec);
    expect(result.issues).toEqual([]);
    expect(result.ok).toBe(true);
    expect(() => compilePipeline(result.spec!)).not.toThrow();
  });

  it('offers the release process and the blue/green, canary and rolling shapes', () => {
    expect(PIPELINE_TEMPLATES.map((t) => t.id)).toEqual(['release', 'blue-green', 'canary', 'rolling']);
    const release = getTemplate('release')!.spec;
    const path = ['commit', 'acceptance', 'qa', 'deploy-staging', 'smoke-staging', 'approve-production', 'deploy-production', 'smoke-production'];
    for (let i = 1; i < path.length; i++) {
      expect(release.edges).toContainEqual(expect.objectContaining({ from: path[i - 1], to: path[i], on: 'success' }));
    }
    expect(release.edges).toContainEqual(expect.objectContaining({ from: 'smoke-production', to: 'rollback', on: 'failure' }));
    expect(release.nodes.find((n) => n.id === 'qa')?.kind).toBe('approval');
    expect(release.nodes.find((n) => n.id === 'approve-production')?.kind).toBe('approval');
  });

  it('lays every template out with no two stages on the same spot, left to right', () => {
    for (const t of PIPELINE_TEMPLATES) {
      const spots = new Set(t.spec.nodes.map((n) => `${n.position.x},${n.position.y}`));
      expect(spots.size).toBe(t.spec.nodes.length);
      const pos = new Map(t.spec.nodes.map((n) => [n.id, n.position]));
      for (const e of t.spec.edges) expect(pos.get(e.to)!.x).toBeGreaterThan(pos.get(e.from)!.x);
    }
  });

  it('layeredPositions puts a join after its longest branch and survives a cycle', () => {
    const p = layeredPositions(['a', 'b', 'c', 'd'], [
      { from: 'a', to: 'b' },
      { from: 'b', to: 'c' },
      { from: 'a', to: 'd' },
      { from: 'c', to: 'd' },
    ]);
    expect(p.get('d')!.x).toBeGreaterThan(p.get('c')!.x);
    const cyclic = layeredPositions(['x', 'y'], [
      { from: 'x', to: 'y' },
      { from: 'y', to: 'x' },
    ]);
    expect(cyclic.size).toBe(2);
  });
});
