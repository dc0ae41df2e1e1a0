'use client';
/**
 * A stage's log, streamed: polls `runs.logs` with `afterOffset` and appends
 * what is new (never re-fetches what it has). stdout, stderr and Pipewright's
 * own `system` lines are styled differently; everything is rendered as text.
 * Stops polling once the server says the log is complete.
 */
import { useEffect, useRef, useState } from 'react';
import { stripAnsi } from '@/app/lib/format';
import { useTRPCClient } from '@/app/trpc/react';
import { Button, cx, Spinner } from './ui';

type Chunk = { stream: string; text: string; attempt: number };

const STREAM_CLASS: Record<string, string> = {
  stdout: 'text-log-fg',
  stderr: 'text-red-300',
  system: 'text-sky-300/90 italic',
};

const MAX_CHARS = 4_000_000;

export function LogPane({
  runId,
  nodeId,
  stageName,
  runNumber,
  runFinished,
  stageStatus,
}: {
  runId: string;
  nodeId: string;
  stageName: string;
  runNumber: number;
  runFinished: boolean;
  stageStatus: string;
}) {
  const client = useTRPCClient();
  const [chunks, setChunks] = useState<Chunk[]>([]);
  const [complete, setComplete] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);
  const [truncated, setTruncated] = useState(false);
  const scroller = useRef<HTMLPreElement>(null);
  const stickToBottom = useRef(true);
  const runFinishedRef = useRef(runFinished);
  const [downloading, setDownloading] = useState(false);
  useEffect(() => {
    runFinishedRef.current = runFinished;
  }, [runFinished]);

  useEffect(() => {
    let cancelled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let offset = 0;
    let size = 0;
    let failures = 0;
    setChunks([]);
    setComplete(false);
    setError(null);
    setLoaded(false);
    setTruncated(false);
    stickToBottom.current = true;

    const poll = async () => {
      try {
        // Drain everything available now (the server pages large logs), then wait.
        for (let page = 0; page < 20 && !cancelled; page++) {
          const res = await client.runs.logs.query({ runId, nodeId, afterOffset: offset });
          if (cancelled) return;
          failures = 0;
          setError(null);
          setLoaded(true);
          const grew = res.nextOffset > offset;
          offset = res.nextOffset;
          if (res.chunks.length > 0 && size < MAX_CHARS) {
            size += res.text.length;
            setChunks((prev) => [...prev, ...res.chunks]);
            if (size >= MAX_CHARS) setTruncated(true);
          }
          if (res.complete || (runFinishedRef.current && !grew)) {
            setComplete(true);
            return;
          }
          if (!grew) break;
        }
      } catch (err) {
        if (cancelled) return;
        failures++;
        setError(err instanceof Error ? err.message : 'Could not load the log.');
      }
      if (!cancelled) timer = setTimeout(poll, Math.min(1000 * 2 ** Math.max(0, failures - 1), 10_000));
    };
    void poll();
    return () => {
      cancelled = true;
      if (timer) clearTimeout(timer);
    };
  }, [client, runId, nodeId]);

  // Follow the end of the log unless the reader scrolled up.
  useEffect(() => {
    const el = scroller.current;
    if (el && stickToBottom.current) el.scrollTop = el.scrollHeight;
  }, [chunks]);

  const onScroll = () => {
    const el = scroller.current;
    if (!el) return;
    stickToBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
  };

  /** The whole log as the server has it (not only what is displayed), fetched in pages. */
  const download = async () => {
    setDownloading(true);
    const parts: string[] = [];
    try {
      let offset = 0;
      for (let page = 0; page < 200; page++) {
        const res = await client.runs.logs.query({ runId, nodeId, afterOffset: offset, limit: 1_000_000 });
        parts.push(res.text);
        if (res.nextOffset <= offset) break;
        offset = res.nextOffset;
      }
    } catch {
      if (parts.length === 0) parts.push(chunks.map((c) => c.text).join(''));
    } finally {
      setDownloading(false);
    }
    const text = parts.join('');
    const blob = new Blob([text], { type: 'text/plain;charset=utf-8' });
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = `run-${runNumber}-${nodeId}.log`;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  };

  // Merge neighbouring chunks of the same stream and attempt; mark where a new attempt starts.
  const blocks: { key: number; stream: string; text: string; attempt: number; newAttempt: boolean }[] = [];
  let lastAttempt: number | undefined;
  chunks.forEach((c, i) => {
    const prev = blocks[blocks.length - 1];
    const newAttempt = lastAttempt !== undefined && c.attempt !== lastAttempt;
    lastAttempt = c.attempt;
    if (prev && !newAttempt && prev.stream === c.stream && prev.attempt === c.attempt) prev.text += c.text;
    else blocks.push({ key: i, stream: c.stream, text: c.text, attempt: c.attempt, newAttempt });
  });

  const live = !complete && (stageStatus === 'running' || stageStatus === 'pending' || stageStatus === 'waiting');

  return (
    <div className="flex h-full min-h-0 flex-col overflow-hidden rounded-xl border border-line bg-log-bg shadow-sm" data-testid="log-pane">
      <div className="flex items-center justify-between gap-3 border-b border-white/10 px-4 py-2.5">
        <div className="flex min-w-0 items-center gap-2 text-sm">
          <span className="truncate font-medium text-slate-100">{stageName}</span>
          <span className="text-xs text-slate-400">log</span>
          {live && (
            <span className="flex items-center gap-1 text-xs text-sky-300">
              <span className="h-1.5 w-1.5 animate-pulse rounded-full bg-sky-400" /> live
            </span>
          )}
        </div>
        <Button
          variant="ghost"
          onClick={() => void download()}
          disabled={chunks.length === 0 || downloading}
          className="px-2 py-1 text-xs text-slate-300 hover:bg-white/10 hover:text-white"
        >
          <svg aria-hidden viewBox="0 0 16 16" className="h-3.5 w-3.5" fill="none" stroke="currentColor" strokeWidth="1.6" strokeLinecap="round" strokeLinejoin="round">
            <path d="M8 2.5v8M4.5 7 8 10.5 11.5 7M3 13.5h10" />
          </svg>
          {downloading ? 'Preparing…' : 'Download'}
        </Button>
      </div>
      <pre
        ref={scroller}
        onScroll={onScroll}
        data-testid="log"
        className="min-h-[16rem] flex-1 overflow-auto whitespace-pre-wrap break-words px-4 py-3 font-mono text-[12.5px] leading-5 text-log-fg"
      >
        {blocks.map((b) => (
          <span key={b.key}>
            {b.newAttempt && <span className="my-1 block border-t border-dashed border-white/15 pt-1 text-[11px] not-italic text-slate-400">attempt {b.attempt}</span>}
            <span data-stream={b.stream} className={cx(STREAM_CLASS[b.stream] ?? STREAM_CLASS.stdout)}>
              {stripAnsi(b.text)}
            </span>
          </span>
        ))}
        {!loaded && !error && (
          <span className="flex items-center gap-2 text-slate-400">
            <Spinner /> Loading log…
          </span>
        )}
        {loaded && chunks.length === 0 && (
          <span className="text-slate-500">
            {complete ? 'This stage wrote no output.' : stageStatus === 'pending' ? 'Waiting for this stage to start…' : 'No output yet…'}
          </span>
        )}
        {truncated && <span className="mt-2 block text-amber-300">The display stops at 4 MB; Download gets the whole log.</span>}
      </pre>
      {error && <div className="border-t border-white/10 px-4 py-2 text-xs text-red-300">Could not refresh the log: {error} — retrying.</div>}
    </div>
  );
}
