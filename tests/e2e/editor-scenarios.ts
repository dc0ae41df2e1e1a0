/**
 * The pipeline editor, driven like a person would: real pointer drags from the
 * palette and between handles, real key presses, the system clipboard, a real
 * file for import. Each scenario takes a signed-in page and an API client of
 * the same user. (Plain `assert` so the scenarios also run outside vitest.)
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import type { apiAs } from './browser';
import {
  connectByHandles,
  dragFromPalette,
  dragNode,
  edgeLabel,
  node,
  nodePosition,
  openEditorFromPipelinePage,
  save,
  screenshot,
  screenshots,
  tempFile,
  waitForIssues,
} from './editor-steps';

type Api = Awaited<ReturnType<typeof apiAs>>;
type Mark = (what: string) => void;

const mod = process.platform === 'darwin' ? 'Meta' : 'Control';

/** A small pipeline to start from: two unconnected commands and a parameter. */
export async function createStarter(api: Api, name: string) {
  return api.pipelines.create.mutate({
    name,
    spec: {
      schemaVersion: 1,
      name,
      parameters: [{ name: 'version', type: 'string', default: '1.0.0', required: true }],
      nodes: [
        { id: 'build', kind: 'command', name: 'Build', position: { x: 0, y: 0 }, config: { command: 'echo building' } },
        { id: 'test', kind: 'command', name: 'Test', position: { x: 320, y: 0 }, config: { command: 'echo testing' } },
      ],
      edges: [],
    },
    message: 'Created by the e2e test',
  });
}

export async function designScenario(page: Page, appUrl: string, api: Api, opts: { run: boolean; mark: Mark }) {
  const { mark } = opts;
  const { id } = await createStarter(api, `Editor e2e ${Date.now()}`);
  await openEditorFromPipelinePage(page, appUrl, id);
  mark('editor open');
  // Two unconnected stages: each one is painted with a warning.
  await waitForIssues(page, 'build', 'warning');

  // 1. Drag a Command from the palette onto the canvas.
  await dragFromPalette(page, 'command', { fx: 0.5, fy: 0.75 });
  await node(page, 'command').waitFor();
  assert.equal(await page.locator('.react-flow__node').count(), 3);
  mark('dropped a Command from the palette');

  // 2. Connect by dragging handles: build → test → command.
  await connectByHandles(page, 'build', 'test');
  await edgeLabel(page, 'build', 'test').waitFor();
  await connectByHandles(page, 'test', 'command');
  await edgeLabel(page, 'test', 'command').waitFor();
  assert.equal(await page.locator('.react-flow__edge').count(), 2);
  await waitForIssues(page, 'build', 'none');
  mark('connected by handles');

  // 3. A validation mark appears on the stage and clears through the config form.
  await node(page, 'command').click();
  const command = page.locator('[data-testid="config-form"] [data-field="command"] textarea');
  await command.fill('');
  await waitForIssues(page, 'command', 'error');
  assert.match(await page.locator('[data-field="command"] [data-testid="field-issues"]').innerText(), /enter the command to run/);
  assert.equal(await page.getByTestId('problem-count').innerText(), '1');
  await screenshots(page, 'editor-validation');
  // The problems list jumps to the field.
  await page.getByTestId('tab-problems').click();
  await page.locator('[data-testid="problem"][data-node-id="command"]').click();
  await page.waitForFunction(() => document.activeElement?.closest('[data-field="command"]') !== null);
  // Type a reference with the autocomplete: `${{` offers the parameter; in a command it goes in as its variable.
  await command.pressSequentially('echo "testing ${{ ');
  const option = page.getByRole('option', { name: /params\.version/ });
  await option.waitFor();
  await page.keyboard.press('Enter');
  await command.pressSequentially('"');
  assert.equal(await command.inputValue(), 'echo "testing $PW_PARAM_version"');
  await waitForIssues(page, 'command', 'none');
  assert.equal(await page.getByTestId('problem-count').count(), 0);
  mark('validation mark appeared and cleared');

  // 4. The condition on an edge, changed on the edge itself.
  await edgeLabel(page, 'test', 'command').hover();
  await edgeLabel(page, 'test', 'command').locator('select').selectOption('failure');
  await page.locator('[data-testid="edge-label"][data-edge-id="test-command"][data-condition="failure"]').waitFor();

  // 5. Undo and redo (keyboard) cover it.
  await page.locator('.react-flow__pane').click({ position: { x: 30, y: 30 } });
  await page.keyboard.press(`${mod}+z`);
  await page.locator('[data-testid="edge-label"][data-edge-id="test-command"][data-condition="success"]').waitFor();
  await page.keyboard.press(`${mod}+Shift+z`);
  await page.locator('[data-testid="edge-label"][data-edge-id="test-command"][data-condition="failure"]').waitFor();
  // … and a move by drag is one step.
  const before = await nodePosition(page, 'command');
  await dragNode(page, 'command', 120, 40);
  assert.notEqual(await nodePosition(page, 'command'), before);
  await page.keyboard.press(`${mod}+z`);
  await page.waitForFunction(([sel, t]) => document.querySelector(sel)?.getAttribute('style')?.includes(t), ['.react-flow__node[data-id="command"]', before] as const);
  mark('undo/redo');

  // 6. Copy and paste (system clipboard), duplicate, delete with the key.
  await node(page, 'command').click();
  await page.keyboard.press(`${mod}+c`);
  await page.keyboard.press(`${mod}+v`);
  await node(page, 'command-2').waitFor();
  assert.equal(await page.locator('.react-flow__node.selected').count(), 1);
  await page.keyboard.press('Delete');
  await node(page, 'command-2').waitFor({ state: 'detached' });
  await node(page, 'test').click();
  await page.keyboard.press(`${mod}+d`);
  await node(page, 'test-2').waitFor();
  await page.keyboard.press('Backspace');
  await node(page, 'test-2').waitFor({ state: 'detached' });
  // Select all, then the selection toolbar counts it.
  await page.locator('.react-flow__pane').click({ position: { x: 30, y: 30 } });
  await page.keyboard.press(`${mod}+a`);
  assert.equal(await page.locator('.react-flow__node.selected').count(), 3);
  await page.keyboard.press('Escape');
  mark('copy/paste/duplicate/delete');

  // 7. Keyboard only: focus a stage, move it with the arrows, connect it with "Connect to…".
  await page.locator('.react-flow__pane').click({ position: { x: 30, y: 30 } });
  await node(page, 'build').focus();
  await page.keyboard.press('Enter');
  await page.locator('.react-flow__node.selected[data-id="build"]').waitFor();
  const beforeKeys = await nodePosition(page, 'build');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  assert.notEqual(await nodePosition(page, 'build'), beforeKeys);
  await page.keyboard.press('c');
  await page.getByTestId('connect-dialog').waitFor();
  await page.keyboard.type('comm');
  await page.keyboard.press('Enter');
  await edgeLabel(page, 'build', 'command').waitFor();
  await page.keyboard.press(`${mod}+z`); // the connection
  await edgeLabel(page, 'build', 'command').waitFor({ state: 'detached' });
  mark('keyboard: focus, move, connect');

  // 8. Auto-layout: one step, positions change and stay stable.
  const undoSteps = await page.getByRole('button', { name: /^Undo.*\(Ctrl\+Z\)$/ }).getAttribute('aria-label');
  await page.getByRole('button', { name: 'Auto-layout' }).click();
  await page.getByTestId('toast').filter({ hasText: 'Layout tidied up' }).waitFor();
  assert.equal(await page.getByRole('button', { name: /^Undo.*\(Ctrl\+Z\)$/ }).getAttribute('aria-label'), 'Undo: Tidy up layout (Ctrl+Z)');
  assert.notEqual(undoSteps, 'Undo: Tidy up layout (Ctrl+Z)');
  const laidOut = await Promise.all(['build', 'test', 'command'].map((n) => nodePosition(page, n)));
  mark('auto-layout');
  await screenshots(page, 'editor');

  // 9. Save: version 2.
  await save(page, 'Add a command stage');
  await page.getByTestId('base-version').filter({ hasText: 'v2' }).waitFor();
  mark('saved version 2');

  // 10. Reload: the same graph, the same drawing.
  await page.reload();
  await node(page, 'command').waitFor();
  assert.equal(await page.locator('.react-flow__node').count(), 3);
  assert.deepEqual(await Promise.all(['build', 'test', 'command'].map((n) => nodePosition(page, n))), laidOut);
  await page.locator('[data-testid="edge-label"][data-edge-id="test-command"][data-condition="failure"]').waitFor();
  const saved = await api.pipelines.get.query({ id });
  assert.equal(saved.version.version, 2);
  assert.equal(saved.version.spec.nodes.length, 3);
  mark('reloaded: same graph');

  // 11. History: version 2 with its message; compare v1 → v2 on the canvas.
  await page.getByTestId('tab-history').click();
  const v2 = page.locator('[data-testid="version"][data-version="2"]');
  await v2.waitFor();
  assert.match(await v2.innerText(), /Add a command stage/);
  assert.match(await v2.innerText(), /by ada/);
  await v2.getByRole('button', { name: 'Changes from v1' }).click();
  await page.getByTestId('compare-banner').waitFor();
  await node(page, 'command').locator('[data-diff="added"]').waitFor();
  await node(page, 'build').locator('[data-diff="moved"]').waitFor();
  await page.locator('[data-testid="edge-label"][data-edge-id="build-test"][data-diff="added"]').waitFor();
  await page.locator('[data-testid="node-change"][data-node-id="command"][data-status="added"]').waitFor();
  mark('compared versions');
  await screenshots(page, 'editor-diff');
  await page.getByTestId('compare-banner').getByRole('button', { name: 'Back to editing' }).click();
  await page.getByTestId('compare-banner').waitFor({ state: 'detached' });

  // A changed field shows in the list: change the command, compare the draft with v2.
  await page.getByTestId('tab-inspect').click();
  await node(page, 'command').click();
  await command.fill('echo "acceptance tests for $PW_PARAM_version"');
  await page.getByTestId('tab-history').click();
  await page.locator('[data-testid="version"][data-version="2"]').getByRole('button', { name: 'Compare with draft' }).click();
  await node(page, 'command').locator('[data-diff="changed"]').waitFor();
  await page.locator('[data-testid="field-change"][data-path="config.command"]').waitFor();
  await page.getByTestId('compare-banner').getByRole('button', { name: 'Back to editing' }).click();
  await page.keyboard.press('Escape');

  // 12. YAML: edit the text and the canvas follows; the canvas edits the text.
  await page.getByRole('tab', { name: 'YAML' }).click();
  const code = page.getByTestId('code-editor');
  const yaml = await code.inputValue();
  assert.match(yaml, /name: Build/);
  await code.fill(yaml.replace('name: Build', 'name: Compile'));
  await page.locator('[data-testid="code-status"][data-state="applied"]').waitFor();
  await code.fill(yaml.replace('name: Build', 'name: Compile').replace('nodes:', 'nodes: [oops'));
  await page.locator('[data-testid="code-status"][data-state="rejected"]').waitFor();
  await screenshot(page, 'editor-yaml-error.png');
  await page.getByRole('tab', { name: 'Canvas' }).click();
  await node(page, 'build').getByText('Compile').waitFor();
  // The text with the error is not thrown away: the YAML tab is marked, and going back shows the text and its error.
  await page.getByRole('tab', { name: /YAML/ }).getByTestId('code-draft-mark').waitFor();
  await page.getByRole('tab', { name: /YAML/ }).click();
  await page.locator('[data-testid="code-status"][data-state="rejected"]').waitFor();
  assert.match(await code.inputValue(), /nodes: \[oops/);
  // Discarding it brings back the canvas's document.
  await page.getByTestId('code-discard').click();
  await page.locator('[data-testid="code-status"][data-state="synced"]').waitFor();
  assert.doesNotMatch(await code.inputValue(), /\[oops/);
  assert.match(await code.inputValue(), /name: Compile/);
  await page.getByRole('tab', { name: /^Canvas/ }).click();
  await page.getByTestId('code-draft-mark').waitFor({ state: 'detached' });
  mark('YAML edit followed by the canvas; text with an error kept until discarded');

  // 13. Import a malformed file: its problems are shown and nothing changes.
  const nodesBefore = await page.locator('.react-flow__node').count();
  const specBefore = await page.evaluate(() => document.querySelector('[data-testid="save-state"]')?.textContent);
  await page.getByTestId('import-input').setInputFiles(tempFile('broken.yaml', 'schemaVersion: 1\nname: Broken\nnodes:\n  - id: 1bad\n    kind: command\n    name: ""\nedges: oops\n'));
  await page.getByTestId('import-dialog').waitFor();
  assert.ok((await page.getByTestId('import-issues').locator('li').count()) > 0);
  assert.match(await page.getByTestId('import-dialog').innerText(), /Nothing was changed/);
  await screenshot(page, 'editor-import-error.png');
  await page.getByTestId('import-dialog').getByRole('button', { name: 'Close' }).click();
  assert.equal(await page.locator('.react-flow__node').count(), nodesBefore);
  await node(page, 'build').getByText('Compile').waitFor();
  assert.equal(await page.evaluate(() => document.querySelector('[data-testid="save-state"]')?.textContent), specBefore);
  // Unreadable YAML too.
  await page.getByTestId('import-input').setInputFiles(tempFile('garbage.yaml', 'nodes: [unclosed\n  - : :'));
  await page.getByTestId('import-dialog').waitFor();
  await page.getByTestId('import-dialog').getByRole('button', { name: 'Close' }).click();
  assert.equal(await page.locator('.react-flow__node').count(), nodesBefore);
  // A document nested 10,000 levels deep: the same issue as one just over the limit, never a stack
  // overflow, and nothing reaches the canvas (so there is no draft to save).
  const deep = `{"schemaVersion":1,"name":"Deep","nodes":[{"id":"hook","kind":"webhook","name":"Hook","config":{"url":"http://localhost/","body":${'{"x":'.repeat(10_000)}1${'}'.repeat(10_000)}}}],"edges":[]}`;
  await page.getByTestId('import-input').setInputFiles(tempFile('deep.json', deep));
  await page.getByTestId('import-dialog').waitFor();
  const deepDialog = await page.getByTestId('import-dialog').innerText();
  assert.match(deepDialog, /nested deeper than 64 levels/);
  assert.match(deepDialog, /Nothing was changed/);
  assert.doesNotMatch(deepDialog, /call stack/i);
  await page.getByTestId('import-dialog').getByRole('button', { name: 'Close' }).click();
  assert.equal(await page.locator('.react-flow__node').count(), nodesBefore);
  assert.equal(await page.evaluate(() => document.querySelector('[data-testid="save-state"]')?.textContent), specBefore);
  mark('bad imports changed nothing');

  // 13b. A good file brings its stages but not its name: the pipeline keeps the name it was given.
  const ownName = (await page.getByTestId('pipeline-name').innerText()).trim();
  const current = await api.pipelines.get.query({ id });
  const imported = {
    ...current.version.spec,
    name: 'Hello, Pipewright',
    nodes: current.version.spec.nodes.map((n) => (n.id === 'build' ? { ...n, name: 'Imported build' } : n)),
  };
  await page.getByTestId('import-input').setInputFiles(tempFile('hello.pipeline.json', JSON.stringify(imported)));
  await node(page, 'build').getByText('Imported build').waitFor();
  assert.equal((await page.getByTestId('pipeline-name').innerText()).trim(), ownName);
  await page.getByTestId('toast').filter({ hasText: /keeps its name/ }).waitFor();
  await page.getByRole('button', { name: /^Undo: Import hello\.pipeline\.json/ }).click();
  await node(page, 'build').getByText('Compile').waitFor();
  mark('import kept the pipeline name');

  // 14. Run: save first (there are changes), then the canvas shows the run live.
  if (opts.run) {
    await page.getByTestId('save-and-run').click();
    await page.getByLabel('What changed?').fill('Rename build, acceptance tests');
    await page.getByTestId('confirm-save').click();
    await page.getByTestId('start-run').click({ timeout: 20_000 });
    await page.getByTestId('run-banner').waitFor();
    for (const n of ['build', 'test']) await node(page, n).locator('[data-status="succeeded"]').waitFor({ timeout: 90_000 });
    // test → command is a failure edge: the test succeeded, so command is skipped.
    await node(page, 'command').locator('[data-status="skipped"]').waitFor({ timeout: 90_000 });
    await page.getByTestId('run-banner').locator('[data-status="succeeded"]').waitFor({ timeout: 30_000 });
    mark('ran from the editor');
    await screenshots(page, 'editor-run');
  }
  return id;
}

/** Someone else saves while you edit: you are told who, and can see their change. */
export async function conflictScenario(page: Page, appUrl: string, api: Api, mark: Mark) {
  const { id } = await createStarter(api, `Conflict e2e ${Date.now()}`);
  await openEditorFromPipelinePage(page, appUrl, id);
  // Meanwhile, through the API, version 2 adds a stage.
  const v1 = await api.pipelines.get.query({ id });
  await api.pipelines.save.mutate({
    id,
    baseVersion: 1,
    spec: { ...v1.version.spec, nodes: [...v1.version.spec.nodes, { id: 'theirs', kind: 'wait', name: 'Their wait', position: { x: 0, y: 200 }, config: { seconds: 5 } }] },
    message: 'Their change',
  });
  await connectByHandles(page, 'build', 'test');
  await edgeLabel(page, 'build', 'test').waitFor();
  await page.getByTestId('save-button').click();
  await page.getByTestId('confirm-save').click();
  const banner = page.getByTestId('conflict-banner');
  await banner.waitFor();
  assert.match(await banner.innerText(), /Version 2 was saved by ada/);
  await banner.getByRole('button', { name: 'See their change' }).click();
  await node(page, 'theirs').locator('[data-diff="added"]').waitFor();
  await screenshot(page, 'editor-conflict.png');
  await page.getByTestId('compare-banner').getByRole('button', { name: 'Back to editing' }).click();
  // Merging keeps both: their stage and my connection (nothing collides), as unsaved changes on top of v2.
  await banner.getByRole('button', { name: /Merge with v2/ }).click();
  await banner.waitFor({ state: 'detached' });
  await node(page, 'theirs').waitFor();
  await edgeLabel(page, 'build', 'test').waitFor();
  await page.getByTestId('base-version').filter({ hasText: 'v2' }).waitFor();
  await save(page, 'Mine, merged with theirs');
  await page.getByTestId('base-version').filter({ hasText: 'v3' }).waitFor();
  const v3 = await api.pipelines.get.query({ id });
  assert.ok(v3.version.spec.nodes.some((n) => n.id === 'theirs'), 'their stage was kept');
  assert.ok(v3.version.spec.edges.some((e) => e.from === 'build' && e.to === 'test'), 'my connection was kept');
  mark('conflict merged');

  // Both edit v3: they rename Build and Test and save v4; I rename Build too. Test keeps their name; Build is a
  // true conflict, shown side by side and decided by me.
  await api.pipelines.save.mutate({
    id,
    baseVersion: 3,
    spec: {
      ...v3.version.spec,
      nodes: v3.version.spec.nodes.map((n) => (n.id === 'build' ? { ...n, name: 'Compile' } : n.id === 'test' ? { ...n, name: 'Unit tests' } : n)),
    },
    message: 'Their renames',
  });
  await node(page, 'build').click();
  await page.getByTestId('node-inspector').getByLabel('Name', { exact: true }).fill('Make');
  await node(page, 'build').getByText('Make').waitFor();
  await page.getByTestId('save-button').click();
  await page.getByTestId('confirm-save').click();
  await banner.getByRole('button', { name: /Merge with v4/ }).click();
  const dialog = page.getByTestId('merge-dialog');
  const clash = dialog.locator('[data-testid="merge-conflict"][data-path="nodes.build.name"]');
  await clash.waitFor();
  assert.equal(await dialog.getByTestId('merge-conflict').count(), 1);
  assert.match(await clash.innerText(), /Compile[\s\S]*Make/);
  assert.ok(await dialog.getByTestId('merge-apply').isDisabled());
  await screenshot(page, 'editor-merge-conflict.png');
  await clash.getByTestId('merge-choose-theirs').check();
  await dialog.getByTestId('merge-apply').click();
  await node(page, 'build').getByText('Compile').waitFor();
  await node(page, 'test').getByText('Unit tests').waitFor();
  await page.getByTestId('base-version').filter({ hasText: 'v4' }).waitFor();
  mark('true conflict decided side by side');

  // Leaving with unsaved changes asks first.
  await node(page, 'test').click();
  await page.keyboard.press('Delete');
  const asked = new Promise<string>((resolve) =>
    page.once('dialog', (d) => {
      resolve(d.message());
      void d.dismiss();
    }),
  );
  await page.getByRole('link', { name: 'Pipelines', exact: true }).click();
  assert.match(await asked, /unsaved changes/);
  assert.match(page.url(), /\/edit$/);
}

/** The list: search, new from template, duplicate, delete with confirmation. */
export async function listScenario(page: Page, appUrl: string, api: Api, mark: Mark) {
  await page.goto(`${appUrl}/`);
  // Templates are a tab of the New pipeline dialog, beside the blank start and Import.
  await page.getByRole('button', { name: 'New pipeline' }).first().click();
  await page.getByTestId('np-tab-template').click();
  const options = page.getByTestId('template-option');
  assert.ok((await options.count()) >= 4);
  await options.filter({ hasText: 'Release process' }).click();
  const name = `Release e2e ${Date.now()}`;
  await page.getByLabel('Name', { exact: true }).fill(name);
  await screenshot(page, 'pipelines-new-from-template.png');
  await page.getByTestId('create-from-template').click();
  await page.waitForURL(/\/pipelines\/[^/]+\/edit$/);
  for (const n of ['commit', 'acceptance', 'qa', 'deploy-staging', 'smoke-staging', 'approve-production', 'deploy-production', 'smoke-production', 'rollback']) await node(page, n).waitFor();
  await page.locator('[data-testid="edge-label"][data-edge-id="smoke-production-rollback"][data-condition="failure"]').waitFor();
  assert.equal(await page.getByTestId('problem-count').count(), 0);
  await screenshots(page, 'editor-template');
  // Copy a stage here, to paste it into another pipeline below.
  await node(page, 'smoke-production').click();
  await page.keyboard.press(`${mod}+c`);
  mark('new from template');

  await page.goto(`${appUrl}/`);
  await page.getByLabel('Filter pipelines').fill(name);
  const row = page.getByTestId('pipeline-row').filter({ hasText: name });
  await row.waitFor();
  assert.equal(await page.getByTestId('pipeline-row').count(), 1);
  await row.getByTestId('duplicate-pipeline').click();
  await page.waitForURL(/\/edit$/);
  await node(page, 'commit').waitFor();
  const all = await api.pipelines.list.query({ search: name });
  assert.deepEqual(all.map((p) => p.name).sort(), [name, `${name} (copy)`].sort());

  // Paste the stage copied in the other pipeline (fresh id), then add a stage from the palette by keyboard.
  await page.locator('.react-flow__pane').click({ position: { x: 30, y: 30 } });
  await page.keyboard.press(`${mod}+v`);
  await node(page, 'smoke-production-2').waitFor();
  assert.equal(await page.locator('.react-flow__node.selected').count(), 1);
  await page.keyboard.press('/');
  await page.keyboard.type('wait');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  await edgeLabel(page, 'smoke-production-2', 'wait').waitFor();
  await page.keyboard.press(`${mod}+z`);
  await page.keyboard.press(`${mod}+z`);
  await node(page, 'smoke-production-2').waitFor({ state: 'detached' });
  await page.getByTestId('save-state').filter({ hasText: 'All changes saved' }).waitFor();
  mark('pasted from another pipeline, added from the palette by keyboard');

  // A new stage's id follows its name; a saved stage keeps its id (runs and versions know it by it) and offers the rename.
  // (Stages are picked by keyboard: the canvas may have scrolled them out of view.)
  const pick = async (id: string) => {
    await node(page, id).focus();
    await page.keyboard.press('Enter');
    await page.getByTestId('node-inspector').locator('#stage-id').and(page.locator(`[value="${id}"]`)).waitFor();
  };
  await dragFromPalette(page, 'wait', { fx: 0.5, fy: 0.25 });
  await node(page, 'wait').waitFor();
  await pick('wait');
  const stageName = page.getByTestId('node-inspector').getByLabel('Name', { exact: true });
  await stageName.fill('Cool down');
  await stageName.press('Tab');
  await node(page, 'cool-down').waitFor();
  await pick('commit');
  const offer = page.getByTestId('id-rename-offer');
  assert.equal(await offer.count(), 0, 'no offer while the saved name is unchanged');
  await stageName.fill('Commit step');
  await stageName.press('Tab');
  await offer.waitFor();
  assert.equal(await node(page, 'commit').count(), 1, 'a saved stage keeps its id when renamed');
  await offer.getByRole('button', { name: /Rename to “commit-step”/ }).click();
  await node(page, 'commit-step').waitFor();
  assert.equal(await node(page, 'commit').count(), 0);
  await save(page, 'Named stages');
  const named = await api.pipelines.get.query({ id: new URL(page.url()).pathname.split('/')[2]! });
  assert.ok(named.version.spec.nodes.some((n) => n.id === 'cool-down' && n.name === 'Cool down'));
  assert.ok(named.version.spec.edges.some((e) => e.from === 'commit-step'), 'connections follow the renamed id');
  mark('ids follow names of new stages; saved stages offer the rename');

  await page.goto(`${appUrl}/`);
  await page.getByLabel('Filter pipelines').fill(`${name} (copy)`);
  const copy = page.getByTestId('pipeline-row').filter({ hasText: `${name} (copy)` });
  await copy.getByTestId('delete-pipeline').click();
  await page.getByTestId('confirm-delete').click();
  await copy.waitFor({ state: 'detached' });
  assert.deepEqual((await api.pipelines.list.query({ search: name })).map((p) => p.name), [name]);
  mark('search, duplicate, delete');
}

/** A viewer opens the editor: everything can be looked at, nothing changed. */
export async function viewerScenario(page: Page, appUrl: string, api: Api, mark: Mark) {
  const pipeline = (await api.pipelines.list.query()).find((p) => p.name === 'Hello, Pipewright');
  assert.ok(pipeline);
  await openEditorFromPipelinePage(page, appUrl, pipeline.id);
  assert.equal(await page.getByTestId('palette-item').count(), 0);
  assert.equal(await page.getByTestId('save-button').count(), 0);
  assert.equal(await page.getByTestId('run-button').count(), 0);
  await page.getByText('You can look at this pipeline but not change it').waitFor();
  await node(page, 'qa').click();
  const quorum = page.locator('[data-testid="config-form"] [data-field="quorum"] input');
  assert.equal(await quorum.getAttribute('readonly'), '');
  await page.keyboard.press('Delete');
  assert.equal(await page.locator('.react-flow__node').count(), 6);
  assert.equal(await page.locator('.react-flow__node[data-id="qa"] .react-flow__handle.connectable').count(), 0);
  mark('viewer: read-only');
}
