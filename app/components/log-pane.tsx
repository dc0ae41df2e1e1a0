'use client';
/**
 * A stage's log, streamed through the events stream (app/lib/live.tsx): what
 * was written so far, then text as the process writes it, no polling. stdout,
 * stderr and Pipewright's own `system` lines are styled differently;
 * everything is rendered as text (never HTML). Search highlights matches and
 * steps through them; Download fetches the whole log from the server.
 */
import { useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { stripAnsi } from '@/app/lib/format';
import { useLiveLog, type LogEvent } from '@/app/lib/live';
import { useTRPCClient } from '@/app/trpc/react';
import { Button, cx, Spinner } from './ui';

type Chunk = { stream: string; text: string; attempt: number };

const STREAM_CLASS: Record<string, string> = {
  stdout: 'text-log-fg',
  stderr: 'text-red-300',
  system: 'text-sky-300/90 italic',
};

const MAX_CHARS = 4_000_000;
const MAX_MARKS = 2000;

function escapeRegExp(s: string) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function LogPane({
  runId,
  nodeId,
  stageName,
  runNumber,
  stageStatus,
}: {
  runId: string;
  nodeId: string;
  stageName: string;
  runNumber: number;
  runFinished?: boolean;
  stageStatus: string;
}) {
  const client = useTRPCClient();
  const [chunks, setChunks] = useState<Chunk[]>([]);
  const [complete, setComplete] = useState(false);
  const [loaded, setLoaded] = useState(false);
  const [truncated, setTruncated] = useState(false);
  const [downloading, setDownloading] = useState(false);
  const [query, setQuery] = useState('');
  const [current, setCurrent] = useState(0);
  const scroller = useRef<HTMLPreElement>(null);
  const stickToBottom = useRef(true);
  /** Characters of the stage's log received so far (where the stream continues). */
  const offset = useRef(0);
  const shown = useRef(0);

  useLiveLog(
    runId,
    nodeId,
    () => offset.current,
    (e: LogEvent) => {
      let from = e.from;
      let at = offset.current;
      const add: Chunk[] = [];
      for (const c of e.chunks) {
        const end = from + c.text.length;
        if (end > at) {
          // After a reconnect the server may repeat text we have: keep only what is new.
          add.push({ ...c, text: c.text.slice(Math.max(0, at - from)) });
          at = end;
        }
        from = end;
      }
      offset.current = Math.max(at, offset.current);
      if (add.length > 0 && shown.current < MAX_CHARS) {
        shown.current += add.reduce((n, c) => n + c.text.length, 0);
        setChunks((prev) => [...prev, ...add]);
        if (shown.current >= MAX_CHARS) setTruncated(true);
      }
      setLoaded(true);
      if (e.complete) setComplete(true);
    },
  );

  // Follow the end of the log unless the reader scrolled up (or is searching).
  useEffect(() => {
    const el = scroller.current;
    if (el && stickToBottom.current && !query) el.scrollTop = el.scrollHeight;
  }, [chunks, query]);

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
      let at = 0;
      for (let page = 0; page < 200; page++) {
        const res = await client.runs.logs.query({ runId, nodeId, afterOffset: at, limit: 1_000_000 });
        parts.push(res.text);
        if (res.nextOffset <= at) break;
        at = res.nextOffset;
      }
    } catch {
      if (parts.length === 0) parts.push(chunks.map((c) => c.text).join(''));
    } finally {
      setDownloading(false);
    }
    const blob = new Blob([parts.join('')], { type: 'text/plain;charset=utf-8' });
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
  const blocks = useMemo(() => {
    const out: { key: number; stream: string; text: string; attempt: number; newAttempt: boolean }[] = [];
    let lastAttempt: number | undefined;
    chunks.forEach((c, i) => {
      const prev = out[out.length - 1];
      const newAttempt = lastAttempt !== undefined && c.attempt !== lastAttempt;
      lastAttempt = c.attempt;
      if (prev && !newAttempt && prev.stream === c.stream && prev.attempt === c.attempt) prev.text += c.text;
      else out.push({ key: i, stream: c.stream, text: c.text, attempt: c.attempt, newAttempt });
    });
    return out.map((b) => ({ ...b, text: stripAnsi(b.text) }));
  }, [chunks]);

  // Search: split each block around matches (case-insensitive), numbering the marks.
  const { rendered, matches } = useMemo(() => {
    const q = query.trim();
    if (!q) return { rendered: blocks.map((b) => b.text as ReactNode), matches: 0 };
    const re = new RegExp(escapeRegExp(q), 'gi');
    let n = 0;
    const rendered = blocks.map((b) => {
      const parts: ReactNode[] = [];
      let last = 0;
      for (const m of b.text.matchAll(re)) {
        const at = m.index ?? 0;
        if (at > last) parts.push(b.text.slice(last, at));
        if (n < MAX_MARKS) {
          parts.push(
            <mark key={at} data-match={n} className="rounded-sm bg-amber-300/80 px-px text-slate-950">
              {m[0]}
            </mark>,
          );
        } else {
          parts.push(m[0]);
        }
        n++;
        last = at + m[0].length;
      }
      if (last < b.text.length) parts.push(b.text.slice(last));
      return parts.length === 1 ? parts[0] : parts;
    });
    return { rendered, matches: n };
  }, [blocks, query]);

  useEffect(() => {
    if (!query.trim() || matches === 0) return;
    const el = scroller.current?.querySelector(`mark[data-match="${Math.min(current, MAX_MARKS - 1)}"]`);
    el?.scrollIntoView({ block: 'center' });
  }, [current, matches, query]);

  const step = (d: number) => setCurrent((c) => (matches === 0 ? 0 : (c + d + Math.min(matches, MAX_MARKS)) % Math.min(matches, MAX_MARKS)));
  const live = !complete && (stageStatus === 'running' || stageStatus === 'pending' || stageStatus === 'waiting');

  return (
    <div className="flex h-full min-h-0 flex-col overflow-hidden rounded-xl border border-line bg-log-bg shadow-sm" data-testid="log-pane">
      <div className="flex flex-wrap items-center justify-between gap-x-3 gap-y-2 border-b border-white/10 px-4 py-2.5">
        <div className="flex min-w-0 items-center gap-2 text-sm">
          <span className="truncate font-medium text-slate-100">{stageName}</span>
          <span className="text-xs text-slate-400">log</span>
          {live && (
            <span className="flex items-center gap-1 text-xs text-sky-300">
              <span className="h-1.5 w-1.5 animate-pulse rounded-full bg-sky-400" /> live
            </span>
          )}
        </div>
        <div className="flex items-center gap-1.5">
          <div className="flex items-center rounded-md border border-white/15 bg-white/5 focus-within:border-sky-400/60">
            <input
              type="search"
              value={query}
              onChange={(e) => {
                setQuery(e.target.value);
                setCurrent(0);
              }}
              onKeyDown={(e) => {
                if (e.key === 'Enter') {
                  e.preventDefault();
                  step(e.shiftKey ? -1 : 1);
                }
              }}
              placeholder="Search log"
              aria-label="Search the log"
              data-testid="log-search"
              className="w-36 bg-transparent px-2 py-1 text-xs text-slate-100 placeholder:text-slate-500 focus:outline-none"
            />
            {query.trim() && (
              <>
                <span className="whitespace-nowrap px-1 text-[11px] text-slate-400" data-testid="log-matches" aria-live="polite">
                  {matches === 0 ? 'no matches' : `${Math.min(current, matches - 1) + 1}/${matches}`}
                </span>
                <button type="button" onClick={() => step(-1)} disabled={matches === 0} aria-label="Previous match" className="px-1 text-slate-300 hover:text-white disabled:opacity-40">
                  ↑
                </button>
                <button type="button" onClick={() => step(1)} disabled={matches === 0} aria-label="Next match" className="px-1.5 text-slate-300 hover:text-white disabled:opacity-40">
                  ↓
                </button>
              </>
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
      </div>
      <pre
        ref={scroller}
        onScroll={onScroll}
        data-testid="log"
        className="min-h-[16rem] flex-1 overflow-auto whitespace-pre-wrap break-words px-4 py-3 font-mono text-[12.5px] leading-5 text-log-fg"
      >
        {blocks.map((b, i) => (
          <span key={b.key}>
            {b.newAttempt && <span className="my-1 block border-t border-dashed border-white/15 pt-1 text-[11px] not-italic text-slate-400">attempt {b.attempt}</span>}
            <span data-stream={b.stream} className={cx(STREAM_CLASS[b.stream] ?? STREAM_CLASS.stdout)}>
              {rendered[i]}
            </span>
          </span>
        ))}
        {!loaded && (
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
    </div>
  );
}
