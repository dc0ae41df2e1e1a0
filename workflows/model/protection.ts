/**
 * Protected environments: what a pipeline must look like to touch one.
 *
 * 1. One rule set, two callers: the validator applies it to a spec (issues
 *    painted on the nodes while drawing), and the server applies it to the
 *    compiled plan of every run just before it starts (runs.ts `launchRun`),
 *    knowing which stages that run reuses. Same function, so the editor, the
 *    API and what really runs agree.
 * 2. The rules, for an environment whose protection requires an approval gate:
 *    - every other stage bound to it is reachable from a gate bound to it
 *      through `success` edges only, so it cannot start unless that gate
 *      approved (an `always`/`failure` edge, or a branch beside the gate,
 *      would let it run anyway);
 *    - such a gate never approves on its own (`onTimeout: approve`).
 * 3. Kubernetes stages are bound to an environment and use only the cluster
 *    connection (and namespace, when it sets one) configured for it, so a
 *    stage bound to staging cannot reach the production cluster by naming its
 *    connection.
 * 4. Pure module: no Node built-ins, no DB, no React.
 */
import type { EdgeCondition } from './spec';

/** What the rules need to know about one environment (read from the app DB by the caller). */
export type EnvironmentProtection = {
  name: string;
  /** Stages bound to it run only after an approval gate bound to it approved. */
  requireGate: boolean;
  /** The one cluster connection Kubernetes stages bound to it may use (null or absent: none). */
  clusterConnection?: string | null;
  /** When set, the one namespace Kubernetes stages bound to it may name. */
  namespace?: string | null;
};

/** A stage as the rules see it (a spec node or a plan node). */
export type ProtectionNode = {
  id: string;
  name: string;
  kind: string;
  environment?: string;
  config: Record<string, unknown>;
};

export type ProtectionEdge = { from: string; to: string; on: EdgeCondition };

export type ProtectionIssueCode = 'environment-needs-gate' | 'gate-auto-approves' | 'k8s-needs-environment' | 'cluster-not-bound';

export type ProtectionIssue = { code: ProtectionIssueCode; nodeId: string; path: string; message: string };

export type ProtectionOptions = {
  /**
   * Stages a run takes over from an earlier run instead of executing them
   * (server side). They need no gate themselves, and a gate among them
   * approves nothing now: a path through one does not count.
   */
  reused?: ReadonlySet<string>;
  /** Stages left out of a run (skipped at once): they run nothing, so they need no gate. */
  omitted?: ReadonlySet<string>;
};

const GATE_KIND = 'approval';

/** Kinds that reach a cluster through a registered connection. */
export const isKubernetesKind = (kind: string) => kind.startsWith('k8s-');

/** Help text for a stage's environment field: what binding a stage to a protected environment means. */
export const PROTECTED_ENVIRONMENT_HELP =
  'In an environment that requires an approval gate, every stage bound to it must come after an Approval stage bound to it, through success connections only; that gate may not approve on timeout, and the person who started the run may not approve it. Kubernetes stages must be bound to an environment and use its cluster connection.';

/**
 * Problems of a pipeline (or of a run about to start) against the
 * environments' protection. `environments` holds every environment the caller
 * knows; stages bound to one not in it are left to the unknown-environment
 * check.
 */
export function protectionIssues(
  graph: { nodes: readonly ProtectionNode[]; edges: readonly ProtectionEdge[] },
  environments: readonly EnvironmentProtection[],
  options: ProtectionOptions = {},
): ProtectionIssue[] {
  const issues: ProtectionIssue[] = [];
  const byName = new Map(environments.map((e) => [e.name, e]));
  const reused = options.reused ?? new Set<string>();
  const omitted = options.omitted ?? new Set<string>();
  const executes = (id: string) => !reused.has(id) && !omitted.has(id);
  const successors = new Map<string, string[]>();
  for (const e of graph.edges) {
    if (e.on !== 'success') continue;
    const list = successors.get(e.from);
    if (list) list.push(e.to);
    else successors.set(e.from, [e.to]);
  }

  // Gated environments: the stages behind a fresh gate of the same environment.
  const gated = environments.filter((e) => e.requireGate).map((e) => e.name);
  for (const env of gated) {
    const bound = graph.nodes.filter((n) => n.environment === env);
    if (bound.length === 0) continue;
    const gates = bound.filter((n) => n.kind === GATE_KIND);
    // Walk `success` edges from the gates that decide in this run, through stages that really run
    // (a reused stage counts as succeeded at once, so what follows it does not wait for the gate).
    const behind = new Set<string>();
    const stack = gates.filter((g) => !reused.has(g.id)).map((g) => g.id);
    while (stack.length > 0) {
      for (const next of successors.get(stack.pop()!) ?? []) {
        if (behind.has(next) || reused.has(next)) continue;
        behind.add(next);
        stack.push(next);
      }
    }
    for (const node of bound) {
      if (node.kind === GATE_KIND) {
        const timeout = Number(node.config.timeoutSeconds ?? 0);
        if (node.config.onTimeout === 'approve' && timeout > 0) {
          issues.push({
            code: 'gate-auto-approves',
            nodeId: node.id,
            path: 'onTimeout',
            message: `${node.name}: environment "${env}" is protected, so its gate may not approve on timeout; set "on timeout" to reject (or no timeout)`,
          });
        }
        continue;
      }
      if (!executes(node.id) || behind.has(node.id)) continue;
      issues.push({
        code: 'environment-needs-gate',
        nodeId: node.id,
        path: 'environment',
        message:
          gates.length === 0
            ? `${node.name}: environment "${env}" requires an approval gate; add an Approval stage bound to ${env} before this stage`
            : `${node.name}: environment "${env}" requires an approval gate before this stage; connect it after ${gates.map((g) => `"${g.name}"`).join(' or ')} through success connections only`,
      });
    }
  }

  // Kubernetes stages: bound, and only through the environment's connection.
  for (const node of graph.nodes) {
    if (!isKubernetesKind(node.kind) || !executes(node.id)) continue;
    if (!node.environment) {
      issues.push({
        code: 'k8s-needs-environment',
        nodeId: node.id,
        path: 'environment',
        message: `${node.name}: a Kubernetes stage must be bound to an environment (its "environment" field); it may use only that environment's cluster connection`,
      });
      continue;
    }
    const env = byName.get(node.environment);
    if (!env) continue;
    const connection = typeof node.config.connection === 'string' ? node.config.connection : '';
    if (!env.clusterConnection) {
      issues.push({
        code: 'cluster-not-bound',
        nodeId: node.id,
        path: 'connection',
        message: `${node.name}: environment "${env.name}" has no cluster connection; an admin sets one under Admin → Environments before Kubernetes stages can deploy there`,
      });
    } else if (connection !== env.clusterConnection) {
      issues.push({
        code: 'cluster-not-bound',
        nodeId: node.id,
        path: 'connection',
        message: `${node.name}: cluster connection "${connection}" is not the one of environment "${env.name}" (${env.clusterConnection})`,
      });
    }
    const namespace = typeof node.config.namespace === 'string' ? node.config.namespace : '';
    if (env.namespace && namespace !== env.namespace) {
      issues.push({
        code: 'cluster-not-bound',
        nodeId: node.id,
        path: 'namespace',
        message: `${node.name}: environment "${env.name}" deploys only to namespace "${env.namespace}", not "${namespace}"`,
      });
    }
  }
  return issues;
}

/** An environment as the role rule sees it: who may deploy into it. */
export type RoleEnvironment = { name: string; displayName: string; promoteRoles: readonly string[] };

/** What a start by someone whose role some environments do not allow leaves out of the run. */
export type LeftOut = {
  /** Environments the starter may not deploy to that the run would have run stages in, in the order given. */
  environments: RoleEnvironment[];
  /** Stages left out: those bound to these environments, and every stage after one of them (it could not run anyway). */
  nodes: string[];
  /** Shown on the left-out stages, e.g. "not run: deploying to production needs the role approver or admin — promote this build from the promotion board". */
  reason: string;
  /** Stages of the run that still execute (neither reused nor left out); 0 means the start has nothing to do. */
  remaining: number;
};

const orList = (items: readonly string[]) => (items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`);

/**
 * "Build once, promote the same build": an author's run (or a trigger acting
 * with its creator's role) builds and tests; the stages bound to environments
 * the starter may not deploy to are left out, with what follows them — a
 * stage after a left-out one is skipped by the interpreter whatever its edge
 * (a skipped stage neither succeeded nor failed), so it is named here too and
 * shows the same reason. Those who may deploy there promote the build from
 * the promotion board. Reused and already omitted stages run nothing and are
 * not considered. Returns null when the role is allowed everywhere the run
 * would run stages.
 */
export function leaveOutForRole(
  graph: { nodes: readonly { id: string; environment?: string; needs: readonly { from: string }[] }[] },
  environments: readonly RoleEnvironment[],
  role: string,
  options: ProtectionOptions = {},
): LeftOut | null {
  const reused = options.reused ?? new Set<string>();
  const omitted = options.omitted ?? new Set<string>();
  const settled = (id: string) => reused.has(id) || omitted.has(id);
  const touched = new Set(graph.nodes.filter((n) => n.environment && !settled(n.id)).map((n) => n.environment!));
  const forbidden = environments.filter((e) => touched.has(e.name) && !e.promoteRoles.includes(role));
  if (forbidden.length === 0) return null;
  const names = new Set(forbidden.map((e) => e.name));
  const out = new Set(graph.nodes.filter((n) => n.environment && names.has(n.environment) && !settled(n.id)).map((n) => n.id));
  // Everything after a left-out stage, to a fixpoint (plans are small; no order assumed).
  for (let grew = true; grew; ) {
    grew = false;
    for (const n of graph.nodes) {
      if (out.has(n.id) || settled(n.id) || !n.needs.some((d) => out.has(d.from))) continue;
      out.add(n.id);
      grew = true;
    }
  }
  const parts = forbidden.map((e) =>
    e.promoteRoles.length > 0 ? `deploying to ${e.name} needs the role ${orList(e.promoteRoles)}` : `nobody may deploy to ${e.name} (it allows no role)`,
  );
  return {
    environments: forbidden,
    nodes: graph.nodes.filter((n) => out.has(n.id)).map((n) => n.id),
    reason: `not run: ${parts.join('; ')} — promote this build from the promotion board`,
    remaining: graph.nodes.filter((n) => !settled(n.id) && !out.has(n.id)).length,
  };
}
