/**
 * The worker's side of "Kubernetes stages deploy only where their environment
 * points": the cluster connections a stage is given are narrowed to the one
 * its environment is configured with (and to that environment's namespace,
 * which the client's namespace guard then enforces on every request,
 * manifests that name another namespace and cluster-scoped objects included).
 * The server refuses such plans before a run starts; this holds for any plan
 * that reaches a worker anyway (runs started before the rule, other clients).
 */
import { StageFailure, type ClusterConnections } from '../stages/executor-types';

/** What the environment allows: its connection (null: none) and namespace (null: any the connection allows). */
export type EnvironmentClusterBinding = { name: string; cluster: { connection: string | null; namespace: string | null } };

/** `clusters` as a stage bound to `environment` (undefined: not bound) may use them. */
export function bindClustersToEnvironment(clusters: ClusterConnections, environment: EnvironmentClusterBinding | undefined): ClusterConnections {
  return {
    async get(name) {
      if (!environment) {
        throw new StageFailure(`a Kubernetes stage must be bound to an environment; cluster connection "${name}" is used only through the environment it belongs to`, 'InvalidConfig');
      }
      const { connection, namespace } = environment.cluster;
      if (!connection) {
        throw new StageFailure(`environment "${environment.name}" has no cluster connection; an admin sets one under Admin → Environments`, 'InvalidConfig');
      }
      if (name !== connection) {
        throw new StageFailure(`cluster connection "${name}" is not the one of environment "${environment.name}" (${connection})`, 'InvalidConfig');
      }
      const conn = await clusters.get(name);
      if (!namespace) return conn;
      if (conn.allowedNamespaces.length > 0 && !conn.allowedNamespaces.includes(namespace)) {
        throw new StageFailure(`cluster connection "${name}" may not touch namespace "${namespace}" of environment "${environment.name}"`, 'InvalidConfig');
      }
      return { ...conn, allowedNamespaces: [namespace] };
    },
  };
}
