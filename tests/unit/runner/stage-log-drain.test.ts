/**
 * The log's last text goes with the call that finishes the stage: `drain()`
 * hands back what is buffered (after batches already sent), in order and at
 * the right offsets, without sending it itself.
 */
import { describe, expect, it } from 'vitest';
import { BatchingStageLog, MaskingStageLog, type LogChunk } from '@/workflows/runner/stage-log';

describe('BatchingStageLog.drain', () => {
  it('returns the unsent tail with offsets after what was sent, and sends nothing more', async () => {
    const sent: LogChunk[][] = [];
    const log = new BatchingStageLog(async (chunks) => void sent.push(chunks), 100, 60_000);
    log.write('stdout', 'first ');
    await log.flush();
    log.write('stdout', 'second\n');
    log.write('stderr', 'oops\n');
    const tail = await log.drain();
    expect(sent).toEqual([[{ stream: 'stdout', offset: 100, text: 'first ' }]]);
    expect(tail).toEqual([
      { stream: 'stdout', offset: 106, text: 'second\n' },
      { stream: 'stderr', offset: 113, text: 'oops\n' },
    ]);
    expect(await log.drain()).toEqual([]);
    expect(sent).toHaveLength(1);
  });

  it('includes text a masking log held back, masked', async () => {
    const inner = new BatchingStageLog(async () => undefined, 0, 60_000);
    const masking = new MaskingStageLog(inner, ['hunter2']);
    masking.write('stdout', 'password: hunt');
    masking.write('stdout', 'er2');
    masking.write('stdout', ' then hun');
    masking.release();
    const tail = await inner.drain();
    expect(tail.map((c) => c.text).join('')).toBe('password: ••• then hun');
  });
});
