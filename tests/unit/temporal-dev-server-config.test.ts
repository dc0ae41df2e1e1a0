/**
 * The embedded dev server starts with the low-latency dynamic config (the
 * history transfer-queue poll rate, one task-queue partition, eager activities)
 * that takes a sequential step from ~100 ms to ~20 ms; the benchmarks' bare
 * baseline asks for the server's defaults instead.
 */
import { describe, expect, it } from 'vitest';
import { devServerArgs, LOW_LATENCY_DYNAMIC_CONFIG } from '@/scripts/temporal-dev-server';

const dynamicValues = (args: string[]) =>
  args.flatMap((a, i) => (args[i - 1] === '--dynamic-config-value' ? [a] : []));

describe('dev server dynamic config', () => {
  it('is the low-latency set by default', () => {
    const values = dynamicValues(devServerArgs({ bin: 'temporal', port: 7233, namespace: 'default' }));
    expect(values).toEqual(
      expect.arrayContaining([
        'history.transferProcessorMaxPollRPS=10000',
        'matching.numTaskqueueReadPartitions=1',
        'matching.numTaskqueueWritePartitions=1',
        'system.enableActivityEagerExecution=true',
      ]),
    );
    expect(values).toHaveLength(Object.keys(LOW_LATENCY_DYNAMIC_CONFIG).length);
  });

  it('is the server default when asked (the benchmark baseline)', () => {
    expect(dynamicValues(devServerArgs({ bin: 'temporal', port: 7233, namespace: 'default', defaultConfig: true }))).toEqual([]);
  });

  it('lets explicit values override the low-latency ones', () => {
    const values = dynamicValues(
      devServerArgs({ bin: 'temporal', port: 7233, namespace: 'default', dynamicConfig: { 'history.transferProcessorMaxPollRPS': 20, 'frontend.x': 'y' } }),
    );
    expect(values).toContain('history.transferProcessorMaxPollRPS=20');
    expect(values).not.toContain('history.transferProcessorMaxPollRPS=10000');
    expect(values).toContain('frontend.x="y"');
  });
});
