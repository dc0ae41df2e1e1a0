// Lint: typescript-eslint recommended, plus the rule that keeps the pure model
// and the workflow code free of Node built-ins, the database and React.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export default tseslint.config(
  { ignores: ['node_modules/**', '.next/**', 'data/**', 'tools/**', 'next-env.d.ts', 'db/migrations/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Pure code: loaded by the browser, the compiler and the Temporal workflow sandbox.
    files: ['workflows/model/**/*.ts', 'workflows/stages/*/definition.ts', 'workflows/stages/registry.ts', 'workflows/stages/types.ts', 'workflows/interpreter.ts', 'workflows/run-state.ts', 'workflows/decision-signature.ts', 'workflows/stages/egress.ts', 'workflows/scheduled-trigger.ts', 'workflows/queued-trigger.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'Pure model/workflow code must not use Node built-ins.' })),
          patterns: [
            { group: ['@/db/*', '**/db/*', 'drizzle-orm', 'drizzle-orm/*', '@libsql/*'], message: 'Pure model/workflow code must not touch the database.' },
            { group: ['react', 'react-dom', '@xyflow/*', 'next', 'next/*'], message: 'Pure model/workflow code must not import UI code.' },
            { group: ['**/executor', '**/executors', '**/activities'], message: 'Workflow code may import activity types only (import type).', allowTypeImports: true },
          ],
        },
      ],
    },
  },
);
