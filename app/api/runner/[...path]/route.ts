/**
 * The runner API (`/api/runner/*`): how runners reach the control plane
 * (server/runner-api/handler.ts). No session and no CSRF check: callers
 * authenticate with a runner token or a stage credential (Bearer). The same
 * handler also answers on the runner-API port when one is set
 * (`PIPEWRIGHT_RUNNER_API_PORT`, server/runner-api/listener.ts).
 */
import { handleRunnerApi } from '@/server/runner-api/app-handler';

export const dynamic = 'force-dynamic';

export const GET = handleRunnerApi;
export const POST = handleRunnerApi;
export const PUT = handleRunnerApi;
