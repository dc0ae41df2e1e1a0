/**
 * The version compare's written sections through the API, on a real SQLite file: the sections are versioned with
 * the pipeline, so `pipelines.writtenSectionChanges` lists what changed between two versions (or a version and the
 * draft) with who wrote it; it is read like the versions themselves (anyone signed in; signed out refused), and an
 * unknown version or a deleted pipeline is "not found", never a server error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { releaseTrainPipeline } from '../../db/seed';
import { startHarness, type Harness } from './harness';

let h: Harness;
let pipelineId: string;

beforeAll(async () => {
  h = await startHarness({ worker: false });
  pipelineId = (await h.as(h.users.author).pipelines.create({ name: 'Compare sections', spec: releaseTrainPipeline() })).id;
}, 180_000);
afterAll(async () => {
  await h?.close();
});

describe('written sections in the version compare', () => {
  it('lists the sections changed between two versions, with who wrote them, to readers only', async () => {
    const author = h.as(h.users.author);
    await author.insights.saveSection({ pipelineId, section: 'backup-restore', body: 'Snapshot the orders database before every release.' });
    await author.insights.saveSection({ pipelineId, section: 'monitoring', body: 'Watch the error-rate dashboard.' });
    const { version } = await author.pipelines.get({ id: pipelineId });
    await author.pipelines.save({ id: pipelineId, baseVersion: 1, spec: { ...version.spec, description: 'v2' }, message: 'v2' });
    await author.insights.saveSection({ pipelineId, section: 'backup-restore', body: 'Snapshot the orders and payments databases before every release.' });
    await author.insights.saveSection({ pipelineId, section: 'data-migrations', body: 'Migrations run before the deploy stage; they are backwards compatible.' });

    const viewer = h.as(h.users.viewer);
    const diff = await viewer.pipelines.writtenSectionChanges({ id: pipelineId, from: 1, to: 2 });
    expect(diff).toMatchObject({ from: 1, to: 2 });
    expect(diff.sections.map((s) => [s.key, s.status])).toEqual([
      ['backup-restore', 'changed'],
      ['data-migrations', 'added'],
    ]);
    const backup = diff.sections[0]!;
    expect(backup.lines).toEqual([
      { op: 'removed', text: 'Snapshot the orders database before every release.' },
      { op: 'added', text: 'Snapshot the orders and payments databases before every release.' },
    ]);
    expect(backup.before).toMatchObject({ version: 1, by: expect.stringMatching(/ada/i), at: expect.any(Number) });
    expect(backup.after).toMatchObject({ version: 2, by: expect.stringMatching(/ada/i) });

    // The draft carries the newest version's sections; the same version on both sides has nothing to list.
    expect((await viewer.pipelines.writtenSectionChanges({ id: pipelineId, from: 1, to: 'draft' })).sections.map((s) => s.key)).toEqual(['backup-restore', 'data-migrations']);
    expect((await viewer.pipelines.writtenSectionChanges({ id: pipelineId, from: 2, to: 'draft' })).sections).toEqual([]);

    await expect(h.as(null).pipelines.writtenSectionChanges({ id: pipelineId, from: 1, to: 2 })).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  });

  it('an unknown version or a deleted pipeline is not found', async () => {
    const viewer = h.as(h.users.viewer);
    await expect(viewer.pipelines.writtenSectionChanges({ id: pipelineId, from: 1, to: 9 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(viewer.pipelines.writtenSectionChanges({ id: 'no-such-pipeline', from: 1, to: 2 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const { id: gone } = await h.as(h.users.author).pipelines.create({ name: 'Gone soon', spec: { ...releaseTrainPipeline(), name: 'Gone soon' } });
    await h.as(h.users.author).pipelines.delete({ id: gone });
    await expect(viewer.pipelines.writtenSectionChanges({ id: gone, from: 1, to: 'draft' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
