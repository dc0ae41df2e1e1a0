/**
 * Environment references and secret masking (pure): `${{ env.X }}` and
 * `${{ secrets.X }}` are valid only in bound stages, left alone by the
 * workflow's resolution, resolved by the worker only where the stage itself
 * wrote them, and secret values never survive masking, even split across
 * log writes.
 */
import { describe, expect, it } from 'vitest';
import { MaskingStageLog } from '@/workflows/runner/stage-log';
import {
  compilePipeline,
  maskSecrets,
  resolveEnvironmentRefs,
  resolveTemplates,
  validatePipeline,
  type PipelineSpecInput,
} from '@/workflows/model';
import type { LogStream, StageLog } from '@/workflows/stages/executor-types';

const scope = { name: 'staging', variables: { URL: 'https://staging.test', EMPTY: '' }, secrets: { TOKEN: 's3cr3t-token', PW: 'pw-123' } };

function doc(nodes: PipelineSpecInput['nodes']): PipelineSpecInput {
  return { schemaVersion: 1, name: 'p', nodes, edges: [] };
}
const cmd = (command: string, environment?: string) => ({ id: 'deploy', kind: 'command', name: 'Deploy', config: { command }, ...(environment ? { environment } : {}) });

describe('validation', () => {
  it('accepts env and secret references in a bound stage', () => {
    const r = validatePipeline(doc([cmd('echo ${{ env.URL }} ${{ secrets.TOKEN }}', 'staging')]));
    expect(r.ok).toBe(true);
    // Only the advice to read them as "$PW_ENV_URL" / "$PW_SECRET_TOKEN".
    expect(r.issues.map((i) => [i.code, i.severity])).toEqual([
      ['template-in-command', 'warning'],
      ['template-in-command', 'warning'],
    ]);
  });

  it('refuses them in an unbound stage, naming the reference', () => {
    const r = validatePipeline(doc([cmd('curl -H "x: ${{ secrets.TOKEN }}" ${{ env.URL }}')]));
    expect(r.ok).toBe(false);
    expect(r.issues.filter((i) => i.severity === 'error').map((i) => [i.code, i.nodeId, i.path])).toEqual([
      ['environment-ref-unbound', 'deploy', 'command'],
      ['environment-ref-unbound', 'deploy', 'command'],
    ]);
    expect(r.issues.find((i) => i.severity === 'error')!.message).toContain('${{ secrets.TOKEN }} needs an environment');
  });

  it('checks the environment against the list it is given, and gate protection', () => {
    expect(validatePipeline(doc([cmd('true', 'moon')])).ok).toBe(true);
    const r = validatePipeline(doc([cmd('true', 'moon')]), { environments: ['dev', 'prod'] });
    expect(r.issues).toEqual([expect.objectContaining({ code: 'unknown-environment', path: 'environment', message: 'Deploy: there is no environment "moon" (there are dev, prod)' })]);
    const gated = validatePipeline(doc([cmd('true', 'prod')]), { environments: ['prod'], gatedEnvironments: ['prod'] });
    expect(gated.issues.map((i) => i.code)).toEqual(['environment-needs-gate']);
    const withGate = validatePipeline(
      { ...doc([cmd('true', 'prod'), { id: 'g', kind: 'approval', name: 'G', environment: 'prod', config: { groups: ['approvers'] } }]), edges: [{ id: 'e', from: 'g', to: 'deploy', on: 'success' }] },
      { environments: ['prod'], gatedEnvironments: ['prod'] },
    );
    expect(withGate.issues).toEqual([]);
  });

  it('refuses a badly formed environment name', () => {
    const r = validatePipeline(doc([cmd('true', 'Prod EU')]));
    expect(r.issues[0]).toMatchObject({ code: 'schema', nodeId: 'deploy' });
  });

  it('puts the binding into the plan only when set (plans of unbound pipelines keep their hash)', () => {
    const bound = compilePipeline(doc([cmd('true', 'staging')]));
    expect(bound.nodes[0]!.environment).toBe('staging');
    const unbound = compilePipeline(doc([cmd('true')]));
    expect('environment' in unbound.nodes[0]!).toBe(false);
  });
});

describe('resolution', () => {
  it('the workflow leaves env and secret references alone', () => {
    const config = { command: 'echo ${{ params.v }} ${{ env.URL }} ${{ secrets.TOKEN }}' };
    expect(resolveTemplates(config, { params: { v: '1.2' }, outputs: {} })).toEqual({ command: 'echo 1.2 ${{ env.URL }} ${{ secrets.TOKEN }}' });
  });

  it('the worker resolves them from the environment', () => {
    const drawn = { command: 'deploy ${{ env.URL }} --token ${{ secrets.TOKEN }}', env: { A: '${{env.EMPTY}}' } };
    expect(resolveEnvironmentRefs(drawn, drawn, scope)).toEqual({ command: 'deploy https://staging.test --token s3cr3t-token', env: { A: '' } });
  });

  it('names a missing variable or secret, never a value', () => {
    const drawn = { command: 'x ${{ secrets.NOPE }}' };
    expect(() => resolveEnvironmentRefs(drawn, drawn, scope)).toThrow('environment "staging" has no secret "NOPE" (used in command)');
    expect(() => resolveEnvironmentRefs(drawn, drawn, undefined)).toThrow('not bound to an environment');
  });

  it('refuses a reference that arrived inside a parameter or output value', () => {
    const drawn = { command: 'echo ${{ params.msg }}' };
    const received = { command: 'echo ${{ secrets.TOKEN }}' };
    expect(() => resolveEnvironmentRefs(received, drawn, scope)).toThrow('a parameter or output value contains a reference to secret "TOKEN"');
    // One written reference allows one, not two.
    const drawnOne = { command: '${{ secrets.PW }} ${{ params.msg }}' };
    expect(() => resolveEnvironmentRefs({ command: '${{ secrets.PW }} ${{ secrets.PW }}' }, drawnOne, scope)).toThrow('parameter or output value');
  });
});

describe('masking', () => {
  it('replaces every secret value, longest first', () => {
    expect(maskSecrets('token=s3cr3t-token pw=pw-123 again s3cr3t-token', ['pw-123', 's3cr3t-token'])).toBe('token=••• pw=••• again •••');
    expect(maskSecrets('abcdef', ['abc', 'abcdef'])).toBe('•••');
    expect(maskSecrets('nothing here', [])).toBe('nothing here');
  });

  class Collect implements StageLog {
    text = '';
    offset = 0;
    write(_s: LogStream, t: string) {
      this.text += t;
    }
    flush() {
      return Promise.resolve();
    }
  }

  it('masks a secret split across log writes and holds back only what could start one', async () => {
    const inner = new Collect();
    const log = new MaskingStageLog(inner, ['s3cr3t-token']);
    log.write('stdout', 'password: s3c');
    expect(inner.text).toBe('password: ');
    log.write('stdout', 'r3t-tok');
    log.write('stdout', 'en done\nnext s');
    expect(inner.text).toBe('password: ••• done\nnext ');
    log.write('stdout', 'ection\n');
    expect(inner.text).toBe('password: ••• done\nnext section\n');
    log.write('stdout', 'tail s3cr3t');
    await log.end();
    expect(inner.text).toBe('password: ••• done\nnext section\ntail s3cr3t');
    expect(inner.text).not.toContain('s3cr3t-token');
  });

  it('keeps streams apart', async () => {
    const inner = new Collect();
    const log = new MaskingStageLog(inner, ['pw-123']);
    log.write('stdout', 'a pw-');
    log.write('stderr', 'err\n');
    log.write('stdout', '123 b\n');
    await log.end();
    expect(inner.text).toBe('a err\n••• b\n');
  });
});
