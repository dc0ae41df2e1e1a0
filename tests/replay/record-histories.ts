/**
 * Records workflow histories for the replay corpus (tests/replay/histories, replayed by
 * tests/integration/replay.test.ts; the corpus rules are checked by tests/unit/replay-corpus.test.ts).
 *
 *   npm run replay:record                 every scenario that has no history recorded by the current workflow code
 *   npm run replay:record -- gate-timeout  only the named scenarios
 *
 * Each history is written as `<scenario>@<workflow code fingerprint>.bin` and listed in
 * histories/manifest.json with the app version, the commit and the workflow-code
 * fingerprint that recorded it (tests/replay/fingerprint.ts) and the paths it covers.
 * Histories are never overwritten or regenerated: after a change to workflow code, record
 * the scenarios again and the new files sit beside the old ones, which keep proving that
 * runs started by the earlier version still replay (docs/upgrades.md).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { and, eq } from 'drizzle-orm';
import { Connection, type Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import { getFreePort } from '../../scripts/ports';
import { ensureTemporalCli } from '../../scripts/temporal-cli';
import { startDevServer } from '../../scripts/temporal-dev-server';
import { runs } from '../../db/schema';
import { registerSearchAttributes } from '../../server/temporal/search-attributes-registration';
import { resetEnvCache } from '../../server/env';
import { workflowIdForRun } from '../../workflows/run-state';
import { cmd, gate, spec, startHarness, type Harness } from '../integration/harness';
import { HISTORIES, MANIFEST, readManifest, type WorkflowType } from './corpus';
import { workflowFingerprint } from './fingerprint';

// Binary protobuf: the JSON conversion helpers trip over two protobufjs versions in the dependency tree.
const historyToBytes = (history: proto.temporal.api.history.v1.IHistory) => proto.temporal.api.history.v1.History.encode(history).finish();

type Recorded = { suffix?: string; workflowId: string; workflowType: WorkflowType; paths: string[] };
type Scenario = (h: Harness, client: Client) => Promise<Recorded[]>;

const pipelineRun = (runId: string, paths: string[], suffix?: string): Recorded => ({ workflowId: workflowIdForRun(runId), workflowType: 'pipelineRun', paths, suffix });

/** Records only what the scenario claims to cover. */
function expect<T>(actual: T, what: string) {
  return {
    toEqual(expected: T) {
      if (JSON.stringify(actual) !== JSON.stringify(expected)) throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
    },
  };
}

async function waitUntil<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The app records a run's end before its workflow closes: wait for Temporal to close it too. */
async function waitClosed(client: Client, runId: string) {
  const handle = client.workflow.getHandle(workflowIdForRun(runId));
  while ((await handle.describe()).status.name === 'RUNNING') await new Promise((r) => setTimeout(r, 200));
}

const SCENARIOS: Record<string, Scenario> = {
  // Temporal's own status tells the outcome (patch 'temporal-status-tells-outcome'): a run failed by a
  // rejected gate ends Failed.
  'failed-run-status': async (h, client) => {
    const runId = await h.run(
      spec('replay: failed status', [cmd('build', 'true'), gate('qa', { groups: ['approvers'] }), cmd('deploy', 'true')], [
        ['build', 'qa'],
        ['qa', 'deploy'],
      ]),
    );
    await h.waitForStage(runId, 'qa', 'waiting');
    await h.as(h.users.alan).approvals.decide({ runId, gateId: 'qa', decision: 'reject', comment: 'replay' });
    await h.waitForEnd(runId);
    await waitClosed(client, runId);
    expect((await client.workflow.getHandle(workflowIdForRun(runId)).describe()).status.name, 'Temporal status').toEqual('FAILED');
    return [pipelineRun(runId, ['gate-rejected', 'temporal-status-failed'])];
  },
  // … and cancelled runs end Cancelled: from Temporal itself and through the app (signed Update, then
  // Temporal's cancel request).
  'cancelled-run-status': async (h, client) => {
    const fromTemporal = await h.run(spec('replay: temporal cancel', [cmd('long', 'sleep 20'), cmd('next', 'true')], [['long', 'next']]));
    await h.waitForStage(fromTemporal, 'long', 'running');
    await client.workflow.getHandle(workflowIdForRun(fromTemporal)).cancel();
    await h.waitForEnd(fromTemporal);
    await waitClosed(client, fromTemporal);
    const runId = await h.run(spec('replay: app cancel', [cmd('long', 'sleep 20'), cmd('next', 'true')], [['long', 'next']]));
    await h.waitForStage(runId, 'long', 'running');
    await h.as(h.users.author).runs.cancel({ runId, reason: 'replay' });
    await h.waitForEnd(runId);
    await waitClosed(client, runId);
    expect((await client.workflow.getHandle(workflowIdForRun(runId)).describe()).status.name, 'Temporal status').toEqual('CANCELLED');
    return [
      pipelineRun(fromTemporal, ['cancel', 'temporal-status-cancelled'], 'temporal'),
      pipelineRun(runId, ['cancel', 'signed-decisions', 'temporal-status-cancelled'], 'app'),
    ];
  },
  'parallel-outputs-retry': async (h) => {
    const runId = await h.run(
      spec(
        'replay: parallel',
        [
          cmd('build', 'echo "v=1" >> "$PIPEWRIGHT_OUTPUT"'),
          cmd('a', 'echo "$PW_OUTPUT_build_v"'),
          cmd('flaky', 'f=$PIPEWRIGHT_RUN_ID.flag; [ -f /tmp/$f ] || { touch /tmp/$f; exit 1; }', { retry: { maxAttempts: 2, initialIntervalSeconds: 0.1 } }),
          { id: 'pause', kind: 'wait', name: 'pause', config: { seconds: 0.2 } },
          cmd('join', 'true'),
        ],
        [
          ['build', 'a'],
          ['build', 'flaky'],
          ['build', 'pause'],
          ['a', 'join'],
          ['flaky', 'join'],
          ['pause', 'join'],
        ],
      ),
    );
    await h.waitForEnd(runId);
    return [pipelineRun(runId, ['parallel', 'outputs', 'retry', 'wait-stage'])];
  },
  'gate-quorum-failure-edge': async (h) => {
    const runId = await h.run(
      spec('replay: gate', [cmd('build', 'true'), gate('qa', { groups: ['approvers'], quorum: 2 }), cmd('deploy', 'true'), cmd('rollback', 'true')], [
        ['build', 'qa'],
        ['qa', 'deploy'],
        ['qa', 'rollback', 'failure'],
      ]),
    );
    await h.waitForStage(runId, 'qa', 'waiting');
    await h.as(h.users.alan).approvals.decide({ runId, gateId: 'qa', decision: 'approve' });
    await h.waitFor(runId, (r) => (h.stageOf(r, 'qa').gate?.votes.length ?? 0) === 1);
    await h.as(h.users.grace).approvals.decide({ runId, gateId: 'qa', decision: 'reject', comment: 'no' });
    await h.waitForEnd(runId);
    return [pipelineRun(runId, ['gate-quorum', 'gate-rejected', 'failure-edge', 'signed-decisions'])];
  },
  // Signed decisions and cancellation (RunInput.decisionKey): one vote of a quorum of two, then the run is cancelled.
  'signed-gate-cancel': async (h) => {
    const runId = await h.run(
      spec('replay: signed', [cmd('build', 'true'), gate('qa', { groups: ['approvers'], quorum: 2 }), cmd('deploy', 'true')], [
        ['build', 'qa'],
        ['qa', 'deploy'],
      ]),
    );
    await h.waitForStage(runId, 'qa', 'waiting');
    await h.as(h.users.alan).approvals.decide({ runId, gateId: 'qa', decision: 'approve', comment: 'fine' });
    await h.waitFor(runId, (r) => (h.stageOf(r, 'qa').gate?.votes.length ?? 0) === 1);
    await h.as(h.users.author).runs.cancel({ runId, reason: 'replay' });
    await h.waitForEnd(runId);
    return [pipelineRun(runId, ['gate-quorum', 'cancel', 'signed-decisions'])];
  },
  'gate-approved': async (h) => {
    const runId = await h.run(
      spec('replay: approve', [cmd('build', 'echo "version=7" >> "$PIPEWRIGHT_OUTPUT"'), gate('qa', { groups: ['approvers'] }), cmd('deploy', 'echo "deploying $PW_OUTPUT_build_version"')], [
        ['build', 'qa'],
        ['qa', 'deploy'],
      ]),
    );
    await h.waitForStage(runId, 'qa', 'waiting');
    await h.as(h.users.alan).approvals.decide({ runId, gateId: 'qa', decision: 'approve', comment: 'ship it' });
    await h.waitForEnd(runId);
    return [pipelineRun(runId, ['gate-approved', 'signed-decisions', 'outputs'])];
  },
  'gate-timeout': async (h) => {
    // Two gates decided by their timers: one approves on timeout, the other rejects.
    const runId = await h.run(
      spec(
        'replay: gate timeout',
        [
          cmd('build', 'true'),
          gate('auto-yes', { groups: ['approvers'], timeoutSeconds: 1, onTimeout: 'approve' }),
          gate('auto-no', { groups: ['approvers'], timeoutSeconds: 1, onTimeout: 'reject' }),
          cmd('after-yes', 'true'),
          cmd('after-no', 'true'),
          cmd('on-no', 'true'),
        ],
        [
          ['build', 'auto-yes'],
          ['build', 'auto-no'],
          ['auto-yes', 'after-yes'],
          ['auto-no', 'after-no'],
          ['auto-no', 'on-no', 'failure'],
        ],
      ),
    );
    const r = await h.waitForEnd(runId);
    expect(r.stages.filter((s) => ['after-yes', 'on-no'].includes(s.id)).map((s) => s.status), 'gate timeouts').toEqual(['succeeded', 'succeeded']);
    return [pipelineRun(runId, ['gate-timeout-approve', 'gate-timeout-reject', 'failure-edge'])];
  },
  'stop-the-line-cancel': async (h) => {
    const failed = await h.run(
      spec('replay: stop', [cmd('s', 'true'), cmd('slow', 'sleep 20'), cmd('bad', 'sleep 0.3; exit 1'), cmd('after', 'true')], [
        ['s', 'slow'],
        ['s', 'bad'],
        ['bad', 'after'],
      ]),
    );
    await h.waitForEnd(failed);
    const cancelled = await h.run(spec('replay: cancel', [cmd('long', 'sleep 20'), cmd('next', 'true')], [['long', 'next']]));
    await h.waitForStage(cancelled, 'long', 'running');
    await h.as(h.users.author).runs.cancel({ runId: cancelled, reason: 'replay' });
    await h.waitForEnd(cancelled);
    return [pipelineRun(failed, ['stop-the-line'], 'stop'), pipelineRun(cancelled, ['cancel', 'signed-decisions'], 'cancel')];
  },
  'rerun-reuse': async (h) => {
    const flag = `${h.shared}/rerun-fixed`;
    const pipelineId = await h.createPipeline(
      spec(
        'replay: rerun',
        [cmd('build', 'echo "v=9" >> "$PIPEWRIGHT_OUTPUT"'), cmd('test', `test -f ${flag}`), cmd('deploy', 'echo "deploying $PW_OUTPUT_build_v"')],
        [
          ['build', 'test'],
          ['test', 'deploy'],
        ],
      ),
    );
    const first = await h.as(h.users.author).runs.start({ pipelineId });
    await h.waitForEnd(first.id);
    writeFileSync(flag, 'ok');
    const second = await h.as(h.users.author).runs.rerunFromFailed({ runId: first.id });
    const r = await h.waitForEnd(second.id);
    expect([r.status, r.reusedFromRun?.id], 'rerun').toEqual(['succeeded', first.id]);
    return [pipelineRun(second.id, ['rerun-reuse', 'outputs'])];
  },
  'omitted-stages': async (h) => {
    const admin = h.as(h.users.admin);
    await admin.environments.create({ name: 'staging', displayName: 'Staging', promoteRoles: ['author', 'approver', 'admin'] });
    await admin.environments.create({ name: 'production', displayName: 'Production', promoteRoles: ['approver', 'admin'], requireGate: true });
    const runId = await h.run(
      spec(
        'replay: omitted',
        [
          cmd('build', 'true'),
          cmd('deploy-staging', 'true', { environment: 'staging' }),
          { ...gate('gate-prod', { users: ['alan'], groups: [] }), environment: 'production' },
          cmd('deploy-prod', 'true', { environment: 'production' }),
        ],
        [
          ['build', 'deploy-staging'],
          ['deploy-staging', 'gate-prod'],
          ['gate-prod', 'deploy-prod'],
        ],
      ),
    );
    const r = await h.waitForEnd(runId);
    expect(r.stages.map((s) => s.status), 'left out').toEqual(['succeeded', 'succeeded', 'skipped', 'skipped']);
    return [pipelineRun(runId, ['omitted-stages'])];
  },
  'runner-pools': async (h) => {
    process.env.PIPEWRIGHT_RUNNER_WAIT_S = '3';
    resetEnvCache();
    try {
      const runId = await h.run(
        spec(
          'replay: runners',
          [cmd('build', 'echo "v=1" >> "$PIPEWRIGHT_OUTPUT"'), cmd('test', 'echo "testing $PW_OUTPUT_build_v"'), cmd('gpu', 'true', { runsOn: ['gpu'] }), cmd('cleanup', 'true')],
          [
            ['build', 'test'],
            ['build', 'gpu'],
            ['gpu', 'cleanup', 'failure'],
          ],
        ),
      );
      await h.waitForEnd(runId);
      return [pipelineRun(runId, ['runner-pools', 'runner-wait-timeout', 'failure-edge', 'outputs'])];
    } finally {
      delete process.env.PIPEWRIGHT_RUNNER_WAIT_S;
      resetEnvCache();
    }
  },
  // Kubernetes stages (heartbeating activities on a runner) on the local control plane: a canary held at a gate, promoted.
  'k8s-canary-gate': async (h) => {
    const { startCluster } = await import('../../scripts/k8s/cluster');
    const { K8sClient } = await import('../../workflows/k8s/client');
    const { appManifests } = await import('../k8s/helpers');
    const cluster = await startCluster({ log: () => undefined });
    try {
      const ns = `replay-${Date.now().toString(36)}`;
      const kube = new K8sClient({ name: 'local', server: cluster.server, caPem: cluster.caPem, token: cluster.adminToken, allowedNamespaces: [] });
      await kube.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
      await waitUntil('the default service account', async () => ((await kube.get({ apiVersion: 'v1', kind: 'ServiceAccount', namespace: ns, name: 'default' })) ? true : undefined));
      const admin = h.as(h.users.admin);
      await admin.clusters.create({ authType: 'token', name: 'replay-k8s', server: cluster.server, token: cluster.adminToken, caPem: cluster.caPem, allowedNamespaces: [ns] });
      await admin.environments.create({ name: 'replay-k8s', displayName: 'Replay k8s', clusterConnection: 'replay-k8s' });
      const node = (id: string, kind: string, config: Record<string, unknown>) => ({ id, kind, name: id, environment: 'replay-k8s', config: { connection: 'replay-k8s', namespace: ns, ...config } });
      const runId = await h.run(
        spec(
          'replay: k8s canary',
          [
            node('canary', 'k8s-deploy', { manifests: appManifests({ image: 'example/web:1', replicas: 2 }), strategy: { type: 'canary', steps: [{ weight: 50 }], promote: false } }),
            gate('approve', { groups: ['approvers'] }),
            node('promote', 'k8s-deploy', { manifests: appManifests({ image: 'example/web:1', replicas: 2 }), strategy: { type: 'canary', steps: [{ weight: 100 }] } }),
            node('rollback', 'k8s-rollback', { deployment: 'web' }),
          ],
          [
            ['canary', 'approve'],
            ['approve', 'promote'],
            ['approve', 'rollback', 'failure'],
          ],
        ),
      );
      await h.waitForStage(runId, 'approve', 'waiting', 120_000);
      await h.as(h.users.alan).approvals.decide({ runId, gateId: 'approve', decision: 'approve' });
      const r = await h.waitForEnd(runId, 120_000);
      expect(r.status, 'k8s canary run').toEqual('succeeded');
      return [pipelineRun(runId, ['k8s-deploy', 'k8s-heartbeats', 'gate-approved', 'signed-decisions'])];
    } finally {
      await cluster.stop();
    }
  },
  'queued-trigger': async (h) => {
    // Downstream pipeline full (one run at a time, one in flight): the upstream's success queues its run.
    const upstream = await h.createPipeline(spec('replay: upstream', [cmd('u', 'true')]));
    const downstream = await h.createPipeline(spec('replay: downstream', [cmd('d', 'sleep 2')], [], { settings: { concurrency: 1 } }));
    const trigger = await h.as(h.users.author).triggers.createUpstream({ pipelineId: downstream, name: 'after upstream', config: { upstreamPipelineId: upstream } });
    const busy = await h.as(h.users.author).runs.start({ pipelineId: downstream });
    await h.waitForStage(busy.id, 'd', 'running');
    const up = await h.as(h.users.author).runs.start({ pipelineId: upstream });
    await h.waitForEnd(up.id);
    const queued = await waitUntil('the queued run', async () => {
      const all = await h.db.select().from(runs).where(eq(runs.pipelineId, downstream));
      return all.find((r) => r.id !== busy.id);
    });
    await h.waitForEnd(queued.id);
    return [{ workflowId: `trigger-queue-${trigger.id}-run:${up.id}`, workflowType: 'queuedTrigger', paths: ['queued-trigger'] }];
  },
  'scheduled-trigger': async (h, client) => {
    const pipelineId = await h.createPipeline(spec('replay: nightly', [cmd('nightly', 'true')], [], { settings: { concurrency: 5 } }));
    const trigger = await h.as(h.users.author).triggers.createSchedule({ pipelineId, name: 'often', config: { cron: '@every 2s', timezone: 'UTC' } });
    const fired = await waitUntil('a scheduled run', async () => (await h.db.select().from(runs).where(and(eq(runs.pipelineId, pipelineId), eq(runs.trigger, 'schedule')))).at(0));
    await h.waitForEnd(fired.id);
    await h.as(h.users.author).triggers.delete({ id: trigger.id });
    // The schedule's workflow that started this run (its id begins with `trigger-<id>`).
    const ids: string[] = [];
    for await (const w of client.workflow.list({ query: `WorkflowType = 'scheduledTrigger'` })) {
      if (w.workflowId.startsWith(`trigger-${trigger.id}`) && w.status.name === 'COMPLETED') ids.push(w.workflowId);
    }
    if (!ids.length) throw new Error('no completed scheduledTrigger workflow found');
    return [{ workflowId: ids[0]!, workflowType: 'scheduledTrigger', paths: ['scheduled-trigger'] }];
  },
};

function git(args: string[]): string {
  return execFileSync('git', args, { cwd: fileURLToPath(new URL('../../', import.meta.url)), encoding: 'utf8' }).trim();
}

async function main() {
  const { fingerprint } = workflowFingerprint();
  const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  const dirty = git(['status', '--porcelain', '--', 'workflows']) !== '';
  const commit = `${git(['rev-parse', '--short', 'HEAD'])}${dirty ? '+uncommitted' : ''}`;
  const manifest = existsSync(MANIFEST) ? readManifest() : { histories: {} };
  const recordedNow = new Set(Object.values(manifest.histories).filter((e) => e.recordedBy.workflowCode === fingerprint).map((e) => e.scenario));
  const named = process.argv.slice(2);
  for (const n of named) if (!SCENARIOS[n]) throw new Error(`no scenario "${n}"; there are: ${Object.keys(SCENARIOS).join(', ')}`);
  const todo = named.length ? named : Object.keys(SCENARIOS).filter((n) => !recordedNow.has(n));
  if (!todo.length) {
    console.log(`Every scenario has a history recorded by workflow code ${fingerprint}; nothing to record.`);
    return;
  }

  const bin = await ensureTemporalCli();
  const server = await startDevServer({ bin, port: await getFreePort(), namespace: 'default' });
  const connection = await Connection.connect({ address: server.address });
  await registerSearchAttributes(connection, 'default');
  await connection.close();
  const h = await startHarness({ address: server.address, env: { TEMPORAL_ADDRESS: server.address } });
  try {
    const client = await h.temporal();
    for (const name of todo) {
      for (const r of await SCENARIOS[name]!(h, client)) {
        const file = `${name}${r.suffix ? `-${r.suffix}` : ''}@${fingerprint}.bin`;
        if (existsSync(`${HISTORIES}${file}`)) throw new Error(`${file} exists; histories are never overwritten`);
        // The whole history: the run's status is recorded before its workflow completes.
        await client.workflow.getHandle(r.workflowId).result().catch(() => undefined);
        const history = await client.workflow.getHandle(r.workflowId).fetchHistory();
        writeFileSync(`${HISTORIES}${file}`, historyToBytes(history), { flag: 'wx' });
        manifest.histories[file] = {
          scenario: name,
          workflowType: r.workflowType,
          paths: r.paths,
          recordedBy: { version, commit, workflowCode: fingerprint },
          recordedAt: new Date().toISOString(),
          events: history.events?.length ?? 0,
        };
        writeFileSync(MANIFEST, `${JSON.stringify(manifest, null, 2)}\n`);
        console.log(`recorded ${file} (${history.events?.length ?? 0} events)`);
      }
    }
  } finally {
    await h.close();
    await server.stop();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
