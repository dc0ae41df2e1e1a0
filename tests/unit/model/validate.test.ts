import { describe, expect, it } from 'vitest';
import { LIMITS, validatePipeline, type IssueCode, type PipelineSpecInput, type ValidationIssue } from '@/workflows/model';

type NodeInput = PipelineSpecInput['nodes'][number];
type EdgeInput = PipelineSpecInput['edges'][number];

const cmd = (id: string, command = 'true', more: Partial<NodeInput> = {}): NodeInput => ({
  id,
  kind: 'command',
  name: id,
  config: { command },
  ...more,
});
const node = (id: string, kind: string, config: Record<string, unknown>): NodeInput => ({ id, kind, name: id, config });
const edge = (from: string, to: string, on: EdgeInput['on'] = 'success', id = `${from}->${to}`): EdgeInput => ({ id, from, to, on });
const doc = (nodes: unknown[], edges: unknown[] = [], extra: Record<string, unknown> = {}) => ({
  schemaVersion: 1,
  name: 'test pipeline',
  nodes,
  edges,
  ...extra,
});

/** The fields a case asserts on: code, where it points, and (when given) the config path. */
const pick = (i: ValidationIssue) => ({
  code: i.code,
  ...(i.nodeId !== undefined ? { nodeId: i.nodeId } : {}),
  ...(i.edgeId !== undefined ? { edgeId: i.edgeId } : {}),
});

type Expected = { code: IssueCode; nodeId?: string; edgeId?: string; path?: string };

const bigCommand = 'x'.repeat(15_000);

const cases: { name: string; input: unknown; expected: Expected[] }[] = [
  { name: 'a string instead of an object', input: 'pipeline', expected: [{ code: 'not-an-object' }] },
  { name: 'null', input: null, expected: [{ code: 'not-an-object' }] },
  { name: 'an array', input: [cmd('a')], expected: [{ code: 'not-an-object' }] },
  {
    name: 'too many nodes (2001)',
    input: doc(Array.from({ length: LIMITS.maxNodes + 1 }, (_, i) => cmd(`n${i}`))),
    expected: [{ code: 'too-many-nodes' }],
  },
  {
    name: 'a document larger than the size limit',
    input: doc(Array.from({ length: 110 }, (_, i) => cmd(`n${i}`, bigCommand))),
    expected: [{ code: 'too-large' }],
  },
  {
    name: 'schema errors on a node and an edge',
    input: doc([cmd('ok'), { id: 'broken', kind: 'command', name: '', config: { command: 'true' } }], [{ id: 'e1', from: 'ok' }]),
    expected: [
      { code: 'schema', nodeId: 'broken', path: 'name' },
      { code: 'schema', edgeId: 'e1' },
    ],
  },
  {
    name: 'an unknown kind',
    input: doc([cmd('a'), node('b', 'teleport', {})], [edge('a', 'b')]),
    expected: [{ code: 'unknown-kind', nodeId: 'b' }],
  },
  {
    name: 'a duplicate node id',
    input: doc([cmd('a'), cmd('b'), cmd('a', 'echo again')], [edge('a', 'b')]),
    expected: [{ code: 'duplicate-node-id', nodeId: 'a' }],
  },
  {
    name: 'a duplicate edge id',
    input: doc([cmd('a'), cmd('b'), cmd('c')], [edge('a', 'b', 'success', 'e'), edge('b', 'c', 'success', 'e')]),
    expected: [{ code: 'duplicate-edge-id', edgeId: 'e' }],
  },
  {
    name: 'the same pair connected twice',
    input: doc([cmd('a'), cmd('b')], [edge('a', 'b', 'success', 'e1'), edge('a', 'b', 'failure', 'e2')]),
    expected: [{ code: 'duplicate-edge', edgeId: 'e2' }],
  },
  {
    name: 'an edge to a missing stage',
    input: doc([cmd('a'), cmd('b')], [edge('a', 'b'), edge('b', 'ghost', 'success', 'to-ghost')]),
    expected: [{ code: 'dangling-edge', edgeId: 'to-ghost' }],
  },
  {
    name: 'a self loop',
    input: doc([cmd('a'), cmd('b')], [edge('a', 'b'), edge('b', 'b', 'success', 'loop')]),
    expected: [{ code: 'self-loop', edgeId: 'loop', nodeId: 'b' }],
  },
  {
    name: 'a cycle (every node on it is flagged)',
    input: doc([cmd('start'), cmd('a'), cmd('b'), cmd('c')], [edge('start', 'a'), edge('a', 'b'), edge('b', 'c'), edge('c', 'a')]),
    expected: [
      { code: 'cycle', nodeId: 'a' },
      { code: 'cycle', nodeId: 'b' },
      { code: 'cycle', nodeId: 'c' },
    ],
  },
  {
    name: 'a chain behind a cycle is unreachable, not part of the cycle',
    input: doc(
      [cmd('start'), cmd('a'), cmd('b'), cmd('after1'), cmd('after2')],
      [edge('start', 'a'), edge('a', 'b'), edge('b', 'a'), edge('b', 'after1'), edge('after1', 'after2')],
    ),
    expected: [
      { code: 'cycle', nodeId: 'a' },
      { code: 'cycle', nodeId: 'b' },
      { code: 'unreachable', nodeId: 'after1' },
      { code: 'unreachable', nodeId: 'after2' },
    ],
  },
  {
    name: 'a node between two cycles waits on them; it is not on a cycle',
    input: doc(
      [cmd('a'), cmd('b'), cmd('mid'), cmd('c'), cmd('d')],
      [edge('a', 'b'), edge('b', 'a'), edge('b', 'mid'), edge('mid', 'c'), edge('c', 'd'), edge('d', 'c')],
    ),
    expected: [
      { code: 'cycle', nodeId: 'a' },
      { code: 'cycle', nodeId: 'b' },
      { code: 'unreachable', nodeId: 'mid' },
      { code: 'cycle', nodeId: 'c' },
      { code: 'cycle', nodeId: 'd' },
    ],
  },
  {
    name: 'a command with an empty command',
    input: doc([cmd('a', '')]),
    expected: [{ code: 'invalid-config', nodeId: 'a', path: 'command' }],
  },
  {
    name: 'a config larger than the config limit',
    input: doc([
      cmd('a', 'true', { config: { command: 'true', env: Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`V${i}`, 'x'.repeat(8000)])) } }),
    ]),
    expected: [{ code: 'config-too-large', nodeId: 'a' }],
  },
  {
    name: 'a webhook signing with a worker variable that is not a webhook key',
    input: doc([node('hook', 'webhook', { url: 'https://example.com/', secretEnv: 'PIPEWRIGHT_ADMIN_PASSWORD' })]),
    expected: [{ code: 'invalid-config', nodeId: 'hook', path: 'secretEnv' }],
  },
  {
    name: 'a config nested deeper than the depth limit',
    input: doc([node('hook', 'webhook', { url: 'http://localhost/', body: nested(LIMITS.configDepth + 1) })]),
    expected: [{ code: 'config-too-large', nodeId: 'hook' }],
  },
  {
    name: 'a gate with no approvers',
    input: doc([cmd('build'), node('gate', 'approval', { users: [], groups: [] })], [edge('build', 'gate')]),
    expected: [{ code: 'gate-no-approvers', nodeId: 'gate', path: 'users' }],
  },
  {
    name: 'a quorum that can never be reached',
    input: doc([cmd('build'), node('gate', 'approval', { users: ['alan'], quorum: 2 })], [edge('build', 'gate')]),
    expected: [{ code: 'invalid-config', nodeId: 'gate', path: 'quorum' }],
  },
  {
    name: 'bad template syntax',
    input: doc([cmd('a', 'echo ${{ params.version + 1 }}')], [], { parameters: [{ name: 'version' }] }),
    expected: [{ code: 'bad-template', nodeId: 'a', path: 'command' }],
  },
  {
    name: 'an unclosed template',
    input: doc([cmd('a', 'echo ${{ params.version }')], [], { parameters: [{ name: 'version' }] }),
    expected: [{ code: 'bad-template', nodeId: 'a', path: 'command' }],
  },
  {
    name: 'an unknown parameter',
    input: doc([cmd('a', 'echo ${{ params.verison }}')], [], { parameters: [{ name: 'version' }] }),
    expected: [{ code: 'unknown-parameter', nodeId: 'a', path: 'command' }],
  },
  {
    name: 'an output of a stage that does not exist',
    input: doc([cmd('a'), cmd('b', 'echo ${{ stages.nope.outputs.image }}')], [edge('a', 'b')]),
    expected: [{ code: 'unknown-output', nodeId: 'b', path: 'command' }],
  },
  {
    name: 'an output name an http-check never produces',
    input: doc([node('smoke', 'http-check', { url: 'http://localhost/' }), cmd('b', 'echo ${{ stages.smoke.outputs.body }}')], [edge('smoke', 'b')]),
    expected: [{ code: 'unknown-output', nodeId: 'b', path: 'command' }],
  },
  {
    name: 'an output of a stage that does not run before',
    input: doc(
      [cmd('start'), cmd('left', 'echo "x=1" >> "$PIPEWRIGHT_OUTPUT"'), cmd('right', 'echo ${{ stages.left.outputs.x }}')],
      [edge('start', 'left'), edge('start', 'right')],
    ),
    expected: [{ code: 'output-not-upstream', nodeId: 'right', path: 'command' }],
  },
  {
    name: 'an output of a downstream stage',
    input: doc([cmd('a', 'echo ${{ stages.b.outputs.x }}'), cmd('b')], [edge('a', 'b')]),
    expected: [{ code: 'output-not-upstream', nodeId: 'a', path: 'command' }],
  },
  {
    name: 'a reference inside a nested config value',
    input: doc([node('hook', 'webhook', { url: 'http://localhost/', body: { text: ['ok', 'v${{ params.nope }}'] } })]),
    expected: [{ code: 'unknown-parameter', nodeId: 'hook', path: 'body.text[1]' }],
  },
  { name: 'no stages at all', input: doc([]), expected: [{ code: 'no-stages' }] },
  {
    name: 'a parameter declared twice',
    input: doc([cmd('a')], [], { parameters: [{ name: 'v' }, { name: 'v' }] }),
    expected: [{ code: 'duplicate-parameter' }],
  },
];

function nested(depth: number): unknown {
  let v: unknown = 'leaf';
  for (let i = 0; i < depth; i++) v = { child: v };
  return v;
}

describe('validatePipeline: each problem gives its code, on the right node or edge', () => {
  it.each(cases)('$name', ({ input, expected }) => {
    const result = validatePipeline(input);
    const errors = result.issues.filter((i) => i.severity === 'error');
    expect(errors.map(pick)).toEqual(expected.map(({ path: _path, ...rest }) => rest));
    for (const [i, e] of expected.entries()) {
      if (e.path !== undefined) expect(errors[i]!.path).toBe(e.path);
      expect(errors[i]!.message.length).toBeGreaterThan(0);
    }
    expect(result.ok).toBe(false);
  });
});

describe('validatePipeline: warnings and valid documents', () => {
  it('reports an isolated node as a warning only (the document stays ok)', () => {
    const result = validatePipeline(doc([cmd('a'), cmd('b'), cmd('alone')], [edge('a', 'b')]));
    expect(result.ok).toBe(true);
    expect(result.issues).toEqual([expect.objectContaining({ code: 'isolated', severity: 'warning', nodeId: 'alone' })]);
    expect(result.spec?.nodes.map((n) => n.id)).toEqual(['a', 'b', 'alone']);
  });

  it('does not call a single stage isolated', () => {
    const result = validatePipeline(doc([cmd('only')]));
    expect(result.issues).toEqual([]);
    expect(result.ok).toBe(true);
  });

  it('accepts a document using all five kinds, parameters, outputs and every edge condition', () => {
    const result = validatePipeline(
      doc(
        [
          cmd('build', 'echo "image=app:${{ params.version }}" >> "$PIPEWRIGHT_OUTPUT"', { retry: { maxAttempts: 2 }, timeoutSeconds: 600 }),
          node('smoke', 'http-check', { url: 'http://localhost:3000/health', jsonPath: 'status', jsonEquals: 'ok' }),
          node('gate', 'approval', { users: ['alan'], groups: ['approvers'], quorum: 2, instructions: 'Check ${{ stages.build.outputs.image }}' }),
          node('bake', 'wait', { seconds: 5 }),
          node('notify', 'webhook', {
            url: 'http://localhost/hook',
            body: { text: 'deployed ${{ stages.build.outputs.image }} (${{ stages.smoke.outputs.status }}), ${{ stages.gate.outputs.decidedBy }}' },
          }),
          cmd('deploy', 'deploy ${{ stages.build.outputs.image }} --attempts ${{ stages.smoke.outputs.attempts }}'),
          cmd('rollback', 'echo rollback ${{ params.version }}'),
        ],
        [
          edge('build', 'smoke'),
          edge('smoke', 'gate'),
          edge('gate', 'deploy'),
          edge('deploy', 'bake'),
          edge('deploy', 'rollback', 'failure'),
          edge('bake', 'notify', 'always'),
        ],
        {
          parameters: [{ name: 'version', type: 'string', required: true }],
          settings: { concurrency: 2, defaultRetry: { maxAttempts: 3 }, stageTimeoutSeconds: 900, runTimeoutSeconds: 86_400 },
        },
      ),
    );
    // References inside commands only draw the advice to read them as $PW_… variables.
    expect(result.issues.filter((i) => i.code !== 'template-in-command')).toEqual([]);
    expect(result.issues.map((i) => i.severity)).not.toContain('error');
    expect(result.ok).toBe(true);
    expect(result.spec?.settings.concurrency).toBe(2);
  });

  it('applies defaults when settings, parameters and edge conditions are left out', () => {
    const result = validatePipeline({ schemaVersion: 1, name: 'p', nodes: [cmd('a'), cmd('b')], edges: [{ id: 'e', from: 'a', to: 'b' }] });
    expect(result.ok).toBe(true);
    expect(result.spec?.edges[0]?.on).toBe('success');
    expect(result.spec?.parameters).toEqual([]);
    expect(result.spec?.settings).toEqual({ concurrency: 1, defaultRetry: {}, stageTimeoutSeconds: 3600, runTimeoutSeconds: 0 });
  });

  it('accepts exactly the node limit', () => {
    const nodes = Array.from({ length: LIMITS.maxNodes }, (_, i) => cmd(`n${i}`));
    const edges = nodes.slice(1).map((n, i) => edge(nodes[i]!.id, n.id));
    const result = validatePipeline(doc(nodes, edges));
    expect(result.issues).toEqual([]);
  });
});

/** mulberry32: a tiny seeded PRNG, so a failing fuzz case can be reproduced. */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('validatePipeline never throws', () => {
  it('returns issues for 500 random JSON-ish documents', () => {
    const rand = prng(20_250_101);
    const int = (n: number) => Math.floor(rand() * n);
    const chance = (p: number) => rand() < p;
    const oneOf = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
    const goodIds = ['a', 'b', 'c', 'd', 'e', 'constructor', '__proto__', 'toString'];
    const kinds = ['command', 'http-check', 'approval', 'wait', 'webhook', 'nope', '', 'toString'];
    const strings = ['', 'true', '${{ params.a }}', '${{ stages.a.outputs.x }}', '${{ stages.b.outputs.status }}', '${{ bad', '${{ }}', '${{ constructor }}', 'é'];

    const value = (depth: number): unknown => {
      switch (int(depth > 3 ? 4 : 7)) {
        case 0:
          return null;
        case 1:
          return oneOf([0, -1, 1.5, 1e308, Number.MAX_SAFE_INTEGER, 42]);
        case 2:
          return oneOf(strings);
        case 3:
          return chance(0.5);
        case 4:
          return Array.from({ length: int(4) }, () => value(depth + 1));
        default:
          return Object.fromEntries(Array.from({ length: int(4) }, () => [oneOf([...goodIds, 'command', 'url', 'users', 'seconds']), value(depth + 1)]));
      }
    };
    /** Per document: how often a field gets a random value instead of one of the right shape. */
    let noise = 0.2;
    const maybe = <T>(make: () => T): T | unknown => (chance(noise) ? value(2) : make());
    const id = () => (chance(noise) ? oneOf(['', '1x', 'a b', 'x'.repeat(65)]) : oneOf(goodIds));
    const randomNode = () => {
      const n: Record<string, unknown> = {};
      if (!chance(noise)) n.id = maybe(id);
      if (!chance(noise)) n.kind = maybe(() => oneOf(kinds));
      if (!chance(noise)) n.name = maybe(() => (chance(noise) ? oneOf(['', 'x'.repeat(200)]) : 'stage'));
      if (chance(0.9)) {
        n.config = maybe(() => ({
          command: oneOf(strings),
          url: oneOf(['http://localhost/', '', '${{ params.a }}']),
          users: chance(0.5) ? [oneOf(goodIds)] : [],
          groups: chance(0.3) ? ['g'] : [],
          quorum: int(4),
          seconds: int(3),
          body: value(1),
        }));
      }
      if (chance(0.3)) n.position = maybe(() => ({ x: int(100), y: int(100) }));
      if (chance(0.2)) n.retry = maybe(() => ({ maxAttempts: int(30), initialIntervalSeconds: int(5) }));
      if (chance(noise)) n.timeoutSeconds = value(1);
      return n;
    };
    const randomEdge = () => {
      const e: Record<string, unknown> = {};
      if (!chance(noise)) e.id = maybe(() => `e${int(6)}`);
      if (!chance(noise)) e.from = maybe(id);
      if (!chance(noise)) e.to = maybe(id);
      if (chance(0.5)) e.on = maybe(() => (chance(noise) ? 'sometimes' : oneOf(['success', 'failure', 'always'])));
      return e;
    };
    const randomDocument = (): unknown => {
      if (chance(0.15)) return value(0);
      noise = oneOf([0, 0, 0.02, 0.2]);
      const d: Record<string, unknown> = {};
      if (!chance(noise)) d.schemaVersion = maybe(() => 1);
      if (!chance(noise)) d.name = maybe(() => 'fuzz');
      if (!chance(noise)) d.nodes = maybe(() => Array.from({ length: int(8) }, randomNode));
      if (!chance(noise)) d.edges = maybe(() => Array.from({ length: int(10) }, randomEdge));
      if (chance(0.3)) d.parameters = maybe(() => Array.from({ length: int(3) }, () => ({ name: oneOf(['a', 'b', 'version']), default: chance(noise) ? value(3) : oneOf(['x', 1, true]) })));
      if (chance(0.3)) d.settings = maybe(() => ({ concurrency: 1 + int(100), defaultRetry: chance(noise) ? value(2) : { maxAttempts: 1 + int(5) } }));
      return d;
    };

    const seen = new Set<IssueCode>();
    let shaped = 0;
    for (let i = 0; i < 500; i++) {
      const input = randomDocument();
      let result: ReturnType<typeof validatePipeline> | undefined;
      expect(() => {
        result = validatePipeline(input);
      }, `case ${i}: ${JSON.stringify(input)}`).not.toThrow();
      expect(Array.isArray(result!.issues)).toBe(true);
      expect(result!.ok).toBe(!result!.issues.some((x) => x.severity === 'error'));
      for (const issue of result!.issues) seen.add(issue.code);
      if (result!.spec) shaped++;
    }
    // The generator reaches past the shape check into the semantic checks.
    expect(seen.has('not-an-object')).toBe(true);
    expect(seen.has('schema')).toBe(true);
    expect([...seen].filter((c) => !['not-an-object', 'schema'].includes(c)).length).toBeGreaterThan(8);
    expect(shaped).toBeGreaterThan(100);
  });

  it('survives values JSON cannot serialise', () => {
    const cyclic: Record<string, unknown> = { schemaVersion: 1, name: 'c', nodes: [], edges: [] };
    cyclic.self = cyclic;
    expect(validatePipeline(cyclic).issues.map((i) => i.code)).toEqual(['too-large']);
    expect(validatePipeline({ schemaVersion: 1, name: 'b', nodes: [{ id: 'a', kind: 'command', name: 'a', config: { command: 'x', n: 1n } }], edges: [] }).ok).toBe(false);
  });

  it('gives a config nested thousands of levels deep the same issue as one just over the limit, and no spec to save', () => {
    const issueAt = (depth: number) => {
      let deep: unknown = '${{ params.x }}';
      for (let i = 0; i < depth; i++) deep = i % 2 ? [deep] : { a: deep };
      return validatePipeline(doc([node('hook', 'webhook', { url: 'http://localhost/', body: deep })]));
    };
    const justOver = issueAt(70);
    expect(justOver.spec).toBeUndefined();
    expect(justOver.issues).toEqual([
      expect.objectContaining({ code: 'config-too-large', nodeId: 'hook', message: `configuration of "hook" is nested deeper than ${LIMITS.configDepth} levels` }),
    ]);
    for (const depth of [1_000, 10_000, 100_000]) {
      const r = issueAt(depth);
      expect(r.spec).toBeUndefined();
      expect(r.issues).toEqual(justOver.issues);
    }
    // Up to the limit it is an ordinary config.
    expect(issueAt(LIMITS.configDepth - 1).issues.filter((i) => i.code === 'config-too-large')).toEqual([]);
  });

  it('says where a document is nested too deeply outside any stage config', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 10_000; i++) deep = { x: deep };
    const r = validatePipeline({ ...doc([cmd('a')]), parameters: [{ name: 'p', default: deep }] });
    expect(r.spec).toBeUndefined();
    expect(r.issues).toEqual([expect.objectContaining({ code: 'too-large', message: expect.stringMatching(/nested deeper than \d+ levels \(at parameters\[0\]\.default\.x/) })]);
  });
});
