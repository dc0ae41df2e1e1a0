/**
 * Import → save → rehearse, through the real API, Temporal, worker and runner:
 * every sample file imports, is saved as a normal pipeline version with its
 * source, and completes a rehearsal run in which gates wait for people as
 * usual while commands are only printed and webhooks are not sent.
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@temporalio/client';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, pipelineVersions, runs } from '../../db/schema';
import { latestRunStatus, loadEmbedView } from '../../server/services/embeds';
import { getBoard } from '../../server/services/promotion';
import { importPipeline } from '../../server/services/import';
import { startHarness, type Harness } from './harness';

const SAMPLES = new URL('../fixtures/import/samples/', import.meta.url);
const sample = (name: string) => readFileSync(new URL(name, SAMPLES), 'utf8');

let h: Harness;
let hook: Server;
let hookHits = 0;
beforeAll(async () => {
  hook = createServer((_req, res) => {
    hookHits++;
    res.end('ok');
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  // Stages may reach this one local server, so a real run would send the webhook.
  h = await startHarness({ env: { PIPEWRIGHT_STAGE_EGRESS_ALLOW: `127.0.0.1:${(hook.address() as AddressInfo).port}`, PIPEWRIGHT_WEBHOOK_SECRET: 'import-test-key' } });
});
afterAll(async () => {
  delete process.env.PIPEWRIGHT_STAGE_EGRESS_ALLOW;
  hook?.close();
  await h?.close();
});

type RunView = Awaited<ReturnType<Harness['waitForEnd']>>;

/** Waits for the run to end, approving every gate that waits on the way (as an approver who did not start it). */
async function rehearseToEnd(runId: string): Promise<RunView> {
  const decided = new Set<string>();
  const waitingGate = (x: RunView) => x.stages.find((s) => s.status === 'waiting' && s.kind === 'approval' && !decided.has(s.id));
  for (;;) {
    const r = await h.waitFor(runId, (x) => ['succeeded', 'failed', 'cancelled'].includes(x.status) || waitingGate(x) !== undefined, 120_000);
    const waiting = waitingGate(r);
    if (!waiting) return r;
    decided.add(waiting.id);
    await h.as(h.users.alan).approvals.decide({ runId, gateId: waiting.id, decision: 'approve', comment: 'rehearsal' });
  }
}

async function importAndRehearse(fileName: string, text: string, params: Record<string, string | number | boolean> = {}) {
  const preview = await h.as(h.users.admin).pipelines.importPreview({ text, fileName });
  const created = await h.as(h.users.admin).pipelines.importCreate({ text, fileName, createEnvironments: true });
  const { id: runId } = await h.as(h.users.author).runs.start({ pipelineId: created.id, params, rehearsal: true });
  return { preview, created, runId, run: await rehearseToEnd(runId) };
}

describe('import and rehearse', () => {
  it('a GitHub Actions workflow: saved with its source, gated environment created, rehearsed without running anything', async () => {
    const text = sample('github-matrix-outputs.yml');
    const { preview, created, run, runId } = await importAndRehearse('ci.yml', text, { version: '1.2.3' });
    expect(preview.missingEnvironments.map((e) => e.name)).toEqual(['production']);
    expect(preview.spec.nodes).toHaveLength(5);
    expect(created.valid).toBe(true);
    const version = await h.db.select().from(pipelineVersions).where(eq(pipelineVersions.pipelineId, created.id)).get();
    expect(version?.importSource).toMatchObject({ format: 'github-actions', fileName: 'ci.yml', text });
    expect(version?.message).toBe('Imported from ci.yml (github-actions)');
    // The rehearsal shows where the real run would stop: the secret the job reads is not in the environment yet.
    expect(run.status).toBe('failed');
    expect(h.stageOf(run, 'deploy').error).toBe('environment: environment "production" has no secret "TOKEN" (used as $PW_SECRET_TOKEN in command)');
    expect(h.stageOf(run, 'notify').status).toBe('succeeded'); // the failure edge is taken, as it would be
    const env = (await h.as(h.users.admin).environments.list()).find((e) => e.name === 'production')!;
    expect(env.requireGate).toBe(true);
    await h.as(h.users.admin).environments.setSecret({ id: env.id, name: 'TOKEN', value: 'tok-rehearsal-secret' });
    expect(await h.db.select().from(runs).where(eq(runs.id, runId)).get()).toMatchObject({ rehearsal: true });
    const again = await rehearseToEnd((await h.as(h.users.author).runs.start({ pipelineId: created.id, params: { version: '1.2.3' }, rehearsal: true })).id);
    // The protected environment got a gate in front of its stage, and the gate waited for a person.
    expect(again.status).toBe('succeeded');
    await checkRehearsal(again, again.id, created.id);
  });
});

async function checkRehearsal(run: RunView, runId: string, pipelineId: string) {
  {
    expect(run.rehearsal).toBe(true);
    expect(h.stageOf(run, 'approve-production').gate?.decidedBy).toBe('alan');
    expect(h.stageOf(run, 'notify').status).toBe('skipped');
    // The output the script would write flows on as a placeholder.
    expect(h.stageOf(run, 'build').outputs).toEqual({ tag: '<rehearsal: build.tag>', image: '<rehearsal: build.image>' });
    const log = (await h.as(h.users.admin).runs.logs({ runId, nodeId: 'deploy' })).chunks.map((c) => c.text).join('');
    expect(log).toContain('— rehearsal: nothing is changed —');
    expect(log).toContain('echo deploying ${PW_OUTPUT_build_image}');
    expect(log).not.toContain('deploying <rehearsal');
    const listed = await h.as(h.users.admin).runs.list({ pipelineId });
    expect(listed[0]).toMatchObject({ id: runId, rehearsal: true });
    expect(log).not.toContain('tok-rehearsal-secret');
    // Embeds of the run say it is a rehearsal; the promotion board shows no build from it (it deployed nothing).
    const embed = await loadEmbedView(h.db, { id: pipelineId, name: 'imported', latestVersion: 1 }, runId);
    expect(embed?.run).toMatchObject({ runId, rehearsal: true });
    expect((await getBoard(h.db, pipelineId)).totalBuilds).toBe(0);
    // Only rehearsals so far: the status badge has no run to show.
    expect(await latestRunStatus(h.db, pipelineId)).toBeNull();
    expect(await h.db.select().from(auditLog).where(and(eq(auditLog.runId, runId), eq(auditLog.action, 'run.rehearse')))).toHaveLength(1);
  }
}

describe('rehearsals of imported pipelines', () => {

  it('a command that would write a file leaves the workspace untouched, and a webhook is not sent', async () => {
    const url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
    const pipeline = JSON.stringify({
      name: 'rehearse-side-effects',
      stages: [
        { refId: '1', type: 'webhook', name: 'Notify', url, method: 'POST', payload: { text: 'hi' } },
        { refId: '2', requisiteStageRefIds: ['1'], type: 'wait', name: 'Soak', waitTime: 0 },
      ],
    });
    const gha = `on: push\njobs:\n  write:\n    runs-on: x\n    steps:\n      - run: echo made > made.txt\n`;
    const a = await importAndRehearse('pipeline.json', pipeline);
    const b = await importAndRehearse('write.yml', gha);
    expect(a.run.status).toBe('succeeded');
    expect(h.stageOf(a.run, 'Notify').summary).toBe('rehearsed: webhook not sent');
    expect(hookHits).toBe(0);
    // Run for real, the same pipeline does send it.
    const sent = await h.waitForEnd((await h.as(h.users.author).runs.start({ pipelineId: a.created.id })).id);
    expect(sent.status).toBe('succeeded');
    expect(hookHits).toBe(1);
    expect(b.run.status).toBe('succeeded');
    expect(existsSync(h.workspace(b.runId, 'made.txt'))).toBe(false);
    // The same pipeline run for real does write it (the rehearsal is what kept it away).
    const { id: realRun } = await h.as(h.users.author).runs.start({ pipelineId: b.created.id });
    const real = await h.waitForEnd(realRun);
    expect(real.status).toBe('succeeded');
    expect(real.rehearsal).toBe(false);
    expect(await latestRunStatus(h.db, b.created.id)).toMatchObject({ id: realRun, status: 'succeeded' });
    expect(readFileSync(h.workspace(realRun, 'made.txt'), 'utf8')).toBe('made\n');
  });

  it('every sample file imports and completes a rehearsal (a Kubernetes deploy without a cluster on its environment is refused with the reason)', async () => {
    for (const file of readdirSync(SAMPLES).sort()) {
      if (file === 'github-matrix-outputs.yml') continue; // rehearsed above, with its parameters
      if (file === 'spinnaker-judgment.json') {
        // Its deploy needs a cluster connection on the environment the import created: the start says so.
        const created = await h.as(h.users.admin).pipelines.importCreate({ text: sample(file), fileName: file, createEnvironments: true });
        await expect(h.as(h.users.author).runs.start({ pipelineId: created.id, rehearsal: true })).rejects.toMatchObject({
          code: 'BAD_REQUEST',
          cause: { issues: [expect.objectContaining({ code: 'cluster-not-bound', nodeId: 'Deploy' })] },
        });
        continue;
      }
      const { run } = await importAndRehearse(file, sample(file));
      expect(run.status, `${file}: ${JSON.stringify(run.stages.map((s) => [s.id, s.status, s.error]))}`).toBe('succeeded');
    }
  });

  it('refuses bad files clearly and saves nothing', async () => {
    const before = (await h.db.select().from(pipelineVersions)).length;
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 9 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9).fill(`*${String.fromCharCode(97 + i)}`).join(', ')}]`), 'jobs:\n  x:\n    runs-on: y\n    steps: [{ run: echo }]'].join('\n');
    const cases: [string, RegExp][] = [
      ['jobs:\n  build:\n    steps: [\n  - run: x\n', /not valid YAML/],
      [bomb, /YAML bomb/],
      [String.fromCharCode(0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 13, 0x49, 0x48), /not a text file/],
    ];
    for (const [text, message] of cases) {
      await expect(h.as(h.users.author).pipelines.importPreview({ text })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(message) });
      await expect(h.as(h.users.author).pipelines.importCreate({ text })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(message) });
    }
    await expect(h.as(h.users.author).pipelines.importCreate({ text: `jobs:\n${'#'.repeat(5_000_000)}` })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/1 MB/) });
    // An author may import, but creating environments is for admins: refused before anything is written.
    const newEnv = `on: push\njobs:\n  up:\n    runs-on: x\n    environment: qa-eu\n    steps: [{ run: echo up }]\n`;
    await expect(h.as(h.users.author).pipelines.importCreate({ text: newEnv, createEnvironments: true })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect((await h.db.select().from(pipelineVersions)).length).toBe(before);
    expect(await h.db.select().from(runs).where(eq(runs.rehearsal, true))).not.toHaveLength(0);
  });
});

describe('triggers carried over on import', () => {
  const WORKFLOW = [
    'on:',
    '  push:',
    '    branches: [main, "release/**"]',
    '  schedule:',
    "    - cron: '30 5 * * 1'",
    'jobs:',
    '  build:',
    '    runs-on: x',
    '    steps: [{ run: make }]',
    '',
  ].join('\n');

  it('the ticked push filter and schedule are created with the pipeline; unticked ones are not', async () => {
    const preview = await h.as(h.users.author).pipelines.importPreview({ text: WORKFLOW, fileName: 'ci.yml' });
    expect(preview.triggers).toEqual([
      expect.objectContaining({ index: 0, kind: 'webhook', label: 'Webhook on push to main, release/**' }),
      expect.objectContaining({ index: 1, kind: 'schedule', label: 'Schedule 30 5 * * 1 (UTC)' }),
    ]);
    const created = await h.as(h.users.author).pipelines.importCreate({ text: WORKFLOW, fileName: 'ci.yml', triggers: [0, 1] });
    const list = await h.as(h.users.author).triggers.list({ pipelineId: created.id });
    expect(list.map((t) => [t.type, t.config])).toEqual(
      expect.arrayContaining([
        ['webhook', expect.objectContaining({ provider: 'github', branches: ['main', 'release/**'] })],
        ['schedule', expect.objectContaining({ cron: '30 5 * * 1', timezone: 'UTC' })],
      ]),
    );
    expect(list).toHaveLength(2);
    // The webhook's secret is given once, with the pipeline; the schedule runs in Temporal.
    expect(created.webhookSecrets).toHaveLength(1);
    expect(created.webhookSecrets[0]!.secret.length).toBeGreaterThan(20);
    const schedule = list.find((t) => t.type === 'schedule')!;
    const status = await h.as(h.users.author).triggers.scheduleStatus({ pipelineId: created.id });
    expect(JSON.stringify(status)).toContain(schedule.id);
    const described = await (await h.temporal()).schedule.getHandle(`pipewright-trigger-${schedule.id}`).describe();
    expect(described.action).toMatchObject({ type: 'startWorkflow', workflowType: 'scheduledTrigger' });
    expect(described.state.paused).toBe(false);

    const unticked = await h.as(h.users.author).pipelines.importCreate({ text: WORKFLOW, fileName: 'ci.yml', triggers: [1] });
    expect((await h.as(h.users.author).triggers.list({ pipelineId: unticked.id })).map((t) => t.type)).toEqual(['schedule']);
    const none = await h.as(h.users.author).pipelines.importCreate({ text: WORKFLOW, fileName: 'ci.yml' });
    expect(await h.as(h.users.author).triggers.list({ pipelineId: none.id })).toEqual([]);
  });

  it('a trigger that cannot be created refuses the whole import: no pipeline, no trigger', async () => {
    const tagsOnly = `on:\n  push:\n    tags: ['v*']\n  schedule:\n    - cron: '0 1 * * *'\njobs:\n  b:\n    runs-on: x\n    steps: [{ run: make }]\n`;
    const pipelinesBefore = (await h.as(h.users.admin).pipelines.list()).length;
    const preview = await h.as(h.users.author).pipelines.importPreview({ text: tagsOnly });
    expect(preview.triggers[0]).toMatchObject({ kind: undefined, cannot: expect.stringMatching(/tag pushes/) });
    await expect(h.as(h.users.author).pipelines.importCreate({ text: tagsOnly, triggers: [0, 1] })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/cannot be created/) });
    await expect(h.as(h.users.author).pipelines.importCreate({ text: tagsOnly, triggers: [5] })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/no trigger 6/) });
    expect((await h.as(h.users.admin).pipelines.list()).length).toBe(pipelinesBefore);
  });

  it('when Temporal refuses the schedule, the pipeline and the environments created for it are taken back together', async () => {
    const withEnv = `on:\n  schedule:\n    - cron: '0 3 * * *'\njobs:\n  up:\n    runs-on: x\n    environment: qa-taken-back\n    steps: [{ run: echo up }]\n`;
    const pipelinesBefore = (await h.as(h.users.admin).pipelines.list()).length;
    // A real Temporal server that refuses the schedule: the namespace asked for does not exist there.
    const real = await h.temporal();
    const refusing = async () => new Client({ connection: real.connection, namespace: 'no-such-namespace' });
    await expect(importPipeline(h.db, refusing, h.users.admin, { text: withEnv, fileName: 'nightly.yml', createEnvironments: true, triggers: [0] })).rejects.toThrow();
    expect((await h.as(h.users.admin).environments.list()).map((e) => e.name)).not.toContain('qa-taken-back');
    expect((await h.as(h.users.admin).pipelines.list()).length).toBe(pipelinesBefore);
    // The same file imports once Temporal accepts it, creating the environment.
    const created = await importPipeline(h.db, h.temporal, h.users.admin, { text: withEnv, fileName: 'nightly.yml', createEnvironments: true, triggers: [0] });
    expect((await h.as(h.users.admin).environments.list()).map((e) => e.name)).toContain('qa-taken-back');
    expect(await h.as(h.users.admin).triggers.list({ pipelineId: created.id })).toHaveLength(1);
  });
});
