import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { envSchema } from '../../server/env';
import { renderReadme } from '../../scripts/env-docs';

const read = (p: string) => readFileSync(new URL(`../../${p}`, import.meta.url), 'utf8');

describe('README configuration table', () => {
  it('lists every variable of server/env.ts and is up to date', () => {
    const readme = read('README.md');
    expect(renderReadme(readme, read('server/env.ts'))).toBe(readme);
    for (const name of Object.keys(envSchema.shape)) expect(readme).toContain(`\`${name}\``);
  });

  it('shows exactly the two quick-start commands', () => {
    const readme = read('README.md');
    expect(readme).toContain('npm ci && npm start');
    expect(readme).toContain('npm test');
  });
});
