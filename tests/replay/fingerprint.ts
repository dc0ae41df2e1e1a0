/**
 * Fingerprint of the workflow code: what runs inside Temporal's workflow sandbox
 * and decides which commands a history holds (workflows/index.ts and every module
 * it imports for its values, e.g. the interpreter and the pipeline model).
 *
 * Each file is transpiled to JavaScript without comments or types, so editing a
 * comment or a type does not count as a change; anything else does. The replay
 * corpus records this fingerprint with every history (manifest.json), and
 * tests/unit/replay-corpus.test.ts asks for a history recorded by the current
 * fingerprint: a change to workflow code ships with histories recorded by it,
 * which the next change must then replay.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

export const WORKFLOW_ENTRY = 'workflows/index.ts';

function resolveImport(from: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined; // packages (@temporalio/workflow, zod…) are pinned by the lock file
  const base = resolve(dirname(from), spec);
  for (const candidate of [base, `${base}.ts`, `${base}.tsx`, join(base, 'index.ts')]) {
    if (candidate.endsWith('.ts') || candidate.endsWith('.tsx')) if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** Relative imports that bring values (type-only imports are erased and never reach the sandbox). */
function valueImports(file: string, source: ts.SourceFile): string[] {
  const out: string[] = [];
  for (const st of source.statements) {
    let spec: string | undefined;
    if (ts.isImportDeclaration(st)) {
      const clause = st.importClause;
      if (clause?.isTypeOnly) continue;
      const named = clause?.namedBindings;
      if (clause && !clause.name && named && ts.isNamedImports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly)) continue;
      spec = (st.moduleSpecifier as ts.StringLiteral).text;
    } else if (ts.isExportDeclaration(st) && st.moduleSpecifier) {
      if (st.isTypeOnly) continue;
      spec = (st.moduleSpecifier as ts.StringLiteral).text;
    }
    const target = spec ? resolveImport(file, spec) : undefined;
    if (target) out.push(target);
  }
  return out;
}

/** The files of the workflow code under `root` (a checkout) and their fingerprint. */
export function workflowFingerprint(root = resolve(new URL('../../', import.meta.url).pathname)): { fingerprint: string; files: string[] } {
  const seen = new Map<string, string>();
  const stack = [resolve(root, WORKFLOW_ENTRY)];
  while (stack.length) {
    const file = stack.pop()!;
    if (seen.has(file)) continue;
    const text = readFileSync(file, 'utf8');
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
    const js = ts.transpileModule(text, { fileName: file, compilerOptions: { removeComments: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext } }).outputText;
    seen.set(file, js);
    stack.push(...valueImports(file, source));
  }
  const files = [...seen.keys()].map((f) => relative(root, f)).sort();
  const hash = createHash('sha256');
  for (const f of files) hash.update(`${f}\0${seen.get(resolve(root, f))}\0`);
  return { fingerprint: hash.digest('hex').slice(0, 16), files };
}

if (process.argv[1] && new URL(import.meta.url).pathname === process.argv[1]) {
  const root = process.argv[2] ? resolve(process.argv[2]) : undefined;
  const r = workflowFingerprint(root);
  console.log(r.fingerprint);
  if (process.argv.includes('--files')) for (const f of r.files) console.log(`  ${f}`);
}
