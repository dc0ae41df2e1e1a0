/**
 * Triggers in real Chromium against the production build: an author adds a
 * GitHub webhook on the pipeline page and copies the URL and secret shown
 * once; a push signed with them (real HTTP) starts a run that the runs list
 * and the run page describe (provider, branch, short commit, author,
 * delivery id), and the webhook's recent deliveries show it. A schedule form
 * says what is wrong with a cron expression or time zone before sending, and
 * a valid one shows its next firings from Temporal. A viewer sees the
 * triggers but no way to change them.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { apiAs, browserPeople, shot } from './browser';

const appUrl = inject('appUrl');

const people = browserPeople(appUrl);
const person = people.person;

beforeAll(() => people.launch());
afterAll(() => people.close());

const pushPipeline = (name: string) => ({
  schemaVersion: 1 as const,
  name,
  nodes: [{ id: 'build', kind: 'command', name: 'Build', config: { command: 'echo "building ${{ params.branch }} at ${{ params.commit }}"' } }],
  edges: [],
  parameters: [
    { name: 'branch', type: 'string' as const },
    { name: 'commit', type: 'string' as const },
    { name: 'author', type: 'string' as const },
  ],
});

describe('triggers on the pipeline page', () => {
  it('an author adds a webhook, a signed push starts a run that says where it came from; a viewer cannot change anything', async () => {
    const ada = await apiAs(appUrl, 'ada');
    const { id: pipelineId } = await ada.pipelines.create.mutate({ name: 'Pushed from GitHub', spec: pushPipeline('Pushed from GitHub') });

    const author = await person('ada');
    await author.goto(`${appUrl}/pipelines/${pipelineId}`);
    await author.getByTestId('add-webhook').click();
    await author.getByLabel('Branches').fill('main, release/*');
    await author.getByTestId('webhook-submit').click();
    const shown = author.getByTestId('webhook-secret-shown');
    await shown.waitFor();
    const url = await author.getByTestId('webhook-url').inputValue();
    const secret = await author.getByTestId('webhook-secret-value').inputValue();
    expect(url).toBe(`${appUrl}/api/hooks/${pipelineId}`);
    expect(secret.length).toBeGreaterThanOrEqual(24);
    expect(await shown.innerText()).toContain('application/json');
    await shot(author, 'triggers-webhook-created.png');

    // The secret is shown once: after Done, the page (and a reload) no longer has it.
    await shown.getByRole('button', { name: 'Done' }).click();
    await author.reload();
    await author.getByTestId('trigger-webhook').waitFor();
    expect(await author.content()).not.toContain(secret);

    // GitHub delivers a push.
    const sha = '4f2a9c1e'.padEnd(40, '0');
    const body = JSON.stringify({
      ref: 'refs/heads/main',
      after: sha,
      repository: { full_name: 'acme/shop' },
      head_commit: { id: sha, author: { name: 'Mona', username: 'mona' } },
    });
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'push',
        'x-github-delivery': 'e2e-delivery-1',
        'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
      },
      body,
    });
    expect(res.status).toBe(202);
    const { runId } = (await res.json()) as { runId: string };

    // The runs list shows it without a reload, with what started it.
    const row = author.getByTestId('run-row').filter({ hasText: 'GitHub push' });
    await row.waitFor();
    expect(await row.getByTestId('run-started-by').innerText()).toMatch(/GitHub push: main @ 4f2a9c1 by mona/);

    await author.getByTestId('show-deliveries').click();
    await author.getByTestId('deliveries').filter({ hasText: 'run #1' }).waitFor();
    expect(await author.getByTestId('deliveries').innerText()).toContain('started');

    await author.goto(`${appUrl}/pipelines/${pipelineId}/runs/${runId}`);
    await author.getByTestId('run-trigger').filter({ hasText: 'e2e-delivery-1' }).waitFor();
    expect(await author.getByTestId('run-started-by').innerText()).toBe('GitHub push by mona');
    const details = await author.getByTestId('run-trigger').innerText();
    expect(details).toContain('main @ 4f2a9c1');
    expect(details).toContain('acme/shop');
    await shot(author, 'triggers-run-from-webhook.png');

    // A viewer sees the webhook and its deliveries, but no way to add, rotate or delete.
    const vera = await person('vera');
    await vera.goto(`${appUrl}/pipelines/${pipelineId}`);
    await vera.getByTestId('trigger-webhook').waitFor();
    expect(await vera.getByTestId('add-webhook').count()).toBe(0);
    expect(await vera.getByRole('button', { name: 'Rotate secret' }).count()).toBe(0);
    expect(await vera.getByRole('button', { name: /^Delete/ }).count()).toBe(0);
    expect(await vera.content()).not.toContain(secret);
  });

  it("a schedule's Last: follows its firings without a reload", async () => {
    const ada = await apiAs(appUrl, 'ada');
    const { id: pipelineId } = await ada.pipelines.create.mutate({ name: 'Every few seconds', spec: pushPipeline('Every few seconds') });
    const author = await person('ada');
    await author.goto(`${appUrl}/pipelines/${pipelineId}`);
    const schedule = author.getByTestId('trigger-schedule');
    const created = await ada.triggers.createSchedule.mutate({ pipelineId, name: 'often', config: { cron: '@every 2s', timezone: 'UTC', params: {} } });
    try {
      // The page was open before the schedule existed and is never reloaded: it shows the schedule, then each firing.
      await schedule.waitFor({ timeout: 30_000 });
      await schedule.filter({ hasText: /Last: started run #1\b/ }).waitFor({ timeout: 60_000 });
      // The second firing replaces it (a run, or why it did not start one).
      await schedule.filter({ hasText: /Last: / }).filter({ hasNotText: /started run #1\b/ }).waitFor({ timeout: 60_000 });
    } finally {
      await ada.triggers.delete.mutate({ id: created.id });
    }
  });

  it('the schedule form refuses a bad cron or time zone, and a schedule shows its next firings and pauses', async () => {
    const ada = await apiAs(appUrl, 'ada');
    const { id: pipelineId } = await ada.pipelines.create.mutate({ name: 'Nightly build', spec: pushPipeline('Nightly build') });
    const author = await person('ada');
    await author.goto(`${appUrl}/pipelines/${pipelineId}`);
    await author.getByTestId('add-schedule').click();
    await author.getByLabel('Cron expression').fill('every night');
    await author.getByLabel('Time zone').fill('Mars/Olympus');
    await author.getByTestId('schedule-submit').click();
    await author.getByRole('alert').filter({ hasText: 'use 5 fields' }).waitFor();
    await author.getByRole('alert').filter({ hasText: 'unknown time zone' }).waitFor();

    // Out-of-range values and steps are said by the form, field by field, before anything is sent.
    await author.getByLabel('Time zone').fill('Europe/Paris');
    for (const [cron, why] of [
      ['61 * * * *', 'minute 61 is out of range (0–59)'],
      ['* 25 * * *', 'hour 25 is out of range (0–23)'],
      ['*/0 * * * *', 'minute step must be at least 1'],
    ]) {
      await author.getByLabel('Cron expression').fill(cron!);
      await author.getByRole('alert').filter({ hasText: why! }).waitFor();
    }

    await author.getByLabel('Cron expression').fill('0 3 * * *');
    await author.getByTestId('schedule-submit').click();
    const schedule = author.getByTestId('trigger-schedule');
    await schedule.getByTestId('next-firings').waitFor();
    expect(await schedule.innerText()).toContain('Europe/Paris');
    await shot(author, 'triggers-schedule.png');

    await schedule.getByRole('button', { name: /^Pause/ }).click();
    await schedule.filter({ hasText: 'Paused: nothing fires' }).waitFor();
    await schedule.getByRole('button', { name: /^Resume/ }).click();
    await schedule.getByTestId('next-firings').waitFor();

    await schedule.getByRole('button', { name: /^Delete/ }).click();
    await author.getByRole('alertdialog').getByRole('button', { name: 'Delete' }).click();
    await schedule.waitFor({ state: 'detached' });
  });
});
