/**
 * Git webhooks: `POST /api/hooks/<pipelineId>` (optionally `?trigger=<id>`),
 * GitHub-style (`X-Hub-Signature-256`, `X-GitHub-Delivery`, `X-GitHub-Event`)
 * or GitLab-style (`X-Gitlab-Token`, `X-Gitlab-Event-UUID`, `X-Gitlab-Event`).
 *
 * 1. No session and no CSRF check: the caller is a Git server, authenticated
 *    by the trigger's secret (server/services/triggers.ts `receiveWebhook`).
 * 2. The body is read as bytes (the signature covers them exactly) up to
 *    5 MB; anything bigger is refused with 413 before it is buffered whole.
 * 3. Answers are JSON `{ ok, started, message, runId?, runNumber?, runUrl?, duplicate? }`:
 *    202 started, 200 ignored or duplicate, 400 malformed, 503 with `Retry-After`
 *    when Temporal cannot be reached (the delivery is not recorded as seen, so
 *    its redelivery starts the run); 401 with the same
 *    body for an unknown pipeline, no webhook and a missing or bad signature
 *    (server/triggers/refusals.ts: refusals are sampled into the audit log).
 * 4. Rate limited per pipeline id and per client address (behind a trusted
 *    proxy) before anything is read: 429 with `Retry-After`.
 */
import { getDb } from '@/db/client';
import { clientAddress } from '@/server/auth/rate-limit';
import { getEnv } from '@/server/env';
import { receiveWebhook } from '@/server/services/triggers';
import { getTemporalClient } from '@/server/temporal/client';
import { getWebhookLimiter } from '@/server/triggers/refusals';
import { MAX_WEBHOOK_BODY_BYTES } from '@/server/triggers/webhook';

export const dynamic = 'force-dynamic';

/** Seconds a Git host is asked to wait before redelivering while Temporal is unreachable. */
const WEBHOOK_RETRY_AFTER_S = 30;

const noStore = { 'Cache-Control': 'no-store' };

async function readBody(req: Request): Promise<Uint8Array | null> {
  const declared = Number(req.headers.get('content-length') ?? '0');
  if (declared > MAX_WEBHOOK_BODY_BYTES) return null;
  if (!req.body) return new Uint8Array();
  const reader = req.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_WEBHOOK_BODY_BYTES) {
      await reader.cancel().catch(() => undefined);
      return null;
    }
    parts.push(value);
  }
  const body = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    body.set(p, at);
    at += p.byteLength;
  }
  return body;
}

export async function POST(req: Request, { params }: { params: Promise<{ pipelineId: string }> }) {
  const { pipelineId } = await params;
  const wait = getWebhookLimiter().check(pipelineId.slice(0, 100), clientAddress(req.headers, getEnv().PIPEWRIGHT_TRUST_PROXY));
  if (wait !== null) {
    await req.body?.cancel().catch(() => undefined);
    return Response.json(
      { ok: false, started: false, message: `Too many deliveries; try again in ${wait} s.` },
      { status: 429, headers: { ...noStore, 'Retry-After': String(wait) } },
    );
  }
  const body = await readBody(req);
  if (!body) {
    return Response.json({ ok: false, started: false, message: `The body is larger than ${MAX_WEBHOOK_BODY_BYTES / 1024 / 1024} MB.` }, { status: 413, headers: noStore });
  }
  try {
    const { status, body: answer } = await receiveWebhook(await getDb(), getTemporalClient, {
      pipelineId,
      triggerId: new URL(req.url).searchParams.get('trigger'),
      headers: req.headers,
      body,
    });
    // 503: Temporal (or every worker) is unreachable and nothing was recorded: the Git host redelivers later.
    return Response.json(answer, { status, headers: status === 503 ? { ...noStore, 'Retry-After': String(WEBHOOK_RETRY_AFTER_S) } : noStore });
  } catch (err) {
    console.error('[hooks] delivery failed:', err);
    return Response.json({ ok: false, started: false, message: 'Something went wrong on the server; it has been logged.' }, { status: 500, headers: noStore });
  }
}

export function GET() {
  return Response.json({ ok: false, started: false, message: 'Send webhook deliveries with POST.' }, { status: 405, headers: { ...noStore, Allow: 'POST' } });
}
