/**
 * The runner API of the web app's process: one handler (server/runner-api/handler.ts)
 * over the process's database, told to push stage changes to the live pages of
 * this process. Kept on globalThis, so the Next route (`/api/runner/*`) and the
 * runner-API listener (./listener.ts, started from instrumentation.ts) share it
 * even though Next bundles them apart.
 */
import { getDb } from '../../db/client';
import { createArtifactStore, type ArtifactStore } from '../artifacts/store';
import { getEnv } from '../env';
import { stageChangedHere } from '../live/app-live';
import { createRunnerApiHandler } from './handler';

type Handler = (req: Request) => Promise<Response>;

const globalForRunnerApi = globalThis as unknown as { pipewrightRunnerApi?: Promise<Handler> };

export function appRunnerApiHandler(): Promise<Handler> {
  globalForRunnerApi.pipewrightRunnerApi ??= getDb().then((db) => {
    let store: ArtifactStore | undefined;
    return createRunnerApiHandler({
      db,
      queueBase: `${getEnv().TEMPORAL_TASK_QUEUE}-runner`,
      artifactStore: () => (store ??= createArtifactStore(getEnv())),
      // Pages following the run hear of a stage's start and end at once (push), not at their next poll.
      onStageChanged: stageChangedHere,
    });
  });
  return globalForRunnerApi.pipewrightRunnerApi;
}

/** Answers one runner-API request. */
export async function handleRunnerApi(req: Request): Promise<Response> {
  return (await appRunnerApiHandler())(req);
}
