import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { importPipelineFile, MAX_IMPORT_BYTES, previewImport } from '../../../workflows/model/import';
import { validatePipeline } from '../../../workflows/model';

const sample = (name: string) => readFileSync(new URL(`../../fixtures/import/samples/${name}`, import.meta.url), 'utf8');

function imported(text: string, opts = {}) {
  const r = importPipelineFile(text, opts);
  if (!r.ok) throw new Error(`refused: ${r.error}`);
  const v = validatePipeline(r.spec);
  expect(v.issues.filter((i) => i.severity === 'error')).toEqual([]);
  return { ...r, spec: v.spec! };
}
const edgesOf = (spec: { edges: { from: string; to: string; on: string }[] }) => spec.edges.map((e) => `${e.from}-${e.on}->${e.to}`).sort();

describe('GitHub Actions import', () => {
  it('maps jobs, needs, matrix fan-out, failure edges, environment, inputs, outputs and push triggers', () => {
    const { spec, report, format } = imported(sample('github-matrix-outputs.yml'));
    expect(format).toBe('github-actions');
    expect(spec.nodes.map((n) => n.id)).toEqual(['build', 'build-2', 'build-3', 'deploy', 'notify']);
    expect(edgesOf(spec)).toEqual(['build-2-success->deploy', 'build-3-success->deploy', 'build-success->deploy', 'deploy-failure->notify']);
    expect(spec.nodes.find((n) => n.id === 'deploy')!.environment).toBe('production');
    expect(spec.parameters.map((p) => [p.name, p.type, p.required])).toEqual([
      ['version', 'string', true],
      ['dry', 'boolean', false],
    ]);
    const build = spec.nodes[0]!.config as { command: string; env: Record<string, string> };
    // Inputs become parameter variables, never spliced values; matrix values travel in the environment.
    expect(build.command).toContain('${PW_PARAM_version}');
    expect(build.command).not.toContain('${{');
    expect(build.env).toEqual({ MATRIX_node: '18', MATRIX_os: 'a' });
    expect((spec.nodes[3]!.config as { command: string }).command).toContain('${PW_OUTPUT_build_image}');
    expect(build.command).toContain(`sed 's/^tag=/image=/'`);
    expect(report.triggers).toEqual([{ kind: 'webhook', branches: ['main'], tags: [], line: 3 }]);
    expect(report.environments).toEqual([{ name: 'production', source: 'Production', protected: true, line: 31 }]);
    expect(report.notCarried).toContainEqual(expect.objectContaining({ construct: 'uses: actions/checkout@v4', line: 26 }));
    expect(report.mapped.find((m) => m.source === 'job build')!.nodeIds).toHaveLength(3);
  });

  it('caps a large matrix with a clear message', () => {
    const text = `on: push\njobs:\n  t:\n    runs-on: x\n    strategy:\n      matrix:\n        a: [1,2,3,4,5]\n        b: [1,2,3,4,5]\n    steps:\n      - run: echo hi\n`;
    const { spec, report } = imported(text);
    expect(spec.nodes).toHaveLength(16);
    expect(report.warnings.map((w) => w.message).join('\n')).toMatch(/25 combinations; the first 16 became parallel stages, the other 9 were left out/);
  });

  it('expands a reusable workflow supplied alongside, and reports one that is not', () => {
    const caller = `on: push\njobs:\n  build:\n    runs-on: x\n    steps: [{ run: make }]\n  release:\n    needs: build\n    uses: ./.github/workflows/release.yml\n  after:\n    needs: release\n    runs-on: x\n    steps: [{ run: echo done }]\n`;
    const called = `on: workflow_call\njobs:\n  pack:\n    runs-on: x\n    steps: [{ run: echo pack }]\n  publish:\n    needs: pack\n    runs-on: x\n    steps: [{ run: echo publish }]\n`;
    const expanded = imported(caller, { supplied: { './.github/workflows/release.yml': called } });
    expect(expanded.spec.nodes.map((n) => n.id)).toEqual(['build', 'release-pack', 'release-publish', 'after']);
    expect(edgesOf(expanded.spec)).toEqual(['build-success->release-pack', 'release-pack-success->release-publish', 'release-publish-success->after']);
    const alone = imported(caller);
    expect(alone.spec.nodes.map((n) => n.id)).toEqual(['build', 'release', 'after']);
    expect(alone.report.notCarried).toContainEqual(expect.objectContaining({ construct: 'uses: ./.github/workflows/release.yml', line: 8 }));
  });

  it('maps always() and keeps other conditions as notes', () => {
    const text = `on: push\njobs:\n  a:\n    runs-on: x\n    steps: [{ run: echo a }]\n  b:\n    needs: a\n    if: always()\n    runs-on: x\n    steps: [{ run: echo b }]\n  c:\n    needs: a\n    if: github.ref == 'refs/heads/main'\n    runs-on: x\n    steps: [{ run: echo c }]\n`;
    const { spec, report } = imported(text);
    expect(edgesOf(spec)).toEqual(['a-always->b', 'a-success->c']);
    expect(spec.nodes[2]!.description).toContain("if: github.ref == 'refs/heads/main'");
    expect(report.warnings.some((w) => w.line === 13)).toBe(true);
  });

  it('turns dispatch inputs of every type into parameters', () => {
    const text = `on:\n  workflow_dispatch:\n    inputs:\n      env:\n        type: environment\n      level:\n        type: choice\n        options: [a, b]\n        default: a\n      n:\n        type: number\n        default: 3\njobs:\n  x:\n    runs-on: y\n    timeout-minutes: 5\n    steps: [{ run: 'echo "\${{ github.event.inputs.level }}"' }]\n`;
    const { spec } = imported(text);
    expect(spec.parameters.map((p) => [p.name, p.type, p.default])).toEqual([
      ['env', 'string', undefined],
      ['level', 'string', 'a'],
      ['n', 'number', 3],
    ]);
    expect(spec.nodes[0]!.timeoutSeconds).toBe(300);
    expect((spec.nodes[0]!.config as { command: string }).command).toContain('echo "${PW_PARAM_level}"');
  });
});

describe('GitLab CI import', () => {
  it('orders by stages, honours needs, resolves anchors, extends and !reference, fans out parallel:matrix and gates manual jobs', () => {
    const { spec, report } = imported(sample('gitlab-stages-manual.yml'));
    expect(spec.nodes.map((n) => `${n.id}:${n.kind}`)).toEqual(['build:command', 'test:command', 'test-2:command', 'lint:command', 'deploy:command', 'approve-deploy:approval', 'cleanup:command']);
    expect(edgesOf(spec)).toEqual([
      'approve-deploy-success->deploy',
      'build-success->test',
      'build-success->test-2',
      'lint-failure->cleanup',
      'lint-success->approve-deploy',
      'test-2-failure->cleanup',
      'test-2-success->approve-deploy',
      'test-failure->cleanup',
      'test-success->approve-deploy',
    ]);
    const cmd = (id: string) => (spec.nodes.find((n) => n.id === id)!.config as { command: string; env: Record<string, string> });
    expect(cmd('build').command).toContain('echo setup'); // merge key from the anchor
    expect(cmd('test').command).toContain('echo from template'); // extends
    expect(cmd('lint').command).toContain('echo from template'); // !reference
    expect(cmd('test-2').env.PY).toBe('3.11');
    expect(spec.nodes.find((n) => n.id === 'deploy')!.environment).toBe('production');
    expect(report.warnings.some((w) => w.message.includes('CI_COMMIT_SHA'))).toBe(true);
  });

  it('reports include: and refuses a file without jobs', () => {
    const { report } = imported(`include:\n  - local: ci/other.yml\nbuild:\n  script: make\n`);
    expect(report.notCarried[0]).toMatchObject({ construct: 'include: local: ci/other.yml', line: 1 });
    const r = importPipelineFile(`stages: [build]\n.hidden:\n  script: x\n`);
    expect(r.ok).toBe(false);
  });
});

describe('Spinnaker import', () => {
  it('maps refIds to edges, manual judgment to a gate, wait, webhook, deployManifest and placeholders', () => {
    const { spec, report } = imported(sample('spinnaker-judgment.json'));
    expect(spec.name).toBe('Deploy to prod');
    expect(spec.nodes.map((n) => `${n.id}:${n.kind}`)).toEqual(['Check:command', 'Go_to_prod_:approval', 'Bake:wait', 'Notify:webhook', 'Deploy:k8s-apply']);
    expect(edgesOf(spec)).toEqual(['Bake-success->Deploy', 'Check-success->Go_to_prod_', 'Go_to_prod_-success->Bake', 'Go_to_prod_-success->Notify', 'Notify-success->Deploy']);
    expect(spec.parameters.map((p) => p.name)).toEqual(['tag', 'region']);
    expect((spec.nodes[3]!.config as { body: { text: string } }).body.text).toBe('deploying ${{ params.tag }}');
    expect(report.notCarried).toContainEqual(expect.objectContaining({ construct: 'stage Check (checkPreconditions)', line: 10 }));
    expect(report.notCarried).toContainEqual(expect.objectContaining({ construct: 'trigger docker' }));
  });
});

describe('refusals', () => {
  it('refuses malformed YAML with its line', () => {
    const r = importPipelineFile('jobs:\n  build:\n    steps: [\n  - run: x\n');
    expect(r).toMatchObject({ ok: false });
    expect(!r.ok && r.error).toMatch(/not valid YAML/);
  });

  it('refuses a YAML alias bomb without expanding it', () => {
    const lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 0; i < 9; i++) lines.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9).fill(`*${String.fromCharCode(97 + i)}`).join(',')}]`);
    lines.push('jobs:\n  x:\n    runs-on: y\n    steps: [{ run: echo }]');
    const r = importPipelineFile(lines.join('\n'));
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toMatch(/YAML bomb/);
  });

  it('refuses a 5 MB file and a binary file', () => {
    const big = importPipelineFile(`jobs:\n${'#'.repeat(5_000_000)}\n`);
    expect(big).toMatchObject({ ok: false });
    expect(!big.ok && big.error).toMatch(/5\.0 MB; files up to 1\.0 MB/);
    expect(MAX_IMPORT_BYTES).toBe(1_000_000);
    const binary = importPipelineFile(String.fromCharCode(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13));
    expect(!binary.ok && binary.error).toMatch(/not a text file/);
  });

  it('refuses a file of another kind', () => {
    const r = importPipelineFile('name: hello\nversion: 3\n');
    expect(!r.ok && r.error).toMatch(/not a GitHub Actions workflow/);
  });

  it('previews with the validator: environments that do not exist yet are issues', () => {
    const r = previewImport(sample('github-matrix-outputs.yml'), { environments: ['staging'] });
    expect(r.ok && r.issues.some((i) => i.nodeId === 'deploy')).toBe(true);
  });
});
