/** Escaping and rendering of embeds: user text always comes out as text. */
import { describe, expect, it } from 'vitest';
import { NOT_OLDER_JS, renderEmbedPage } from '../../../server/embeds/embed-page';
import { escapeXml, jsonForScript, truncate } from '../../../server/embeds/escape';
import { embedPageCsp, etagMatches, strongEtag } from '../../../server/embeds/http';
import { displayParams, HIDDEN_VALUE, looksSecret } from '../../../server/embeds/secrets';
import { formatDuration, layoutNodes, renderBadgeSvg, renderGraphSvg, type GraphNode } from '../../../server/embeds/svg';
import type { EmbedView } from '../../../server/services/embeds';

const EVIL = `<script>alert("x")</script>'"&<svg onload=alert(1)><![CDATA[x]]>\u0001\uD800`;

/** A minimal XML well-formedness check: balanced tags, no raw `<` or bare `&` in text, no raw quotes breaking attributes. */
function assertWellFormedXml(xml: string) {
  const stack: string[] = [];
  const re = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|([^<]+)|(<)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(xml))) {
    if (m[6]) throw new Error(`raw < at ${m.index}: ${xml.slice(m.index, m.index + 40)}`);
    if (m[5] !== undefined) {
      if (/&(?!(amp|lt|gt|quot|#39);)/.test(m[5])) throw new Error(`bare & in text: ${m[5].slice(0, 40)}`);
      continue;
    }
    for (const attr of m[3]!.matchAll(/="([^"]*)"/g)) {
      if (/&(?!(amp|lt|gt|quot|#39);)/.test(attr[1]!)) throw new Error(`bare & in attribute: ${attr[1]}`);
    }
    if (m[1]) {
      const open = stack.pop();
      if (open !== m[2]) throw new Error(`</${m[2]}> closes <${open}>`);
    } else if (!m[4]) stack.push(m[2]!);
  }
  if (stack.length) throw new Error(`unclosed: ${stack.join(', ')}`);
}

describe('escapeXml', () => {
  it('escapes markup characters and drops characters XML cannot carry', () => {
    expect(escapeXml(`<a href="x" title='y'>&</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
    expect(escapeXml('a\u0000b\u0007c\td\ne')).toBe('abc\td\ne');
    expect(escapeXml('lone \uD800 surrogate, pair 😀')).toBe('lone  surrogate, pair 😀');
    expect(escapeXml(null)).toBe('');
    expect(escapeXml(42)).toBe('42');
  });

  it('leaves no way out of script blocks in JSON', () => {
    const json = jsonForScript({ name: '</script><script>alert(1)</script>', sep: '\u2028\u2029', amp: '&' });
    expect(json).not.toMatch(/[<>&\u2028\u2029]/);
    expect(JSON.parse(json)).toEqual({ name: '</script><script>alert(1)</script>', sep: '\u2028\u2029', amp: '&' });
  });

  it('truncates by code point', () => {
    expect(truncate('abcdef', 4)).toBe('abc…');
    expect(truncate('😀😀😀😀', 3)).toBe('😀😀…');
    expect(truncate('abc', 3)).toBe('abc');
  });
});

const nodes: GraphNode[] = [
  { id: 'build', name: EVIL, kind: 'command', x: 0, y: 100 },
  { id: 'qa', name: 'QA "sign-off" & <b>go</b>', kind: 'approval', x: 260, y: 100 },
  { id: 'odd', name: 'odd', kind: '<unknown-kind>', x: 520, y: 100 },
];
const edges = [
  { from: 'build', to: 'qa', on: 'success' as const },
  { from: 'qa', to: 'odd', on: 'failure' as const },
];

describe('graph SVG', () => {
  it('is well-formed XML with every name as escaped text', () => {
    const { svg, width, height } = renderGraphSvg(
      { nodes, edges, states: { build: { status: 'succeeded', startedAt: 1000, endedAt: 13_500 }, qa: { status: 'waiting', startedAt: 14_000, endedAt: null } } },
      { standalone: true, title: EVIL, now: 20_000 },
    );
    assertWellFormedXml(svg.replace(/<style>[\s\S]*?<\/style>/, ''));
    expect(svg).not.toMatch(/<script/i);
    expect(svg).not.toMatch(/<svg onload/i);
    expect(svg).not.toContain('<![CDATA[');
    expect(svg).toContain('&lt;script&gt;');
    expect(svg).toContain('QA &quot;sign-off&quot; &amp; &lt;b&gt;go&lt;/b&gt;');
    expect(svg).toContain('&lt;unknown-kind&gt;');
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(width).toBeGreaterThan(700);
    expect(height).toBeGreaterThan(56);
    expect(svg).toContain('data-stage="build" data-status="succeeded"');
    expect(svg).toContain('12 s'); // build's duration (12.5 s)
    expect(svg).toContain('data-stage="qa" data-status="waiting"');
    expect(svg).toContain('Waiting for approval');
    expect(svg).toContain('e-failure');
  });

  it('draws a caption above the graph when asked (the diagram image says what the run waits for)', () => {
    const plain = renderGraphSvg({ nodes, edges, states: {} }, { standalone: true, now: 0 });
    const captioned = renderGraphSvg({ nodes, edges, states: {} }, { standalone: true, now: 0, caption: 'Run #3 · Waiting for approval — grace & <ops>' });
    expect(captioned.svg).toContain('<text class="pw-caption" x="12" y="22">Run #3 · Waiting for approval — grace &amp; &lt;ops&gt;</text>');
    expect(captioned.height).toBeGreaterThan(plain.height);
    expect(plain.svg).not.toContain('pw-caption"');
    assertWellFormedXml(captioned.svg.replace(/<style>[\s\S]*?<\/style>/, ''));
  });

  it('keeps a looping connection inside the image and stage subtitles inside their cards', () => {
    const loop = [
      { id: 'a', name: 'Build', kind: 'approval', x: 0, y: 0 },
      { id: 'b', name: 'Deploy', kind: 'k8s-deploy', x: 300, y: 0 },
    ];
    const { svg, width } = renderGraphSvg(
      { nodes: loop, edges: [{ from: 'a', to: 'b', on: 'success' }, { from: 'b', to: 'a', on: 'failure' }], states: { a: { status: 'waiting', startedAt: 0, endedAt: null } } },
      { now: 3_600_000 },
    );
    // Every coordinate of every connection (end points and Bézier control points) lies inside the drawing.
    for (const d of svg.matchAll(/ d="([^"]+)"/g)) {
      const xs = [...d[1]!.matchAll(/(-?[\d.]+) (-?[\d.]+)/g)].map((m) => Number(m[1]));
      for (const x of xs) {
        expect(x).toBeGreaterThanOrEqual(0);
        expect(x).toBeLessThanOrEqual(width);
      }
    }
    // The subtitle (kind · status · duration) fits a 200 px card at 11 px (about 6.2 px a character).
    for (const sub of svg.matchAll(/<text class="n-sub"[^>]*>(.*?)<\/text>/g)) {
      const text = sub[1]!.replace(/<[^>]+>/g, '').replace(/&[a-z]+;/g, '&');
      expect(text.length * 6.2).toBeLessThanOrEqual(200 - 14 - 8);
    }
  });

  it('never carries anything but names, kinds, statuses and durations', () => {
    const { svg } = renderGraphSvg({ nodes: [{ id: 'a', name: 'A', kind: 'command', x: 0, y: 0 }], edges: [], states: { a: { status: 'nonsense', startedAt: null, endedAt: null } } });
    expect(svg).toContain('data-status="pending"');
  });

  it('lays out nodes that share a position in columns by depth', () => {
    const laid = layoutNodes(
      [
        { id: 'a', name: 'a', kind: 'command', x: 0, y: 0 },
        { id: 'b', name: 'b', kind: 'command', x: 0, y: 0 },
        { id: 'c', name: 'c', kind: 'command', x: 0, y: 0 },
      ],
      [
        { from: 'a', to: 'b', on: 'success' },
        { from: 'a', to: 'c', on: 'success' },
        { from: 'c', to: 'a', on: 'success' }, // a cycle in a draft must not hang
      ],
    );
    expect(new Set(laid.map((n) => `${n.x},${n.y}`)).size).toBe(3);
    const kept = layoutNodes(nodes, edges);
    expect(kept.map((n) => [n.x, n.y])).toEqual(nodes.map((n) => [n.x, n.y]));
  });

  it('formats durations', () => {
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(9_876)).toBe('9.9 s');
    expect(formatDuration(42_000)).toBe('42 s');
    expect(formatDuration(245_000)).toBe('4m 05s');
    expect(formatDuration(2 * 3600_000 + 3 * 60_000)).toBe('2h 03m');
    expect(formatDuration(-1)).toBe('');
  });
});

describe('badge SVG', () => {
  it('is well-formed with the name escaped', () => {
    const svg = renderBadgeSvg(EVIL, 'passing', 'succeeded');
    assertWellFormedXml(svg);
    expect(svg).not.toMatch(/<script/i);
    expect(svg).toContain('&lt;script&gt;');
    expect(svg).toContain('#2e9e5b');
  });

  it('grows with its text and stays one line', () => {
    const short = renderBadgeSvg('a', 'ok', 'succeeded');
    const long = renderBadgeSvg('a much longer pipeline name', 'waiting for approval', 'waiting');
    const w = (s: string) => Number(/width="(\d+)"/.exec(s)![1]);
    expect(w(long)).toBeGreaterThan(w(short));
    expect(long).toContain('height="20"');
  });
});

describe('secrets in parameters', () => {
  it.each([
    ['api_token', 'abc', true],
    ['DB_PASSWORD', 'hunter2', true],
    ['aws_secret_access_key', 'x', true],
    ['deploy_key', 'x', true],
    ['author', 'ada', false],
    ['version', '1.0.0', false],
    ['environment', 'staging', false],
    ['image', 'registry.example.com/app:1.2.3', false],
    ['value', 'ghp_abcdefghijklmnopqrstuvwxyz0123456789', true],
    ['value', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig', true],
    ['value', 'AKIAIOSFODNN7EXAMPLE', true],
    ['url', 'https://user:pa55@db.example.com/x', true],
    ['value', 'q8Zr3kLmN0pX7vB2tY5wC9aD', true],
    ['value', 'a perfectly normal sentence with 2 words', false],
    ['count', 3, false],
  ])('%s=%j looks secret: %s', (name, value, secret) => {
    expect(looksSecret(name, value)).toBe(secret);
  });

  it('shows names always and values only when harmless', () => {
    expect(displayParams({ version: '1.0.0', token: 'pwe_abc', dry: true })).toEqual([
      { name: 'version', value: '1.0.0', hidden: false },
      { name: 'token', value: HIDDEN_VALUE, hidden: true },
      { name: 'dry', value: 'true', hidden: false },
    ]);
  });
});

describe('embed page', () => {
  const view: EmbedView = {
    pipeline: { id: 'p1', name: EVIL },
    version: 3,
    nodes,
    edges,
    parameters: [{ name: 'version', type: 'string' }],
    run: {
      runId: 'r1',
      pipelineId: 'p1',
      pipelineVersion: 3,
      number: 7,
      rehearsal: false,
      status: 'running',
      display: { key: 'running', text: 'Running' },
      startedAt: 1000,
      endedAt: null,
      params: displayParams({ version: '</script><script>alert(x)</script>', password: 'hunter2' }),
    },
    stages: { build: { status: 'running', startedAt: 1000, endedAt: null, attempt: 1 } },
  };
  const html = renderEmbedPage(view, { theme: 'dark', nonce: 'NONCE123', streamUrl: '/api/embed/stream?token=t&run=latest', now: 5000 });

  it('has exactly two script elements: the JSON data and the nonce-carrying script', () => {
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.map((s) => s[1]!.trim())).toEqual(['type="application/json" id="pw-data"', 'nonce="NONCE123"']);
    const data = JSON.parse(scripts[0]![2]!);
    expect(data.run.number).toBe(7);
    expect(data.stream).toBe('/api/embed/stream?token=t&run=latest');
    // The script parses as JavaScript.
    expect(() => new Function(scripts[1]![2]!)).not.toThrow();
  });

  it('shows names and parameter values as text, secrets masked', () => {
    expect(html).not.toContain('<script>alert');
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(html).toContain('&lt;/script&gt;&lt;script&gt;alert(x)&lt;/script&gt;');
    expect(html).not.toContain('hunter2');
    expect(html).toContain(`password = <code>${HIDDEN_VALUE}</code>`);
  });

  it('has no links, forms or buttons', () => {
    expect(html).not.toMatch(/<(a|form|button|input)\b/i);
  });

  it('uses the theme', () => {
    expect(html).toContain('<html lang="en" class="pw dark">');
  });

  it('marks a rehearsal as one, and a real run not', () => {
    expect(html).toContain('<span id="pw-run-number">Run #7</span>');
    expect(html).not.toContain('pw-rehearsal');
    const rehearsal = renderEmbedPage({ ...view, run: { ...view.run!, rehearsal: true } }, { theme: 'dark', nonce: 'N', streamUrl: null, now: 5000 });
    expect(rehearsal).toContain('<span id="pw-run-number">Rehearsal #7</span>');
    expect(rehearsal).toContain('rehearsal — nothing changed');
    // Live updates keep the mark (the script names the run from the stream's snapshot).
    expect(rehearsal).toContain("R.rehearsal?'Rehearsal #':'Run #'");
  });

  it('says whom a waiting run waits for in its header, as the app does', () => {
    const waiting = renderEmbedPage(
      {
        ...view,
        run: { ...view.run!, display: { key: 'waiting', text: 'Waiting for approval — grace, group approvers' } },
        stages: { build: { status: 'succeeded', startedAt: 1000, endedAt: 2000, attempt: 1 }, qa: { status: 'waiting', startedAt: 2000, endedAt: null, attempt: 1 } },
      },
      { theme: 'light', nonce: 'N', streamUrl: null, now: 5000 },
    );
    const chip = /<span id="pw-run-status"[^>]*>([^<]*)<\/span>/.exec(waiting);
    expect(chip?.[0]).toContain('data-status="waiting"');
    expect(chip?.[1]).toBe('Waiting for approval — grace, group approvers');
    // The live script words it the same way (from the snapshot's display), not from a table of bare labels.
    expect(waiting).toContain('R.display.text');
  });
});

describe('embed snapshots apply in order', () => {
  type Snap = { status: string; stages: Record<string, { status: string; attempt: number }> };
  const notOlder = new Function(`${NOT_OLDER_JS};return notOlder`)() as (r: { status: string }, s: Snap['stages'], n: Snap) => boolean;
  const shown: Snap = {
    status: 'running',
    stages: { build: { status: 'succeeded', attempt: 1 }, qa: { status: 'succeeded', attempt: 1 }, deploy: { status: 'running', attempt: 1 } },
  };
  const apply = (n: Snap) => notOlder(shown, shown.stages, n);

  it('takes a snapshot that moved on', () => {
    expect(apply({ status: 'running', stages: { ...shown.stages, deploy: { status: 'succeeded', attempt: 1 } } })).toBe(true);
    expect(apply({ status: 'succeeded', stages: { ...shown.stages, deploy: { status: 'succeeded', attempt: 1 } } })).toBe(true);
    expect(apply(shown)).toBe(true);
  });

  it('takes a new attempt of a stage even though it runs again', () => {
    const retried = { status: 'running', stages: { ...shown.stages, deploy: { status: 'failed', attempt: 1 } } };
    expect(notOlder(retried, retried.stages, { status: 'running', stages: { ...shown.stages, deploy: { status: 'running', attempt: 2 } } })).toBe(true);
  });

  it('ignores an older snapshot: the gate waiting again while the stage behind it runs', () => {
    expect(apply({ status: 'running', stages: { build: { status: 'succeeded', attempt: 1 }, qa: { status: 'waiting', attempt: 1 } } })).toBe(false);
    expect(apply({ status: 'running', stages: { ...shown.stages, deploy: { status: 'running', attempt: 0 } } })).toBe(false);
    const done = { status: 'succeeded', stages: shown.stages };
    expect(notOlder(done, done.stages, { status: 'running', stages: shown.stages })).toBe(false);
  });
});

describe('response helpers', () => {
  it('builds a CSP that runs only the nonce script and frames only where allowed', () => {
    const csp = embedPageCsp({ nonce: 'N', frameOrigins: ['https://wiki.example.com'], connectOrigins: ['https://pw.example.com'] });
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'nonce-N'");
    expect(csp).toContain("connect-src 'self' https://pw.example.com");
    expect(csp).toContain("frame-ancestors 'self' https://wiki.example.com");
    expect(embedPageCsp({ nonce: 'N', frameOrigins: null })).toContain("frame-ancestors 'none'");
  });

  it('compares ETags as RFC 9110 If-None-Match does', () => {
    const tag = strongEtag('<svg/>');
    expect(tag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    expect(strongEtag('<svg/>')).toBe(tag);
    expect(strongEtag('<svg />')).not.toBe(tag);
    expect(etagMatches(tag, tag)).toBe(true);
    expect(etagMatches(`W/${tag}`, tag)).toBe(true);
    expect(etagMatches(`"other", ${tag}`, tag)).toBe(true);
    expect(etagMatches('*', tag)).toBe(true);
    expect(etagMatches('"other"', tag)).toBe(false);
    expect(etagMatches(null, tag)).toBe(false);
  });
});
