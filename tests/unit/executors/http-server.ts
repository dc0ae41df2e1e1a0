/** A real `node:http` server on 127.0.0.1 (random port) for executor tests. */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** `127.0.0.1:<port>` of every server this test file started (and so may reach). */
const started: string[] = [];

/**
 * `env` plus the egress allow-list naming exactly the test servers started so
 * far (read when the stage runs, so servers started after the context count).
 * Stages may not reach loopback otherwise (workflows/stages/egress.ts).
 */
export function allowTestServers(env: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return Object.defineProperty({ ...env }, 'PIPEWRIGHT_STAGE_EGRESS_ALLOW', { enumerable: true, get: () => started.join(',') });
}

export type Received = { method: string; url: string; headers: IncomingMessage['headers']; body: string };
export type Handler = (req: Received, res: ServerResponse) => void;

export type TestServer = { url: string; received: Received[]; close(): Promise<void> };

export async function startServer(handler: Handler): Promise<TestServer> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      received.push(r);
      handler(r, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  started.push(`127.0.0.1:${port}`);
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A URL nobody listens on (a port that was just free). */
export async function refusedUrl(): Promise<string> {
  const s = await startServer(() => {});
  await s.close();
  return s.url;
}

export function reply(res: ServerResponse, status: number, body = '', contentType = 'text/plain'): void {
  res.writeHead(status, { 'content-type': contentType });
  res.end(body);
}
