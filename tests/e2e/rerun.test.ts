/**
 * Build once, re-run from the failed stage, in real Chromium: a run whose
 * deploy fails lists the build's artifact (digest, download); the author
 * re-runs from the failed stage; the new run reuses the build (shown as reused,
 * linked to the first run, same digest) and succeeds; the download serves the
 * exact bytes.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { apiAs, openBrowser, SCREENSHOT_DIR, signIn, type Browser } from './browser';

const appUrl = inject('appUrl');

let browser: Browser | undefined;
afterEach(async () => {
  await browser?.close();
  browser = undefined;
});

describe('re-run from the failed stage in the browser', () => {
  it('shows the artifact, re-runs only the failed stage, and marks the build as reused', async () => {
    // In the folder the app's sandboxed commands share with the tests.
    const dir = fs.mkdtempSync(path.join(inject('sharedDir'), 'rerun-'));
    fs.chmodSync(dir, 0o777);
    const marker = path.join(dir, 'fixed');
    const content = `e2e build ${Date.now()}`;
    const digest = `sha256:${createHash('sha256').update(`${content}\n`).digest('hex')}`;
    const api = await apiAs(appUrl, 'ada');
    const { id: pipelineId } = await api.pipelines.create.mutate({
      name: `E2E rerun ${Date.now()}`,
      spec: {
        schemaVersion: 1,
        name: 'E2E rerun',
        nodes: [
          { id: 'build', kind: 'command', name: 'Build', config: { command: `echo x >> ${dir}/build.count; echo "${content}" > app.txt`, artifacts: [{ name: 'app', path: 'app.txt' }] } },
          { id: 'deploy', kind: 'command', name: 'Deploy', config: { command: `test -f ${marker} || { echo "not ready" >&2; exit 3; }`, inputs: [{ artifact: 'build.app', path: 'app.txt' }] } },
        ],
        edges: [{ id: 'e1', from: 'build', to: 'deploy', on: 'success' }],
      },
    });
    const first = await api.runs.start.mutate({ pipelineId });

    browser = await openBrowser();
    const { page } = browser;
    await page.goto(`${appUrl}/sign-in?next=/pipelines/${pipelineId}/runs/${first.id}`);
    await signIn(page, 'ada');
    await page.waitForURL((u) => u.pathname === `/pipelines/${pipelineId}/runs/${first.id}`);
    await page.locator('[data-testid="run-status"]', { hasText: 'failed' }).waitFor({ timeout: 30_000 });
    const row = page.locator('[data-artifact="build.app"]');
    await row.waitFor();
    expect(await row.locator('code').getAttribute('title')).toBe(digest);
    const href = await row.getByRole('link', { name: /Download app/ }).getAttribute('href');
    const cookies = await browser.context.cookies();
    const res = await fetch(`${appUrl}${href}`, { headers: { cookie: cookies.map((c) => `${c.name}=${c.value}`).join('; ') } });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(`${content}\n`);
    expect((await fetch(`${appUrl}${href}`)).status).toBe(401);

    fs.writeFileSync(marker, 'ok');
    await page.getByTestId('rerun-from-failed').click();
    expect(await page.getByTestId('rerun-reused').innerText()).toBe('Build');
    expect(await page.getByTestId('rerun-again').innerText()).toBe('Deploy');
    fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'rerun-dialog.png') });
    await page.getByTestId('rerun-from-failed-confirm').click();
    await page.waitForURL((u) => u.pathname.startsWith(`/pipelines/${pipelineId}/runs/`) && !u.pathname.endsWith(first.id));
    await page.locator('[data-testid="run-status"]', { hasText: 'succeeded' }).waitFor({ timeout: 30_000 });
    const reused = page.locator('li[data-stage="build"] [data-testid="stage-reused"]');
    expect(await reused.innerText()).toContain(`reused from run #${first.number}`);
    expect(await page.getByTestId('run-reused-from').innerText()).toBe(`run #${first.number}`);
    expect(await page.locator('[data-artifact="build.app"] code').getAttribute('title')).toBe(digest);
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'rerun-reused.png'), fullPage: true });
    expect(fs.readFileSync(path.join(dir, 'build.count'), 'utf8').trim().split('\n')).toHaveLength(1);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
