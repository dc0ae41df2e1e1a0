/**
 * Port helpers for the start script and the tests.
 *
 * 1. `getFreePort()` asks the OS for a free TCP port on 127.0.0.1 (listen on 0,
 *    read the port, close). Another process may take it before you use it; the
 *    window is short and good enough for tests and the dev server.
 * 2. `isPortFree(port)` tries to listen on the port: false when something
 *    already listens there (EADDRINUSE) or it is not allowed.
 */
import net from 'node:net';

export async function getFreePort(host = '127.0.0.1'): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('Could not read the port of a probe socket'));
        return;
      }
      const { port } = address;
      server.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}

/** True when nothing listens on `host:port` (checks both 127.0.0.1 and the wildcard address by default). */
export async function isPortFree(port: number, hosts: string[] = ['127.0.0.1', '0.0.0.0']): Promise<boolean> {
  for (const host of hosts) {
    const free = await new Promise<boolean>((resolve) => {
      const server = net.createServer();
      server.unref();
      server.once('error', () => resolve(false));
      server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
    });
    if (!free) return false;
  }
  return true;
}

/** True when a TCP connection to `host:port` succeeds within `timeoutMs`. */
export async function canConnect(port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = net.connect({ port, host });
    const done = (ok: boolean) => {
      socket.removeAllListeners();
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
