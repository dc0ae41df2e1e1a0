/**
 * Protected environments (pure): a stage bound to an environment that
 * requires an approval gate runs only behind a gate bound to it (success
 * edges only), such a gate never approves on timeout, Kubernetes stages are
 * bound and use only their environment's cluster connection; the same rules
 * checked on a run's plan with reused and omitted stages; and protected gates
 * compile so that the run's starter cannot approve.
 */
import { describe, expect, it } from 'vitest';
import { compileValidSpec, protectionIssues, validatePipeline, type EnvironmentProtection, type PipelineSpecInput } from '@/workflows/model';

const PROD: EnvironmentProtection = { name: 'production', requireGate: true, clusterConnection: 'prod-eu', namespace: 'shop' };
const STAGING: EnvironmentProtection = { name: 'staging', requireGate: false, clusterConnection: 'test-cluster', namespace: null };
const context = { environments: ['staging', 'production'], protection: [PROD, STAGING] };

type Node = PipelineSpecInput['nodes'][number];
const cmd = (id: string, environment?: string): Node => ({ id, kind: 'command', name: id, config: { command: 'echo "$PW_SECRET_DEPLOY_TOKEN"' }, ...(environment ? { environment } : { config: { command: 'make' } }) });
const approval = (id: string, environment: string, config: Record<string, unknown> = {}): Node => ({ id, kind: 'approval', name: id, environment, config: { groups: ['approvers'], ...config } });
const k8s = (id: string, config: Record<string, unknown>, environment?: string): Node => ({
  id,
  kind: 'k8s-apply',
  name: id,
  config: { connection: 'prod-eu', namespace: 'shop', manifests: 'kind: ConfigMap', ...config },
  ...(environment ? { environment } : {}),
});
function doc(nodes: Node[], edges: [string, string, ('success' | 'failure' | 'always')?][]): PipelineSpecInput {
  return { schemaVersion: 1, name: 'p', nodes, edges: edges.map(([from, to, on]) => ({ id: `${from}-${to}`, from, to, on: on ?? 'success' })) };
}
const codes = (input: PipelineSpecInput) => validatePipeline(input, context).issues.map((i) => [i.code, i.nodeId, i.path]);

describe('stages of a gate-protected environment', () => {
  it('are accepted behind a gate bound to it, through success edges (also further down)', () => {
    expect(codes(doc([cmd('build'), approval('gate', 'production'), cmd('deploy', 'production'), cmd('smoke', 'production')], [['build', 'gate'], ['gate', 'deploy'], ['deploy', 'smoke']]))).toEqual([]);
  });

  it('are refused before the gate: the production stage that read the token ahead of the approval', () => {
    const r = validatePipeline(doc([cmd('leak', 'production'), approval('gate', 'production'), cmd('deploy', 'production')], [['leak', 'gate'], ['gate', 'deploy']]), context);
    expect(r.ok).toBe(false);
    expect(r.issues).toEqual([
      expect.objectContaining({
        code: 'environment-needs-gate',
        nodeId: 'leak',
        path: 'environment',
        message: 'leak: environment "production" requires an approval gate before this stage; connect it after "gate" through success connections only',
      }),
    ]);
  });

  it('are refused on a branch beside the gate, or behind it through an always or failure edge', () => {
    expect(codes(doc([cmd('build'), approval('gate', 'production'), cmd('side', 'production')], [['build', 'gate'], ['build', 'side']]))).toEqual([
      ['environment-needs-gate', 'side', 'environment'],
    ]);
    expect(codes(doc([approval('gate', 'production'), cmd('always', 'production'), cmd('onfail', 'production')], [['gate', 'always', 'always'], ['gate', 'onfail', 'failure']]))).toEqual([
      ['environment-needs-gate', 'always', 'environment'],
      ['environment-needs-gate', 'onfail', 'environment'],
    ]);
  });

  it('need a gate bound to the same environment, not another one', () => {
    expect(codes(doc([approval('gate', 'staging'), cmd('deploy', 'production')], [['gate', 'deploy']]))).toEqual([['environment-needs-gate', 'deploy', 'environment']]);
  });

  it('stages of unprotected environments need nothing', () => {
    expect(codes(doc([cmd('deploy', 'staging')], []))).toEqual([]);
  });
});

describe('gates of a protected environment', () => {
  it('may not approve on timeout', () => {
    const r = validatePipeline(doc([approval('gate', 'production', { timeoutSeconds: 60, onTimeout: 'approve' }), cmd('deploy', 'production')], [['gate', 'deploy']]), context);
    expect(r.issues).toEqual([expect.objectContaining({ code: 'gate-auto-approves', nodeId: 'gate', path: 'onTimeout' })]);
    // Rejecting on timeout, or no timeout, is fine; so is approving on timeout elsewhere.
    expect(codes(doc([approval('gate', 'production', { timeoutSeconds: 60, onTimeout: 'reject' }), cmd('deploy', 'production')], [['gate', 'deploy']]))).toEqual([]);
    expect(codes(doc([approval('gate', 'staging', { timeoutSeconds: 60, onTimeout: 'approve' }), cmd('deploy', 'staging')], [['gate', 'deploy']]))).toEqual([]);
  });

  it('compile so that the person who started the run cannot approve, whatever the gate says', () => {
    const spec = validatePipeline(doc([approval('gate', 'production', { allowTriggerer: true }), approval('other', 'staging', { allowTriggerer: true })], [['gate', 'other']])).spec!;
    const plan = compileValidSpec(spec, { gatedEnvironments: ['production'] });
    expect(plan.nodes.find((n) => n.id === 'gate')!.gate!.allowTriggerer).toBe(false);
    expect(plan.nodes.find((n) => n.id === 'other')!.gate!.allowTriggerer).toBe(true);
  });
});

describe('Kubernetes stages', () => {
  it('must be bound to an environment (when the workspace is known)', () => {
    expect(codes(doc([k8s('apply', {})], []))).toEqual([['k8s-needs-environment', 'apply', 'environment']]);
    expect(validatePipeline(doc([k8s('apply', {})], [])).ok).toBe(true);
  });

  it('may use only the cluster connection and namespace of their environment', () => {
    expect(codes(doc([k8s('apply', { connection: 'test-cluster', namespace: 'anything' }, 'staging')], []))).toEqual([]);
    const r = validatePipeline(doc([k8s('apply', { connection: 'prod-eu', namespace: 'shop' }, 'staging')], []), context);
    expect(r.issues).toEqual([
      expect.objectContaining({ code: 'cluster-not-bound', path: 'connection', message: 'apply: cluster connection "prod-eu" is not the one of environment "staging" (test-cluster)' }),
    ]);
    expect(codes(doc([approval('gate', 'production'), k8s('apply', { namespace: 'kube-system' }, 'production')], [['gate', 'apply']]))).toEqual([['cluster-not-bound', 'apply', 'namespace']]);
    const none = validatePipeline(doc([k8s('apply', {}, 'dev')], []), { environments: ['dev'], protection: [{ name: 'dev', requireGate: false }] });
    expect(none.issues.map((i) => i.message)).toEqual(['apply: environment "dev" has no cluster connection; an admin sets one under Admin → Environments before Kubernetes stages can deploy there']);
  });
});

describe('on a run about to start (plan, reused and omitted stages)', () => {
  const graph = {
    nodes: [
      { id: 'build', name: 'build', kind: 'command', config: {} },
      { id: 'gate', name: 'gate', kind: 'approval', environment: 'production', config: {} },
      { id: 'deploy', name: 'deploy', kind: 'command', environment: 'production', config: {} },
    ],
    edges: [
      { from: 'build', to: 'gate', on: 'success' as const },
      { from: 'gate', to: 'deploy', on: 'success' as const },
    ],
  };

  it('a gate reused from an earlier run approves nothing now', () => {
    expect(protectionIssues(graph, [PROD])).toEqual([]);
    expect(protectionIssues(graph, [PROD], { reused: new Set(['build']) })).toEqual([]);
    expect(protectionIssues(graph, [PROD], { reused: new Set(['build', 'gate']) }).map((i) => i.nodeId)).toEqual(['deploy']);
  });

  it('a reused or omitted protected stage runs nothing, so it needs no gate', () => {
    const ungated = { nodes: [graph.nodes[2]!], edges: [] };
    expect(protectionIssues(ungated, [PROD]).map((i) => i.code)).toEqual(['environment-needs-gate']);
    expect(protectionIssues(ungated, [PROD], { reused: new Set(['deploy']) })).toEqual([]);
    expect(protectionIssues(ungated, [PROD], { omitted: new Set(['deploy']) })).toEqual([]);
  });
});
