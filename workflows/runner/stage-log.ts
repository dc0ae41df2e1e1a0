/**
 * Stage logs on a runner: what an executor writes goes, masked, to the control
 * plane in small batches (readable on the run page while the stage runs).
 */
import { maskSecrets } from '../model/template';
import type { LogStream, StageLog } from '../stages/executor-types';

const MAX_CHUNK = 16_384;

export type LogChunk = { stream: LogStream; offset: number; text: string };

/** A StageLog that sends what is written to `send` in batches (every `flushMs`, or at once past 16 KB). */
export class BatchingStageLog implements StageLog {
  private buffer: { stream: LogStream; text: string }[] = [];
  private bufferedChars = 0;
  private written: number;
  private pending: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly send: (chunks: LogChunk[]) => Promise<void>,
    startOffset: number,
    private readonly flushMs: number,
  ) {
    this.written = startOffset;
  }

  get offset() {
    return this.written + this.bufferedChars;
  }

  write(stream: LogStream, text: string) {
    if (!text) return;
    const last = this.buffer[this.buffer.length - 1];
    if (last && last.stream === stream && last.text.length + text.length <= MAX_CHUNK) last.text += text;
    else this.buffer.push({ stream, text });
    this.bufferedChars += text.length;
    if (this.bufferedChars >= MAX_CHUNK) void this.flush().catch(() => undefined);
    else this.timer ??= setTimeout(() => void this.flush().catch(() => undefined), this.flushMs);
  }

  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.buffer;
    if (batch.length === 0) return this.pending;
    this.buffer = [];
    let offset = this.written;
    const chunks = batch.map((b) => {
      const chunk = { stream: b.stream, offset, text: b.text };
      offset += b.text.length;
      return chunk;
    });
    this.written = offset;
    this.bufferedChars = 0;
    // In order: each batch waits for the previous one (a failed send does not stop later ones).
    this.pending = this.pending.catch(() => undefined).then(() => this.send(chunks));
    return this.pending;
  }

  /**
   * The stage is over: waits for batches already on their way and hands back
   * what is still buffered instead of sending it, so the caller can ship it in
   * the call that finishes the stage (one round trip fewer for a short stage).
   */
  async drain(): Promise<LogChunk[]> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.pending.catch(() => undefined);
    const batch = this.buffer;
    this.buffer = [];
    let offset = this.written;
    const chunks = batch.map((b) => {
      const chunk = { stream: b.stream, offset, text: b.text };
      offset += b.text.length;
      return chunk;
    });
    this.written = offset;
    this.bufferedChars = 0;
    return chunks;
  }
}

/**
 * A StageLog that replaces every secret value with `•••` before anything is
 * stored. Text that could be the start of a secret split across two writes is
 * held back until the next write shows whether it is one (or until `end()`).
 */
export class MaskingStageLog implements StageLog {
  private carry: Partial<Record<LogStream, string>> = {};

  constructor(
    private readonly inner: StageLog,
    private readonly secrets: readonly string[],
  ) {}

  get offset() {
    return this.inner.offset;
  }

  /** Length of the longest end of `text` that begins some secret (what must wait for the next write). */
  private pendingTail(text: string): number {
    for (let k = Math.min(text.length, Math.max(0, ...this.secrets.map((v) => v.length - 1))); k > 0; k--) {
      const tail = text.slice(-k);
      if (this.secrets.some((v) => v.length > k && v.startsWith(tail))) return k;
    }
    return 0;
  }

  write(stream: LogStream, text: string) {
    if (!text) return;
    const masked = maskSecrets((this.carry[stream] ?? '') + text, this.secrets);
    const hold = this.pendingTail(masked);
    this.carry[stream] = masked.slice(masked.length - hold);
    const ready = masked.slice(0, masked.length - hold);
    if (ready) this.inner.write(stream, ready);
  }

  flush(): Promise<void> {
    return this.inner.flush();
  }

  /** Passes on what was held back (the stage is over: no more text can complete a secret), without flushing. */
  release() {
    for (const stream of Object.keys(this.carry) as LogStream[]) {
      const rest = this.carry[stream];
      if (rest) this.inner.write(stream, maskSecrets(rest, this.secrets));
    }
    this.carry = {};
  }

  /** Writes what was held back and flushes. */
  end(): Promise<void> {
    this.release();
    return this.inner.flush();
  }
}
