/**
 * What the embedded dev server's dynamic config is worth on its own: a bare
 * chain of 50 no-op activities (the bench:engine baseline workflow) on a fresh
 * dev server per named config, 4 runs each, printed as ms per step.
 *
 *   npx tsx scripts/bench/dev-config.ts default eager pollrps both all
 *
 * `all` is LOW_LATENCY_DYNAMIC_CONFIG (what `npm start` uses); `default` is
 * Temporal's own defaults. Figures and findings: docs/benchmarks.md.
 */
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker, bundleWorkflowCode } from '@temporalio/worker';
import path from 'node:path';
import { getFreePort } from '../ports';
import { ensureTemporalCli } from '../temporal-cli';
import { LOW_LATENCY_DYNAMIC_CONFIG, startDevServer } from '../temporal-dev-server';
import { createBaselineActivities } from './baseline-activities';
import { ROOT } from './common';

const CONFIGS: Record<string, Record<string, unknown>> = {
  default: {},
  eager: { 'system.enableActivityEagerExecution': true },
  pollrps: { 'history.transferProcessorMaxPollRPS': 10_000 },
  both: { 'system.enableActivityEagerExecution': true, 'history.transferProcessorMaxPollRPS': 10_000 },
  all: { ...LOW_LATENCY_DYNAMIC_CONFIG },
};
const STEPS = 50;
const RUNS = 4;

async function main() {
  const names = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(CONFIGS);
  const unknown = names.filter((n) => !CONFIGS[n]);
  if (unknown.length) throw new Error(`unknown config ${unknown.join(', ')}; choose from ${Object.keys(CONFIGS).join(', ')}`);
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
  const bin = await ensureTemporalCli({ log: (l) => process.stderr.write(`${l}\n`) });
  const quiet = () => undefined;
  const workflowBundle = await bundleWorkflowCode({
    workflowsPath: path.join(ROOT, 'scripts/bench/baseline-workflow.ts'),
    logger: { log: quiet, trace: quiet, debug: quiet, info: quiet, warn: quiet, error: (m: string) => process.stderr.write(`${m}\n`) },
  });
  for (const name of names) {
    const server = await startDevServer({ bin, port: await getFreePort(), namespace: 'default', searchAttributes: [], defaultConfig: true, dynamicConfig: CONFIGS[name] });
    try {
      const nc = await NativeConnection.connect({ address: server.address });
      const worker = await Worker.create({ connection: nc, namespace: 'default', taskQueue: 'dev-config', workflowBundle, activities: createBaselineActivities() });
      const running = worker.run();
      const connection = await Connection.connect({ address: server.address });
      const client = new Client({ connection });
      const perStep: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const t = performance.now();
        await client.workflow.execute('baselineSequential', { taskQueue: 'dev-config', workflowId: `dev-config-${i}`, args: [{ stages: STEPS, activity: 'noop' }] });
        perStep.push((performance.now() - t) / STEPS);
      }
      process.stdout.write(`${name}: ${perStep.map((x) => x.toFixed(1)).join(', ')} ms per step\n`);
      worker.shutdown();
      await running;
      await nc.close();
      await connection.close();
    } finally {
      await server.stop();
    }
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
