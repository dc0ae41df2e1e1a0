/**
 * The promotion board in real Chromium, against the seeded environments
 * (staging; production protected: approvers and admins promote, an approval
 * gate is required): a build that passed staging is promoted to production
 * by an approver from the board; the board shows it waiting at the gate, a
 * second approver approves it in the inbox, and the board shows production
 * passed and the build live there — all without reloading the board.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Page } from 'playwright-core';
import { apiAs, browserPeople, shot } from './browser';

const appUrl = inject('appUrl');

const people = browserPeople(appUrl);
const person = people.person;

beforeAll(() => people.launch());
afterAll(() => people.close());

const cell = (page: Page, build: number, env: string, status: string) => page.locator(`[data-testid="cell-${build}-${env}"][data-status="${status}"]`);

describe('promotion board in the browser', () => {
  it('promotes a build from staging to production through the approval gate; the board follows without a reload', async () => {
    const ada = await apiAs(appUrl, 'ada');
    const { id: pipelineId } = await ada.pipelines.create.mutate({
      name: 'E2E release',
      spec: {
        schemaVersion: 1,
        name: 'E2E release',
        settings: { concurrency: 3, defaultRetry: {}, stageTimeoutSeconds: 120, runTimeoutSeconds: 0 },
        nodes: [
          { id: 'build', kind: 'command', name: 'Build', config: { command: 'echo "version=2.7.1" >> "$PIPEWRIGHT_OUTPUT"' } },
          { id: 'deploy-staging', kind: 'command', name: 'Deploy staging', environment: 'staging', config: { command: 'echo "deploying ${{ stages.build.outputs.version }} to ${{ env.URL }}"' } },
          { id: 'gate-prod', kind: 'approval', name: 'Release to production', environment: 'production', config: { groups: ['approvers'], quorum: 1 } },
          { id: 'deploy-prod', kind: 'command', name: 'Deploy production', environment: 'production', config: { command: 'sleep 1; echo "deploying ${{ stages.build.outputs.version }} to ${{ env.URL }} with ${{ secrets.DEPLOY_TOKEN }}"' } },
        ],
        edges: [
          { id: 'e1', from: 'build', to: 'deploy-staging', on: 'success' },
          { id: 'e2', from: 'deploy-staging', to: 'gate-prod', on: 'success' },
          { id: 'e3', from: 'gate-prod', to: 'deploy-prod', on: 'success' },
        ],
      },
    });
    // Build #1 deploys to staging; its own wait at the production gate is stopped (promotion is how it goes on).
    // Started by the admin: a run that could reach production needs a role production allows.
    const admin = await apiAs(appUrl, 'admin', inject('adminPassword'));
    const { id: buildId } = await admin.runs.start.mutate({ pipelineId });
    for (let i = 0; i < 300; i++) {
      const r = await ada.runs.get.query({ id: buildId });
      if (r.stages.find((s) => s.id === 'gate-prod')?.status === 'waiting') break;
      if (['failed', 'cancelled', 'succeeded'].includes(r.status)) throw new Error(`build ended ${r.status}: ${r.error}`);
      await new Promise((res) => setTimeout(res, 100));
    }
    await admin.runs.cancel.mutate({ runId: buildId });

    const [grace, alan] = await Promise.all([person('grace'), person('alan', { colorScheme: 'dark' })]);
    await alan.goto(`${appUrl}/approvals`);
    await alan.getByRole('heading', { name: 'Approvals' }).waitFor();

    // Ada (an author) sees why she has no Promote button for production: who may, and that she may not.
    const author = await person('ada');
    await author.goto(`${appUrl}/pipelines/${pipelineId}/promotion`);
    await cell(author, 1, 'production', 'none').getByTestId('promote-not-allowed').filter({ hasText: 'Only approvers and admins may promote into Production; your role is author.' }).waitFor();

    // Grace (an approver; production allows approvers and admins) opens the board from the pipeline page.
    await grace.goto(`${appUrl}/pipelines/${pipelineId}`);
    await grace.getByRole('link', { name: 'Promotion board' }).click();
    await grace.getByRole('heading', { name: 'Promotion board' }).waitFor();
    await cell(grace, 1, 'staging', 'passed').waitFor();
    await cell(grace, 1, 'production', 'none').waitFor();
    expect(await grace.getByTestId('live-staging').innerText()).toContain('#1 (2.7.1)');
    await grace.evaluate(() => ((window as unknown as { __sameBoard: boolean }).__sameBoard = true));

    // Promote #1 to production: the confirmation says the gate will be asked.
    await grace.getByRole('button', { name: 'Promote build #1 to Production' }).click();
    const dialog = grace.getByRole('dialog');
    await dialog.getByText('Production is protected').waitFor();
    await dialog.getByRole('button', { name: 'Promote to Production' }).click();
    await grace.getByText('Promotion of build #1 to production started').waitFor();

    // The board shows the promotion waiting at the gate, live.
    await cell(grace, 1, 'production', 'waiting').waitFor({ timeout: 20_000 });
    await shot(grace, 'promotion-board-waiting.png');

    // Alan approves in his inbox (no reload there either).
    const card = alan.locator('[data-testid="approval"]').filter({ hasText: 'E2E release' });
    await card.waitFor({ timeout: 30_000 });
    await card.getByRole('button', { name: 'Approve' }).click();
    await alan.getByText(/You approved “Release to production”/).waitFor();

    // Grace's board turns production green and shows the build live there.
    await cell(grace, 1, 'production', 'passed').waitFor({ timeout: 30_000 });
    await grace.getByTestId('live-production').filter({ hasText: '#1 (2.7.1)' }).waitFor();
    await grace.getByRole('list', { name: 'Promotions' }).filter({ hasText: 'Promoted build #1 to Production' }).waitFor();
    expect(await grace.evaluate(() => (window as unknown as { __sameBoard?: boolean }).__sameBoard)).toBe(true);
    await shot(grace, 'promotion-board-live.png');

    // The production deploy's log masks the environment's secret.
    const runs = await ada.runs.list.query({ pipelineId });
    const promotion = runs.find((r) => r.trigger === 'promotion')!;
    const log = await ada.runs.logs.query({ runId: promotion.id, nodeId: 'deploy-prod' });
    expect(log.text).toContain('deploying 2.7.1 to https://shop.example with •••');

    // A viewer sees the board but no Promote button.
    const vera = await person('vera');
    await vera.goto(`${appUrl}/pipelines/${pipelineId}/promotion`);
    await cell(vera, 1, 'production', 'passed').waitFor();
    expect(await vera.getByRole('button', { name: /^Promote build/ }).count()).toBe(0);
  });
});
