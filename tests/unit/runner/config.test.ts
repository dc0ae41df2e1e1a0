/**
 * The runner's own configuration (flags, else environment): what a person
 * typing `npm run runner -- …` gets told when something is missing or wrong,
 * and that stages never see the runner's token.
 */
import { describe, expect, it } from 'vitest';
import { parseRunnerConfig, scrubbedEnv } from '@/workflows/runner/config';

describe('runner configuration', () => {
  it('reads flags first, then the environment, with defaults for the rest', () => {
    const c = parseRunnerConfig(['--url', 'http://ci.example.test:3000', '--labels', 'linux,k8s,linux'], { PIPEWRIGHT_RUNNER_TOKEN: 'pwr_x', TEMPORAL_ADDRESS: 't:7233' });
    expect(c).toMatchObject({ url: 'http://ci.example.test:3000', token: 'pwr_x', labels: ['k8s', 'linux'], temporalAddress: 't:7233', namespace: 'default', maxStages: 20 });
    expect(parseRunnerConfig(['--token=pwr_y'], { PIPEWRIGHT_RUNNER_URL: 'https://pw.example.test' }).labels).toBeUndefined();
  });

  it('says what is missing or wrong', () => {
    expect(() => parseRunnerConfig([], {})).toThrow(/control plane URL is missing/);
    expect(() => parseRunnerConfig(['--url', 'http://x'], {})).toThrow(/runner token is missing/);
    expect(() => parseRunnerConfig(['--url', 'ftp://x', '--token', 't'], {})).toThrow(/must be an http\(s\) URL/);
    expect(() => parseRunnerConfig(['--url', 'http://x', '--token', 't', '--labels', 'a,b,c,d,e'], {})).toThrow(/at most 4 labels/);
    expect(() => parseRunnerConfig(['--bogus'], {})).toThrow(/unknown argument --bogus/);
  });

  it('keeps the runner token out of what stages see', () => {
    expect(scrubbedEnv({ PATH: '/bin', PIPEWRIGHT_RUNNER_TOKEN: 'pwr_secret' })).toEqual({ PATH: '/bin' });
  });
});
