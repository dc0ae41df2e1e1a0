import { describe, expect, it } from 'vitest';
import type { K8sObject } from '@/workflows/k8s/client';
import { LABEL } from '@/workflows/k8s/manifests';
import { checkSteps, deriveDeployment, otherColor, rolloutStatus, setRouteWeights, splitFor, templateHash } from '@/workflows/k8s/plan';

const dep = (over: { spec?: Record<string, unknown>; status?: Record<string, unknown>; generation?: number } = {}): K8sObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'shop', generation: over.generation ?? 2 },
  spec: {
    replicas: 4,
    selector: { matchLabels: { app: 'web' } },
    template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx:1' }] } },
    ...over.spec,
  },
  status: over.status ?? {},
});

describe('rolloutStatus', () => {
  it('waits until the controller has observed the new generation', () => {
    expect(rolloutStatus(dep({ status: { observedGeneration: 1, updatedReplicas: 4, availableReplicas: 4, replicas: 4 } })).phase).toBe('progressing');
  });
  it('is complete when every replica is updated and available and no old one is left', () => {
    const s = rolloutStatus(dep({ status: { observedGeneration: 2, replicas: 4, updatedReplicas: 4, readyReplicas: 4, availableReplicas: 4 } }));
    expect(s).toMatchObject({ phase: 'complete', ready: 4, updated: 4, old: 0 });
  });
  it('counts old replicas still terminating', () => {
    const s = rolloutStatus(dep({ status: { observedGeneration: 2, replicas: 6, updatedReplicas: 4, readyReplicas: 6, availableReplicas: 6 } }));
    expect(s).toMatchObject({ phase: 'progressing', old: 2 });
    expect(s.message).toContain('old replicas');
  });
  it('fails on ProgressDeadlineExceeded', () => {
    const s = rolloutStatus(
      dep({
        status: {
          observedGeneration: 2,
          updatedReplicas: 1,
          conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet "web-1" has timed out progressing.' }],
        },
      }),
    );
    expect(s.phase).toBe('failed');
    expect(s.message).toContain('timed out progressing');
  });
});

describe('splitFor (canary weights)', () => {
  it('splits by replica ratio without a router', () => {
    expect(splitFor(10, 20, false)).toEqual({ canary: 2, stable: 8, effectiveWeight: 20 });
    expect(splitFor(10, 100, false)).toMatchObject({ canary: 10, stable: 0 });
    expect(splitFor(10, 0, false)).toMatchObject({ canary: 0, stable: 10 });
  });
  it('keeps at least one canary and one stable replica for weights strictly between 0 and 100', () => {
    expect(splitFor(3, 5, false)).toMatchObject({ canary: 1, stable: 2, effectiveWeight: 33.3 });
    expect(splitFor(3, 95, false)).toMatchObject({ canary: 2, stable: 1 });
    expect(splitFor(1, 50, false)).toMatchObject({ canary: 0, stable: 1 });
  });
  it('uses exact route weights with a router, stable keeps its replicas', () => {
    expect(splitFor(10, 25, true)).toEqual({ canary: 3, stable: 10, routeWeights: { stable: 75, canary: 25 }, effectiveWeight: 25 });
    expect(splitFor(10, 100, true)).toMatchObject({ stable: 0, canary: 10, routeWeights: { stable: 0, canary: 100 } });
    expect(splitFor(4, 1, true)).toMatchObject({ canary: 1 });
  });
  it('checks step lists', () => {
    expect(checkSteps([{ pause: 10 }])).toEqual(['a canary needs at least one weight step']);
    expect(checkSteps([{ weight: 20 }, { pause: 5 }, { weight: 100 }])).toEqual([]);
  });
});

describe('blue/green and canary Deployments', () => {
  it('alternates colours, starting with blue', () => {
    expect(otherColor(undefined)).toBe('blue');
    expect(otherColor('blue')).toBe('green');
    expect(otherColor('green')).toBe('blue');
  });
  it('derives a coloured Deployment with the colour in selector and template, and the template hash', () => {
    const d = deriveDeployment(dep(), { name: 'web-green', labelKey: LABEL.color, labelValue: 'green' });
    expect(d.metadata.name).toBe('web-green');
    expect((d.spec as { selector: { matchLabels: object } }).selector.matchLabels).toEqual({ app: 'web', [LABEL.color]: 'green' });
    expect((d.spec as { template: { metadata: { labels: object } } }).template.metadata.labels).toEqual({ app: 'web', [LABEL.color]: 'green' });
    expect(d.metadata.annotations?.['pipewright.dev/template-hash']).toBe(templateHash((dep().spec as { template: unknown }).template));
  });
  it('hashes templates without Pipewright labels, pod-template-hash or key order', () => {
    const a = { metadata: { labels: { app: 'web', [LABEL.color]: 'blue', 'pod-template-hash': 'x' } }, spec: { containers: [{ name: 'w', image: 'a' }] } };
    const b = { spec: { containers: [{ image: 'a', name: 'w' }] }, metadata: { labels: { app: 'web' } } };
    expect(templateHash(a)).toBe(templateHash(b));
    expect(templateHash({ ...b, spec: { containers: [{ name: 'w', image: 'b' }] } })).not.toBe(templateHash(b));
  });
});

describe('setRouteWeights', () => {
  const rules = [
    { matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRefs: [{ name: 'web-stable', port: 80 }] },
    { backendRefs: [{ name: 'other', port: 80 }] },
  ];
  it('sets both backends on the rules that route the app and leaves other rules alone', () => {
    const out = setRouteWeights(rules, { stable: 'web-stable', canary: 'web-canary' }, { stable: 80, canary: 20 }) as typeof rules;
    expect(out[0]!.backendRefs).toEqual([
      { name: 'web-stable', port: 80, weight: 80 },
      { name: 'web-canary', port: 80, weight: 20 },
    ]);
    expect(out[1]).toBe(rules[1]);
  });
  it('is undefined when no rule routes the app', () => {
    expect(setRouteWeights([rules[1]], { stable: 'web-stable', canary: 'web-canary' }, { stable: 100, canary: 0 })).toBeUndefined();
  });
});
