import { afterEach, describe, expect, it, vi } from 'vitest';
import { rolloutProgressView } from '../../../app/lib/rollout-progress';
import { createThrottledWriter, progressOf } from '../../../workflows/progress-writer';

describe('rolloutProgressView', () => {
  it('reads ready counts, the canary step and the traffic split from heartbeat details', () => {
    expect(
      rolloutProgressView({
        kind: 'k8s-deploy',
        phase: 'canary step 2',
        rollout: { 'web-canary': { replicas: 2, ready: 1, updated: 2, available: 1 }, web: { replicas: 8, ready: 8, updated: 8, available: 8 } },
        step: 1,
        steps: 3,
        effectiveWeight: 20,
      }),
    ).toEqual({
      phase: 'canary step 2',
      deployments: [
        { name: 'web-canary', replicas: 2, ready: 1, updated: 2, available: 1 },
        { name: 'web', replicas: 8, ready: 8, updated: 8, available: 8 },
      ],
      step: { n: 2, of: 3 },
      weights: { stable: 80, canary: 20, by: 'replicas' },
    });
  });

  it('prefers HTTPRoute weights and ignores what it does not know', () => {
    expect(rolloutProgressView({ weights: { stable: 70, canary: 30 }, effectiveWeight: 34, rollout: { web: 'x' }, step: 'two' })).toEqual({
      phase: null,
      deployments: [],
      step: null,
      weights: { stable: 70, canary: 30, by: 'route' },
    });
    expect(rolloutProgressView(null)).toBeNull();
    expect(rolloutProgressView({ logOffset: 3 })).toBeNull();
    expect(rolloutProgressView([1, 2])).toBeNull();
  });
});

describe('progress writes', () => {
  afterEach(() => vi.useRealTimers());

  it('drops bookkeeping from heartbeat details', () => {
    expect(progressOf({ logOffset: 10, phase: 'rolling' })).toEqual({ phase: 'rolling' });
    expect(progressOf({ logOffset: 10 })).toBeUndefined();
    expect(progressOf('x')).toBeUndefined();
  });

  it('writes at most once per interval, the latest value last, and nothing unchanged', async () => {
    vi.useFakeTimers();
    const written: number[] = [];
    const w = createThrottledWriter<{ n: number }>(async (v) => void written.push(v.n), 500);
    w.offer({ n: 1 }); // at once
    for (let n = 2; n <= 20; n++) w.offer({ n }); // within the interval: only the last one is kept
    await vi.advanceTimersByTimeAsync(0);
    expect(written).toEqual([1]);
    await vi.advanceTimersByTimeAsync(500);
    expect(written).toEqual([1, 20]);
    w.offer({ n: 20 }); // unchanged
    await vi.advanceTimersByTimeAsync(1000);
    expect(written).toEqual([1, 20]);
    w.offer({ n: 21 }); // the interval has passed: at once
    w.offer({ n: 22 }); // pending until the flush
    await vi.advanceTimersByTimeAsync(0);
    expect(written).toEqual([1, 20, 21]);
    await w.flush();
    expect(written).toEqual([1, 20, 21, 22]);
  });
});
