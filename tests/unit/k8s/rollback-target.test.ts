import { describe, expect, it } from 'vitest';
import { describeRollback, rollbackTarget } from '../../../server/services/k8s-rollback-target';

const scope = { params: { ns: 'shop', version: '2' }, outputs: { build: { tag: 'v2' } } };
const deploy = (over: Partial<Parameters<typeof rollbackTarget>[0]> = {}) => ({
  kind: 'k8s-deploy',
  config: { connection: 'prod', namespace: '${{ params.ns }}', manifests: '…', strategy: { type: 'canary', steps: [{ weight: 10 }] }, progressDeadlineSeconds: 120 },
  status: 'succeeded',
  outputs: { deployment: 'web', image: 'example/web:2' },
  ...over,
});

describe('rollbackTarget', () => {
  it('aims at the deployed Deployment with templates resolved from the source run', () => {
    expect(rollbackTarget(deploy(), scope)).toEqual({ connection: 'prod', namespace: 'shop', deployment: 'web', strategy: 'canary', progressDeadlineSeconds: 120 });
    // An image-only deploy that failed before reporting outputs: the configured name.
    expect(rollbackTarget(deploy({ status: 'failed', outputs: {}, config: { connection: 'prod', namespace: 'shop', deployment: 'api', image: 'x' } }), scope)).toMatchObject({
      deployment: 'api',
      strategy: 'rolling',
      progressDeadlineSeconds: 600,
    });
  });

  it('refuses other kinds, unfinished stages and deploys already rolled back, saying why', () => {
    expect(() => rollbackTarget(deploy({ kind: 'command' }), scope)).toThrow('Only a "Deploy to Kubernetes" stage can be rolled back.');
    expect(() => rollbackTarget(deploy({ status: 'skipped' }), scope)).toThrow('this stage is skipped');
    expect(() => rollbackTarget(deploy({ status: 'failed', outputs: { rolledBackTo: 'revision 3 (example/web:1)' } }), scope)).toThrow(
      'already rolled back automatically (to revision 3 (example/web:1))',
    );
    expect(() => rollbackTarget(deploy({ config: { namespace: 'shop' }, outputs: {} }), scope)).toThrow('does not name its cluster connection');
  });

  it('describeRollback says what it returns to, or why not', () => {
    expect(describeRollback(deploy(), scope)).toMatchObject({ ok: true, returnsTo: 'the stable Deployment, with all the traffic' });
    expect(describeRollback(deploy({ config: { connection: 'c', namespace: 'n', strategy: { type: 'blue-green' } } }), scope)).toMatchObject({ returnsTo: 'the version live before it (the previous colour, or the Deployment its first blue/green deploy took over)' });
    expect(describeRollback(deploy({ status: 'running' }), scope)).toEqual({ ok: false, reason: 'Only a succeeded or failed deploy can be rolled back; this stage is running.' });
  });
});
