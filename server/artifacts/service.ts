/**
 * Artifacts for the API and the download route: listing a run's artifacts and
 * opening one for download (server side; the store is never reached from the
 * browser directly).
 */
import { and, asc, eq } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { artifacts, pipelines, runs } from '../../db/schema';
import { getEnv } from '../env';
import { createArtifactStore, type ArtifactStore } from './store';

let store: ArtifactStore | undefined;
let storeFor: unknown;

/** The configured store, created once per configuration. */
export function artifactStore(): ArtifactStore {
  const env = getEnv();
  if (!store || storeFor !== env) {
    store = createArtifactStore(env);
    storeFor = env;
  }
  return store;
}

export type RunArtifact = {
  id: number;
  stage: string;
  name: string;
  /** Base name of the file the stage produced (the download's file name). */
  fileName: string | null;
  digest: string;
  size: number;
  createdAt: Date;
  /** Run where it was built, when this run reused the stage that built it. */
  reusedFrom: string | null;
};

export async function listRunArtifacts(db: Db, runId: string): Promise<RunArtifact[]> {
  return db
    .select({
      id: artifacts.id,
      stage: artifacts.nodeId,
      name: artifacts.name,
      fileName: artifacts.fileName,
      digest: artifacts.digest,
      size: artifacts.size,
      createdAt: artifacts.createdAt,
      reusedFrom: artifacts.reusedFrom,
    })
    .from(artifacts)
    .where(eq(artifacts.runId, runId))
    .orderBy(asc(artifacts.id));
}

/** One artifact of a run with its pipeline (for the authorisation check), or undefined. */
export async function findRunArtifact(db: Db, runId: string, artifactId: number) {
  return db
    .select({
      id: artifacts.id,
      stage: artifacts.nodeId,
      name: artifacts.name,
      fileName: artifacts.fileName,
      digest: artifacts.digest,
      size: artifacts.size,
      pipelineId: runs.pipelineId,
      pipelineDeleted: pipelines.deletedAt,
    })
    .from(artifacts)
    .innerJoin(runs, eq(runs.id, artifacts.runId))
    .innerJoin(pipelines, eq(pipelines.id, runs.pipelineId))
    .where(and(eq(artifacts.runId, runId), eq(artifacts.id, artifactId)))
    .get();
}
