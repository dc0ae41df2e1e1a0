/**
 * The pipeline as text (YAML or JSON) for the code view, import and export.
 * Reading text is a trust boundary: it is parsed, then checked by the same
 * validator as the server; a document with the wrong shape never reaches the
 * editor's store.
 */
import { Document, isMap, isSeq, parse as parseYaml, YAMLParseError } from 'yaml';
import { LIMITS, SPEC_SCHEMA_VERSION, validatePipeline, type PipelineSpec, type ValidationIssue } from '@/workflows/model';

export type TextFormat = 'yaml' | 'json';

/** Key order of a written document: what it is, then what it takes, then the graph. */
function ordered(spec: PipelineSpec): Record<string, unknown> {
  const { schemaVersion, name, description, parameters, settings, nodes, edges, ...rest } = spec;
  return {
    schemaVersion,
    name,
    ...(description !== undefined ? { description } : {}),
    parameters,
    settings,
    nodes: nodes.map(({ id, kind, name: n, description: d, config, retry, timeoutSeconds, position, ...more }) => ({
      id,
      kind,
      name: n,
      ...(d !== undefined ? { description: d } : {}),
      config,
      ...(retry !== undefined ? { retry } : {}),
      ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}),
      position,
      ...more,
    })),
    edges,
    ...rest,
  };
}

export function specToText(spec: PipelineSpec, format: TextFormat): string {
  const value = ordered(spec);
  if (format === 'json') return `${JSON.stringify(value, null, 2)}\n`;
  const doc = new Document(value);
  // Short things on one line: positions and connections.
  const nodes = doc.get('nodes');
  if (isSeq(nodes)) {
    for (const n of nodes.items) {
      if (!isMap(n)) continue;
      const position = n.get('position', true);
      if (isMap(position)) position.flow = true;
    }
  }
  const edges = doc.get('edges');
  if (isSeq(edges)) for (const e of edges.items) if (isMap(e)) e.flow = true;
  return doc.toString({ lineWidth: 0 });
}

export type ReadResult =
  | { ok: true; spec: PipelineSpec; issues: ValidationIssue[] }
  | { ok: false; error: string; line?: number; issues: ValidationIssue[] };

/** Guesses the format: JSON when the first character is `{`. */
export function detectFormat(text: string): TextFormat {
  return text.trimStart().startsWith('{') ? 'json' : 'yaml';
}

/**
 * Parses and validates a document. `ok: false` when it cannot be read or does
 * not have the shape of a pipeline (then nothing should change); `ok: true`
 * may still carry issues (a draft).
 */
export function readSpecText(text: string, format: TextFormat = detectFormat(text)): ReadResult {
  if (text.length > LIMITS.specSize) return { ok: false, error: `The document is larger than ${LIMITS.specSize} characters.`, issues: [] };
  if (!text.trim()) return { ok: false, error: 'The document is empty.', issues: [] };
  let raw: unknown;
  try {
    raw = format === 'json' ? JSON.parse(text) : parseYaml(text, { maxAliasCount: 100, prettyErrors: true });
  } catch (err) {
    const line = err instanceof YAMLParseError ? err.linePos?.[0]?.line : undefined;
    // The YAML parser recurses: thousands of nested levels overflow its stack. Say what is wrong.
    const message = err instanceof Error && /maximum call stack/i.test(err.message)
      ? `the document is nested too deeply (a stage's configuration may be at most ${LIMITS.configDepth} levels deep)`
      : err instanceof Error ? err.message.split('\n')[0]! : String(err);
    return { ok: false, error: `${format === 'json' ? 'JSON' : 'YAML'}: ${message}`, line, issues: [] };
  }
  if (raw && typeof raw === 'object' && !Array.isArray(raw) && (raw as { schemaVersion?: unknown }).schemaVersion === undefined) {
    raw = { schemaVersion: SPEC_SCHEMA_VERSION, ...(raw as object) };
  }
  const result = validatePipeline(raw);
  if (!result.spec) return { ok: false, error: 'This is not a valid pipeline document.', issues: result.issues };
  return { ok: true, spec: result.spec, issues: result.issues };
}
