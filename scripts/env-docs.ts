/**
 * Writes the configuration table of README.md from the TSDoc comments in
 * server/env.ts, so the README lists every variable the code reads.
 * `npx tsx scripts/env-docs.ts` rewrites it; `--check` exits 1 when it is stale
 * (a unit test runs the check).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const START = '<!-- env:start -->';
const END = '<!-- env:end -->';

export function envTable(source: string): string {
  const body = source.slice(source.indexOf('envSchema = z.object({'));
  const rows: string[] = [];
  const re = /\/\*\*([\s\S]*?)\*\/\s*\n\s*([A-Z][A-Z0-9_]*):/g;
  for (const m of body.matchAll(re)) {
    const doc = m[1]!
      .split('\n')
      .map((l) => l.replace(/^\s*\*\s?/, '').trim())
      .filter(Boolean)
      .join(' ')
      .replace(/\|/g, '\\|');
    rows.push(`| \`${m[2]}\` | ${doc} |`);
  }
  return ['| Variable | What it does (default, example) |', '| --- | --- |', ...rows].join('\n');
}

export function renderReadme(readme: string, envSource: string): string {
  const a = readme.indexOf(START);
  const b = readme.indexOf(END);
  if (a < 0 || b < 0) throw new Error('README.md has no env markers');
  return `${readme.slice(0, a + START.length)}\n${envTable(envSource)}\n${readme.slice(b)}`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const readmePath = `${root}README.md`;
  const readme = readFileSync(readmePath, 'utf8');
  const next = renderReadme(readme, readFileSync(`${root}server/env.ts`, 'utf8'));
  if (process.argv.includes('--check')) {
    if (next !== readme) {
      console.error('README.md configuration table is stale: run `npx tsx scripts/env-docs.ts`.');
      process.exit(1);
    }
  } else {
    writeFileSync(readmePath, next);
    console.log('README.md configuration table updated.');
  }
}
