/**
 * Import in real Chromium: an author pastes a GitHub Actions workflow into the
 * Import dialog, sees the graph and the mapping report (with source lines),
 * saves it, lands in the editor with the imported stages, and rehearses it:
 * the run is marked as a rehearsal and its command was printed, not run.
 */
import { afterEach, describe, expect, inject, it } from 'vitest';
import { openBrowser, signIn, type Browser } from './browser';

const appUrl = inject('appUrl');

let browser: Browser | undefined;
afterEach(async () => {
  await browser?.close();
  browser = undefined;
});

const WORKFLOW = [
  'name: E2E import',
  'on:',
  '  workflow_dispatch:',
  '    inputs:',
  '      version: { type: string, default: "1.0" }',
  'jobs:',
  '  build:',
  '    runs-on: ubuntu-latest',
  '    steps:',
  '      - uses: actions/checkout@v4',
  '      - run: echo "building ${{ inputs.version }}"',
  '  test:',
  '    needs: build',
  '    runs-on: ubuntu-latest',
  '    steps:',
  '      - run: echo testing',
  '',
].join('\n');

describe('Import dialog', () => {
  it('pastes a workflow, shows the graph and the report, saves it and rehearses it', async () => {
    browser = await openBrowser();
    const { page } = browser;
    await page.goto(`${appUrl}/sign-in?next=/`);
    await signIn(page, 'ada');
    await page.waitForURL((u) => u.pathname === '/');
    const name = `E2E import ${Date.now()}`;
    await page.getByTestId('import-button').first().click();
    await page.getByTestId('import-text').fill(WORKFLOW);
    await page.getByTestId('import-name').fill(name);
    await page.getByTestId('import-preview').click();
    await page.getByTestId('import-preview-panel').waitFor();
    expect(await page.getByTestId('import-graph-node').count()).toBe(2);
    const report = page.getByTestId('import-not-carried');
    expect(await report.textContent()).toContain('uses: actions/checkout@v4');
    expect(await report.textContent()).toContain('line 10');
    await page.getByTestId('import-save').click();
    await page.waitForURL((u) => /^\/pipelines\/[^/]+\/edit$/.test(u.pathname), { timeout: 30_000 });
    await page.locator('.react-flow__node', { hasText: 'build' }).waitFor();
    expect(await page.locator('.react-flow__node').count()).toBe(2);

    const pipelineId = new URL(page.url()).pathname.split('/')[2]!;
    await page.goto(`${appUrl}/pipelines/${pipelineId}`);
    await page.getByTestId('rehearse-button').click();
    await page.getByTestId('start-run').click();
    await page.waitForURL((u) => u.pathname.startsWith(`/pipelines/${pipelineId}/runs/`), { timeout: 30_000 });
    await page.getByTestId('rehearsal-mark').waitFor();
    await page.locator('[data-testid="run-status"]', { hasText: 'succeeded' }).waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('run-title').textContent()).toMatch(/^Rehearsal #1/);
  });
});
