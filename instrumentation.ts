/**
 * Next's start-up hook (runs once per server process, before it answers):
 * serves the runner API on its own port when `PIPEWRIGHT_RUNNER_API_PORT` is
 * set (server/runner-api/listener.ts).
 */
export async function register() {
  if (process.env.NEXT_RUNTIME !== 'nodejs') return;
  const port = Number(process.env.PIPEWRIGHT_RUNNER_API_PORT ?? '');
  if (!Number.isInteger(port) || port <= 0) return;
  const { startRunnerApiListener } = await import('./server/runner-api/listener');
  await startRunnerApiListener(port, process.env.PIPEWRIGHT_RUNNER_API_HOST || '127.0.0.1');
}
