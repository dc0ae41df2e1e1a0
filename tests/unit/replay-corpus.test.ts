/**
 * The replay corpus's rules (docs/upgrades.md), checked on every `npm test`:
 * 1. every committed history is listed in histories/manifest.json with the version,
 *    commit and workflow-code fingerprint that recorded it, and every listed file exists;
 * 2. every workflow type the worker serves and every path in REQUIRED_PATHS has a history;
 * 3. the current workflow code has histories recorded by it: a change to workflow code
 *    (anything but comments and types in workflows/index.ts and what it imports) fails
 *    here until `npm run replay:record` has added histories of every scenario recorded by
 *    the changed code — the ones the next change must replay — while the old ones stay
 *    (tests/integration/replay.test.ts replays them all).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { workflowFingerprint } from '../replay/fingerprint';
import { readManifest, REQUIRED_PATHS } from '../replay/corpus';

const dir = fileURLToPath(new URL('../replay/histories/', import.meta.url));
const files = readdirSync(dir).filter((f) => f.endsWith('.bin')).sort();
const manifest = readManifest();
const entries = Object.entries(manifest.histories);

describe('replay corpus', () => {
  it('lists every history with who recorded it, and nothing that is not there', () => {
    expect(Object.keys(manifest.histories).sort()).toEqual(files);
    for (const [file, e] of entries) {
      expect(e.recordedBy.commit, file).toMatch(/^[0-9a-f]{7,40}(\+uncommitted)?$/);
      expect(e.recordedBy.version, file).toMatch(/^\d+\.\d+\.\d+/);
      expect(e.recordedBy.workflowCode, file).toMatch(/^[0-9a-f]{16}$/);
      expect(e.events, file).toBeGreaterThan(3);
      expect(e.paths.length, file).toBeGreaterThan(0);
    }
  });

  it('covers every workflow type the worker serves', () => {
    const index = readFileSync(fileURLToPath(new URL('../../workflows/index.ts', import.meta.url)), 'utf8');
    const types = [...index.matchAll(/export \{ (\w+) \}/g)].map((m) => m[1]);
    expect(types.length).toBeGreaterThanOrEqual(3);
    for (const t of types) expect(entries.some(([, e]) => e.workflowType === t), `no history of workflow type ${t}`).toBe(true);
  });

  it('covers every required path', () => {
    const covered = new Set(entries.flatMap(([, e]) => e.paths));
    expect(REQUIRED_PATHS.filter((p) => !covered.has(p))).toEqual([]);
  });

  it('holds histories recorded by the current workflow code', () => {
    const { fingerprint, files: code } = workflowFingerprint();
    expect(code).toContain('workflows/interpreter.ts');
    const byCurrent = entries.filter(([, e]) => e.recordedBy.workflowCode === fingerprint).map(([, e]) => e.scenario);
    const scenarios = [...new Set(entries.map(([, e]) => e.scenario))];
    const missing = scenarios.filter((s) => !byCurrent.includes(s));
    expect(
      missing,
      `The workflow code changed (fingerprint ${fingerprint}) and these scenarios have no history recorded by it: run \`npm run replay:record\` ` +
        'and commit the new histories beside the old ones (never regenerate those; guard the change with patched(); docs/upgrades.md).',
    ).toEqual([]);
  });
});

describe('workflow fingerprint', () => {
  it('ignores comments and types but not code', async () => {
    const { mkdtempSync, cpSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const root = fileURLToPath(new URL('../../', import.meta.url));
    const copy = mkdtempSync(join(tmpdir(), 'pipewright-fp-'));
    cpSync(join(root, 'workflows'), join(copy, 'workflows'), { recursive: true });
    const base = workflowFingerprint(copy).fingerprint;
    expect(base).toBe(workflowFingerprint(root).fingerprint);
    const file = join(copy, 'workflows', 'queued-trigger.ts');
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, `// a new comment\n${text.replace('const MAX_ATTEMPTS = 9000;', 'const MAX_ATTEMPTS: number = 9000; /* why */')}`);
    expect(workflowFingerprint(copy).fingerprint).toBe(base);
    writeFileSync(file, text.replace('const MAX_ATTEMPTS = 9000;', 'const MAX_ATTEMPTS = 9001;'));
    expect(workflowFingerprint(copy).fingerprint).not.toBe(base);
  });
});
