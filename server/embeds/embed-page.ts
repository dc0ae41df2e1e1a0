/**
 * The embed page: plain HTML written on the server, with the pipeline graph as
 * inline SVG and one small inline script (no framework, no bundle) that
 *
 * 1. follows the run over one Server-Sent Events stream
 *    (`/api/embed/stream?token=…&run=…`) and flips stage classes, labels and
 *    durations in place (a first or newer run too); reloads only when the
 *    latest run is of another pipeline version (its graph differs);
 * 2. ticks running durations every second;
 * 3. reports the page's height to the parent with `postMessage` so the
 *    wiki can size its frame;
 * 4. replaces everything with a message when the link is revoked or expires.
 *
 * The page has no links, forms or buttons: nothing in it changes anything.
 * It needs no cookies and no storage, so it works in `<iframe sandbox="allow-scripts">`.
 */
import type { EmbedView } from '../services/embeds';
import { escapeHtml, jsonForScript, truncate } from './escape';
import { formatDuration, GRAPH_CSS, renderGraphSvg, STAGE_STATUS_LABELS, STATUS_KEYS, STATUS_LABELS, statusKey, SUBTITLE_KIND_CHARS } from './svg';
import { getStageDefinition } from '../../workflows/model';

/** CSS of the page around the graph (the graph's own CSS is GRAPH_CSS). */
export const PAGE_CSS = `${GRAPH_CSS}
*{box-sizing:border-box}[hidden]{display:none!important}
html,body{margin:0;padding:0;background:var(--bg);color:var(--fg);font:13px/1.45 ui-sans-serif,system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
.pw-head{display:flex;flex-wrap:wrap;align-items:center;gap:4px 10px;padding:8px 12px 4px}
.pw-title{font-weight:650;font-size:14px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;max-width:100%}
.pw-run{color:var(--muted);display:flex;gap:6px;align-items:center;flex-wrap:wrap}
.pw-chip{display:inline-flex;align-items:center;gap:4px;border-radius:999px;padding:1px 8px;font-size:12px;font-weight:600;border:1px solid var(--line);color:var(--fg)}
.pw-chip::before{content:"";width:7px;height:7px;border-radius:50%;background:var(--dot,var(--c-pending))}
${STATUS_KEYS.map((s) => `.pw-chip.s-${s}{--dot:var(--c-${s})}`).join('')}
.pw-graph-wrap{padding:4px 8px;overflow-x:auto}
.pw-graph-wrap svg{display:block;max-width:100%;height:auto;margin:0 auto}
.pw-foot{display:flex;flex-wrap:wrap;gap:4px 12px;padding:2px 12px 8px;color:var(--muted);font-size:12px}
.pw-foot code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;color:var(--fg)}
.pw-brand{margin-left:auto}
.pw-error{margin:16px;padding:12px 14px;border:1px solid var(--line);border-radius:8px;background:var(--card)}
.pw-error p{margin:4px 0 0;color:var(--muted)}
.pw-empty{padding:18px 12px;color:var(--muted)}
`;

/**
 * Whether a run snapshot `n` is not older than what the page shows (`r` with its stages `s`): no stage of it
 * went back (a lower attempt, or within one attempt an earlier status) and the run did not go back from
 * finished to going. A run's rows only move forward, so a snapshot with anything behind was read before
 * the one shown (the page's own HTML is newer than the stream's first, cached value, say) and is
 * ignored: the embed never steps back to a gate waiting after the stage behind it has run.
 * Plain ES5 source (the embed's script includes it as is; tests/unit/embeds evaluate the same text).
 */
export const NOT_OLDER_JS = `function notOlder(r,s,n){
var R={pending:0,queued:1,running:2,waiting:2,succeeded:3,failed:3,skipped:3,cancelled:3},F={succeeded:1,failed:1,cancelled:1};
if(F[r.status]&&!F[n.status])return false;
var ns=n.stages||{};for(var k in s){if(!Object.prototype.hasOwnProperty.call(s,k))continue;var a=s[k],b=ns[k];
if(!b){if((R[a.status]||0)>0)return false;continue}
if((b.attempt||0)<(a.attempt||0))return false;
if((b.attempt||0)===(a.attempt||0)&&(R[b.status]||0)<(R[a.status]||0))return false}
return true}`;

/** The embed's script (kept small: the page's only JavaScript). Reads its data from #pw-data. */
const CLIENT_JS = `(function(){
var D=JSON.parse(document.getElementById('pw-data').textContent),L=D.labels,SL=D.stageLabels,G=D.glyphs,K=D.kinds,S=D.stages||{},R=D.run,off=D.serverTime-Date.now(),es;
function q(s,r){return (r||document).querySelector(s)}
${NOT_OLDER_JS}
function fmt(ms){if(!(ms>=0))return'';if(ms<1e3)return Math.round(ms)+' ms';var s=ms/1e3;if(s<60)return(s<10?s.toFixed(1):Math.floor(s))+' s';var t=Math.floor(s),m=Math.floor(t/60);if(m<60)return m+'m '+('0'+t%60).slice(-2)+'s';var h=Math.floor(m/60);if(h<48)return h+'h '+('0'+m%60).slice(-2)+'m';return Math.floor(h/24)+'d '+h%24+'h'}
function dur(x){return x&&x.startedAt?fmt((x.endedAt||Date.now()+off)-x.startedAt):''}
function st(s){return L[s]?s:'pending'}
function set(el,t){if(el&&el.textContent!==t)el.textContent=t}
function paint(){
var gs=document.querySelectorAll('g.node');for(var i=0;i<gs.length;i++){var g=gs[i],id=g.getAttribute('data-stage'),x=S[id],s=st(x&&x.status);
if(g.getAttribute('data-status')!==s){g.setAttribute('class','node s-'+s);g.setAttribute('data-status',s);set(q('.n-glyph',g),G[s]);set(q('.n-status',g),K[id]+' \\u00b7 '+SL[s]);}
var d=dur(x);set(q('.n-dur',g),d?' \\u00b7 '+d:'')}
var c=q('#pw-run-status');if(c&&R){var rs=R.display?st(R.display.key):st(R.status);c.className='pw-chip s-'+rs;c.setAttribute('data-status',rs);set(c,R.display?R.display.text:L[rs]);set(q('#pw-run-number'),(R.rehearsal?'Rehearsal #':'Run #')+R.number);set(q('#pw-run-dur'),dur(R))}}
function size(){try{parent.postMessage({type:'pipewright:embed:resize',pipelineId:D.pipelineId,height:Math.ceil(document.documentElement.getBoundingClientRect().height)},'*')}catch(e){}}
function fail(m){if(es)es.close();document.body.innerHTML='';var b=document.createElement('main');b.className='pw-error';b.id='pw-error';b.setAttribute('role','alert');var h=document.createElement('strong');h.textContent='Pipewright';var p=document.createElement('p');p.textContent=m;b.appendChild(h);b.appendChild(p);document.body.appendChild(b);size()}
if(D.stream&&window.EventSource){es=new EventSource(D.stream);
es.addEventListener('snapshot',function(e){var m=JSON.parse(e.data),r=m.run;off=m.serverTime-Date.now();if(!r)return;
if(R&&r.runId===R.runId&&!notOlder(R,S,r))return;
if(r.pipelineVersion!==D.version){es.close();location.reload();return}
if(!R){var n=q('#pw-no-run');if(n)n.remove();q('#pw-run-number').hidden=false;q('#pw-run-status').hidden=false}
R=r;S=r.stages;paint();document.documentElement.setAttribute('data-live',r.status)});
es.addEventListener('gone',function(e){fail(JSON.parse(e.data).message)});}
paint();setInterval(paint,1000);size();
if(window.ResizeObserver)new ResizeObserver(size).observe(document.documentElement);else window.addEventListener('resize',size);
})();`;

export type EmbedPageOptions = {
  theme: 'light' | 'dark' | 'auto';
  nonce: string;
  /** Relative URL of this viewer's SSE stream; null = no live updates. */
  streamUrl: string | null;
  now?: number;
};

/** The embed page's HTML. */
export function renderEmbedPage(view: EmbedView, opts: EmbedPageOptions): string {
  const now = opts.now ?? Date.now();
  const name = view.pipeline.name;
  const { svg } = renderGraphSvg({ nodes: view.nodes, edges: view.edges, states: view.stages }, { theme: opts.theme, title: `${name}: pipeline graph`, now });
  const kinds: Record<string, string> = {};
  for (const n of view.nodes) kinds[n.id] = truncate(getStageDefinition(n.kind)?.label ?? n.kind, SUBTITLE_KIND_CHARS);
  const run = view.run;
  // The run's status in the app's words (describeRunStatus): "Waiting for approval — alan", "Waiting for a runner …".
  const runStatus = statusKey(run ? run.display.key : undefined);
  const runText = run ? run.display.text : STATUS_LABELS[runStatus];
  const data = {
    pipelineId: view.pipeline.id,
    version: view.version,
    serverTime: now,
    stream: opts.streamUrl,
    run: run
      ? { runId: run.runId, number: run.number, rehearsal: run.rehearsal, status: run.status, display: run.display, startedAt: run.startedAt, endedAt: run.endedAt, pipelineVersion: run.pipelineVersion }
      : null,
    stages: view.stages,
    kinds,
    labels: STATUS_LABELS,
    stageLabels: STAGE_STATUS_LABELS,
    glyphs: { pending: '○', queued: '◌', running: '●', waiting: '◷', succeeded: '✓', failed: '✕', skipped: '↷', cancelled: '⊘' },
  };
  // The run's elements are always there (hidden before the first run), so the script fills them in place.
  const head = `<span class="pw-run">${run ? '' : '<span id="pw-no-run">No runs yet</span>'}<span id="pw-run-number"${run ? '' : ' hidden'}>${run ? `${run.rehearsal ? 'Rehearsal' : 'Run'} #${run.number}` : ''}</span>${run?.rehearsal ? '<span id="pw-rehearsal" class="pw-chip" title="A rehearsal: nothing was run, deployed or sent">rehearsal — nothing changed</span>' : ''}<span id="pw-run-status" class="pw-chip s-${runStatus}" data-status="${runStatus}"${run ? '' : ' hidden'}>${escapeHtml(runText)}</span><span id="pw-run-dur">${run?.startedAt ? formatDuration((run.endedAt ?? now) - run.startedAt) : ''}</span></span>`;
  const params = run?.params ?? [];
  const foot = [
    ...params.map((p) => `<span${p.hidden ? ' title="hidden: looks like a secret"' : ''}>${escapeHtml(p.name)} = <code>${escapeHtml(p.value)}</code></span>`),
    ...(run ? [] : view.parameters.map((p) => `<span>${escapeHtml(p.name)} <code>${escapeHtml(p.type)}</code></span>`)),
    `<span class="pw-brand">v${view.version} · Pipewright</span>`,
  ].join('');
  const graph = view.nodes.length > 0 ? svg : '<p class="pw-empty">This pipeline has no stages yet.</p>';
  return `<!doctype html>
<html lang="en" class="pw ${opts.theme}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex"><meta name="referrer" content="no-referrer"><meta name="color-scheme" content="${opts.theme === 'auto' ? 'light dark' : opts.theme}">
<title>${escapeHtml(name)} · Pipewright</title>
<style nonce="${opts.nonce}">${PAGE_CSS}</style></head>
<body><header class="pw-head"><span class="pw-title" title="${escapeHtml(name)}">${escapeHtml(name)}</span>${head}</header>
<div class="pw-graph-wrap">${graph}</div>
<footer class="pw-foot">${foot}</footer>
<script type="application/json" id="pw-data">${jsonForScript(data)}</script>
<script nonce="${opts.nonce}">${CLIENT_JS}</script>
</body></html>`;
}
