import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { isRetryable, toStageError } from '@/workflows/k8s/errors';
import { StageFailure } from '@/workflows/stages/executor-types';

const api = (code: number, message = 'boom') => new ApiException(code, 'Unsuccessful HTTP Request', { kind: 'Status', message }, {});

describe('Kubernetes error classification', () => {
  it.each([429, 500, 502, 503, 504, 409])('retries HTTP %i', (code) => {
    expect(isRetryable(api(code))).toBe(true);
    const e = toStageError(api(code), 'apply');
    expect(e).not.toBeInstanceOf(StageFailure);
    expect(e.message).toContain('retried');
  });

  it('retries broken connections', () => {
    const reset = new TypeError('fetch failed', { cause: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }) });
    expect(isRetryable(reset)).toBe(true);
    expect(isRetryable(Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isRetryable(new DOMException('timed out', 'TimeoutError'))).toBe(true);
  });

  it('does not retry invalid manifests, and says why', () => {
    const e = toStageError(api(422, 'Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1'), 'apply Deployment web');
    expect(e).toBeInstanceOf(StageFailure);
    expect((e as StageFailure).type).toBe('InvalidConfig');
    expect(e.message).toContain('spec.replicas: Invalid value');
  });

  it('does not retry forbidden operations', () => {
    const e = toStageError(api(403, 'deployments.apps is forbidden: User "x" cannot patch resource'), 'apply');
    expect(e).toBeInstanceOf(StageFailure);
    expect(e.message).toContain('forbidden');
    expect(isRetryable(api(403))).toBe(false);
    expect(isRetryable(api(404))).toBe(false);
  });
});

describe('server-side apply schema errors', () => {
  it('treats the 500 "field not declared in schema" of an apply as an invalid manifest', () => {
    const e = toStageError(api(500, 'failed to create typed patch object (default/x; /v1, Kind=ConfigMap): .datta: field not declared in schema'), 'apply');
    expect(e).toBeInstanceOf(StageFailure);
    expect((e as StageFailure).type).toBe('InvalidConfig');
    expect(isRetryable(api(500, 'etcdserver: request timed out'))).toBe(true);
  });
});
