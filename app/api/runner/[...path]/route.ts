/**
 * The runner API (`/api/runner/*`): how runners reach the control plane
 * (server/runner-api/handler.ts). No session and no CSRF check: callers
 * authenticate with a runner token or a stage credential (Bearer).
 */
import { getDb } from '@/db/client';
import { createArtifactStore, type ArtifactStore } from '@/server/artifacts/store';
import { getEnv } from '@/server/env';
import { stageChangedHere } from '@/server/live/app-live';
import { createRunnerApiHandler } from '@/server/runner-api/handler';

export const dynamic = 'force-dynamic';

let handler: Promise<(req: Request) => Promise<Response>> | undefined;
let store: ArtifactStore | undefined;

function getHandler() {
  handler ??= getDb().then((db) =>
    createRunnerApiHandler({
      db,
      queueBase: `${getEnv().TEMPORAL_TASK_QUEUE}-runner`,
      artifactStore: () => (store ??= createArtifactStore(getEnv())),
      // Pages following the run hear of a stage's start and end at once (push), not at their next poll.
      onStageChanged: stageChangedHere,
    }),
  );
  return handler;
}

const handle = async (req: Request) => (await getHandler())(req);

export const GET = handle;
export const POST = handle;
export const PUT = handle;
