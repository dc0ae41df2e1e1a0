/**
 * Artifacts as a stage sees them (`ExecutorContext.artifacts`): the store plus
 * the `artifacts` table, scoped to one run and stage. Used by executors on the
 * worker; references are resolved only among the artifacts of the same run
 * (which include those a reused stage carried over).
 */
import { and, eq } from 'drizzle-orm';
import path from 'node:path';
import type { Db } from '../../db/client';
import { artifacts } from '../../db/schema';
import { StageFailure, type StageArtifacts } from '../../workflows/stages/executor-types';
import { ArtifactMissing, DIGEST, DigestMismatch, materialise, storeFile, type ArtifactStore } from './store';

const short = (digest: string) => `${digest.slice(0, 19)}…`;

export function createStageArtifacts(db: Db, store: ArtifactStore, key: { runId: string; nodeId: string }): StageArtifacts {
  return {
    async publish(name, file, fileName = path.basename(file)) {
      const stored = await storeFile(store, file);
      await db
        .insert(artifacts)
        .values({ runId: key.runId, nodeId: key.nodeId, name, fileName, digest: stored.digest, size: stored.size })
        .onConflictDoUpdate({
          target: [artifacts.runId, artifacts.nodeId, artifacts.name],
          set: { digest: stored.digest, size: stored.size, fileName, reusedFrom: null, createdAt: new Date() },
        });
      return stored;
    },

    async materialise(ref, dest) {
      const byDigest = DIGEST.test(ref);
      const dot = ref.indexOf('.');
      const [row] = byDigest
        ? await db.select().from(artifacts).where(and(eq(artifacts.runId, key.runId), eq(artifacts.digest, ref))).limit(1)
        : await db
            .select()
            .from(artifacts)
            .where(and(eq(artifacts.runId, key.runId), eq(artifacts.nodeId, ref.slice(0, dot)), eq(artifacts.name, ref.slice(dot + 1))))
            .limit(1);
      if (!row) {
        throw new StageFailure(
          byDigest
            ? `no artifact of this run has the digest ${ref}`
            : dot <= 0
              ? `"${ref}" is not an artifact reference; use <stage>.<name>`
              : `stage "${ref.slice(0, dot)}" stored no artifact "${ref.slice(dot + 1)}" in this run (does it run before this stage and declare it?)`,
          'InvalidConfig',
        );
      }
      const label = `artifact "${row.nodeId}.${row.name}"`;
      try {
        const { size } = await materialise(store, row.digest, dest);
        return { stage: row.nodeId, name: row.name, digest: row.digest, size };
      } catch (err) {
        if (err instanceof DigestMismatch) {
          throw new StageFailure(
            `${label} does not match its digest: expected ${err.expected}, the stored file hashes to ${short(err.actual)} — it was changed or damaged after it was built; refusing to use it`,
          );
        }
        if (err instanceof ArtifactMissing) {
          throw new StageFailure(`${label} (${row.digest}) is missing from the artifact store`);
        }
        throw err;
      }
    },
  };
}
