import { describe, expect, it } from 'vitest';
import { annotate, parseManifests } from '@/workflows/k8s/manifests';
import { StageFailure } from '@/workflows/stages/executor-types';

describe('parseManifests', () => {
  it('reads several documents, skips empty ones and flattens lists', () => {
    const objs = parseManifests(`
---
apiVersion: v1
kind: ConfigMap
metadata: { name: a }
---
---
apiVersion: v1
kind: List
items:
  - { apiVersion: v1, kind: Service, metadata: { name: b, namespace: shop } }
`);
    expect(objs.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['ConfigMap/a', 'Service/b']);
  });

  it.each([
    ['kind: ConfigMap\nmetadata: {name: a}', 'apiVersion is missing'],
    ['apiVersion: v1\nkind: ConfigMap\nmetadata: {generateName: a-}', 'metadata.name is missing'],
    ['apiVersion: v1\nkind: ConfigMap\nmetadata: {name: Not_Valid}', 'not a valid name'],
    ['apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, labels: {x: 1}}', 'labels must map names to strings'],
    ['apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}', 'appears twice'],
    ['apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a\n', 'document 1'],
    ['- just\n- a list', 'expected a mapping'],
  ])('refuses %j with a reason', (text, reason) => {
    let caught: unknown;
    try {
      parseManifests(text);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(StageFailure);
    expect((caught as StageFailure).type).toBe('InvalidConfig');
    expect((caught as Error).message).toContain(reason);
  });

  it('annotates the object, not its pod template', () => {
    const [d] = parseManifests('apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, annotations: {keep: me}}\nspec: {template: {metadata: {labels: {app: web}}}}');
    const a = annotate(d!, { pipelineId: 'p1', runId: 'r1', stageId: 'deploy' });
    expect(a.metadata.annotations).toEqual({ keep: 'me', 'pipewright.dev/pipeline': 'p1', 'pipewright.dev/run': 'r1', 'pipewright.dev/stage': 'deploy' });
    expect(a.spec).toEqual(d!.spec);
  });
});
