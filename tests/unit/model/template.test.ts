import { describe, expect, it } from 'vitest';
import { parseTemplate, resolveString, resolveTemplates, stringsIn, type TemplateScope } from '@/workflows/model';

const scope: TemplateScope = {
  params: { version: '1.2.3', replicas: 3, dryRun: false },
  outputs: { build: { image: 'app:1.2.3', digest: 'sha256:abc' }, 'smoke-test': { status: '200' } },
};

describe('parseTemplate', () => {
  it('finds parameter and output references, with or without spaces', () => {
    expect(parseTemplate('deploy ${{ params.version }} ${{stages.build.outputs.image}} ${{   stages.smoke-test.outputs.status   }}')).toEqual({
      refs: [
        { kind: 'param', name: 'version', raw: '${{ params.version }}' },
        { kind: 'output', stageId: 'build', name: 'image', raw: '${{stages.build.outputs.image}}' },
        { kind: 'output', stageId: 'smoke-test', name: 'status', raw: '${{   stages.smoke-test.outputs.status   }}' },
      ],
      errors: [],
    });
  });

  it('reads artifact outputs (digest and size) and nothing else with dots', () => {
    expect(parseTemplate('${{ stages.build.outputs.artifact.app.digest }} ${{ stages.build.outputs.artifact.app-2.size }}').refs).toEqual([
      { kind: 'output', stageId: 'build', name: 'artifact.app.digest', raw: '${{ stages.build.outputs.artifact.app.digest }}' },
      { kind: 'output', stageId: 'build', name: 'artifact.app-2.size', raw: '${{ stages.build.outputs.artifact.app-2.size }}' },
    ]);
    for (const bad of ['${{ stages.build.outputs.artifact.app }}', '${{ stages.build.outputs.artifact.app.path }}', '${{ stages.build.outputs.x.app.digest }}']) {
      expect(parseTemplate(bad).errors, bad).toHaveLength(1);
    }
    expect(resolveString('${{ stages.build.outputs.artifact.app.digest }}', { params: {}, outputs: { build: { 'artifact.app.digest': 'sha256:ab' } } })).toBe('sha256:ab');
  });

  it('finds nothing in plain text, shell variables or single braces', () => {
    for (const text of ['', 'echo hello', 'echo ${HOME} $PATH', 'echo {{ params.x }}', '$ {{ params.x }}', 'awk "{print $1}"']) {
      expect(parseTemplate(text), text).toEqual({ refs: [], errors: [] });
    }
  });

  it.each([
    '${{ }}',
    '${{ params }}',
    '${{ params. }}',
    '${{ params.1x }}',
    '${{ params.a.b }}',
    '${{ param.version }}',
    '${{ stages.build.outputs }}',
    '${{ stages.build.output.image }}',
    '${{ stages.build.outputs.image.extra }}',
    '${{ env.HOME.x }}',
    '${{ env }}',
    '${{ secrets.A-B }}',
    '${{ secret.TOKEN }}',
    '${{ params.version + 1 }}',
    '${{ params["version"] }}',
    '${{ constructor.constructor("return 1")() }}',
    '${{ this }}',
    '${{ params.version }',
    '${{ params.version',
    'before ${{ params.x } } after',
  ])('reports the malformed expression %s', (text) => {
    const parsed = parseTemplate(text);
    expect(parsed.refs).toEqual([]);
    expect(parsed.errors).toHaveLength(1);
    expect(parsed.errors[0]).toMatch(/params\.NAME/);
  });

  it('reports each malformed expression and keeps the good ones', () => {
    const parsed = parseTemplate('${{ params.a }} ${{ nope }} ${{ stages.s.outputs.o }} ${{ also.bad }}');
    expect(parsed.refs.map((r) => r.raw)).toEqual(['${{ params.a }}', '${{ stages.s.outputs.o }}']);
    expect(parsed.errors).toHaveLength(2);
    expect(parsed.errors[0]).toContain('${{ nope }}');
    expect(parsed.errors[1]).toContain('${{ also.bad }}');
  });
});

describe('resolveString / resolveTemplates', () => {
  it('replaces parameters and outputs, as text', () => {
    expect(resolveString('deploy ${{ params.version }} x${{ params.replicas }} dry=${{params.dryRun}}', scope)).toBe('deploy 1.2.3 x3 dry=false');
    expect(resolveString('${{ stages.build.outputs.image }}@${{ stages.build.outputs.digest }}', scope)).toBe('app:1.2.3@sha256:abc');
    expect(resolveString('${{ stages.smoke-test.outputs.status }}', scope)).toBe('200');
  });

  it('turns unknown references into the empty string', () => {
    expect(resolveString('[${{ params.missing }}]', scope)).toBe('[]');
    expect(resolveString('[${{ stages.nope.outputs.image }}]', scope)).toBe('[]');
    expect(resolveString('[${{ stages.build.outputs.nope }}]', scope)).toBe('[]');
  });

  it('does not look names up on the prototype chain', () => {
    expect(resolveString('[${{ params.constructor }}][${{ params.__proto__ }}][${{ params.toString }}]', scope)).toBe('[][][]');
    expect(resolveString('[${{ stages.build.outputs.constructor }}][${{ stages.toString.outputs.x }}][${{ stages.__proto__.outputs.x }}]', scope)).toBe('[][][]');
  });

  it('never evaluates code: malformed expressions are left as they are', () => {
    const g = globalThis as { pwned?: boolean };
    delete g.pwned;
    const texts = [
      '${{ constructor.constructor("return 1")() }}',
      '${{ constructor.constructor("globalThis.pwned = true")() }}',
      '${{ (() => { globalThis.pwned = true })() }}',
      '${{ params.version + 1 }}',
      '${{ `${1+1}` }}',
      '${{ params.version }',
    ];
    for (const text of texts) expect(resolveString(text, scope)).toBe(text);
    expect(resolveString('a ${{ 1+1 }} b ${{ params.version }}', scope)).toBe('a ${{ 1+1 }} b 1.2.3');
    expect(g.pwned).toBeUndefined();
  });

  it('does not resolve twice: a value that looks like a reference stays literal', () => {
    const tricky: TemplateScope = { params: { a: '${{ params.b }}', b: 'secret' }, outputs: {} };
    expect(resolveString('${{ params.a }}', tricky)).toBe('${{ params.b }}');
    // `$&` and friends in a value are not replacement patterns.
    expect(resolveString('x${{ params.a }}y', { params: { a: "$&$1$'" }, outputs: {} })).toBe("x$&$1$'y");
  });

  it('resolves every string inside a config, returning a new value and leaving the input alone', () => {
    const config = {
      url: 'http://deploy/${{ params.version }}',
      body: { image: '${{ stages.build.outputs.image }}', tags: ['${{ params.version }}', 'latest'], replicas: 3, dry: false, none: null },
      headers: {},
    };
    const copy = structuredClone(config);
    const out = resolveTemplates(config, scope);
    expect(out).toEqual({
      url: 'http://deploy/1.2.3',
      body: { image: 'app:1.2.3', tags: ['1.2.3', 'latest'], replicas: 3, dry: false, none: null },
      headers: {},
    });
    expect(config).toEqual(copy);
    expect(out).not.toBe(config);
  });

  it('resolution is deterministic', () => {
    const text = '${{ params.version }}-${{ stages.build.outputs.image }}-${{ params.missing }}';
    expect(resolveString(text, scope)).toBe(resolveString(text, scope));
  });
});

describe('stringsIn', () => {
  it('yields every string with its path', () => {
    expect([...stringsIn({ command: 'a', env: { X: 'b' }, list: ['c', { d: 'e' }], n: 1, t: true, z: null })]).toEqual([
      { path: 'command', text: 'a' },
      { path: 'env.X', text: 'b' },
      { path: 'list[0]', text: 'c' },
      { path: 'list[1].d', text: 'e' },
    ]);
    expect([...stringsIn('top')]).toEqual([{ path: '', text: 'top' }]);
  });
});
