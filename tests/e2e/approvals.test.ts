/**
 * Runs, approvals and people in real Chromium, each person signed in in a
 * browser context of their own (one browser):
 * 1. the author starts a run; its log shows a command's output while the
 *    command still runs; the approver's inbox shows the gate without a
 *    reload, with what passed upstream; the approver approves with a comment
 *    and the author's run page shows the next stage running, live; a second
 *    approver on a stale page clicks Approve and is told in place who
 *    decided; nothing anyone typed (pipeline name, instructions, log lines,
 *    comments) becomes HTML;
 * 2. a 2-of-3 quorum needs two approvers; the viewer sees no Approve button
 *    and a direct API call is refused (403) and audited; a rejection stops
 *    the run with its comment shown; the admin's audit page lists the
 *    refusal.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Page } from 'playwright-core';
import { apiAs, browserPeople, shot } from './browser';

const appUrl = inject('appUrl');
const adminPassword = inject('adminPassword');
const HOSTILE = '<img src=x onerror="window.__xss=1">Release & <b>co</b>';

const people = browserPeople(appUrl);
const person = people.person;

beforeAll(() => people.launch());
afterAll(() => people.close());

const stage = (page: Page, id: string, status: string) => page.locator(`li[data-stage="${id}"][data-status="${status}"]`);
const xss = (page: Page) => page.evaluate(() => (window as unknown as { __xss?: number }).__xss);

function chain(name: string, gateConfig: Record<string, unknown>, build: string, deploy = 'sleep 2; echo deployed') {
  return {
    schemaVersion: 1 as const,
    name,
    nodes: [
      { id: 'build', kind: 'command', name: 'Build', config: { command: build } },
      { id: 'qa', kind: 'approval', name: 'QA sign-off', config: gateConfig },
      { id: 'deploy', kind: 'command', name: 'Deploy', config: { command: deploy } },
    ],
    edges: [
      { id: 'e1', from: 'build', to: 'qa', on: 'success' as const },
      { id: 'e2', from: 'qa', to: 'deploy', on: 'success' as const },
    ],
  };
}

describe('runs and approvals in the browser', () => {
  it('live run, approval from the inbox, next stage shown at once, stale page told who decided, no HTML from typed text', async () => {
    const ada = await apiAs(appUrl, 'ada');
    const { id: pipelineId } = await ada.pipelines.create.mutate({
      name: HOSTILE,
      spec: chain(
        HOSTILE,
        { groups: ['approvers'], quorum: 1, instructions: 'Check <a href="javascript:window.__xss=3">this</a> & <i>that</i>' },
        `echo '<script>window.__xss=2</script><b>not bold</b>'; sleep 10; echo build-finished`,
      ),
    });

    const [author, alan] = await Promise.all([person('ada'), person('alan')]);
    await alan.goto(`${appUrl}/approvals`);
    await alan.getByRole('heading', { name: 'Approvals' }).waitFor();

    // The author starts the run from the pipeline page and lands on the run page.
    await author.goto(`${appUrl}/pipelines/${pipelineId}`);
    await author.getByRole('button', { name: `Run ${HOSTILE}` }).first().click();
    await author.getByTestId('start-run').click();
    await author.waitForURL(/\/runs\/[^/]+$/);
    const runId = author.url().split('/').pop()!;

    // The log shows the first line while the command still sleeps — as text.
    await stage(author, 'build', 'running').waitFor();
    const log = author.getByTestId('log');
    await log.filter({ hasText: '<b>not bold</b>' }).waitFor();
    expect(await stage(author, 'build', 'running').count()).toBe(1);
    expect(await log.innerText()).not.toContain('build-finished');
    expect(await author.getByTestId('live-status').getAttribute('data-live')).toBe('open');
    await shot(author, 'approvals-run-live-log.png');

    // Log search highlights matches.
    await author.getByTestId('log-search').fill('not bold');
    await author.locator('[data-testid="log"] mark').first().waitFor();
    expect(await author.getByTestId('log-matches').innerText()).toBe('1/1');
    await author.getByTestId('log-search').fill('');

    // The approver's inbox shows the gate without a reload, with what passed upstream.
    const card = alan.locator(`[data-testid="approval"][data-run="${runId}"]`);
    await card.waitFor({ timeout: 30_000 });
    await card.getByTestId('upstream').filter({ hasText: 'Succeeded' }).waitFor();
    expect(await card.innerText()).toContain(HOSTILE);
    // The gate says whether whoever started the run may approve it (this one says nothing: the schema's yes).
    expect(await card.getByTestId('gate-four-eyes').innerText()).toBe('The person who started the run may approve it too.');
    expect(await card.innerText()).toContain('Check <a href="javascript:window.__xss=3">this</a> & <i>that</i>');
    expect(Number(await alan.getByTestId('approvals-count').innerText())).toBeGreaterThanOrEqual(1);
    await shot(alan, 'approvals-inbox.png');

    // Grace's page goes stale: no live updates reach it.
    const grace = await person('grace');
    await grace.context().route('**/api/events**', (route) => route.abort());
    await grace.goto(`${appUrl}/approvals`);
    const graceCard = grace.locator(`[data-testid="approval"][data-run="${runId}"]`);
    await graceCard.waitFor();
    // …nor any refetch (its mutations still go through).
    await grace.context().route('**/api/trpc/**', (route) => (route.request().method() === 'GET' ? route.abort() : route.continue()));

    // Alan approves with a comment; the author's page shows the next stage running without a reload.
    await card.getByLabel(/Comment/).fill('<script>window.__xss=4</script> ship it');
    const clicked = Date.now();
    await card.getByRole('button', { name: 'Approve' }).click();
    await stage(author, 'deploy', 'running').waitFor({ timeout: 15_000 });
    process.stderr.write(`[e2e] Approve clicked → next stage running on the author's page: ${Date.now() - clicked} ms\n`);
    const decided = alan.getByTestId('decided-here').filter({ hasText: `You approved “QA sign-off” of ${HOSTILE} run #1.` });
    await decided.waitFor();
    // The confirmation links to the run.
    expect(await decided.getByTestId('decided-run-link').getAttribute('href')).toBe(`/pipelines/${pipelineId}/runs/${runId}`);
    await author.locator('li[data-stage="qa"]').filter({ hasText: '<script>window.__xss=4</script> ship it' }).waitFor();

    // Grace's stale page: her click gets "already decided by …" in place, and no second decision.
    await graceCard.getByRole('button', { name: 'Approve' }).click();
    const told = graceCard.getByTestId('already-decided');
    await told.waitFor();
    expect(await told.innerText()).toMatch(/already decided \(approved\) by Alan Turing \(alan\)/);
    await shot(grace, 'approvals-already-decided.png');

    const run = await ada.runs.get.query({ id: runId });
    expect(run.stages.find((s) => s.id === 'qa')?.gate?.votes).toHaveLength(1);
    for (const p of [author, alan, grace]) expect(await xss(p)).toBeUndefined();
    await stage(author, 'deploy', 'succeeded').waitFor({ timeout: 30_000 });
    await author.getByTestId('run-status').filter({ hasText: 'Succeeded' }).waitFor();
  });

  it('quorum of two, viewer refused and audited, rejection with its comment, audit page lists the refusal', async () => {
    const ada = await apiAs(appUrl, 'ada');
    const { id: pipelineId } = await ada.pipelines.create.mutate({
      name: 'E2E quorum',
      spec: chain('E2E quorum', { users: ['alan', 'grace', 'admin'], quorum: 2 }, 'echo built'),
    });
    const { id: runId } = await ada.runs.start.mutate({ pipelineId });
    const runUrl = `${appUrl}/pipelines/${pipelineId}/runs/${runId}`;

    const [author, alan, grace, vera] = await Promise.all([person('ada'), person('alan'), person('grace'), person('vera')]);
    await author.goto(runUrl);
    await stage(author, 'qa', 'waiting').waitFor({ timeout: 30_000 });

    // The viewer sees the gate but no way to decide it, and the API refuses her.
    await vera.goto(runUrl);
    await stage(vera, 'qa', 'waiting').waitFor();
    expect(await vera.getByRole('button', { name: 'Approve' }).count()).toBe(0);
    const veraApi = await apiAs(appUrl, 'vera');
    await expect(veraApi.approvals.decide.mutate({ runId, gateId: 'qa', decision: 'approve' })).rejects.toMatchObject({ data: { httpStatus: 403 } });

    // First approval: still waiting, 1 of 2.
    await alan.goto(runUrl);
    const alanGate = alan.locator('li[data-stage="qa"]');
    await alanGate.getByRole('button', { name: 'Approve' }).click();
    await alanGate.filter({ hasText: '1/2 approvals so far' }).waitFor();
    await author.locator('li[data-stage="qa"]').filter({ hasText: '1/2' }).waitFor();
    expect(await stage(author, 'qa', 'waiting').count()).toBe(1);

    // Grace rejects with a comment: the run stops and says why, on the author's page without a reload.
    await grace.goto(`${appUrl}/approvals`);
    const card = grace.locator(`[data-testid="approval"][data-run="${runId}"]`);
    await card.getByLabel(/Comment/).fill('smoke tests are red');
    await card.getByRole('button', { name: 'Reject' }).click();
    await stage(author, 'qa', 'failed').waitFor({ timeout: 15_000 });
    await author.getByTestId('run-status').filter({ hasText: 'Failed' }).waitFor({ timeout: 15_000 });
    await author.getByRole('alert').filter({ hasText: 'smoke tests are red' }).waitFor();
    expect(await stage(author, 'deploy', 'skipped').count()).toBe(1);

    // The admin finds the viewer's refused attempt in the audit log.
    const admin = await person('admin', { password: adminPassword });
    await admin.goto(`${appUrl}/admin/audit`);
    await admin.getByLabel('Outcome').selectOption('refused');
    await admin.getByLabel('Actor').fill('vera');
    await admin.getByRole('button', { name: 'Filter' }).click();
    await admin.waitForFunction(() => {
      const rows = [...document.querySelectorAll('[data-testid="audit-row"]')];
      return rows.length > 0 && rows.every((r) => r.getAttribute('data-outcome') === 'refused');
    });
    const row = admin.locator('[data-testid="audit-row"][data-action="gate.approve"][data-outcome="refused"]').first();
    await row.waitFor();
    expect(await row.innerText()).toContain('vera');
    expect(await row.innerText()).toContain('may not decide gates');
    await shot(admin, 'audit-log.png');
    const href = (await admin.getByTestId('export-csv').getAttribute('href'))!;
    expect(href).toContain('outcome=refused');
    const csv = await admin.evaluate(async (url) => (await fetch(url)).text(), href);
    expect(csv).toContain('gate.approve,refused');
  });
});
