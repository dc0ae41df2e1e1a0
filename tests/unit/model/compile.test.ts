import { describe, expect, it } from 'vitest';
import {
  PLAN_VERSION,
  PipelineInvalidError,
  canonicalJson,
  compilePipeline,
  contentHash,
  executionPlanSchema,
  type ExecutionPlan,
  type PipelineSpecInput,
} from '@/workflows/model';

type NodeInput = PipelineSpecInput['nodes'][number];
type EdgeInput = PipelineSpecInput['edges'][number];

const cmd = (id: string, more: Partial<NodeInput> = {}): NodeInput => ({ id, kind: 'command', name: id, config: { command: `echo ${id}` }, ...more });
const edge = (from: string, to: string, on: EdgeInput['on'] = 'success'): EdgeInput => ({ id: `${from}->${to}`, from, to, on });
const spec = (nodes: NodeInput[], edges: EdgeInput[] = [], extra: Partial<PipelineSpecInput> = {}): PipelineSpecInput => ({
  schemaVersion: 1,
  name: 'compile test',
  nodes,
  edges,
  ...extra,
});

/** A diamond with a failure branch, drawn with the downstream stages first. */
const diamond = () =>
  spec(
    [
      cmd('deploy'),
      cmd('rollback'),
      cmd('test'),
      cmd('lint'),
      cmd('build', { position: { x: 10, y: 20 } }),
      { id: 'gate', kind: 'approval', name: 'Go live?', config: { users: ['alan'], groups: ['ops'], quorum: 2, timeoutSeconds: 3600, onTimeout: 'approve', allowTriggerer: false, instructions: 'look' } },
      { id: 'notify', kind: 'webhook', name: 'notify', config: { url: 'http://localhost/hook' } },
    ],
    [
      edge('build', 'test'),
      edge('build', 'lint'),
      edge('test', 'gate'),
      edge('lint', 'gate'),
      edge('gate', 'deploy'),
      edge('deploy', 'rollback', 'failure'),
      edge('deploy', 'notify', 'always'),
    ],
  );

const byId = (plan: ExecutionPlan, id: string) => {
  const n = plan.nodes.find((x) => x.id === id);
  if (!n) throw new Error(`no node ${id}`);
  return n;
};

describe('compilePipeline', () => {
  it('orders nodes topologically: every edge goes forward', () => {
    const s = diamond();
    const plan = compilePipeline(s);
    const index = new Map(plan.nodes.map((n, i) => [n.id, i]));
    expect(plan.nodes).toHaveLength(s.nodes.length);
    for (const e of s.edges) expect(index.get(e.from)!).toBeLessThan(index.get(e.to)!);
    expect(plan.nodes[0]!.id).toBe('build');
  });

  it('orders a large random DAG topologically', () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const nodes = Array.from({ length: 300 }, (_, i) => cmd(`n${i}`));
    const edges: EdgeInput[] = [];
    for (let i = 1; i < nodes.length; i++) {
      const parents = new Set(Array.from({ length: 1 + Math.floor(rand() * 3) }, () => Math.floor(rand() * i)));
      for (const p of parents) edges.push(edge(`n${p}`, `n${i}`));
    }
    // Draw the nodes in a shuffled order: the plan must not depend on it being sorted.
    const shuffled = [...nodes].sort(() => rand() - 0.5);
    const plan = compilePipeline(spec(shuffled, edges));
    const index = new Map(plan.nodes.map((n, i) => [n.id, i]));
    for (const e of edges) expect(index.get(e.from)!).toBeLessThan(index.get(e.to)!);
  });

  it('puts the incoming edges and their conditions in `needs`', () => {
    const plan = compilePipeline(diamond());
    expect(byId(plan, 'build').needs).toEqual([]);
    expect(byId(plan, 'gate').needs).toEqual([
      { from: 'test', on: 'success' },
      { from: 'lint', on: 'success' },
    ]);
    expect(byId(plan, 'rollback').needs).toEqual([{ from: 'deploy', on: 'failure' }]);
    expect(byId(plan, 'notify').needs).toEqual([{ from: 'deploy', on: 'always' }]);
  });

  it('marks failureHandled on nodes with a failure or always edge out', () => {
    const plan = compilePipeline(diamond());
    const handled = plan.nodes.filter((n) => n.failureHandled).map((n) => n.id);
    expect(handled).toEqual(['deploy']);
    const alwaysOnly = compilePipeline(spec([cmd('a'), cmd('b')], [edge('a', 'b', 'always')]));
    expect(byId(alwaysOnly, 'a').failureHandled).toBe(true);
    expect(byId(alwaysOnly, 'b').failureHandled).toBe(false);
  });

  it('resolves retry: stage overrides pipeline default overrides built-in, seconds become ms', () => {
    const plan = compilePipeline(
      spec(
        [
          cmd('builtin'),
          cmd('partial', { retry: { maxAttempts: 5 } }),
          cmd('full', { retry: { maxAttempts: 2, initialIntervalSeconds: 0.25, backoffCoefficient: 1.5, maxIntervalSeconds: 10 } }),
          cmd('clamped', { retry: { initialIntervalSeconds: 50, maxIntervalSeconds: 20 } }),
        ],
        [edge('builtin', 'partial'), edge('partial', 'full'), edge('full', 'clamped')],
        { settings: { concurrency: 1, defaultRetry: { maxAttempts: 3, initialIntervalSeconds: 2 }, stageTimeoutSeconds: 3600, runTimeoutSeconds: 0 } },
      ),
    );
    expect(byId(plan, 'builtin').retry).toEqual({ maxAttempts: 3, initialIntervalMs: 2000, backoffCoefficient: 2, maxIntervalMs: 300_000 });
    expect(byId(plan, 'partial').retry).toEqual({ maxAttempts: 5, initialIntervalMs: 2000, backoffCoefficient: 2, maxIntervalMs: 300_000 });
    expect(byId(plan, 'full').retry).toEqual({ maxAttempts: 2, initialIntervalMs: 250, backoffCoefficient: 1.5, maxIntervalMs: 10_000 });
    // The longest wait is never shorter than the first one.
    expect(byId(plan, 'clamped').retry).toEqual({ maxAttempts: 3, initialIntervalMs: 50_000, backoffCoefficient: 2, maxIntervalMs: 50_000 });

    const noDefaults = compilePipeline(spec([cmd('a')]));
    expect(byId(noDefaults, 'a').retry).toEqual({ maxAttempts: 1, initialIntervalMs: 5000, backoffCoefficient: 2, maxIntervalMs: 300_000 });
  });

  it('resolves timeouts: stage, then the pipeline setting; the run limit in ms', () => {
    const plan = compilePipeline(
      spec([cmd('a', { timeoutSeconds: 90 }), cmd('b')], [edge('a', 'b')], {
        settings: { concurrency: 1, defaultRetry: {}, stageTimeoutSeconds: 120, runTimeoutSeconds: 7200 },
      }),
    );
    expect(byId(plan, 'a').timeoutMs).toBe(90_000);
    expect(byId(plan, 'b').timeoutMs).toBe(120_000);
    expect(plan.runTimeoutMs).toBe(7_200_000);
    const defaults = compilePipeline(spec([cmd('a')]));
    expect(byId(defaults, 'a').timeoutMs).toBe(3_600_000);
    expect(defaults.runTimeoutMs).toBe(0);
  });

  it('resolves gate rules and config defaults, and gives every node its runtime', () => {
    const plan = compilePipeline(diamond());
    expect(byId(plan, 'gate').gate).toEqual({
      users: ['alan'],
      groups: ['ops'],
      quorum: 2,
      allowTriggerer: false,
      instructions: 'look',
      timeoutMs: 3_600_000,
      onTimeout: 'approve',
    });
    const minimal = compilePipeline(spec([{ id: 'g', kind: 'approval', name: 'g', config: { groups: ['approvers'] } }]));
    expect(byId(minimal, 'g').gate).toEqual({ users: [], groups: ['approvers'], quorum: 1, allowTriggerer: true, instructions: '', timeoutMs: 0, onTimeout: 'reject' });
    expect(byId(plan, 'build').gate).toBeUndefined();
    expect(byId(plan, 'build').config).toEqual({ command: 'echo build', env: {} });
    expect(byId(plan, 'notify').config).toMatchObject({ url: 'http://localhost/hook', body: {}, headers: {}, timeoutSeconds: 10 });
    expect(Object.fromEntries(plan.nodes.map((n) => [n.id, n.runtime]))).toMatchObject({ build: 'activity', gate: 'gate', notify: 'activity' });
    expect(compilePipeline(spec([{ id: 'w', kind: 'wait', name: 'w', config: { seconds: 3 } }])).nodes[0]!.runtime).toBe('timer');
  });

  it('keeps parameters and the name, and the plan passes executionPlanSchema', () => {
    const s = spec([cmd('a', { config: { command: 'echo ${{ params.v }}' } })], [], { parameters: [{ name: 'v', type: 'string', default: '1' }] });
    const plan = compilePipeline(s);
    expect(plan.planVersion).toBe(PLAN_VERSION);
    expect(plan.name).toBe('compile test');
    expect(plan.parameters).toEqual([{ name: 'v', type: 'string', default: '1', required: false }]);
    expect(plan.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(executionPlanSchema.parse(plan)).toEqual(plan);
    expect(executionPlanSchema.parse(compilePipeline(diamond()))).toEqual(compilePipeline(diamond()));
  });

  it('is deterministic: same spec, same plan and hash', () => {
    const a = compilePipeline(diamond());
    const b = compilePipeline(diamond());
    expect(b).toEqual(a);
    expect(b.hash).toBe(a.hash);
  });

  it('gives the same hash when only positions (or descriptions) change, a different one when config changes', () => {
    const base = compilePipeline(diamond());
    const moved = diamond();
    moved.nodes = moved.nodes.map((n, i) => ({ ...n, position: { x: 100 * i, y: -50 * i }, description: `moved ${i}` }));
    // Positions are not part of the plan at all, so they cannot change its hash.
    expect(JSON.stringify(base)).not.toContain('position');
    expect(compilePipeline(moved).hash).toBe(base.hash);

    const changed = diamond();
    changed.nodes = changed.nodes.map((n) => (n.id === 'build' ? { ...n, config: { command: 'make build' } } : n));
    expect(compilePipeline(changed).hash).not.toBe(base.hash);

    const rewired = diamond();
    rewired.edges = rewired.edges.map((e) => (e.to === 'notify' ? { ...e, on: 'success' } : e));
    expect(compilePipeline(rewired).hash).not.toBe(base.hash);
  });

  it('does not depend on the order keys were written in', () => {
    const a = compilePipeline(spec([{ id: 'a', kind: 'command', name: 'a', config: { command: 'x', env: { A: '1', B: '2' } } }]));
    const b = compilePipeline(spec([{ config: { env: { B: '2', A: '1' }, command: 'x' }, name: 'a', kind: 'command', id: 'a' }]));
    expect(b.hash).toBe(a.hash);
  });

  it('throws PipelineInvalidError carrying the errors (not the warnings) for a bad spec', () => {
    const bad = spec([cmd('a'), cmd('b'), cmd('c', { config: { command: '' } }), cmd('alone')], [edge('a', 'b'), edge('b', 'a')]);
    let caught: unknown;
    try {
      compilePipeline(bad);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(PipelineInvalidError);
    const issues = (caught as PipelineInvalidError).issues;
    expect(issues.map((i) => [i.code, i.nodeId])).toEqual([
      ['cycle', 'a'],
      ['cycle', 'b'],
      ['invalid-config', 'c'],
    ]);
    expect(issues.every((i) => i.severity === 'error')).toBe(true);
    expect((caught as Error).message).toMatch(/3 problem\(s\)/);

    expect(() => compilePipeline('nope')).toThrow(PipelineInvalidError);
    expect(() => compilePipeline({ schemaVersion: 2, name: 'x', nodes: [], edges: [] })).toThrow(PipelineInvalidError);
  });

  it('compiles a document with warnings', () => {
    const plan = compilePipeline(spec([cmd('a'), cmd('b'), cmd('alone')], [edge('a', 'b')]));
    expect(plan.nodes.map((n) => n.id)).toEqual(['a', 'alone', 'b']);
  });
});

/** The first, obviously correct implementation: the fast one must give the same text. */
function referenceCanonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(referenceCanonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${referenceCanonicalJson(v)}`).join(',')}}`;
}

describe('canonicalJson / contentHash', () => {
  it('sorts keys by code unit (integer-like keys too), drops undefined members, keeps array order', () => {
    expect(canonicalJson({ b: 1, a: [3, { z: null, y: undefined }], 10: 'x', 9: 'y', É: true, Z: false })).toBe(
      '{"10":"x","9":"y","Z":false,"a":[3,{"z":null}],"b":1,"É":true}',
    );
    expect(canonicalJson(undefined)).toBe('null');
    expect(canonicalJson([undefined, 'a"b'])).toBe('[null,"a\\"b"]');
  });

  it('matches the reference implementation on random values and on plans', () => {
    let seed = 99;
    const rand = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const keys = ['a', 'b', 'B', '10', '9', '0', '', 'é', '\u{1F600}', 'a b', '"q"', '__proto__x'];
    const gen = (depth: number): unknown => {
      const r = Math.floor(rand() * (depth > 3 ? 5 : 7));
      if (r === 0) return null;
      if (r === 1) return rand() < 0.5 ? Math.floor(rand() * 1000) - 500 : rand() * 1e6;
      if (r === 2) return keys[Math.floor(rand() * keys.length)];
      if (r === 3) return rand() < 0.5;
      if (r === 4) return undefined;
      if (r === 5) return Array.from({ length: Math.floor(rand() * 4) }, () => gen(depth + 1));
      return Object.fromEntries(Array.from({ length: Math.floor(rand() * 5) }, () => [keys[Math.floor(rand() * keys.length)]!, gen(depth + 1)]));
    };
    for (let i = 0; i < 500; i++) {
      const v = gen(0);
      expect(canonicalJson(v)).toBe(referenceCanonicalJson(v));
    }
    const plan = compilePipeline(diamond());
    const { hash, ...body } = plan;
    expect(canonicalJson(body)).toBe(referenceCanonicalJson(body));
    expect(contentHash(body)).toBe(hash);
  });
});
