/**
 * Delivery insight in real Chromium, on runs the real worker and runner executed:
 * 1. a pipeline deploys to staging and smoke-tests it; three runs (two good, one whose smoke test fails) →
 *    /insights for that pipeline shows the four measures with their DORA bands, and a day's bar in the chart
 *    opens the deployments of that day (the runs behind the number), each linking to its run;
 * 2. the seeded "Release train": the Markdown export of its release plan downloads and names its environments,
 *    its gates with their approvers and its back-out path;
 * 3. a viewer reads the written sections but has no way to edit them (and the API refuses); an author edits
 *    one, and it is kept for the pipeline's version, with who wrote it;
 * 4. the editor's version compare lists the written sections that changed between the two versions (added,
 *    removed, changed line by line, who wrote them) next to the graph's changes.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { apiAs, browserPeople } from './browser';

const appUrl = inject('appUrl');
const people = browserPeople(appUrl);
const person = people.person;

beforeAll(() => people.launch());
afterAll(() => people.close());

const spec = {
  schemaVersion: 1 as const,
  name: 'E2E insight',
  nodes: [
    { id: 'build', kind: 'command', name: 'Build', config: { command: 'echo built' } },
    { id: 'deploy-staging', kind: 'command', name: 'Deploy staging', environment: 'staging', config: { command: 'echo "deploying to ${{ env.URL }}"' } },
    { id: 'smoke', kind: 'command', name: 'Smoke test', environment: 'staging', config: { command: 'test "${{ params.smoke }}" = pass' } },
  ],
  edges: [
    { id: 'e1', from: 'build', to: 'deploy-staging', on: 'success' as const },
    { id: 'e2', from: 'deploy-staging', to: 'smoke', on: 'success' as const },
  ],
  parameters: [{ name: 'smoke', type: 'string' as const }],
};

describe('delivery insight in the browser', () => {
  it('shows the four measures with bands for real runs, and a day in the chart opens the runs behind it', async () => {
    const ada = await apiAs(appUrl, 'ada');
    const { id: pipelineId } = await ada.pipelines.create.mutate({ name: spec.name, spec });
    const outcomes: string[] = [];
    for (const smoke of ['pass', 'fail', 'pass']) {
      const { id } = await ada.runs.start.mutate({ pipelineId, params: { smoke } });
      for (;;) {
        const r = await ada.runs.get.query({ id });
        if (['failed', 'cancelled', 'succeeded'].includes(r.status)) {
          outcomes.push(r.status);
          break;
        }
        await new Promise((res) => setTimeout(res, 100));
      }
    }
    expect(outcomes).toEqual(['succeeded', 'failed', 'succeeded']);

    const page = await person('ada');
    await page.goto(`${appUrl}/insights?pipeline=${encodeURIComponent(pipelineId)}&days=7`);
    await page.getByRole('heading', { name: 'Delivery insight' }).waitFor();
    // Three deployments into staging, all went live; the second was followed by a failed smoke test.
    const measures = ['frequency', 'lead', 'cfr', 'restore'] as const;
    for (const key of measures) {
      const card = page.locator(`[data-measure="${key}"]`);
      await card.waitFor();
      // Each card names its band (elite, high, medium or low) from the 2023 DORA report.
      expect(await card.innerText()).toMatch(/\b(elite|high|medium|low)\b/i);
    }
    expect(await page.locator('[data-measure="frequency"]').innerText()).toContain('3 deployments');
    expect(await page.getByTestId('measure-cfr').innerText()).toBe('33 %');
    expect(await page.locator('[data-measure="cfr"]').innerText()).toContain('1 of 3 deployments');
    expect(await page.locator('[data-measure="cfr"]').innerText()).toMatch(/LOW/i);
    expect(await page.locator('[data-measure="restore"]').innerText()).toContain('0 not restored yet');

    // The charts (SVG drawn on the server with visx, in the page's HTML): today's column has two deployments that
    // held (green) under one change failure (red), twice as tall; the stage durations are charted too.
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'UTC', year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
    const chart = page.getByTestId('day-bars');
    await chart.waitFor();
    expect(await chart.getAttribute('aria-label')).toContain('3 went live');
    const held = chart.locator(`a[data-day="${today}"] rect[data-bar="held"]`);
    const failed = chart.locator(`a[data-day="${today}"] rect[data-bar="failed"]`);
    const heldHeight = Number(await held.getAttribute('height'));
    const failedHeight = Number(await failed.getAttribute('height'));
    expect(heldHeight).toBeGreaterThan(0);
    expect(heldHeight / failedHeight).toBeCloseTo(2, 1);
    // Other days had no deployments: no bars, only their (empty) columns.
    expect(await chart.locator('rect[data-bar="held"], rect[data-bar="failed"]').count()).toBe(2);
    const stagesChart = page.getByTestId('stage-durations-chart');
    const stageBarRects = stagesChart.locator('[data-bar="median"] rect, [data-bar="p90"] rect');
    expect(await stageBarRects.count()).toBe(6); // median and p90 of three stages
    for (const width of await stageBarRects.evaluateAll((rects) => rects.map((r) => Number(r.getAttribute('width'))))) expect(width).toBeGreaterThan(0);
    for (const stage of ['Build', 'Deploy staging', 'Smoke test']) expect(await stagesChart.getAttribute('aria-label')).toContain(`${stage} median`);
    // The same numbers as tables, for screen readers.
    expect(await page.locator('table', { has: page.locator('caption', { hasText: 'Deployments and change failures per day' }) }).count()).toBe(1);
    expect(await page.locator('table', { has: page.locator('caption', { hasText: 'Stage durations, slowest first' }) }).count()).toBe(1);

    // Today's red bar opens today's deployments: exactly the runs behind it, each linking to its run.
    await failed.click();
    const drill = page.getByTestId('drill-down');
    await drill.getByRole('heading', { name: `Deployments on ${today} (UTC)` }).waitFor();
    // Newest first; the failed one says why and which run restored staging.
    const links = drill.locator('tbody tr td:first-child a');
    expect(await links.allInnerTexts()).toEqual(['E2E insight #3', 'E2E insight #2', 'E2E insight #1']);
    expect(await drill.locator('tbody tr').nth(1).innerText()).toContain('E2E insight #3 after');
    expect(await drill.getByText('smoke failed after the deployment (smoke)').count()).toBe(1);
    await links.first().click();
    await page.waitForURL(new RegExp(`/pipelines/${pipelineId}/runs/`));
  });

  it('downloads the Markdown release plan of the Release train with its environments, gates and rollback path', async () => {
    const ada = await apiAs(appUrl, 'ada');
    const train = (await ada.pipelines.list.query()).find((p: { name: string }) => p.name === 'Release train');
    expect(train).toBeTruthy();
    const page = await person('ada');
    await page.goto(`${appUrl}/pipelines/${train!.id}/release-plan`);
    await page.getByRole('heading', { name: 'Environments and how builds move through them' }).waitFor();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Export Markdown' }).click()]);
    expect(download.suggestedFilename()).toMatch(/\.md$/);
    const md = fs.readFileSync((await download.path())!, 'utf8');
    expect(md).toContain('# Release plan: Release train');
    for (const heading of ['## Environments and how builds move through them', '## Gates and who may pass them', '## Backing out a deployment']) expect(md).toContain(heading);
    for (const env of ['Dev', 'Staging', 'Production']) expect(md).toContain(env);
    // The gates and who approves them, and the way back.
    expect(md).toContain('Go to production');
    expect(md).toMatch(/group approvers/);
    expect(md).toContain('Roll back to #N');
  });

  it('a viewer reads the written sections but cannot edit them; an author edits one and it is kept for the version', async () => {
    const ada = await apiAs(appUrl, 'ada');
    const { id: pipelineId } = await ada.pipelines.create.mutate({ name: 'E2E written sections', spec: { ...spec, name: 'E2E written sections' } });
    await ada.insights.saveSection.mutate({ pipelineId, section: 'monitoring', body: 'Watch the checkout dashboard for 15 minutes.' });

    const vera = await person('vera');
    await vera.goto(`${appUrl}/pipelines/${pipelineId}/release-plan`);
    const monitoring = vera.locator('[data-section="monitoring"]');
    await monitoring.getByText('Watch the checkout dashboard for 15 minutes.').waitFor();
    expect(await vera.getByRole('button', { name: /^Edit / }).count()).toBe(0);
    expect(await vera.locator('textarea').count()).toBe(0);
    const veraApi = await apiAs(appUrl, 'vera');
    await expect(veraApi.insights.saveSection.mutate({ pipelineId, section: 'monitoring', body: 'changed by a viewer' })).rejects.toThrow();

    const author = await person('ada');
    await author.goto(`${appUrl}/pipelines/${pipelineId}/release-plan`);
    await author.getByRole('button', { name: 'Edit monitoring' }).click();
    await author.getByRole('textbox', { name: 'Monitoring' }).fill('Watch the checkout dashboard and the error budget for 30 minutes.');
    await author.getByRole('button', { name: 'Save', exact: true }).click();
    const section = author.locator('[data-section="monitoring"]');
    await section.getByText('Watch the checkout dashboard and the error budget for 30 minutes.').waitFor();
    await section.getByText(/Written by Ada.*for version 1\./).waitFor();

    // Both texts are kept, newest first, each for the pipeline version it was written for.
    const history = (await ada.insights.sectionHistory.query({ pipelineId })).filter((h) => h.section === 'monitoring');
    expect(history.map((h) => [h.body, h.version])).toEqual([
      ['Watch the checkout dashboard and the error budget for 30 minutes.', 1],
      ['Watch the checkout dashboard for 15 minutes.', 1],
    ]);
    // The viewer sees the new text on reload.
    await vera.reload();
    await monitoring.getByText('Watch the checkout dashboard and the error budget for 30 minutes.').waitFor();
  });

  it("the editor's version compare lists the written sections that changed between the two versions", async () => {
    const ada = await apiAs(appUrl, 'ada');
    const { id: pipelineId } = await ada.pipelines.create.mutate({ name: 'E2E compare sections', spec: { ...spec, name: 'E2E compare sections' } });
    // Version 1: monitoring and capacity written.
    await ada.insights.saveSection.mutate({ pipelineId, section: 'monitoring', body: 'Watch the checkout dashboard.\nPage on-call on errors.' });
    await ada.insights.saveSection.mutate({ pipelineId, section: 'capacity', body: 'Two replicas are enough.' });
    // Version 2: monitoring changed, support written, capacity unchanged.
    const { version } = await ada.pipelines.get.query({ id: pipelineId });
    await ada.pipelines.save.mutate({ id: pipelineId, baseVersion: 1, spec: { ...version.spec, description: 'second version' }, message: 'v2' });
    await ada.insights.saveSection.mutate({ pipelineId, section: 'monitoring', body: 'Watch the checkout dashboard for 30 minutes.\nPage on-call on errors.' });
    await ada.insights.saveSection.mutate({ pipelineId, section: 'support', body: 'Team Payments, #payments on chat.' });

    const page = await person('ada');
    await page.goto(`${appUrl}/pipelines/${pipelineId}/edit`);
    await page.getByTestId('tab-history').click();
    await page.locator('[data-testid="version"][data-version="2"]').getByRole('button', { name: 'Changes from v1' }).click();
    await page.getByTestId('compare-banner').waitFor();
    const sections = page.getByTestId('section-changes');
    const monitoring = sections.locator('[data-testid="section-change"][data-section="monitoring"]');
    await monitoring.waitFor();
    expect(await monitoring.getAttribute('data-status')).toBe('changed');
    expect(await monitoring.locator('[data-op="removed"]').allInnerTexts()).toEqual([expect.stringContaining('Watch the checkout dashboard.')]);
    expect(await monitoring.locator('[data-op="added"]').allInnerTexts()).toEqual([expect.stringContaining('Watch the checkout dashboard for 30 minutes.')]);
    expect(await monitoring.innerText()).toMatch(/Written by Ada.* for version 2/);
    const support = sections.locator('[data-testid="section-change"][data-section="support"]');
    expect(await support.getAttribute('data-status')).toBe('added');
    expect(await support.innerText()).toContain('Team Payments, #payments on chat.');
    // Capacity did not change between the two versions: not listed.
    expect(await sections.locator('[data-testid="section-change"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-section')))).toEqual(['monitoring', 'support']);
  });
});
