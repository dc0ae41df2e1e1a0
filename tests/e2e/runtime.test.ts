/**
 * The durable runtime through the product, in real Chromium: an author runs
 * the example pipeline, watches stages succeed and the Build log stream, the
 * QA gate waits; an approver approves it from Approvals; the run finishes.
 * A viewer can look at everything and decide or start nothing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { apiAs, openBrowser, SCREENSHOT_DIR, signIn, signOut, type Browser } from './browser';

const appUrl = inject('appUrl');
const PIPELINE = 'Hello, Pipewright';

let browser: Browser | undefined;
afterEach(async () => {
  await browser?.close();
  browser = undefined;
});

function stage(page: Browser['page'], id: string, status?: string) {
  return page.locator(status ? `li[data-stage="${id}"][data-status="${status}"]` : `li[data-stage="${id}"]`);
}

async function screenshot(page: Browser['page'], name: string) {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, name);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

describe('durable runtime in the browser', () => {
  it('an author creates a pipeline and runs the example one, an approver approves the gate, the run finishes', async () => {
    browser = await openBrowser();
    const { page } = browser;
    const t0 = Date.now();
    const mark = (what: string) => process.stderr.write(`[e2e] ${what} at ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);

    // Signed out: every page sends you to sign in, and brings you back.
    await page.goto(`${appUrl}/`);
    await page.waitForURL((u) => u.pathname === '/sign-in');
    expect(new URL(page.url()).searchParams.get('next')).toBe('/');
    await signIn(page, 'ada');
    await page.getByRole('heading', { name: 'Pipelines' }).waitFor();
    expect(await page.getByTestId('current-user').innerText()).toContain('Author');
    await screenshot(page, 'pipelines.png');

    // New pipeline from YAML: problems show up live, before anything is saved.
    await page.getByRole('button', { name: 'New pipeline' }).first().click();
    await page.getByLabel('Name', { exact: true }).fill('E2E smoke pipeline');
    // Blank (the canvas) comes first; the code path is one click away.
    expect(await page.getByLabel(/^Definition/).count()).toBe(0);
    await page.getByTestId('np-import').click();
    const definition = page.getByLabel(/^Definition/);
    const yaml = (edges: string) =>
      ['schemaVersion: 1', 'nodes:', '  - { id: hello, kind: command, name: Say hello, config: { command: echo hello } }', `edges: ${edges}`].join('\n');
    await definition.fill(yaml('[{ id: e1, from: hello, to: nowhere }]'));
    const validation = page.getByTestId('validation');
    await validation.filter({ hasText: 'points at missing stage(s) "nowhere"' }).waitFor();
    expect(await page.getByRole('button', { name: 'Create as draft' }).count()).toBe(1);
    await screenshot(page, 'new-pipeline-issues.png');
    await definition.fill(yaml('[]'));
    await validation.filter({ hasText: 'No problems found' }).waitFor();
    await page.getByRole('button', { name: 'Create pipeline' }).click();
    await page.waitForURL(/\/pipelines\/[^/]+$/);
    await page.getByRole('heading', { name: 'E2E smoke pipeline' }).waitFor();
    await page.locator('[data-stage="hello"]').waitFor();
    await page.getByRole('link', { name: 'Pipelines', exact: true }).first().click();
    await page.waitForURL((u) => u.pathname === '/');

    // Open the example pipeline and run it with its default parameters.
    await page.getByRole('link', { name: PIPELINE, exact: true }).click();
    await page.waitForURL(/\/pipelines\/[^/]+$/);
    await page.getByRole('heading', { name: PIPELINE }).waitFor();
    await page.locator('[data-stage="qa"]').first().waitFor(); // the stage graph
    await page.getByRole('button', { name: `Run ${PIPELINE}` }).first().click();
    const version = page.getByLabel(/^version/);
    expect(await version.inputValue()).toBe('1.0.0');
    await screenshot(page, 'run-dialog.png');
    await page.getByTestId('start-run').click();
    await page.waitForURL(/\/pipelines\/[^/]+\/runs\/[^/]+$/, { timeout: 20_000 });
    const runUrl = page.url();
    mark('run started');

    // Build, then Unit tests and Static analysis in parallel, succeed; the gate waits.
    await stage(page, 'build', 'succeeded').waitFor({ timeout: 90_000 });
    await stage(page, 'unit', 'succeeded').waitFor({ timeout: 90_000 });
    await stage(page, 'lint', 'succeeded').waitFor({ timeout: 90_000 });
    const qa = stage(page, 'qa', 'waiting');
    await qa.waitFor({ timeout: 90_000 });
    mark('QA gate waiting');
    expect(await qa.innerText()).toContain('Waiting');
    expect(await qa.innerText()).toContain('Check the test report');
    expect(await stage(page, 'build').innerText()).toMatch(/attempt 1\/\d/);
    expect(await stage(page, 'build').innerText()).toContain('app-1.0.0.tar.gz'); // its output

    // Build's log: streamed, as text.
    await stage(page, 'build').getByRole('button', { name: /^Build:/ }).click();
    const log = page.getByTestId('log');
    await log.filter({ hasText: 'compiling module 3/3' }).waitFor({ timeout: 20_000 });
    expect(await log.innerText()).toContain('Building version 1.0.0');
    // Ada is an author, not an approver: no decision buttons for her.
    expect(await page.getByRole('button', { name: 'Approve' }).count()).toBe(0);
    await page.mouse.move(0, 0);
    await screenshot(page, 'run-page-waiting.png');

    // Alan (group "approvers") approves from his Approvals page.
    await signOut(page);
    await signIn(page, 'alan');
    await page.getByTestId('approvals-count').filter({ hasText: '1' }).waitFor();
    await page.getByRole('link', { name: /^Approvals/ }).click();
    await page.waitForURL((u) => u.pathname === '/approvals');
    const card = page.getByTestId('approval').filter({ hasText: 'QA sign-off' });
    await card.waitFor();
    expect(await card.innerText()).toContain(PIPELINE);
    expect(await card.innerText()).toContain('version=1.0.0');
    await card.getByLabel(/^Comment/).fill('Test report looks good.');
    await card.getByRole('button', { name: 'Approve' }).click();
    // The decision is confirmed at the top, and the card leaves once the gate has moved on.
    await page.getByText(/You approved “QA sign-off”/).waitFor({ timeout: 60_000 });
    await card.waitFor({ state: 'detached', timeout: 60_000 });
    mark('approved');
    await screenshot(page, 'approvals-after-decision.png');

    // The run goes on: deploy, smoke test against /api/health, finished.
    await page.goto(runUrl);
    await stage(page, 'deploy', 'succeeded').waitFor({ timeout: 90_000 });
    await stage(page, 'smoke', 'succeeded').waitFor({ timeout: 90_000 });
    await page.getByTestId('run-status').locator('[data-status="succeeded"]').waitFor({ timeout: 20_000 });
    mark('run succeeded');
    const gateText = await stage(page, 'qa').innerText();
    expect(gateText).toContain('Alan Turing');
    expect(gateText).toContain('Test report looks good.');
    await screenshot(page, 'run-page-finished.png');
    await page.emulateMedia({ colorScheme: 'dark' });
    await screenshot(page, 'run-page-finished-dark.png');
  });

  it('a viewer sees runs and gates but no Run, Cancel or Approve button', async () => {
    // A run waiting at its gate, started through the API as Ada.
    const ada = await apiAs(appUrl, 'ada');
    const pipeline = (await ada.pipelines.list.query()).find((p) => p.name === PIPELINE);
    expect(pipeline).toBeDefined();
    const inFlight = (await ada.runs.list.query({ pipelineId: pipeline!.id })).find((r) => r.status === 'running' || r.status === 'queued');
    const runId = inFlight?.id ?? (await ada.runs.start.mutate({ pipelineId: pipeline!.id })).id;

    try {
      browser = await openBrowser();
      const { page } = browser;
      await page.goto(`${appUrl}/approvals`);
      await page.waitForURL((u) => u.pathname === '/sign-in');
      await signIn(page, 'vera');
      await page.waitForURL((u) => u.pathname === '/approvals');
      await page.getByText('Nothing is waiting for you').waitFor();

      await page.goto(`${appUrl}/`);
      await page.getByTestId('pipeline-row').first().waitFor();
      expect(await page.getByTestId('current-user').innerText()).toContain('Viewer');
      expect(await page.getByTestId('run-button').count()).toBe(0);
      expect(await page.getByRole('button', { name: 'New pipeline' }).count()).toBe(0);

      await page.goto(`${appUrl}/pipelines/${pipeline!.id}/runs/${runId}`);
      await stage(page, 'qa', 'waiting').waitFor({ timeout: 90_000 });
      expect(await stage(page, 'qa').innerText()).toContain('Check the test report');
      expect(await page.getByRole('button', { name: 'Approve' }).count()).toBe(0);
      expect(await page.getByRole('button', { name: 'Reject' }).count()).toBe(0);
      expect(await page.getByRole('button', { name: 'Cancel run' }).count()).toBe(0);
      expect(await page.getByTestId('run-button').count()).toBe(0);

      await page.goto(`${appUrl}/runs`);
      await page.getByTestId('run-row').first().waitFor();
      await screenshot(page, 'runs.png');
      await page.goto(`${appUrl}/pipelines/${pipeline!.id}`);
      await page.getByRole('heading', { name: PIPELINE }).waitFor();
      expect(await page.getByTestId('run-button').count()).toBe(0);
      await screenshot(page, 'pipeline.png');
    } finally {
      await ada.runs.cancel.mutate({ runId, reason: 'e2e clean-up' }).catch(() => undefined);
    }
  });
});

describe('HTTP surface', () => {
  it('answers the health check and sends security headers on pages and APIs', async () => {
    const health = await fetch(`${appUrl}/api/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ ok: true, db: 'ok' });

    for (const url of [`${appUrl}/sign-in`, `${appUrl}/api/health`, `${appUrl}/`]) {
      const res = await fetch(url, { redirect: 'manual' });
      await res.body?.cancel();
      expect(res.headers.get('content-security-policy'), url).toContain("frame-ancestors 'none'");
      expect(res.headers.get('x-frame-options'), url).toBe('DENY');
      expect(res.headers.get('x-content-type-options'), url).toBe('nosniff');
      expect(res.headers.get('referrer-policy'), url).toBe('same-origin');
    }

    // Signed out: pages redirect to sign-in with the way back; the API answers 401 without details.
    const page = await fetch(`${appUrl}/runs?status=failed`, { redirect: 'manual' });
    await page.body?.cancel();
    expect([303, 307, 308]).toContain(page.status);
    expect(page.headers.get('location')).toContain(`/sign-in?next=${encodeURIComponent('/runs?status=failed')}`);
    const api = await fetch(`${appUrl}/api/trpc/runs.list`);
    expect(api.status).toBe(401);
    const body = await api.text();
    expect(body).not.toMatch(/at .*\.(ts|js):\d+/); // no stack trace
  });
});
