/**
 * What `${{ … }}` can refer to from a given stage: the pipeline's parameters
 * and the outputs of stages that run before it (its ancestors). Outputs come
 * from the kind's declared names; a command's own outputs are read from the
 * `name=value >> $PIPEWRIGHT_OUTPUT` lines of its script.
 */
import { getStageDefinition, parseTemplate, shellVariableBase, type PipelineNode, type PipelineSpec } from '@/workflows/model';

export type Suggestion = {
  /** The expression inside `${{ }}`. */
  expr: string;
  label: string;
  detail: string;
  group: 'Parameters' | 'Stage outputs';
};

/** Every stage `nodeId` waits for, directly or not. */
export function ancestorsOf(spec: Pick<PipelineSpec, 'edges'>, nodeId: string): Set<string> {
  const incoming = new Map<string, string[]>();
  for (const e of spec.edges) {
    const list = incoming.get(e.to);
    if (list) list.push(e.from);
    else incoming.set(e.to, [e.from]);
  }
  const seen = new Set<string>();
  const stack = [nodeId];
  while (stack.length) {
    for (const from of incoming.get(stack.pop()!) ?? []) {
      if (!seen.has(from) && from !== nodeId) {
        seen.add(from);
        stack.push(from);
      }
    }
  }
  return seen;
}

const OUTPUT_LINE = /([A-Za-z_][A-Za-z0-9_-]*)=[^\n]*?>>\s*"?\$\{?PIPEWRIGHT_OUTPUT\b/g;

/** Output names a stage is known to produce. */
export function outputsOf(node: PipelineNode): string[] {
  const def = getStageDefinition(node.kind);
  const names = new Set(def?.outputs.names ?? []);
  if (def?.outputs.dynamic) {
    for (const value of Object.values(node.config)) {
      if (typeof value !== 'string') continue;
      for (const m of value.matchAll(OUTPUT_LINE)) names.add(m[1]!);
    }
  }
  // Declared artifacts are published as `artifact.<name>.digest` and `.size`.
  const declared = (node.config as { artifacts?: unknown }).artifacts;
  if (Array.isArray(declared)) {
    for (const a of declared) {
      const name = (a as { name?: unknown } | null)?.name;
      if (typeof name === 'string' && name) names.add(`artifact.${name}.digest`);
    }
  }
  return [...names];
}

export function suggestionsFor(spec: PipelineSpec, nodeId: string | null): Suggestion[] {
  const out: Suggestion[] = spec.parameters.map((p) => ({
    expr: `params.${p.name}`,
    label: p.name,
    detail: `parameter · ${p.type}${p.default !== undefined ? ` · default ${String(p.default)}` : ''}`,
    group: 'Parameters',
  }));
  if (nodeId) {
    const ancestors = ancestorsOf(spec, nodeId);
    for (const n of spec.nodes) {
      if (!ancestors.has(n.id)) continue;
      for (const name of outputsOf(n)) {
        out.push({ expr: `stages.${n.id}.outputs.${name}`, label: `${n.id}.${name}`, detail: `output of ${n.name}`, group: 'Stage outputs' });
      }
    }
  }
  return out;
}

/**
 * When the caret is inside an unfinished `${{ …`, where the expression starts
 * and what has been typed of it; otherwise null.
 */
export function completionContext(text: string, caret: number): { start: number; query: string } | null {
  const before = text.slice(0, caret);
  const open = before.lastIndexOf('${{');
  if (open < 0) return null;
  const inside = before.slice(open + 3);
  if (inside.includes('}}') || inside.includes('\n')) return null;
  const query = inside.trimStart();
  if (!/^[A-Za-z0-9_.-]*$/.test(query)) return null;
  return { start: open, query };
}

/**
 * The text after choosing `expr` at `ctx` (replaces the unfinished reference,
 * keeps a following `}}`). In text a shell runs (`asVariable`) the reference
 * goes in as the variable that carries its value (`$PW_PARAM_version`).
 */
export function applySuggestion(text: string, caret: number, ctx: { start: number }, expr: string, options: { asVariable?: boolean } = {}): { text: string; caret: number } {
  const after = text.slice(caret);
  const closing = /^\s*\}\}/.exec(after);
  const ref = options.asVariable ? parseTemplate(`\${{ ${expr} }}`).refs[0] : undefined;
  const inserted = ref ? `$${shellVariableBase(ref)}` : `\${{ ${expr} }}`;
  const rest = closing ? after.slice(closing[0].length) : after;
  return { text: text.slice(0, ctx.start) + inserted + rest, caret: ctx.start + inserted.length };
}

export function filterSuggestions(all: readonly Suggestion[], query: string): Suggestion[] {
  const q = query.toLowerCase();
  if (!q) return [...all];
  return all.filter((s) => s.expr.toLowerCase().includes(q) || s.label.toLowerCase().includes(q));
}
