/**
 * Smoke test of the Temporal test infrastructure.
 *
 * 1. The shared dev server from the global setup answers, has the namespace and
 *    Pipewright's search attributes.
 * 2. A dev server with a database file keeps its namespace across a crash
 *    (SIGKILL) and a restart on the same file and port.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { getFreePort } from '../../scripts/ports';
import { startDevServer, type DevServer } from '../../scripts/temporal-dev-server';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';

describe('Temporal dev server', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  it('serves the namespace with the Pipewright search attributes', async () => {
    const address = inject('temporalAddress');
    const namespace = inject('temporalNamespace');

    const connection = await Connection.connect({ address });
    cleanup.push(() => connection.close());

    const ns = await connection.workflowService.describeNamespace({ namespace });
    expect(ns.namespaceInfo?.name).toBe(namespace);

    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
    const names = Object.keys(customAttributes ?? {});
    expect(SEARCH_ATTRIBUTES).toHaveLength(3);
    for (const sa of SEARCH_ATTRIBUTES) expect(names).toContain(sa.name);
  });

  it('keeps its namespace across a kill -9 and a restart on the same database file', async () => {
    const bin = inject('temporalBin');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pipewright-persist-'));
    cleanup.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
    const port = await getFreePort();
    const namespace = 'persist-check';
    const opts = { bin, port, namespace, dbFile: path.join(dir, 'temporal.db'), logFile: path.join(dir, 'temporal.log') };

    let server: DevServer = await startDevServer(opts);
    cleanup.push(() => server.stop());
    await server.kill9();

    server = await startDevServer(opts);
    const connection = await Connection.connect({ address: server.address });
    cleanup.push(() => connection.close());
    const ns = await connection.workflowService.describeNamespace({ namespace });
    expect(ns.namespaceInfo?.name).toBe(namespace);
    // Created by --search-attribute on first start; still there after the crash.
    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
    expect(Object.keys(customAttributes ?? {})).toContain('PipewrightStatus');
  });
});
