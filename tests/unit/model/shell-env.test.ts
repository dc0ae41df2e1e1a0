import { describe, expect, it } from 'vitest';
import {
  EnvironmentRefError,
  parseTemplate,
  resolveStageConfig,
  resolveStageEnvironmentRefs,
  scanTemplates,
  shellTokens,
  shellVariableNames,
  validatePipeline,
  type EnvironmentScope,
  type TemplateRef,
  type TemplateScope,
} from '@/workflows/model';
import { remapOutputRefs } from '@/app/editor/clipboard';
import { applySuggestion, completionContext } from '@/app/editor/references';
import { examplePipelines, releaseTrainPipeline } from '@/db/seed';
import { getTemplate } from '@/workflows/model/templates';

const ref = (kind: 'param' | 'env' | 'secret', name: string): TemplateRef => ({ kind, name, raw: '' });
const out = (stageId: string, name: string): TemplateRef => ({ kind: 'output', stageId, name, raw: '' });

describe('shell variable names', () => {
  it('prefixes each kind and writes characters outside [A-Za-z0-9_] as _', () => {
    const names = shellVariableNames([ref('param', 'branch'), ref('param', 'image-tag'), out('build-app', 'artifact.app.digest'), ref('env', 'REGION'), ref('secret', 'TOKEN')]);
    expect([...names.values()].sort()).toEqual(['PW_ENV_REGION', 'PW_OUTPUT_build_app_artifact_app_digest', 'PW_PARAM_branch', 'PW_PARAM_image_tag', 'PW_SECRET_TOKEN']);
  });

  it('tells colliding names apart the same way whatever the order: the exact spelling keeps the name', () => {
    const a = shellVariableNames([ref('param', 'my-ver'), ref('param', 'my_ver'), ref('param', 'my.ver' as string)]);
    const b = shellVariableNames([ref('param', 'my.ver'), ref('param', 'my_ver'), ref('param', 'my-ver')]);
    expect(Object.fromEntries(a)).toEqual(Object.fromEntries(b));
    expect(a.get('param\u0000my_ver')).toBe('PW_PARAM_my_ver');
    expect(new Set(a.values()).size).toBe(3);
    // Output names that split differently (stage a_b output c, stage a output b_c) get distinct variables too.
    const outputs = shellVariableNames([out('a_b', 'c'), out('a', 'b_c')]);
    expect(new Set(outputs.values())).toEqual(new Set(['PW_OUTPUT_a_b_c', 'PW_OUTPUT_a_b_c_2']));
  });

  it('finds whole PW_ identifiers only', () => {
    expect([...shellTokens('echo "$PW_PARAM_branch" ${PW_OUTPUT_build_image}x $XPW_PARAM_no PW_SECRET_T1')]).toEqual(['PW_PARAM_branch', 'PW_OUTPUT_build_image', 'PW_SECRET_T1']);
  });
});

describe('resolveStageConfig (interpreter)', () => {
  const scope: TemplateScope = {
    params: { branch: 'probe-$(id${IFS}-u)', 'image-tag': '`whoami`', unused: 'x' },
    outputs: { build: { image: "app'; rm -rf / #" } },
  };

  it('never splices a value into a command: references become expansions and values go to the environment', () => {
    const config = resolveStageConfig('command', { command: 'echo "building ${{ params.branch }} ${{ params.image-tag }} ${{ stages.build.outputs.image }}"', env: { KEEP: '1' } }, scope);
    expect(config.command).toBe('echo "building ${PW_PARAM_branch} ${PW_PARAM_image_tag} ${PW_OUTPUT_build_image}"');
    expect(config.env).toEqual({ KEEP: '1', PW_PARAM_branch: 'probe-$(id${IFS}-u)', PW_PARAM_image_tag: '`whoami`', PW_OUTPUT_build_image: "app'; rm -rf / #" });
  });

  it('passes a variable written directly, and only the ones written', () => {
    const config = resolveStageConfig('command', { command: 'echo "$PW_PARAM_branch" "$PW_OUTPUT_build_image"', env: {} }, scope);
    expect(config.command).toBe('echo "$PW_PARAM_branch" "$PW_OUTPUT_build_image"');
    expect(config.env).toEqual({ PW_PARAM_branch: 'probe-$(id${IFS}-u)', PW_OUTPUT_build_image: "app'; rm -rf / #" });
  });

  it('keeps plain substitution in fields no shell runs (env values, other kinds)', () => {
    const config = resolveStageConfig('command', { command: 'true', env: { BRANCH: '${{ params.branch }}' } }, scope);
    expect(config.env).toEqual({ BRANCH: 'probe-$(id${IFS}-u)' });
    expect(resolveStageConfig('http-check', { url: 'https://x/${{ params.unused }}' }, scope)).toEqual({ url: 'https://x/x' });
  });
});

describe('resolveStageEnvironmentRefs (worker)', () => {
  const env: EnvironmentScope = { name: 'prod', variables: { REGION: 'eu; id' }, secrets: { TOKEN: 's3cr$(et)' } };

  it('passes secrets and variables in a command as environment variables, and substitutes them elsewhere', () => {
    const drawn = { command: 'deploy --region "${{ env.REGION }}" --token "${{ secrets.TOKEN }}" "$PW_SECRET_TOKEN"', env: { T: '${{ secrets.TOKEN }}' } };
    const config = resolveStageEnvironmentRefs('command', drawn, drawn, env);
    expect(config.command).toBe('deploy --region "${PW_ENV_REGION}" --token "${PW_SECRET_TOKEN}" "$PW_SECRET_TOKEN"');
    expect(config.env).toEqual({ T: 's3cr$(et)', PW_ENV_REGION: 'eu; id', PW_SECRET_TOKEN: 's3cr$(et)' });
  });

  it('leaves values the interpreter passed untouched, even when they look like references', () => {
    const drawn = { command: 'echo "${{ params.branch }}"', env: {} };
    const resolved = resolveStageConfig('command', drawn, { params: { branch: '${{secrets.TOKEN}}' }, outputs: {} });
    const config = resolveStageEnvironmentRefs('command', resolved, drawn, env);
    expect(config.env).toEqual({ PW_PARAM_branch: '${{secrets.TOKEN}}' });
  });

  it('names a missing secret written as a variable', () => {
    const drawn = { command: 'echo "$PW_SECRET_NOPE"', env: {} };
    expect(() => resolveStageEnvironmentRefs('command', drawn, drawn, env)).toThrow(EnvironmentRefError);
  });
});

describe('editor autocomplete in a command', () => {
  it('inserts the variable that carries the value instead of ${{ }}', () => {
    const text = 'echo "testing ${{ par';
    const ctx = completionContext(text, text.length)!;
    expect(applySuggestion(text, text.length, ctx, 'params.image-tag', { asVariable: true }).text).toBe('echo "testing $PW_PARAM_image_tag');
    expect(applySuggestion(text, text.length, ctx, 'stages.build.outputs.image', { asVariable: true }).text).toBe('echo "testing $PW_OUTPUT_build_image');
    expect(applySuggestion(text, text.length, ctx, 'params.v').text).toBe('echo "testing ${{ params.v }}');
  });
});

describe('renaming a stage in the editor', () => {
  it('follows $PW_OUTPUT_<stage>_… variables as well as ${{ }} references, preferring the longest stage id', () => {
    const config = { command: 'echo "$PW_OUTPUT_build_image ${PW_OUTPUT_build_x_y} $PW_OUTPUT_build_x_z $XPW_OUTPUT_build_no ${{ stages.build.outputs.image }}"' };
    const renamed = remapOutputRefs(config, new Map([['build', 'compile-app'], ['build_x', 'bx']]));
    expect(renamed.command).toBe('echo "$PW_OUTPUT_compile_app_image ${PW_OUTPUT_bx_y} $PW_OUTPUT_bx_z $XPW_OUTPUT_build_no ${{ stages.compile-app.outputs.image }}"');
  });
});

describe('validator: references inside a command', () => {
  it('warns (without blocking the run) and names the variable to write', () => {
    const spec = structuredClone(getTemplate('release')!.spec);
    spec.nodes[0]!.config = { command: 'echo "${{ params.version }}"' };
    const result = validatePipeline(spec);
    expect(result.ok).toBe(true);
    const warning = result.issues.find((i) => i.code === 'template-in-command');
    expect(warning?.severity).toBe('warning');
    expect(warning?.message).toContain('"$PW_PARAM_version"');
    expect(warning?.message).toContain('single quotes');
  });

  it('warns about a $PW_ variable that names no parameter or stage output', () => {
    const spec = structuredClone(getTemplate('release')!.spec);
    spec.nodes[1]!.config = { command: 'echo "$PW_PARAM_versoin $PW_OUTPUT_comit_artifact $PW_PARAM_version $PW_OUTPUT_commit_artifact $PW_ENV_ANY"' };
    const result = validatePipeline(spec);
    expect(result.ok).toBe(true);
    expect(result.issues.filter((i) => i.code === 'unknown-shell-variable').map((i) => i.message)).toEqual([
      expect.stringContaining('$PW_PARAM_versoin names no parameter'),
      expect.stringContaining("$PW_OUTPUT_comit_artifact names no stage's output"),
    ]);
  });

  it('built-in templates and the seeded examples already use the safe form', () => {
    const specs = [...['release', 'blue-green', 'canary', 'rolling'].map((id) => getTemplate(id)!.spec), releaseTrainPipeline(), ...examplePipelines('http://localhost:3000')];
    for (const spec of specs) {
      const result = validatePipeline(spec);
      expect(result.ok, spec.name).toBe(true);
      expect(result.issues.filter((i) => i.code === 'template-in-command' || i.code === 'unknown-shell-variable'), spec.name).toEqual([]);
    }
  });
});

/** Best of several batches, in ms: the least disturbed by other work on the machine. */
function timeOf(fn: () => unknown, reps = 20): number {
  let best = Infinity;
  for (let batch = 0; batch < 5; batch++) {
    const start = performance.now();
    for (let i = 0; i < reps; i++) fn();
    best = Math.min(best, performance.now() - start);
  }
  return best;
}

describe('template scanning is linear (ReDoS)', () => {
  const N = 20_000;
  // A benign command of the same length, full of references: more work per character than any attack.
  const benign = 'echo ${{ params.version }} '.repeat(Math.ceil(N / 27)).slice(0, N + 3);

  it.each([
    ['${{ + spaces', '${{' + ' '.repeat(N)],
    ['${{ repeated, never closed', '${{'.repeat(Math.ceil(N / 3))],
    ['lone } after each ${{', '${{ }'.repeat(Math.ceil(N / 5))],
    ['spaces then one }', '${{' + ' '.repeat(N) + '}'],
  ])('%s takes about as long as a benign command of the same length', (_name, attack) => {
    expect(parseTemplate(attack).errors.length).toBeGreaterThan(0);
    const baseline = timeOf(() => parseTemplate(benign));
    const hostile = timeOf(() => parseTemplate(attack));
    expect(hostile).toBeLessThan(baseline * 5 + 1);
  });

  it('the validator refuses over-long strings before parsing them', () => {
    const spec = structuredClone(getTemplate('release')!.spec);
    spec.nodes[0]!.config = { command: '${{' + ' '.repeat(20_000) };
    const result = validatePipeline(spec);
    expect(result.ok).toBe(false);
  });

  it('scans left to right like the old syntax', () => {
    expect(scanTemplates('a ${{ ${{ params.x }} b ${{ y } ${{ params.z }}').matches.map((m) => m.expr)).toEqual(['${{ params.x', 'params.z']);
    expect(scanTemplates('${{ x } ${{ params.z }}').unclosed).toBe(0);
  });
});
