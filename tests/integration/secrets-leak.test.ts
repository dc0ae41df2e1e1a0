/**
 * A secret never leaks anywhere a person or another system could read it.
 *
 * One run uses an environment's secret every way a pipeline can: printed to
 * stdout and stderr, written as a stage output, in the failing command's last
 * words (its error), and in the URL of an http-check that fails. Then every
 * place that run's data goes is read back and searched for the secret's value:
 * the API's answers (run, logs), the error messages, the notifications sent to
 * the webhook, the live event stream a browser reads, the badge and diagram
 * images served to READMEs, the workflow's whole Temporal history (payloads
 * decoded), the app database's run tables and audit log, and everything this
 * process (API, worker and runner) printed to its logs.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GET as badgeGET } from '../../app/api/badge/[id]/route';
import { GET as diagramGET } from '../../app/api/diagram/[id]/route';
import { GET as eventsGET } from '../../app/api/events/route';
import { auditLog, logChunks, runs, stageRuns } from '../../db/schema';
import { workflowIdForRun } from '../../workflows/run-state';
import { cmd, spec, startHarness, type Harness } from './harness';
import { freshAuth, signedIn, sse, type SignedIn } from './sessions';

const SECRET = 'sk-Leak-90817-zzQ';
const BASE = 'http://localhost:3000';

let h: Harness;
let hook: http.Server;
const notifications: string[] = [];
let viewer: SignedIn;
const printed: string[] = [];
const restore: (() => void)[] = [];

/** Everything this process writes to stdout and stderr (the API, the in-process worker and runner). */
function capture(stream: NodeJS.WriteStream) {
  const original = stream.write.bind(stream);
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    printed.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
    return (original as (...a: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof stream.write;
  restore.push(() => (stream.write = original));
}

beforeAll(async () => {
  hook = http.createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (raw += c));
    req.on('end', () => {
      notifications.push(raw);
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  h = await startHarness({ env: { PIPEWRIGHT_URL: BASE } });
  await h.as(h.users.admin).settings.setNotifications({ url: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`, enabled: true, secret: 'notify-key' });
  const vault = await h.as(h.users.admin).environments.create({ name: 'vault', displayName: 'Vault' });
  await h.as(h.users.admin).environments.setSecret({ id: vault.id, name: 'TOKEN', value: SECRET });
  freshAuth();
  viewer = await signedIn(h.db, { username: 'secret_viewer', role: 'viewer' });
  capture(process.stdout);
  capture(process.stderr);
});
afterAll(async () => {
  for (const r of restore) r();
  await h?.close();
  await new Promise((r) => hook.close(r));
});

/** Every string in `value`, with byte arrays (Temporal payloads) decoded as UTF-8. */
function strings(value: unknown, out: string[] = [], seen = new Set<unknown>()): string[] {
  if (typeof value === 'string') out.push(value);
  else if (value instanceof Uint8Array) out.push(Buffer.from(value).toString('utf8'), Buffer.from(value).toString('base64'));
  else if (value && typeof value === 'object' && !seen.has(value)) {
    seen.add(value);
    for (const v of Array.isArray(value) ? value : Object.values(value)) strings(v, out, seen);
  }
  return out;
}

const leaks = (where: string, texts: string[]) => texts.filter((t) => t.includes(SECRET) || t.includes(Buffer.from(SECRET).toString('base64'))).map((t) => `${where}: …${t.slice(Math.max(0, t.indexOf(SECRET) - 80), t.indexOf(SECRET) + 80)}…`);

describe('secrets', () => {
  it('never appear in answers, errors, logs, notifications, the event stream, images or Temporal history', async () => {
    const pipelineId = await h.createPipeline(
      spec(
        'secret everywhere',
        [
          cmd('show', 'echo "the token is ${{ secrets.TOKEN }}"; echo "stderr ${{ secrets.TOKEN }}" >&2; echo "token=${{ secrets.TOKEN }}" >> "$PIPEWRIGHT_OUTPUT"', { environment: 'vault' }),
          cmd('fail', 'echo "giving up with ${{ secrets.TOKEN }}" >&2; exit 3', { environment: 'vault' }),
          { id: 'probe', kind: 'http-check', name: 'probe', environment: 'vault', config: { url: 'http://127.0.0.1:9/health?token=${{ secrets.TOKEN }}', deadlineSeconds: 1 } },
        ],
        [
          ['show', 'fail'],
          ['fail', 'probe', 'always'],
        ],
      ),
    );
    const { id: runId } = await h.as(h.users.author).runs.start({ pipelineId });
    const ac = new AbortController();
    const stream = sse(await eventsGET(new Request(`${BASE}/api/events?run=${runId}&stage=show&approvals=1&runs=1`, { headers: viewer.headers(), signal: ac.signal })));
    const ended = await h.waitForEnd(runId, 90_000);
    await stream.waitFor<{ json?: { status?: string } }>((e) => e.event === 'run' && e.data?.json?.status === ended.status, 30_000);
    await stream.waitFor<{ complete?: boolean }>((e) => e.event === 'log' && e.data.complete === true, 30_000);
    ac.abort();
    await stream.cancel();

    // The secret was really used: the stages saw it (masked in what they left behind).
    expect(ended.status).toBe('failed');
    const show = await h.as(h.users.viewer).runs.logs({ runId, nodeId: 'show' });
    expect(show.text).toContain('the token is •••');
    expect(h.stageOf(ended, 'show').outputs).toMatchObject({ token: '•••' });
    expect(h.stageOf(ended, 'fail')).toMatchObject({ status: 'failed', error: expect.stringContaining('3') });
    expect(h.stageOf(ended, 'probe').status).toBe('failed');

    // Notifications: the run's end (with its failure) was announced.
    const deadline = Date.now() + 30_000;
    while (!notifications.some((n) => n.includes(runId) && n.includes('run.ended')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(notifications.some((n) => n.includes(runId) && n.includes('run.ended'))).toBe(true);

    // Images for READMEs.
    const token = (await h.as(h.users.author).embeds.create({ pipelineId, scope: 'view', allowedOrigins: ['https://wiki.example.com'], expiresInDays: null })).token;
    const ctx = { params: Promise.resolve({ id: `${pipelineId}.svg` }) };
    const badge = await badgeGET(new Request(`${BASE}/api/badge/${pipelineId}.svg?token=${token}`), ctx);
    const diagram = await diagramGET(new Request(`${BASE}/api/diagram/${pipelineId}.svg?token=${token}&run=${runId}`), ctx);
    expect([badge.status, diagram.status]).toEqual([200, 200]);

    // Temporal history of the run, payloads decoded.
    const history = await (await h.temporal()).workflow.getHandle(workflowIdForRun(runId)).fetchHistory();
    // The search reads inside the payloads: the run's own id is found there, the secret must not be.
    expect(strings(history).some((t) => t.includes(runId))).toBe(true);

    const logs = await Promise.all(['show', 'fail', 'probe'].map((nodeId) => h.as(h.users.viewer).runs.logs({ runId, nodeId })));
    const found = [
      ...leaks('runs.get', [JSON.stringify(await h.as(h.users.admin).runs.get({ id: runId }))]),
      ...leaks('runs.list', [JSON.stringify(await h.as(h.users.admin).runs.list({ pipelineId }))]),
      ...leaks('logs', logs.map((l) => l.text)),
      ...leaks('notifications', notifications),
      ...leaks('event stream', stream.events.map((e) => e.data)),
      ...leaks('badge', [await badge.text()]),
      ...leaks('diagram', [await diagram.text()]),
      ...leaks('Temporal history', strings(history)),
      ...leaks('database', [
        JSON.stringify(await h.db.select().from(runs).where(eq(runs.id, runId))),
        JSON.stringify(await h.db.select().from(stageRuns).where(eq(stageRuns.runId, runId))),
        JSON.stringify(await h.db.select().from(logChunks).where(eq(logChunks.runId, runId))),
        JSON.stringify(await h.db.select().from(auditLog)),
      ]),
      ...leaks('process output', printed),
    ];
    expect(found).toEqual([]);
  });
});
