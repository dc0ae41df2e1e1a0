/**
 * Steps of the pipeline editor's end-to-end tests, with real pointer and
 * keyboard events in Chromium. Shared by tests/e2e/editor.test.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { SCREENSHOT_DIR } from './browser';

export function node(page: Page, id: string): Locator {
  return page.locator(`.react-flow__node[data-id="${id}"]`);
}

export function edgeLabel(page: Page, from: string, to: string): Locator {
  return page.locator(`[data-testid="edge-label"][data-edge-id="${from}-${to}"]`);
}

export async function screenshot(page: Page, name: string) {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.mouse.move(1, 1);
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, name) });
}

/** Light and dark screenshots of the same state. */
export async function screenshots(page: Page, name: string) {
  await screenshot(page, `${name}.png`);
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.waitForTimeout(400); // colour transitions
  await screenshot(page, `${name}-dark.png`);
  await page.emulateMedia({ colorScheme: 'light' });
  await page.waitForTimeout(400);
}

export async function centre(l: Locator): Promise<{ x: number; y: number }> {
  const b = await l.boundingBox();
  if (!b) throw new Error('element is not visible');
  return { x: b.x + b.width / 2, y: b.y + b.height / 2 };
}

/** Drags a palette item onto the canvas at a fraction of the pane's size, with real pointer moves. */
export async function dragFromPalette(page: Page, kind: string, at: { fx: number; fy: number }) {
  const from = await centre(page.locator(`[data-testid="palette-item"][data-kind="${kind}"]`));
  const pane = (await page.locator('.react-flow__pane').boundingBox())!;
  const to = { x: pane.x + pane.width * at.fx, y: pane.y + pane.height * at.fy };
  await page.mouse.move(from.x, from.y);
  await page.mouse.down();
  await page.mouse.move(from.x + 30, from.y + 10, { steps: 4 });
  await page.mouse.move(to.x, to.y, { steps: 12 });
  await page.mouse.up();
}

/** Drags from one stage's output handle to another's input handle. */
export async function connectByHandles(page: Page, from: string, to: string) {
  const a = await centre(node(page, from).locator('.react-flow__handle.source'));
  const b = await centre(node(page, to).locator('.react-flow__handle.target'));
  await page.mouse.move(a.x, a.y);
  await page.mouse.down();
  await page.mouse.move((a.x + b.x) / 2, (a.y + b.y) / 2 + 20, { steps: 8 });
  await page.mouse.move(b.x, b.y, { steps: 8 });
  await page.mouse.up();
}

/** Moves a stage by dragging its body. */
export async function dragNode(page: Page, id: string, dx: number, dy: number) {
  const c = await centre(node(page, id));
  await page.mouse.move(c.x, c.y);
  await page.mouse.down();
  await page.mouse.move(c.x + dx / 2, c.y + dy / 2, { steps: 6 });
  await page.mouse.move(c.x + dx, c.y + dy, { steps: 6 });
  await page.mouse.up();
}

/** The stage's position on the canvas (its `translate(…)`, in canvas units). */
export async function nodePosition(page: Page, id: string): Promise<string> {
  const style = (await node(page, id).getAttribute('style')) ?? '';
  return /translate\([^)]*\)/.exec(style)?.[0] ?? style;
}

export async function issuesOf(page: Page, id: string): Promise<string | null> {
  return node(page, id).locator('[data-testid="stage-node"]').getAttribute('data-issues');
}

export async function waitForIssues(page: Page, id: string, value: 'error' | 'warning' | 'none') {
  await node(page, id).locator(`[data-testid="stage-node"][data-issues="${value}"]`).waitFor({ timeout: 10_000 });
}

/** A file in a temporary folder, for `setInputFiles`. */
export function tempFile(name: string, text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pipewright-import-'));
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

export async function openEditorFromPipelinePage(page: Page, appUrl: string, pipelineId: string) {
  await page.goto(`${appUrl}/pipelines/${pipelineId}`);
  await page.getByTestId('open-editor').click();
  await page.waitForURL((u) => u.pathname === `/pipelines/${pipelineId}/edit`);
  await page.locator('.react-flow__node').first().waitFor({ timeout: 60_000 });
}

export async function save(page: Page, message: string) {
  await page.getByTestId('save-button').click();
  await page.getByLabel('What changed?').fill(message);
  await page.getByTestId('confirm-save').click();
  await page.getByTestId('save-state').filter({ hasText: 'All changes saved' }).waitFor({ timeout: 20_000 });
}
