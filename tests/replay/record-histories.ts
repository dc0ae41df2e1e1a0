/**
 * Records workflow histories for the replay test (tests/integration/replay.test.ts).
 *
 * Run it when the interpreter changes on purpose and old histories no longer
 * matter (e.g. before the first release): `npx tsx tests/replay/record-histories.ts`.
 * Name scenarios to record only those (`… record-histories.ts signed-gate-cancel`),
 * e.g. to add a history for a new feature while keeping the older ones.
 * Once runs exist in the wild, keep the old histories and guard changes with
 * `patched()` instead, so the replay test proves in-flight runs still replay.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { getFreePort } from '../../scripts/ports';
import { ensureTemporalCli } from '../../scripts/temporal-cli';
import { startDevServer } from '../../scripts/temporal-dev-server';
import { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';

// Binary protobuf: the JSON conversion helpers trip over two protobufjs versions in the dependency tree.
const historyToBytes = (history: proto.temporal.api.history.v1.IHistory) =>
  proto.temporal.api.history.v1.History.encode(history).finish();
import { registerSearchAttributes } from '../../server/temporal/search-attributes-registration';
import { workflowIdForRun } from '../../workflows/run-state';
import { cmd, gate, spec, startHarness } from '../integration/harness';
import { resetEnvCache } from '../../server/env';

const out = (name: string) => fileURLToPath(new URL(`./histories/${name}.bin`, import.meta.url));

async function main() {
  const bin = await ensureTemporalCli();
  const port = await getFreePort();
  const server = await startDevServer({ bin, port, namespace: 'default' });
  const connection = await Connection.connect({ address: server.address });
  await registerSearchAttributes(connection, 'default');
  await connection.close();
  const h = await startHarness({ address: server.address, env: { TEMPORAL_ADDRESS: server.address } });
  /** The app records a run's end before its workflow closes: wait for Temporal to close it too. */
  const waitClosed = async (runId: string) => {
    const handle = (await h.temporal()).workflow.getHandle(workflowIdForRun(runId));
    while ((await handle.describe()).status.name === 'RUNNING') await new Promise((r) => setTimeout(r, 200));
  };
  try {
    const scenarios: [string, () => Promise<string>][] = [
      [
        'parallel-outputs-retry',
        async () => {
          const runId = await h.run(
            spec(
              'replay: parallel',
              [
                cmd('build', 'echo "v=1" >> "$PIPEWRIGHT_OUTPUT"'),
                cmd('a', 'echo ${{ stages.build.outputs.v }}'),
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
          return runId;
        },
      ],
      [
        'gate-quorum-failure-edge',
        async () => {
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
          return runId;
        },
      ],
      [
        'stop-the-line-cancel',
        async () => {
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
          await new Promise((r) => setTimeout(r, 500));
          await h.as(h.users.author).runs.cancel({ runId: cancelled, reason: 'replay' });
          await h.waitForEnd(cancelled);
          const client = await h.temporal();
          const history = await client.workflow.getHandle(workflowIdForRun(failed)).fetchHistory();
          writeFileSync(out('stop-the-line'), historyToBytes(history));
          return cancelled;
        },
      ],
      [
        // Signed decisions and cancellation (RunInput.decisionKey): the run after it existed.
        'signed-gate-cancel',
        async () => {
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
          return runId;
        },
      ],
      [
        // Stages on runners (runsOn → task queues): outputs passed as environment variables, a stage no runner
        // takes (fails after the wait), its failure handled. Recorded once per interpreter version that changed
        // how stages are scheduled: `runner-pools` (current), `runner-pools-recorded-before-wait` (every attempt
        // recorded before it was scheduled).
        'runner-pools',
        async () => {
          process.env.PIPEWRIGHT_RUNNER_WAIT_S = '3';
          resetEnvCache();
          const runId = await h.run(
            spec(
              'replay: runners',
              [
                cmd('build', 'echo "v=1" >> "$PIPEWRIGHT_OUTPUT"'),
                cmd('test', 'echo "testing $PW_OUTPUT_build_v"'),
                cmd('gpu', 'true', { runsOn: ['gpu'] }),
                cmd('cleanup', 'true'),
              ],
              [
                ['build', 'test'],
                ['build', 'gpu'],
                ['gpu', 'cleanup', 'failure'],
              ],
            ),
          );
          await h.waitForEnd(runId);
          return runId;
        },
      ],
      [
        // Temporal's own status tells the outcome (patch 'temporal-status-tells-outcome'): a run failed by a
        // rejected gate ends Failed.
        'failed-run-status',
        async () => {
          const runId = await h.run(
            spec('replay: failed status', [cmd('build', 'true'), gate('qa', { groups: ['approvers'] }), cmd('deploy', 'true')], [
              ['build', 'qa'],
              ['qa', 'deploy'],
            ]),
          );
          await h.waitForStage(runId, 'qa', 'waiting');
          await h.as(h.users.alan).approvals.decide({ runId, gateId: 'qa', decision: 'reject', comment: 'replay' });
          await h.waitForEnd(runId);
          await waitClosed(runId);
          return runId;
        },
      ],
      [
        // … and cancelled runs end Cancelled: through the app (signed Update, then Temporal's cancel request),
        // and from Temporal itself (written as `cancelled-run-status-temporal`).
        'cancelled-run-status',
        async () => {
          const fromTemporal = await h.run(spec('replay: temporal cancel', [cmd('long', 'sleep 20'), cmd('next', 'true')], [['long', 'next']]));
          await h.waitForStage(fromTemporal, 'long', 'running');
          const client = await h.temporal();
          await client.workflow.getHandle(workflowIdForRun(fromTemporal)).cancel();
          await h.waitForEnd(fromTemporal);
          await waitClosed(fromTemporal);
          const history = await client.workflow.getHandle(workflowIdForRun(fromTemporal)).fetchHistory();
          writeFileSync(out('cancelled-run-status-temporal'), historyToBytes(history));
          const runId = await h.run(spec('replay: app cancel', [cmd('long', 'sleep 20'), cmd('next', 'true')], [['long', 'next']]));
          await h.waitForStage(runId, 'long', 'running');
          await h.as(h.users.author).runs.cancel({ runId, reason: 'replay' });
          await h.waitForEnd(runId);
          await waitClosed(runId);
          return runId;
        },
      ],
    ];
    const only = process.argv.slice(2);
    const client = await h.temporal();
    for (const [name, run] of scenarios.filter(([n]) => only.length === 0 || only.includes(n))) {
      const runId = await run();
      const history = await client.workflow.getHandle(workflowIdForRun(runId)).fetchHistory();
      writeFileSync(out(name), historyToBytes(history));
      console.log(`recorded ${name} (${history.events?.length ?? 0} events)`);
    }
  } finally {
    await h.close();
    await server.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
