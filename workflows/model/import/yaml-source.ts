/**
 * Parsing YAML pipeline files safely: aliases capped (a YAML bomb is refused,
 * not expanded), GitLab's `!reference` tag kept as a marker to resolve later,
 * and the source line of any node found for the report.
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode, type ScalarTag } from 'yaml';
import { ImportRefused, MAX_YAML_ALIASES } from './common';

/** `!reference [job, script]` as parsed: resolved by the GitLab importer. */
export type ReferenceTag = { __reference: string[] };
export const isReferenceTag = (v: unknown): v is ReferenceTag =>
  typeof v === 'object' && v !== null && Array.isArray((v as { __reference?: unknown }).__reference);

const referenceTag = {
  tag: '!reference',
  collection: 'seq',
  resolve: (seq: unknown) => {
    const items = isSeq(seq) ? seq.items.map((i) => (isScalar(i) ? String(i.value) : String(i))) : [];
    return { __reference: items } as unknown as YamlNode;
  },
} as unknown as ScalarTag;

export type YamlSource = { value: unknown; lineOf: (path: (string | number)[]) => number | undefined };

export function parseYamlSource(text: string): YamlSource {
  const lineCounter = new LineCounter();
  let doc: Document.Parsed;
  try {
    doc = parseDocument(text, { lineCounter, customTags: [referenceTag], uniqueKeys: false, merge: true, prettyErrors: false });
  } catch (err) {
    throw new ImportRefused(`The file is not valid YAML: ${err instanceof Error ? err.message : String(err)}`);
  }
  const error = doc.errors[0];
  if (error) {
    const line = error.pos ? lineCounter.linePos(error.pos[0]).line : undefined;
    throw new ImportRefused(`The file is not valid YAML${line ? ` (line ${line})` : ''}: ${error.message.split('\n')[0]}`, line);
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (/alias/i.test(message)) {
      throw new ImportRefused(`The file expands too many YAML aliases (a "YAML bomb"); at most ${MAX_YAML_ALIASES} are expanded. Nothing was imported.`);
    }
    throw new ImportRefused(`The file could not be read as YAML: ${message}`);
  }
  const lineOf = (path: (string | number)[]) => {
    let node: unknown = doc.contents;
    let lastRange: [number, number, number] | undefined;
    for (const key of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(key));
        if (!pair) break;
        const keyRange = isScalar(pair.key) ? pair.key.range : undefined;
        if (keyRange) lastRange = keyRange as [number, number, number];
        node = pair.value;
      } else if (isSeq(node) && typeof key === 'number') {
        node = node.items[key];
        const r = (node as { range?: [number, number, number] } | undefined)?.range;
        if (r) lastRange = r;
      } else break;
    }
    return lastRange ? lineCounter.linePos(lastRange[0]).line : undefined;
  };
  return { value, lineOf };
}

export const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
export const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]);
export const asString = (v: unknown): string | undefined => (typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined);
