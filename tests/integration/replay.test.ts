/**
 * Replays committed workflow histories (tests/replay/histories) through the
 * current interpreter bundle. A change to the interpreter that would break runs
 * in flight (non-determinism) fails here; guard such changes with `patched()`.
 */
import proto from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readManifest } from '../replay/corpus';
import { workflowBundle } from './harness';

const dir = fileURLToPath(new URL('../replay/histories/', import.meta.url));
const files = readdirSync(dir).filter((f) => f.endsWith('.bin'));
const manifest = readManifest();

describe('replay of committed histories', () => {
  it('has histories to replay', () => {
    expect(files.length).toBeGreaterThanOrEqual(17);
  });

  // Every history, whichever version recorded it (manifest.json says which): runs they started are in flight somewhere.
  it.each(files)('%s replays without non-determinism', async (file) => {
    const history = proto.temporal.api.history.v1.History.decode(readFileSync(`${dir}${file}`));
    const type = history.events[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name;
    expect(type).toBe(manifest.histories[file]?.workflowType);
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, file);
  });

  it('detects a non-deterministic change', async () => {
    const history = proto.temporal.api.history.v1.History.decode(readFileSync(`${dir}${files[0]}`));
    // Replaying a pipeline run's history as a different workflow type must fail.
    const { bundleWorkflowCode } = await import('@temporalio/worker');
    const other = await bundleWorkflowCode({
      workflowsPath: fileURLToPath(new URL('../replay/fixtures/altered-interpreter.ts', import.meta.url)),
      logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} },
    });
    await expect(Worker.runReplayHistory({ workflowBundle: other }, history, 'altered')).rejects.toThrow(/determinism/i);
  });
});
