/**
 * k8s-apply against the real control plane: idempotency, annotations, invalid
 * manifests (not retried), forbidden operations, namespace restrictions, and
 * infrastructure errors (retried).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { executeK8sApply } from '../../workflows/stages/k8s-apply/executor';
import { k8sApplyConfigSchema } from '../../workflows/stages/k8s-apply/definition';
import { StageFailure } from '../../workflows/stages/executor-types';
import { admin, appManifests, connection, freshNamespace, getDeployment, k8sContext } from './helpers';

const config = (namespace: string, manifests: string, over: object = {}) =>
  k8sApplyConfigSchema.parse({ connection: 'local', namespace, manifests, ...over });

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the stage to fail');
}

describe('k8s-apply', () => {
  let ns: string;
  beforeAll(async () => {
    ns = await freshNamespace('apply');
  });

  it('applies multi-document YAML with annotations, and applying again changes nothing', async () => {
    const manifests = `${appManifests({ image: 'example/web:1', replicas: 2 })}---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  mode: blue
`;
    const f = k8sContext({ runId: 'run-a', nodeId: 'apply-1' });
    const first = await executeK8sApply(config(ns, manifests), f.ctx);
    expect(first.outputs.applied).toBe('3');
    expect(first.summary).toContain('3 created');

    const dep = await getDeployment(ns, 'web');
    expect(dep?.metadata.annotations).toMatchObject({
      'pipewright.dev/pipeline': 'pipeline-1',
      'pipewright.dev/run': 'run-a',
      'pipewright.dev/stage': 'apply-1',
    });
    // Annotations go on the object, never on the pod template (which would roll the pods).
    expect(JSON.stringify((dep?.spec as { template: unknown }).template)).not.toContain('pipewright.dev/run');
    const managers = ((dep?.metadata.managedFields ?? []) as { manager: string; operation: string }[]).map((m) => `${m.manager}/${m.operation}`);
    expect(managers).toContain('pipewright/Apply');

    // A retried attempt of the same stage: nothing changes, not even a resourceVersion.
    const again = await executeK8sApply(config(ns, manifests), k8sContext({ runId: 'run-a', nodeId: 'apply-1' }).ctx);
    expect(again.summary).toContain('3 unchanged');
    const same = await getDeployment(ns, 'web');
    expect(same?.metadata.resourceVersion).toBe(dep?.metadata.resourceVersion);

    // Another run re-annotates the objects, but the pod template is untouched: no new rollout (revision, ReplicaSets).
    await executeK8sApply(config(ns, manifests), k8sContext({ runId: 'run-b', nodeId: 'apply-1' }).ctx);
    const later = await getDeployment(ns, 'web');
    expect(later?.metadata.annotations?.['pipewright.dev/run']).toBe('run-b');
    expect(later?.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('1');
    expect(await admin().list('apps/v1', 'ReplicaSet', ns, { labelSelector: 'app=web' })).toHaveLength(1);
  });

  it('dry run validates on the server without changing anything', async () => {
    const res = await executeK8sApply(config(ns, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: dry}\ndata: {a: b}\n', { dryRun: true }), k8sContext().ctx);
    expect(res.summary).toContain('dry run');
    expect(await admin().get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'dry' })).toBeUndefined();
  });

  it('fails an invalid manifest with the API server reason, not retried', async () => {
    const bad = appManifests({ image: 'example/web:1', service: false }).replace('replicas: 3', 'replicas: -1');
    const err = await failure(executeK8sApply(config(ns, bad.replace('name: web', 'name: broken')), k8sContext().ctx));
    expect(err).toBeInstanceOf(StageFailure);
    expect((err as StageFailure).type).toBe('InvalidConfig');
    expect(err.message).toMatch(/spec\.replicas.*must be greater than or equal to 0/);

    // Unknown fields are errors too (fieldValidation=Strict), not silently dropped.
    const typo = appManifests({ image: 'example/web:1', service: false }).replace('replicas: 3', 'replicaz: 3').replace('name: web', 'name: typo');
    const err2 = await failure(executeK8sApply(config(ns, typo), k8sContext().ctx));
    expect(err2).toBeInstanceOf(StageFailure);
    expect(err2.message).toContain('replicaz');

    // Broken YAML never reaches the server.
    const err3 = await failure(executeK8sApply(config(ns, 'apiVersion: v1\nkind: [oops'), k8sContext().ctx));
    expect(err3).toBeInstanceOf(StageFailure);
    expect(err3.message).toContain('document 1');

    // A kind the cluster does not serve.
    const err4 = await failure(executeK8sApply(config(ns, 'apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n'), k8sContext().ctx));
    expect(err4).toBeInstanceOf(StageFailure);
    expect(err4.message).toContain('does not serve kind Widget');
  });

  it('fails a forbidden operation with the reason, not retried', async () => {
    const f = k8sContext({ connections: [connection({ token: inject('k8s').limitedToken })] });
    const err = await failure(executeK8sApply(config(ns, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: nope}\n'), f.ctx));
    expect(err).toBeInstanceOf(StageFailure);
    expect(err.message).toMatch(/forbidden: .*User "limited" cannot/);
  });

  it('refuses namespaces the connection does not allow, before applying anything', async () => {
    const other = await freshNamespace('apply-other');
    const f = k8sContext({ connections: [connection({ allowedNamespaces: [ns] })] });
    const manifests = `apiVersion: v1
kind: ConfigMap
metadata: {name: first-ok}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: sneaky, namespace: ${other}}
`;
    const err = await failure(executeK8sApply(config(ns, manifests), f.ctx));
    expect(err).toBeInstanceOf(StageFailure);
    expect(err.message).toContain(`may not touch namespace "${other}"`);
    expect(await admin().get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'first-ok' })).toBeUndefined();

    // The stage's own namespace is checked too, and cluster-scoped objects are refused.
    const err2 = await failure(executeK8sApply(config(other, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n'), f.ctx));
    expect(err2.message).toContain(`may not touch namespace "${other}"`);
    const err3 = await failure(executeK8sApply(config(ns, 'apiVersion: v1\nkind: Namespace\nmetadata: {name: made-up}\n'), f.ctx));
    expect(err3.message).toContain('cluster-scoped');
  });

  describe('infrastructure errors', () => {
    let server: http.Server;
    let url: string;
    beforeAll(async () => {
      // An "API server" that is overloaded: every request answers 503.
      server = http.createServer((_req, res) => res.writeHead(503, { 'content-type': 'application/json' }).end('{"kind":"Status","message":"etcdserver: leader changed"}'));
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));

    it('leaves 5xx and refused connections retryable (plain errors)', async () => {
      // client-node talks plain HTTP only with TLS verification off.
      const f = k8sContext({ connections: [connection({ server: url, caPem: undefined, insecureSkipTlsVerify: true })] });
      const err = await failure(executeK8sApply(config(ns, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n'), f.ctx));
      expect(err).not.toBeInstanceOf(StageFailure);
      expect(err.message).toMatch(/503.*retried/);

      const closed = k8sContext({ connections: [connection({ server: 'https://127.0.0.1:1', caPem: undefined })] });
      const err2 = await failure(executeK8sApply(config(ns, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n'), closed.ctx));
      expect(err2).not.toBeInstanceOf(StageFailure);
      expect(err2.message).toContain('retried');
    }, 60_000);
  });
});
