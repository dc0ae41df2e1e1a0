/**
 * The app's live updates (`/api/events`, app/api/events/route.ts) against a
 * real worker: a signed-in person's stream carries the run as it changes, the
 * selected stage's log while the command is still running, the gates waiting
 * for them, and "runs changed" signals; signed out gets 401; a closed stream
 * leaves nothing watched.
 */
import superjson from 'superjson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GET as eventsGET } from '../../app/api/events/route';
import { getRunHub } from '../../server/live/run-hub';
import { cmd, gate, spec, startHarness, type Harness } from './harness';
import { freshAuth, signedIn, sse, type SignedIn } from './sessions';

const BASE = 'http://localhost:3000';

let h: Harness;
let approver: SignedIn;
let viewer: SignedIn;
beforeAll(async () => {
  h = await startHarness({ env: { PIPEWRIGHT_URL: BASE } });
  freshAuth();
  approver = await signedIn(h.db, { username: 'live_approver', role: 'approver', groups: ['approvers'] });
  viewer = await signedIn(h.db, { username: 'live_viewer', role: 'viewer' });
});
afterAll(async () => {
  await h?.close();
});

type RunJson = { id: string; status: string; stages: { id: string; status: string }[] };
type LogData = { runId: string; nodeId: string; from: number; chunks: { text: string }[]; complete: boolean };
type Serialized = Parameters<typeof superjson.deserialize>[0];

const stageStatus = (run: RunJson | null, id: string) => run?.stages.find((s) => s.id === id)?.status;
const events = (query: string, headers: Headers, signal?: AbortSignal) => eventsGET(new Request(`${BASE}/api/events?${query}`, { headers, signal }));

describe('/api/events', () => {
  it('refuses signed-out requests and bad parameters', async () => {
    expect((await events('approvals=1', new Headers())).status).toBe(401);
    expect((await events('approvals=1', new Headers({ cookie: 'pipewright.session_token=forged' }))).status).toBe(401);
    expect((await events('stage=build', viewer.headers())).status).toBe(400);
    expect((await events('run=bad%20id', viewer.headers())).status).toBe(400);
  });

  it('streams the run, the log while it is written, the gate to decide, and the next stage right after the decision', async () => {
    const runId = await h.run(
      spec(
        'live events',
        [cmd('build', 'echo first line; sleep 1.5; echo second line'), gate('qa', { groups: ['approvers'] }), cmd('deploy', 'sleep 1; echo deployed')],
        [
          ['build', 'qa'],
          ['qa', 'deploy'],
        ],
      ),
    );
    const ac = new AbortController();
    const res = await events(`run=${runId}&stage=build&approvals=1&runs=1`, approver.headers(), ac.signal);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const s = sse(res);
    try {
      // The run itself, as runs.get returns it (superjson), at once.
      const first = await s.waitFor<Serialized>((e) => e.event === 'run');
      expect(superjson.deserialize<RunJson>(first.data).id).toBe(runId);

      // The log: the first line arrives while the command still sleeps, the second one later.
      const text = (e: { data: LogData }) => e.data.chunks.map((c) => c.text).join('');
      const a = await s.waitFor<LogData>((e) => e.event === 'log' && text(e).includes('first line'));
      const b = await s.waitFor<LogData>((e) => e.event === 'log' && text(e).includes('second line'));
      expect(b.at - a.at).toBeGreaterThan(700);
      const done = await s.waitFor<LogData>((e) => e.event === 'log' && e.data.complete);
      // Offsets are contiguous: from + text of each event = the next one's from.
      const logs = s.events.filter((e) => e.event === 'log').map((e) => JSON.parse(e.data) as LogData);
      let at = 0;
      for (const l of logs) {
        expect(l.from).toBe(at);
        at += l.chunks.reduce((n, c) => n + c.text.length, 0);
      }
      expect(done.data.from).toBe(at);

      // The gate appears among the approver's approvals, decidable.
      const inbox = await s.waitFor<Serialized>((e) => e.event === 'approvals' && superjson.deserialize<{ runId: string; canDecide: boolean }[]>(e.data).some((g) => g.runId === runId));
      const item = superjson.deserialize<{ runId: string; gateId: string; canDecide: boolean; upstream: { id: string; status: string }[] }[]>(inbox.data).find((g) => g.runId === runId)!;
      expect(item).toMatchObject({ gateId: 'qa', canDecide: true, upstream: [{ id: 'build', status: 'succeeded' }] });

      // Decide; the next stage shows up running on the stream soon after.
      const from = s.events.length;
      await h.as(approver.user).approvals.decide({ runId, gateId: 'qa', decision: 'approve', comment: 'ship it' });
      await s.waitFor<Serialized>((e) => e.event === 'run' && stageStatus(superjson.deserialize<RunJson>(e.data), 'deploy') === 'running', 10_000, from);
      // …and the gate leaves the approver's list.
      await s.waitFor<Serialized>((e) => e.event === 'approvals' && !superjson.deserialize<{ runId: string }[]>(e.data).some((g) => g.runId === runId), 10_000, from);

      await h.waitForEnd(runId);
      await s.waitFor<Serialized>((e) => e.event === 'run' && superjson.deserialize<RunJson>(e.data).status === 'succeeded');
      // The runs fingerprint changed along the way (lists refetch on that).
      const fingerprints = new Set(s.events.filter((e) => e.event === 'runs').map((e) => e.data));
      expect(fingerprints.size).toBeGreaterThan(1);
    } finally {
      ac.abort();
      await s.cancel();
    }
    // Nothing is left watched once the only stream closed.
    await new Promise((r) => setTimeout(r, 100));
    const stats = getRunHub().stats();
    for (const name of ['app-run', 'app-log', 'app-gates', 'app-runs']) expect(stats[name]?.subscribers ?? 0).toBe(0);
  });

  it('resumes a log from an offset and ends a finished stage with complete', async () => {
    const runId = await h.run(spec('live resume', [cmd('build', 'printf "0123456789"')]));
    await h.waitForEnd(runId);
    const ac = new AbortController();
    const s = sse(await events(`run=${runId}&stage=build&offset=4`, viewer.headers(), ac.signal));
    try {
      const done = await s.waitFor<LogData>((e) => e.event === 'log' && e.data.complete);
      const logs = s.events.filter((e) => e.event === 'log').map((e) => JSON.parse(e.data) as LogData);
      expect(logs[0]!.from).toBe(4);
      expect(logs.map((l) => l.chunks.map((c) => c.text).join('')).join('')).toBe('456789');
      expect(done.data.from).toBe(10);
    } finally {
      ac.abort();
      await s.cancel();
    }
  });
});
