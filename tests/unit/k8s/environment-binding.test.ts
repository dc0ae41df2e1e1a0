/**
 * The worker's cluster binding: a Kubernetes stage gets a cluster connection
 * only through the environment it is bound to, narrowed to that environment's
 * namespace (which the client's namespace guard then enforces on every
 * request).
 */
import { describe, expect, it } from 'vitest';
import { bindClustersToEnvironment } from '@/workflows/k8s/environment-binding';
import { StageFailure, type ClusterConnectionSecret, type ClusterConnections } from '@/workflows/stages/executor-types';

const registered: Record<string, ClusterConnectionSecret> = {
  'prod-eu': { name: 'prod-eu', server: 'https://prod.example.test', token: 't', allowedNamespaces: [] },
  'shared': { name: 'shared', server: 'https://shared.example.test', token: 't', allowedNamespaces: ['shop', 'shop-staging'] },
};
const clusters: ClusterConnections = {
  get: async (name) => {
    const c = registered[name];
    if (!c) throw new StageFailure(`there is no cluster connection named "${name}"`, 'InvalidConfig');
    return c;
  },
};
const env = (connection: string | null, namespace: string | null) => ({ name: 'production', cluster: { connection, namespace } });

describe('bindClustersToEnvironment', () => {
  it('gives the environment’s connection, narrowed to its namespace', async () => {
    expect((await bindClustersToEnvironment(clusters, env('prod-eu', 'shop')).get('prod-eu')).allowedNamespaces).toEqual(['shop']);
    expect((await bindClustersToEnvironment(clusters, env('shared', 'shop-staging')).get('shared')).allowedNamespaces).toEqual(['shop-staging']);
    expect((await bindClustersToEnvironment(clusters, env('shared', null)).get('shared')).allowedNamespaces).toEqual(['shop', 'shop-staging']);
  });

  it('refuses another connection, an environment without one, a namespace the connection may not touch, and an unbound stage', async () => {
    await expect(bindClustersToEnvironment(clusters, env('shared', null)).get('prod-eu')).rejects.toThrow('cluster connection "prod-eu" is not the one of environment "production" (shared)');
    await expect(bindClustersToEnvironment(clusters, env(null, null)).get('prod-eu')).rejects.toThrow('environment "production" has no cluster connection');
    await expect(bindClustersToEnvironment(clusters, env('shared', 'kube-system')).get('shared')).rejects.toThrow('may not touch namespace "kube-system"');
    await expect(bindClustersToEnvironment(clusters, undefined).get('prod-eu')).rejects.toThrow('a Kubernetes stage must be bound to an environment');
    await expect(bindClustersToEnvironment(clusters, undefined).get('prod-eu')).rejects.toBeInstanceOf(StageFailure);
  });
});
