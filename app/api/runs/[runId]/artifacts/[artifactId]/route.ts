/**
 * Download of a run's artifact: `GET /api/runs/<runId>/artifacts/<artifactId>`.
 *
 * 1. Signed-in people who may view the pipeline only (every role reads
 *    pipelines): 401 signed out. Session cookie only: embed tokens and share
 *    links never reach artifacts.
 * 2. Streams the blob from the artifact store as an attachment, with its digest
 *    (`Digest: sha-256=<base64>` and `X-Pipewright-Digest: sha256:<hex>`), so a
 *    client can check what it got.
 */
import { getDb } from '@/db/client';
import { ArtifactMissing } from '@/server/artifacts/store';
import { artifactStore, findRunArtifact } from '@/server/artifacts/service';
import { getSessionUser } from '@/server/auth/session';

export const dynamic = 'force-dynamic';

const noStore = { 'Cache-Control': 'no-store' };
const refuse = (status: number, message: string) => Response.json({ message }, { status, headers: noStore });

/** A file name safe in Content-Disposition (the UTF-8 form carries the exact one). */
function disposition(name: string) {
  const ascii = name.replace(/[^A-Za-z0-9._-]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

export async function GET(req: Request, { params }: { params: Promise<{ runId: string; artifactId: string }> }) {
  const user = await getSessionUser(req.headers);
  if (!user) return refuse(401, 'Sign in first.');
  const { runId, artifactId } = await params;
  const id = Number(artifactId);
  if (!Number.isSafeInteger(id) || id <= 0 || runId.length > 64) return refuse(404, 'Artifact not found.');
  const db = await getDb();
  const a = await findRunArtifact(db, runId, id);
  if (!a || a.pipelineDeleted) return refuse(404, 'Artifact not found.');
  let blob;
  try {
    blob = await artifactStore().open(a.digest);
  } catch (err) {
    if (err instanceof ArtifactMissing) return refuse(410, `The file of artifact "${a.name}" (${a.digest}) is missing from the artifact store.`);
    return refuse(503, 'The artifact store is not reachable; try again later.');
  }
  const hex = a.digest.slice('sha256:'.length);
  // Pulled chunk by chunk, so a slow client slows the read instead of filling memory.
  const chunks = (blob.stream as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await chunks.next();
        if (next.done) controller.close();
        else controller.enqueue(new Uint8Array(next.value));
      } catch (err) {
        controller.error(err);
      }
    },
    cancel() {
      blob.stream.destroy();
    },
  });
  return new Response(body, {
    status: 200,
    headers: {
      ...noStore,
      'Content-Type': 'application/octet-stream',
      'Content-Length': String(a.size),
      'Content-Disposition': disposition(a.fileName ?? a.name),
      Digest: `sha-256=${Buffer.from(hex, 'hex').toString('base64')}`,
      'X-Pipewright-Digest': a.digest,
      'X-Content-Type-Options': 'nosniff',
    },
  });
}
