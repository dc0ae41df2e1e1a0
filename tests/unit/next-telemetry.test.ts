import { describe, expect, it } from 'vitest';
import { nextTelemetryEnv } from '../../scripts/next-telemetry';

describe('Next telemetry for npm start', () => {
  it('is disabled by default', () => {
    expect(nextTelemetryEnv({})).toEqual({ NEXT_TELEMETRY_DISABLED: '1' });
    expect(nextTelemetryEnv({ PIPEWRIGHT_NEXT_TELEMETRY: 'false' })).toEqual({ NEXT_TELEMETRY_DISABLED: '1' });
  });
  it('is left to Next when the person opts in', () => {
    const env = { ...process.env, NEXT_TELEMETRY_DISABLED: '1', PIPEWRIGHT_NEXT_TELEMETRY: 'true' };
    expect({ ...env, ...nextTelemetryEnv(env) }.NEXT_TELEMETRY_DISABLED).toBeUndefined();
  });
});
