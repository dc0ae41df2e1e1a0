/**
 * The corpus's Spinnaker pipeline with an inline `deployManifest`
 * (tests/fixtures/import-corpus/spinnaker/manifest-text.json) imported and
 * rehearsed against a real kube-apiserver: its account names the cluster
 * connection and environment "staging"; the rehearsal's apply is a server-side
 * dry run, so the API server checks every object and nothing is stored.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startHarness, type Harness } from '../integration/harness';
import { admin, getDeployment, until } from './helpers';

const FILE = new URL('../fixtures/import-corpus/spinnaker/manifest-text.json', import.meta.url);

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  const k8s = inject('k8s');
  // The namespace the file's manifests name.
  const client = admin();
  await client.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'catalog' } });
  await until(async () => (await client.get({ apiVersion: 'v1', kind: 'ServiceAccount', namespace: 'catalog', name: 'default' })) !== undefined, 30_000, 'default service account in catalog');
  await h.as(h.users.admin).clusters.create({ authType: 'token', name: 'staging', server: k8s.server, token: k8s.adminToken, caPem: k8s.caPem, allowedNamespaces: ['catalog'] });
  await h.as(h.users.admin).environments.create({ name: 'staging', displayName: 'Staging', clusterConnection: 'staging' });
});
afterAll(async () => {
  await h?.close();
});

describe('an imported Spinnaker deployManifest, rehearsed on a real cluster', () => {
  it('completes: the manifests are checked by the API server and nothing is stored', async () => {
    const text = readFileSync(FILE, 'utf8');
    const created = await h.as(h.users.admin).pipelines.importCreate({ text, fileName: 'manifest-text.json' });
    expect(created.valid).toBe(true);
    const { id: runId } = await h.as(h.users.author).runs.start({ pipelineId: created.id, rehearsal: true });
    const run = await h.waitForEnd(runId, 120_000);
    expect(run.status, JSON.stringify(run.stages.map((s) => [s.id, s.status, s.error]))).toBe('succeeded');
    expect(h.stageOf(run, 'Deploy_catalog').summary).toMatch(/^rehearsed \(dry run\)/);
    expect(h.stageOf(run, 'Smoke').summary).toBe('rehearsed: webhook not sent');
    expect(await getDeployment('catalog', 'catalog')).toBeUndefined();
  });
});
