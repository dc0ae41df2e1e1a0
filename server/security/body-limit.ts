/**
 * A cap on request bodies, enforced before anything parses them.
 *
 * JSON routes (tRPC, `/api/auth`) would otherwise buffer whatever a client
 * sends — eight megabytes of JSON is parsed as happily as eight hundred bytes.
 * `PIPEWRIGHT_MAX_BODY_BYTES` (default 1 MiB) bounds them: a declared
 * `Content-Length` over the cap is refused at once, and a body without one is
 * read only up to the cap. (Webhooks keep their own 5 MB cap; pipeline specs
 * of 2,000 stages fit well under 1 MiB.)
 */

export type LimitedBody = { ok: true; body: Uint8Array<ArrayBuffer> | undefined } | { ok: false };

/** The whole body when it is at most `max` bytes; `{ ok: false }` (and the stream cancelled) when it is larger. */
export async function readLimitedBody(req: Request, max: number): Promise<LimitedBody> {
  const declared = Number(req.headers.get('content-length') ?? '');
  if (Number.isFinite(declared) && declared > max) {
    await req.body?.cancel().catch(() => undefined);
    return { ok: false };
  }
  if (!req.body) return { ok: true, body: undefined };
  const reader = req.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => undefined);
      return { ok: false };
    }
    parts.push(value);
  }
  const body = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    body.set(p, at);
    at += p.byteLength;
  }
  return { ok: true, body };
}

/** "1 MiB", "512 KiB": the cap as people read it. */
export function formatBytes(n: number): string {
  if (n >= 1 << 20 && n % (1 << 20) === 0) return `${n / (1 << 20)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}
