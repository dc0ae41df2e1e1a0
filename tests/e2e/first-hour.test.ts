/**
 * The first hour of a new team (issue 15), in real Chromium: a blank pipeline
 * opens on the canvas with the description typed in New pipeline; its page
 * offers Share beside Edit and no promotion board without environments; a run
 * waiting at a gate reads "Waiting for approval — who" in the run header, the
 * runs list, the embed, the diagram image and the badge; New pipeline offers
 * templates and Import beside the blank start; keyboard deletes, connections
 * and pastes show a toast whose Undo takes back exactly that; the favicon is
 * served.
 */
import { afterEach, describe, expect, inject, it } from 'vitest';
import { apiAs, openBrowser, signIn, type Browser } from './browser';
import { edgeLabel, node } from './editor-steps';
import { PIPELINE_TEMPLATES } from '../../workflows/model/templates';

const appUrl = inject('appUrl');

let browser: Browser | undefined;
afterEach(async () => {
  await browser?.close();
  browser = undefined;
});

describe('the first hour', () => {
  it('serves a favicon', async () => {
    const res = await fetch(`${appUrl}/favicon.ico`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/icon/);
  });

  it('creates a blank pipeline on the canvas, and its page shows Share beside Edit and no promotion board', async () => {
    browser = await openBrowser();
    const { page } = browser;
    await page.goto(`${appUrl}/sign-in?next=/`);
    await signIn(page, 'ada');
    await page.getByRole('heading', { name: 'Pipelines' }).waitFor();
    await page.getByRole('button', { name: 'New pipeline' }).first().click();
    const name = `First hour ${Date.now()}`;
    await page.getByLabel('Name', { exact: true }).fill(name);
    await page.getByLabel(/^Description/).fill('Checks the checkout service');
    await page.getByRole('button', { name: 'Create pipeline' }).click();
    await page.waitForURL(/\/pipelines\/[^/]+\/edit$/);
    await page.locator('.react-flow').waitFor();
    const id = new URL(page.url()).pathname.split('/')[2]!;

    await page.goto(`${appUrl}/pipelines/${id}`);
    await page.getByText('Checks the checkout service').waitFor();
    const actions = page.getByTestId('open-editor').locator('..');
    await actions.getByTestId('share-button').waitFor();
    expect(await page.getByTestId('open-promotion-board').count()).toBe(0);
  });

  it('offers templates and Import beside the blank start in the one New pipeline dialog', async () => {
    browser = await openBrowser();
    const { page } = browser;
    await page.goto(`${appUrl}/sign-in?next=/`);
    await signIn(page, 'ada');
    await page.getByRole('heading', { name: 'Pipelines' }).waitFor();
    await page.getByRole('button', { name: 'New pipeline' }).first().click();
    // Blank comes first: its name field has the focus.
    await page.locator('[data-testid="np-tab-blank"][aria-selected="true"]').waitFor();
    await page.locator('#np-name:focus').waitFor();
    // Import is a tab of the same dialog.
    await page.getByRole('tab', { name: 'Import' }).click();
    await page.getByTestId('import-dialog').getByTestId('import-text').waitFor();
    // So are the templates: pick one, name it, and it opens on the canvas with its stages.
    await page.getByRole('tab', { name: 'From a template' }).click();
    const canary = PIPELINE_TEMPLATES.find((t) => t.id === 'canary')!;
    expect(await page.getByTestId('template-option').count()).toBe(PIPELINE_TEMPLATES.length);
    await page.getByTestId('template-option').filter({ hasText: canary.name }).click();
    await page.getByLabel('Name', { exact: true }).fill(`Canary ${Date.now()}`);
    await page.getByTestId('create-from-template').click();
    await page.waitForURL(/\/pipelines\/[^/]+\/edit$/);
    for (const n of canary.spec.nodes) await node(page, n.id).waitFor();
  });

  it('says whom a run waits for, in the run header and the runs list', async () => {
    const api = await apiAs(appUrl, 'ada');
    const { id: pipelineId } = await api.pipelines.create.mutate({
      name: `First hour gate ${Date.now()}`,
      spec: {
        schemaVersion: 1,
        name: 'gate',
        nodes: [
          { id: 'build', kind: 'command', name: 'Build', config: { command: 'true' } },
          { id: 'qa', kind: 'approval', name: 'QA', config: { users: ['grace'], groups: [] } },
        ],
        edges: [{ id: 'e1', from: 'build', to: 'qa', on: 'success' }],
      },
    });
    const run = await api.runs.start.mutate({ pipelineId });
    browser = await openBrowser();
    const { page } = browser;
    await page.goto(`${appUrl}/sign-in?next=/pipelines/${pipelineId}/runs/${run.id}`);
    await signIn(page, 'ada');
    await page.getByTestId('run-status').filter({ hasText: 'Waiting for approval — grace' }).waitFor({ timeout: 30_000 });
    await page.goto(`${appUrl}/pipelines/${pipelineId}`);
    await page.getByTestId('run-row').getByTestId('run-status-chip').filter({ hasText: 'Waiting for approval — grace' }).waitFor({ timeout: 30_000 });

    // The embed (live), the diagram image and the badge word it the same way.
    const { token } = await api.embeds.create.mutate({ pipelineId, scope: 'view', allowedOrigins: [], expiresInDays: null });
    const q = `token=${encodeURIComponent(token)}`;
    await page.goto(`${appUrl}/embed/pipelines/${pipelineId}?${q}`);
    await page.locator('#pw-run-status').filter({ hasText: 'Waiting for approval — grace' }).waitFor();
    expect(await (await fetch(`${appUrl}/api/diagram/${pipelineId}.svg?${q}`)).text()).toContain('Waiting for approval — grace</text>');
    expect(await (await fetch(`${appUrl}/api/badge/${pipelineId}.svg?${q}`)).text()).toContain('waiting for approval — grace');
  });

  it('announces a keyboard delete, a keyboard connection and a paste with a toast whose Undo takes back exactly that', async () => {
    const api = await apiAs(appUrl, 'ada');
    const { id: pipelineId } = await api.pipelines.create.mutate({
      name: `First hour undo ${Date.now()}`,
      spec: {
        schemaVersion: 1,
        name: 'undo',
        nodes: [
          { id: 'build', kind: 'command', name: 'Build', config: { command: 'true' }, position: { x: 0, y: 0 } },
          { id: 'test', kind: 'command', name: 'Test', config: { command: 'true' }, position: { x: 300, y: 0 } },
          { id: 'deploy', kind: 'command', name: 'Deploy', config: { command: 'true' }, position: { x: 300, y: 200 } },
        ],
        edges: [{ id: 'build-test', from: 'build', to: 'test', on: 'success' }],
      },
    });
    browser = await openBrowser();
    const { page } = browser;
    const mod = process.platform === 'darwin' ? 'Meta' : 'Control';
    await page.goto(`${appUrl}/sign-in?next=/pipelines/${pipelineId}/edit`);
    await signIn(page, 'ada');
    await node(page, 'deploy').waitFor();
    const toast = (text: string) => page.getByTestId('toast').filter({ hasText: text });

    // A keyboard delete says what went, and its Undo brings back that stage only — not the duplicate made after it.
    await node(page, 'deploy').click();
    await page.keyboard.press('Delete');
    await node(page, 'deploy').waitFor({ state: 'detached' });
    const deleted = toast('Deleted stage “Deploy”');
    await deleted.waitFor();
    await node(page, 'build').click();
    await page.keyboard.press(`${mod}+d`);
    await node(page, 'build-2').waitFor();
    await deleted.getByRole('button', { name: 'Undo' }).click();
    await node(page, 'deploy').waitFor();
    await node(page, 'build-2').waitFor();
    await toast('Undone: delete stage “Deploy”').waitFor();

    // A connection added with `c` is announced by name and undone by its toast.
    await node(page, 'test').click();
    await page.keyboard.press('c');
    await page.getByTestId('connect-dialog').waitFor();
    await page.keyboard.type('Depl');
    await page.keyboard.press('Enter');
    await edgeLabel(page, 'test', 'deploy').waitFor();
    await toast('Connected “Test” → “Deploy”').getByRole('button', { name: 'Undo' }).click();
    await edgeLabel(page, 'test', 'deploy').waitFor({ state: 'detached' });
    await edgeLabel(page, 'build', 'test').waitFor();

    // A paste is announced and undone the same way.
    await node(page, 'test').click();
    await page.keyboard.press(`${mod}+c`);
    await page.keyboard.press(`${mod}+v`);
    await node(page, 'test-2').waitFor();
    await toast('Pasted stage “Test”').getByRole('button', { name: 'Undo' }).click();
    await node(page, 'test-2').waitFor({ state: 'detached' });
    await node(page, 'test').waitFor();
  });

  it('keeps the condition labels of crossing connections apart on the canvas', async () => {
    const api = await apiAs(appUrl, 'ada');
    const at = (id: string, name: string, x: number, y: number) => ({ id, kind: 'command', name, config: { command: 'true' }, position: { x, y } });
    const { id: pipelineId } = await api.pipelines.create.mutate({
      name: `First hour labels ${Date.now()}`,
      spec: {
        schemaVersion: 1,
        name: 'labels',
        nodes: [at('a', 'A', 0, 0), at('c', 'C', 0, 240), at('b', 'B', 520, 0), at('d', 'D', 520, 240)],
        edges: [
          { id: 'a-d', from: 'a', to: 'd', on: 'failure' },
          { id: 'c-b', from: 'c', to: 'b', on: 'always' },
        ],
      },
    });
    browser = await openBrowser();
    const { page } = browser;
    await page.goto(`${appUrl}/sign-in?next=/pipelines/${pipelineId}/edit`);
    await signIn(page, 'ada');
    const one = edgeLabel(page, 'a', 'd').locator('label');
    const other = edgeLabel(page, 'c', 'b').locator('label');
    await one.waitFor();
    await other.waitFor();
    const [x, y] = [(await one.boundingBox())!, (await other.boundingBox())!];
    const overlap = x.x < y.x + y.width && y.x < x.x + x.width && x.y < y.y + y.height && y.y < x.y + x.height;
    expect(overlap, `labels at ${JSON.stringify(x)} and ${JSON.stringify(y)}`).toBe(false);
  });
});
