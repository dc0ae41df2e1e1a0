/**
 * Next's start-up hook (runs once per server process, before it answers):
 * serves the runner API on its own port when `PIPEWRIGHT_RUNNER_API_PORT` is
 * set (server/runner-api/listener.ts).
 */
export async function register() {
  // Without the port, nothing of the control plane is loaded here (Next loads it on the first request).
  if (process.env.NEXT_RUNTIME !== 'nodejs' || !process.env.PIPEWRIGHT_RUNNER_API_PORT) return;
  const { startRunnerApiListener } = await import('./server/runner-api/listener');
  await startRunnerApiListener();
}
