// Lint: typescript-eslint recommended, plus the rule that keeps the pure model
// and the workflow code free of Node built-ins, the database and React, and the
// layer rules (import-x): the runner side never imports the control plane's
// server or database code, and the project's own folders have no import cycles.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { builtinModules } from 'node:module';

const importSettings = {
  'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
  'import-x/extensions': ['.ts', '.tsx', '.js', '.mjs'],
  'import-x/parsers': { '@typescript-eslint/parser': ['.ts', '.tsx'] },
};

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
  {
    // Layers. Two trust boundaries: the runner (workflows/runner, the stage executors) executes
    // people's commands and reaches the control plane only over its HTTP API.
    files: ['app/**/*.{ts,tsx}', 'server/**/*.ts', 'db/**/*.ts', 'workflows/**/*.ts', 'scripts/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: importSettings,
    rules: {
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            {
              target: ['./workflows/runner', './workflows/stages', './workflows/k8s'],
              from: ['./server', './db', './app'],
              message: 'Runner code (runner, stage executors) must not import the control plane (server, database, app): it talks to it over the runner API.',
            },
            {
              // Workflow (engine) code: the control worker that hosts it and its bookkeeping activities live in
              // server/control-worker; workflows name those activities by their type only.
              target: ['./workflows'],
              from: ['./server', './db', './app'],
              except: ['./control-worker/activities.ts'],
              message: 'Workflow and runner code must not import the control plane (server, database, app); the control worker lives in server/control-worker.',
            },
            { target: './workflows/model', from: ['./server', './db', './app', './scripts', './workflows/runner', './workflows/k8s'], message: 'The pure model imports nothing of the app.' },
            { target: './server/services', from: ['./server/api', './app'], message: 'Services are called by the API, not the other way round.' },
            // The client reads its URL from the one configuration module.
            { target: './db', from: ['./server', './app'], except: ['./env.ts'], message: 'The database layer does not import the server.' },
          ],
        },
      ],
    },
  },
  {
    // Cycles among the project's own modules (node_modules are not followed). Lazy `await import()`s
    // that break a cycle at load time (live hub → services) are allowed.
    files: ['server/**/*.ts', 'db/**/*.ts', 'workflows/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: importSettings,
    rules: { 'import-x/no-cycle': ['error', { ignoreExternal: true, allowUnsafeDynamicCyclicDependency: true }] },
  },
);
