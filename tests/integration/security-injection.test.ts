/**
 * Shell injection through values: a pushed branch named `probe-$(id${IFS}-u)`
 * and a stage output full of `$(…)`, backticks and quotes reach later commands
 * as environment variables and stay literal. Real signed GitHub deliveries to
 * the webhook route behind a plain Node HTTP server, the real Temporal dev
 * server, a real worker running `/bin/sh`, a real SQLite file.
 */
import { eq } from 'drizzle-orm';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POST as hookPOST } from '../../app/api/hooks/[pipelineId]/route';
import { runs } from '../../db/schema';
import { githubSignature } from '../../server/triggers/webhook';
import { cmd, spec, startHarness, type Harness } from './harness';

let h: Harness;
let server: Server;
let base: string;

beforeAll(async () => {
  h = await startHarness();
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers = new Headers();
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers.set(k, v);
      const url = new URL(req.url ?? '/', base);
      const pipelineId = decodeURIComponent(url.pathname.split('/')[3] ?? '');
      void hookPOST(new Request(url, { method: 'POST', headers, body: Buffer.concat(chunks) }), { params: Promise.resolve({ pipelineId }) }).then(async (r) => {
        res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' });
        res.end(Buffer.from(await r.arrayBuffer()));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  await h?.close();
});

async function pushBranch(pipelineId: string, secret: string, branch: string, delivery = crypto.randomUUID()) {
  const sha = 'c'.repeat(40);
  const body = JSON.stringify({
    ref: `refs/heads/${branch}`,
    before: '0'.repeat(40),
    after: sha,
    repository: { full_name: 'acme/shop' },
    pusher: { name: 'mallory' },
    head_commit: { id: sha, message: 'probe', author: { name: 'Mallory', username: 'mallory' } },
  });
  const res = await fetch(`${base}/api/hooks/${pipelineId}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': delivery, 'x-hub-signature-256': githubSignature(secret, body) },
    body,
  });
  return { status: res.status, body: (await res.json()) as { started: boolean; message: string; runId?: string } };
}

const PROBE = 'probe-$(id${IFS}-u)';
const uid = String(process.getuid?.() ?? 0);

describe('a pushed branch name is data, never shell code', () => {
  let pipelineId: string;
  let secret: string;
  let triggerId: string;

  beforeAll(async () => {
    pipelineId = await h.createPipeline(
      spec(
        'Injection probe',
        [
          // The form existing pipelines use, and the form the docs now teach.
          cmd('old-form', 'echo "building branch ${{ params.branch }}"'),
          cmd('safe-form', 'echo "building $PW_PARAM_branch"; echo unquoted $PW_PARAM_branch'),
        ],
        [],
        { parameters: [{ name: 'branch', type: 'string' }], settings: { concurrency: 5 } },
      ),
    );
    const created = await h.as(h.users.author).triggers.createWebhook({ pipelineId, name: 'GitHub', config: { provider: 'github', branches: [] } });
    secret = created.secret;
    triggerId = created.trigger.id;
  });

  it('a push of probe-$(id${IFS}-u) prints the branch name, not the output of id', async () => {
    const res = await pushBranch(pipelineId, secret, PROBE);
    expect(res.status).toBe(202);
    const run = await h.waitForEnd(res.body.runId!);
    expect(run.status).toBe('succeeded');
    expect(run.params).toMatchObject({ branch: PROBE });

    const old = await h.as(h.users.viewer).runs.logs({ runId: run.id, nodeId: 'old-form' });
    expect(old.text).toContain(`building branch ${PROBE}`);
    expect(old.text).not.toContain(`building branch probe-${uid}`);

    const safe = await h.as(h.users.viewer).runs.logs({ runId: run.id, nodeId: 'safe-form' });
    expect(safe.text).toContain(`building ${PROBE}`);
    // Unquoted, the value is split into words but still never run.
    expect(safe.text).toContain(`unquoted ${PROBE}`);
    expect(safe.text).not.toContain(`probe-${uid}`);
  });

  it('a push naming a branch Git would never create starts nothing and is recorded with the reason', async () => {
    const before = (await h.db.select({ id: runs.id }).from(runs).where(eq(runs.pipelineId, pipelineId))).length;
    const delivery = crypto.randomUUID();
    const res = await pushBranch(pipelineId, secret, 'evil..$(id)', delivery);
    expect(res.status).toBe(400);
    expect(res.body.started).toBe(false);
    expect(res.body.message).toContain('not a valid Git branch name');
    expect(res.body.message).toContain('".."');
    // What the trigger's delivery list shows.
    const deliveries = await h.as(h.users.viewer).triggers.deliveries({ triggerId });
    const recorded = deliveries.find((d) => d.deliveryId.endsWith(delivery));
    expect(recorded).toMatchObject({ outcome: 'ignored' });
    expect(recorded?.message).toContain('refused: branch "evil..$(id)" is not a valid Git branch name');
    expect((await h.db.select({ id: runs.id }).from(runs).where(eq(runs.pipelineId, pipelineId))).length).toBe(before);
  });
});

describe('a stage output reaching a later command stays literal', () => {
  it('passes $(…), backticks and quotes from one stage to the next without running them', async () => {
    const evil = 'x $(echo pwned-$((6*7))) `echo ticked` "dq" \'sq\' ; echo chained';
    const pipelineId = await h.createPipeline(
      spec(
        'Output probe',
        [
          // A quoted here-document: the shell writes the line exactly as it is.
          cmd('produce', `cat >> "$PIPEWRIGHT_OUTPUT" <<'EOF'\nevil=${evil}\nEOF`),
          cmd('consume', 'echo "got ${{ stages.produce.outputs.evil }}"; echo "also $PW_OUTPUT_produce_evil"'),
        ],
        [['produce', 'consume']],
      ),
    );
    const { id: runId } = await h.as(h.users.author).runs.start({ pipelineId });
    const run = await h.waitForEnd(runId);
    expect(run.status).toBe('succeeded');
    const log = await h.as(h.users.viewer).runs.logs({ runId, nodeId: 'consume' });
    expect(log.text).toContain(`got ${evil}`);
    expect(log.text).toContain(`also ${evil}`);
    expect(log.text).not.toContain('pwned-42');
    expect(log.text).not.toMatch(/^ticked/m);
    expect(log.text).not.toMatch(/^chained$/m);
  });
});

describe('environment variables and secrets in a command', () => {
  it('reach the process as variables, stay literal and are masked in the log', async () => {
    const secretValue = 'tok-$(echo leaked)-`echo ran`';
    const admin = h.as(h.users.admin);
    const env = await admin.environments.create({ name: 'vault', displayName: 'Vault', variables: { REGION: 'eu-west; echo region-ran' } });
    await admin.environments.setSecret({ id: env.id, name: 'TOKEN', value: secretValue });
    const pipelineId = await h.createPipeline(
      spec('Secret probe', [
        cmd('use', 'echo "region $PW_ENV_REGION / ${{ env.REGION }}"; echo "token $PW_SECRET_TOKEN"; echo "length ${#PW_SECRET_TOKEN} ${{ secrets.TOKEN }}"', { environment: 'vault' }),
      ]),
    );
    const { id: runId } = await h.as(h.users.author).runs.start({ pipelineId });
    const run = await h.waitForEnd(runId);
    expect(run.status).toBe('succeeded');
    const log = await h.as(h.users.viewer).runs.logs({ runId, nodeId: 'use' });
    expect(log.text).toContain('region eu-west; echo region-ran / eu-west; echo region-ran');
    expect(log.text).not.toMatch(/^region-ran$/m);
    expect(log.text).toContain('token •••');
    // The shell saw the whole value, unexpanded.
    expect(log.text).toContain(`length ${secretValue.length} •••`);
    expect(log.text).not.toContain(secretValue);
    expect(log.text).not.toContain('tok-leaked');
  });
});

describe('template parsing cannot stall the API (ReDoS)', () => {
  it('validates a command of ${{ and thousands of spaces about as fast as a benign one of the same length', async () => {
    const viewer = h.as(h.users.viewer);
    const doc = (command: string) => spec('ReDoS', [cmd('a', command)]);
    const hostile = '${{' + ' '.repeat(15_990);
    const benign = 'echo "$PW_PARAM_x"; '.repeat(Math.ceil(hostile.length / 20)).slice(0, hostile.length);
    const timeOf = async (command: string) => {
      let best = Infinity;
      for (let i = 0; i < 5; i++) {
        const start = performance.now();
        await viewer.pipelines.validate({ spec: doc(command) });
        best = Math.min(best, performance.now() - start);
      }
      return best;
    };
    const answer = await viewer.pipelines.validate({ spec: doc(hostile) });
    expect(answer.issues.map((i) => i.code)).toContain('bad-template');
    const baseline = await timeOf(benign);
    expect(await timeOf(hostile)).toBeLessThan(baseline * 5 + 5);
  });
});
