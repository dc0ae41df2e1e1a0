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

  it('supplies a called workflow, unticks a schedule, imports with the push trigger and shows its secret once', async () => {
    browser = await openBrowser();
    const { page } = browser;
    await page.goto(`${appUrl}/sign-in?next=/`);
    await signIn(page, 'ada');
    await page.waitForURL((u) => u.pathname === '/');
    const name = `E2E reusable ${Date.now()}`;
    await page.getByTestId('import-button').first().click();
    await page.getByTestId('import-text').fill(CALLER);
    await page.getByTestId('import-name').fill(name);
    await page.getByTestId('import-preview').click();
    await page.getByTestId('import-preview-panel').waitFor();
    expect(await page.getByTestId('import-graph-node').count()).toBe(2);
    // The called file is listed as missing, with its line; supplied, its jobs are expanded.
    expect(await page.getByTestId('import-called-path').allTextContents()).toEqual(['./.github/workflows/package.yml']);
    await page.getByTestId('import-called-text').fill(CALLED);
    await page.getByTestId('import-called-apply').click();
    await page.locator('[data-testid="import-report"]', { hasText: 'expanded from the supplied file into 2 stage(s)' }).waitFor();
    expect(await page.getByTestId('import-graph-node').count()).toBe(3);
    // Nothing is missing any more.
    expect(await page.getByTestId('import-called-workflows').count()).toBe(0);
    // Both triggers are offered, ticked; the schedule is unticked.
    const triggers = page.getByTestId('import-trigger');
    expect(await triggers.count()).toBe(2);
    expect(await page.getByTestId('import-triggers').textContent()).toContain('Webhook on push to main');
    await triggers.nth(1).uncheck();
    await page.getByTestId('import-save').click();
    // The webhook's secret is shown once before going on to the editor.
    const secret = await page.getByTestId('import-webhook-secret').textContent();
    expect(secret?.length).toBeGreaterThan(20);
    await page.getByTestId('import-continue').click();
    await page.waitForURL((u) => /^\/pipelines\/[^/]+\/edit$/.test(u.pathname), { timeout: 30_000 });
    await page.locator('.react-flow__node', { hasText: 'package / pack' }).waitFor();
    expect(await page.locator('.react-flow__node').count()).toBe(3);
    const pipelineId = new URL(page.url()).pathname.split('/')[2]!;
    // Only the ticked trigger exists.
    const list = await page.evaluate(async (id) => {
      const res = await fetch(`/api/trpc/triggers.list?input=${encodeURIComponent(JSON.stringify({ json: { pipelineId: id } }))}`);
      return (await res.json()) as { result: { data: { json: { type: string; config: { branches?: string[] } }[] } } };
    }, pipelineId);
    expect(list.result.data.json.map((t) => [t.type, t.config.branches])).toEqual([['webhook', ['main']]]);
  });
});

const CALLER = [
  'name: E2E reusable',
  'on:',
  '  push:',
  '    branches: [main]',
  '  schedule:',
  "    - cron: '0 3 * * *'",
  'jobs:',
  '  build:',
  '    runs-on: ubuntu-latest',
  '    steps:',
  '      - run: make',
  '  package:',
  '    needs: build',
  '    uses: ./.github/workflows/package.yml',
  '',
].join('\n');

const CALLED = [
  'on: workflow_call',
  'jobs:',
  '  pack:',
  '    runs-on: ubuntu-latest',
  '    steps: [{ run: make pack }]',
  '  publish:',
  '    needs: pack',
  '    runs-on: ubuntu-latest',
  '    steps: [{ run: make publish }]',
  '',
].join('\n');
