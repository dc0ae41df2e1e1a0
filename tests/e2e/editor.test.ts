/**
 * The visual pipeline designer in real Chromium against the production build
 * (see editor-scenarios.ts for the steps): drag from the palette, connect by
 * handles, validation marks, undo/redo, copy/paste, keyboard-only editing,
 * auto-layout, save and reload, history and visual compare, YAML both ways,
 * a malformed import that changes nothing, Run with live status on the canvas;
 * a save conflict; the list's templates, search, duplicate and delete.
 * Screenshots (light and dark) go to test-results/.
 */
import { afterEach, describe, inject, it } from 'vitest';
import { apiAs, openBrowser, signIn, type Browser } from './browser';
import { conflictScenario, designScenario, listScenario, viewerScenario } from './editor-scenarios';

const appUrl = inject('appUrl');

let browser: Browser | undefined;
afterEach(async () => {
  await browser?.close();
  browser = undefined;
});

function marker() {
  const t0 = Date.now();
  return (what: string) => process.stderr.write(`[e2e] editor: ${what} at ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
}

async function signedIn(username: string) {
  browser = await openBrowser();
  await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: appUrl });
  const { page } = browser;
  await page.goto(`${appUrl}/sign-in`);
  await signIn(page, username);
  return page;
}

describe('pipeline editor', () => {
  it('designs a pipeline on the canvas, saves, compares versions, edits YAML, refuses a bad import and runs it', async () => {
    const page = await signedIn('ada');
    await designScenario(page, appUrl, await apiAs(appUrl, 'ada'), { run: true, mark: marker() });
  });

  it('refuses to save over a newer version and shows the other change; warns before leaving unsaved work', async () => {
    const page = await signedIn('ada');
    await conflictScenario(page, appUrl, await apiAs(appUrl, 'ada'), marker());
  });

  it('creates a pipeline from a template, copies a stage into another pipeline, searches, duplicates and deletes with confirmation', async () => {
    const page = await signedIn('ada');
    await listScenario(page, appUrl, await apiAs(appUrl, 'ada'), marker());
  });

  it('opens read-only for a viewer', async () => {
    const page = await signedIn('vera');
    await viewerScenario(page, appUrl, await apiAs(appUrl, 'vera'), marker());
  });
});
