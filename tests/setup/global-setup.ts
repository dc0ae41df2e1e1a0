/**
 * Global setup of the `integration` test project (see vitest.config.ts).
 *
 * 1. Ensures the Temporal CLI (tools/bin/temporal, built once with Go).
 * 2. Starts a headless dev server on a free port with a temporary SQLite file
 *    under os.tmpdir(), and registers Pipewright's search attributes.
 * 3. Tests read `inject('temporalAddress')` (or `process.env.TEMPORAL_ADDRESS`);
 *    tests that restart a server start their own with `startDevServer` and
 *    `inject('temporalBin')`.
 * 4. Teardown stops the server and removes the temporary folder.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import type { TestProject } from 'vitest/node';
import { getFreePort } from '../../scripts/ports';
import { ensureTemporalCli } from '../../scripts/temporal-cli';
import { startDevServer } from '../../scripts/temporal-dev-server';
import { registerSearchAttributes } from '../../server/temporal/search-attributes-registration';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `127.0.0.1:PORT` of the shared dev server. */
    temporalAddress: string;
    /** Namespace the shared dev server was prepared for (TEMPORAL_NAMESPACE, default `default`). */
    temporalNamespace: string;
    /** Path of the Temporal CLI, for tests that start their own server. */
    temporalBin: string;
  }
}

export default async function setup(project: TestProject) {
  const bin = await ensureTemporalCli();
  const namespace = process.env.TEMPORAL_NAMESPACE || 'default';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pipewright-temporal-'));
  const port = await getFreePort();
  const logFile = path.join(dir, 'temporal.log');

  let server;
  try {
    server = await startDevServer({ bin, port, namespace, dbFile: path.join(dir, 'temporal.db'), logFile });
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  try {
    const connection = await Connection.connect({ address: server.address });
    try {
      await registerSearchAttributes(connection, namespace);
    } finally {
      await connection.close();
    }
  } catch (err) {
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  project.provide('temporalAddress', server.address);
  project.provide('temporalNamespace', namespace);
  project.provide('temporalBin', bin);
  process.env.TEMPORAL_ADDRESS = server.address;
  process.env.TEMPORAL_NAMESPACE = namespace;
  process.env.PIPEWRIGHT_TEMPORAL_BIN ??= bin;

  let died = false;
  let stopping = false;
  void server.exited.then((info) => {
    if (stopping) return;
    died = true;
    process.stderr.write(
      `\n[global-setup] The Temporal dev server on ${server.address} exited during the tests ` +
        `(${info.signal ?? `code ${info.code}`}). Last lines of ${logFile}:\n  ${server.logTail(20).join('\n  ')}\n`,
    );
  });

  return async () => {
    stopping = true;
    await server.stop('SIGTERM', 15_000);
    if (!died) fs.rmSync(dir, { recursive: true, force: true });
  };
}
