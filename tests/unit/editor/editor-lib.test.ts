import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { layoutPositions, needsLayout } from '@/app/editor/layout';
import { applySuggestion, ancestorsOf, completionContext, filterSuggestions, outputsOf, suggestionsFor } from '@/app/editor/references';
import { fieldsFor, humanize } from '@/app/editor/schema-fields';
import { readSpecText, specToText } from '@/app/editor/spec-text';
import { comparisonSpec, createFlowCache, diffMaps, groupIssues, type Overlays } from '@/app/editor/view-model';
import { STAGE_DEFINITIONS, validatePipeline, type PipelineSpec } from '@/workflows/model';
import { diffSpecs } from '@/workflows/model/diff';
import { getTemplate } from '@/workflows/model/templates';

const release = getTemplate('release')!.spec;

describe('forms from the stage kinds’ zod schemas', () => {
  it('has a field for every property of every registered kind, none of them raw JSON except free-form values', () => {
    for (const def of STAGE_DEFINITIONS) {
      const fields = fieldsFor(def.configSchema);
      const shape = (def.configSchema as unknown as z.ZodObject).shape;
      expect(fields.map((f) => f.key).sort(), def.kind).toEqual(Object.keys(shape).sort());
      for (const f of fields) if (f.type === 'json') expect(`${def.kind}.${f.key}`).toBe('webhook.body');
    }
  });

  it('knows types, defaults, requiredness, bounds and help text', () => {
    const http = Object.fromEntries(fieldsFor(STAGE_DEFINITIONS.find((d) => d.kind === 'http-check')!.configSchema).map((f) => [f.key, f]));
    expect(http.url).toMatchObject({ type: 'text', required: true, label: 'URL', help: expect.stringContaining('smoke test') });
    expect(http.method).toMatchObject({ type: 'choice', options: ['GET', 'HEAD', 'POST'], default: 'GET', required: false });
    expect(http.expectStatus).toMatchObject({ type: 'number', integer: true, min: 100, max: 599, default: 200 });
    expect(http.headers).toMatchObject({ type: 'key-value' });
    expect(http.dependencies).toMatchObject({ type: 'object-list' });
    const approval = Object.fromEntries(fieldsFor(STAGE_DEFINITIONS.find((d) => d.kind === 'approval')!.configSchema).map((f) => [f.key, f]));
    expect(approval.groups).toMatchObject({ type: 'text-list' });
    expect(approval.allowTriggerer).toMatchObject({ type: 'boolean', default: true });
    expect(approval.instructions).toMatchObject({ type: 'text', multiline: true });
  });

  it('turns discriminated unions into a choice of variants with their own fields', () => {
    const schema = z.object({
      strategy: z.discriminatedUnion('type', [z.object({ type: z.literal('rolling') }), z.object({ type: z.literal('canary'), steps: z.array(z.number()).describe('Weights') })]),
    });
    const [strategy] = fieldsFor(schema);
    expect(strategy).toMatchObject({ type: 'variant', discriminator: 'type' });
    if (strategy?.type !== 'variant') throw new Error('not a variant');
    expect(strategy.variants.map((v) => v.value)).toEqual(['rolling', 'canary']);
    expect(strategy.variants[1]!.fields).toEqual([expect.objectContaining({ key: 'steps', type: 'json', help: 'Weights' })]);
  });

  it('humanizes keys', () => {
    expect(humanize('jsonPath')).toBe('JSON path');
    expect(humanize('requestTimeoutSeconds')).toBe('Request timeout seconds');
    expect(humanize('cwd')).toBe('Working directory');
  });
});

describe('YAML and JSON text', () => {
  it('round-trips every template through YAML and JSON unchanged', () => {
    for (const format of ['yaml', 'json'] as const) {
      const text = specToText(release, format);
      const back = readSpecText(text, format);
      expect(back.ok).toBe(true);
      if (back.ok) expect(back.spec).toEqual(release);
    }
    expect(specToText(release, 'yaml')).toContain('position: { x: 0, y: ');
  });

  it('refuses text that cannot be read or has the wrong shape, with where and why', () => {
    const bad = readSpecText('nodes: [oops\n  - : :', 'yaml');
    expect(bad).toMatchObject({ ok: false, error: expect.stringMatching(/^YAML: /) });
    const shape = readSpecText('schemaVersion: 1\nname: x\nnodes: 5\nedges: []\n', 'yaml');
    expect(shape.ok).toBe(false);
    expect(shape.issues[0]?.message).toContain('nodes');
    expect(readSpecText('', 'yaml').ok).toBe(false);
  });

  it('refuses a document nested 10,000 levels deep with the same issue as 70 levels, so it never becomes a draft', () => {
    const json = (depth: number) =>
      `{"schemaVersion":1,"name":"deep","nodes":[{"id":"a","kind":"webhook","name":"A","config":{"url":"http://localhost/","body":${'{"x":'.repeat(depth)}1${'}'.repeat(depth)}}}],"edges":[]}`;
    const justOver = readSpecText(json(70), 'json');
    expect(justOver).toMatchObject({ ok: false, issues: [{ code: 'config-too-large', nodeId: 'a' }] });
    const deep = readSpecText(json(10_000), 'json');
    expect(deep).toEqual(justOver);
    const yaml = readSpecText(`name: deep\nnodes:\n  - { id: a, kind: webhook, name: A, config: { url: "http://localhost/", body: ${'{ x: '.repeat(10_000)}1${' }'.repeat(10_000)} } }\nedges: []\n`, 'yaml');
    expect(yaml).toMatchObject({ ok: false, error: expect.stringMatching(/^YAML: the document is nested too deeply/) });
  });

  it('accepts a draft with semantic problems, and a document without schemaVersion or positions', () => {
    const r = readSpecText('name: x\nnodes:\n  - { id: a, kind: command, name: A, config: {} }\n  - { id: b, kind: command, name: B, config: { command: ls } }\nedges: []\n');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.issues.some((i) => i.code === 'invalid-config')).toBe(true);
    expect(needsLayout(r.spec)).toBe(true);
    expect(needsLayout(release)).toBe(false);
  });
});

describe('references offered in ${{ … }}', () => {
  it('offers the parameters and the outputs of upstream stages only', () => {
    const exprs = suggestionsFor(release, 'deploy-staging').map((s) => s.expr);
    expect(exprs).toContain('params.version');
    expect(exprs).toContain('stages.commit.outputs.artifact'); // read from the commit script
    expect(exprs).toContain('stages.qa.outputs.decision'); // declared by the approval kind
    expect(exprs).not.toContain('stages.smoke-staging.outputs.status'); // downstream
    expect(ancestorsOf(release, 'commit').size).toBe(0);
    expect(outputsOf(release.nodes[0]!)).toEqual(['artifact']);
  });

  it('finds an unfinished reference at the caret and completes it', () => {
    const text = 'echo ${{ par';
    const ctx = completionContext(text, text.length)!;
    expect(ctx).toEqual({ start: 5, query: 'par' });
    expect(applySuggestion(text, text.length, ctx, 'params.version')).toEqual({ text: 'echo ${{ params.version }}', caret: 26 });
    expect(applySuggestion('a ${{ p }} b', 7, { start: 2 }, 'params.x').text).toBe('a ${{ params.x }} b');
    expect(completionContext('echo ${{ params.x }} done', 24)).toBeNull();
    expect(filterSuggestions(suggestionsFor(release, 'rollback'), 'artif').map((s) => s.expr)).toEqual(['stages.commit.outputs.artifact']);
  });
});

describe('canvas view model', () => {
  const overlays = (over: Partial<Overlays> = {}): Overlays => ({
    selectedNodes: new Set(),
    selectedEdges: new Set(),
    measured: new Map(),
    issuesByNode: new Map(),
    issuesByEdge: new Map(),
    readOnly: false,
    ...over,
  });

  it('keeps the objects of unchanged stages between renders (one new object per edit)', () => {
    const cache = createFlowCache();
    const first = cache.flowNodes(release, overlays());
    expect(cache.flowNodes(release, overlays())).toBe(first);
    const moved: PipelineSpec = { ...release, nodes: release.nodes.map((n, i) => (i === 2 ? { ...n, position: { x: 1, y: 1 } } : n)) };
    const second = cache.flowNodes(moved, overlays());
    expect(second).not.toBe(first);
    expect(second.filter((n, i) => n !== first[i]).map((n) => n.id)).toEqual(['qa']);
    const selected = cache.flowNodes(moved, overlays({ selectedNodes: new Set(['commit']) }));
    expect(selected.filter((n, i) => n !== second[i]).map((n) => n.id)).toEqual(['commit']);
    expect(selected[0]!.selected).toBe(true);
  });

  it('paints issues, labels stages and connections for screen readers', () => {
    const broken: PipelineSpec = { ...release, nodes: release.nodes.map((n) => (n.id === 'qa' ? { ...n, config: {} } : n)) };
    const { byNode, byEdge } = groupIssues(validatePipeline(broken).issues);
    const cache = createFlowCache();
    const qa = cache.flowNodes(broken, overlays({ issuesByNode: byNode, issuesByEdge: byEdge })).find((n) => n.id === 'qa')!;
    expect(qa.data.issues?.errors).toBe(1);
    expect(qa.ariaLabel).toBe('QA gate, Manual approval stage, 1 error');
    const edge = cache.flowEdges(broken, overlays()).find((e) => e.id === 'smoke-production-rollback')!;
    expect(edge.ariaLabel).toBe('Connection from Smoke test production to Roll back production, runs on failure');
  });

  it('shows removed stages and connections of a comparison beside the newer version', () => {
    const after: PipelineSpec = { ...release, nodes: release.nodes.filter((n) => n.id !== 'rollback'), edges: release.edges.filter((e) => e.to !== 'rollback') };
    const diff = diffSpecs(release, after);
    const shown = comparisonSpec(release, after, diff);
    expect(shown.nodes.map((n) => n.id)).toContain('rollback');
    // The canvas looks statuses up by the ids of the graph it shows.
    const maps = diffMaps(diff, shown);
    expect(maps.nodes.get('rollback')).toBe('removed');
    expect(shown.edges.map((e) => e.id)).toContain('smoke-production-rollback');
    expect(maps.edges.get('smoke-production-rollback')).toBe('removed');
    const cache = createFlowCache();
    const painted = cache.flowEdges(shown, overlays({ diffByNode: maps.nodes, diffByEdge: maps.edges }));
    expect(painted.find((e) => e.id === 'smoke-production-rollback')!.data!.diff).toBe('removed');
  });

  it('marks a removed connection whose id a newer connection took under its own canvas id', () => {
    const reused = release.edges.find((e) => e.id === 'smoke-production-rollback')!;
    const after: PipelineSpec = {
      ...release,
      edges: release.edges.map((e) => (e.id === reused.id ? { ...e, from: 'commit', on: 'always' as const } : e)),
    };
    const diff = diffSpecs(release, after);
    const shown = comparisonSpec(release, after, diff);
    const maps = diffMaps(diff, shown);
    expect(maps.edges.get(`${reused.id}~removed`)).toBe('removed');
    expect(maps.edges.get(reused.id)).toBe('added');
  });
});

describe('auto-layout (ELK)', () => {
  it('lays stages out left to right, on the grid, the same way every time', async () => {
    const a = await layoutPositions(release);
    const b = await layoutPositions(release);
    expect([...a]).toEqual([...b]);
    for (const e of release.edges) expect(a.get(e.to)!.x).toBeGreaterThan(a.get(e.from)!.x);
    for (const p of a.values()) {
      expect(p.x % 20).toBe(0);
      expect(p.y % 20).toBe(0);
    }
  });
});
