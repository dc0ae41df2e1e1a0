/**
 * The whole import corpus (tests/fixtures/import-corpus) through the real API,
 * Temporal, worker and runner: every file is imported and saved as a pipeline,
 * and every imported pipeline completes a rehearsal run — gates wait for a
 * person and are approved, commands are printed, webhooks are not sent. The
 * one file whose deploy needs a Kubernetes cluster is refused at the start with
 * the reason here (its environment has no cluster connection); it is rehearsed
 * against a real kube-apiserver in tests/k8s/import-rehearsal.test.ts. Rehearsals run in
 * parallel batches so the file stays within a few minutes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pipelineVersions } from '../../db/schema';
import { pipelineSpecSchema } from '../../workflows/model/spec';
import { startHarness, type Harness } from './harness';

const CORPUS = new URL('../fixtures/import-corpus/', import.meta.url);
const files = ['github', 'gitlab', 'spinnaker'].flatMap((dir) => readdirSync(new URL(`${dir}/`, CORPUS)).sort().map((f) => `${dir}/${f}`));
const read = (path: string) => readFileSync(new URL(path, CORPUS), 'utf8');
/** Needs a cluster connection on its environment; its start is refused with that reason. */
const NEEDS_CLUSTER = 'spinnaker/manifest-text.json';
const BATCH = 8;

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ env: { PIPEWRIGHT_WEBHOOK_SECRET: 'corpus-test-key' } });
});
afterAll(async () => {
  await h?.close();
});

type RunView = Awaited<ReturnType<Harness['waitForEnd']>>;
type Imported = { file: string; pipelineId: string; params: Record<string, string | number | boolean> };

/** Waits for the run to end, approving every gate that waits on the way (as an approver who did not start it). */
async function rehearseToEnd(runId: string): Promise<RunView> {
  const decided = new Set<string>();
  const waitingGate = (x: RunView) => x.stages.find((s) => s.status === 'waiting' && s.kind === 'approval' && !decided.has(s.id));
  for (;;) {
    const r = await h.waitFor(runId, (x) => ['succeeded', 'failed', 'cancelled'].includes(x.status) || waitingGate(x) !== undefined, 240_000);
    const waiting = waitingGate(r);
    if (!waiting) return r;
    decided.add(waiting.id);
    await h.as(h.users.alan).approvals.decide({ runId, gateId: waiting.id, decision: 'approve', comment: 'rehearsal of an imported pipeline' });
  }
}

/** A value for every required parameter without a default, as a person would type at the start. */
function paramsFor(parameters: { name: string; type: string; required?: boolean; default?: unknown }[]) {
  const out: Record<string, string | number | boolean> = {};
  for (const p of parameters) if (p.required && p.default === undefined) out[p.name] = p.type === 'number' ? 1 : p.type === 'boolean' ? false : 'v1.0.0';
  return out;
}

const imported: Imported[] = [];

describe('import corpus on Temporal', () => {
  it('every file imports through the API and is saved with its source', async () => {
    const admin = h.as(h.users.admin);
    for (const file of files) {
      const text = read(file);
      const fileName = file.split('/')[1]!;
      const preview = await admin.pipelines.importPreview({ text, fileName });
      expect(preview.spec.nodes.length, file).toBeGreaterThan(0);
      const created = await admin.pipelines.importCreate({ text, fileName, createEnvironments: true });
      expect(created.valid, `${file}: ${JSON.stringify(created.issues)}`).toBe(true);
      const version = await h.db.select().from(pipelineVersions).where(eq(pipelineVersions.pipelineId, created.id)).get();
      expect(version?.importSource).toMatchObject({ fileName, text });
      // Secrets the imported stages read are set on their environments, as the person would before a real run.
      const environments = await admin.environments.list();
      const spec = pipelineSpecSchema.parse(version!.spec);
      for (const node of spec.nodes) {
        if (!node.environment) continue;
        const env = environments.find((e) => e.name === node.environment)!;
        for (const [, name] of JSON.stringify(node.config).matchAll(/(?:PW_SECRET_|secrets\.)([A-Za-z_][A-Za-z0-9_]*)/g)) {
          await admin.environments.setSecret({ id: env.id, name: name!, value: `corpus-${name}` });
        }
      }
      imported.push({ file, pipelineId: created.id, params: paramsFor(spec.parameters) });
    }
    expect(imported).toHaveLength(files.length);
  });

  it('every imported pipeline completes a rehearsal run', async () => {
    expect(imported).toHaveLength(files.length);
    const author = h.as(h.users.author);
    const cluster = imported.find((i) => i.file === NEEDS_CLUSTER)!;
    await expect(author.runs.start({ pipelineId: cluster.pipelineId, rehearsal: true })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      cause: { issues: [expect.objectContaining({ code: 'cluster-not-bound', nodeId: 'Deploy_catalog' })] },
    });
    // The import preview says so too, before anything is saved: the same protection check as the start's.
    const again = await h.as(h.users.admin).pipelines.importPreview({ text: read(NEEDS_CLUSTER), fileName: 'manifest-text.json' });
    expect(again.valid).toBe(false);
    expect(again.issues).toEqual(expect.arrayContaining([expect.objectContaining({ code: 'cluster-not-bound', nodeId: 'Deploy_catalog' })]));
    const rest = imported.filter((i) => i !== cluster);
    for (let i = 0; i < rest.length; i += BATCH) {
      const batch = rest.slice(i, i + BATCH);
      const started = await Promise.all(batch.map(async (p) => ({ ...p, runId: (await author.runs.start({ pipelineId: p.pipelineId, params: p.params, rehearsal: true })).id })));
      const ended = await Promise.all(started.map(async (p) => ({ ...p, run: await rehearseToEnd(p.runId) })));
      for (const { file, run } of ended) {
        expect(run.status, `${file}: ${JSON.stringify(run.stages.filter((s) => s.status !== 'succeeded').map((s) => [s.id, s.status, s.error]))}`).toBe('succeeded');
        expect(run.rehearsal).toBe(true);
        // Nothing ran for real: every command stage printed what it would have run.
        for (const s of run.stages.filter((x) => x.kind === 'command' && x.status === 'succeeded')) expect(s.summary, `${file} ${s.id}`).toMatch(/rehears/);
      }
    }
  });
});
