/**
 * Manifests: multi-document YAML in, checked plain objects out (pure).
 *
 * 1. `parseManifests` reads every document with the `yaml` package, flattens
 *    `kind: List`, skips empty documents and checks the basics (apiVersion,
 *    kind, metadata.name, duplicates) so that a broken manifest fails before
 *    anything is sent, with the document number and the reason.
 * 2. `annotate` adds the pipewright.dev/{pipeline,run,stage} annotations to an
 *    object's own metadata — never to a pod template, which would start a new
 *    rollout on every run.
 */
import { parseAllDocuments } from 'yaml';
import { StageFailure } from '../stages/executor-types';
import type { K8sObject } from './client';

export const ANNOTATION_PREFIX = 'pipewright.dev/';
export const ANN = {
  pipeline: 'pipewright.dev/pipeline',
  run: 'pipewright.dev/run',
  stage: 'pipewright.dev/stage',
  templateHash: 'pipewright.dev/template-hash',
  strategy: 'pipewright.dev/strategy',
  base: 'pipewright.dev/deployment',
  activeColor: 'pipewright.dev/active-color',
  previousColor: 'pipewright.dev/previous-color',
  replicas: 'pipewright.dev/replicas',
  weight: 'pipewright.dev/weight',
  /** On a blue/green active Service: the plain Deployment that was live before the first switch (adopted), to roll back to. */
  previousDeployment: 'pipewright.dev/previous-deployment',
  /** On a ReplicaSet whose rollout failed and was rolled back: never a rollback target. */
  failed: 'pipewright.dev/failed',
} as const;
export const LABEL = {
  color: 'pipewright.dev/color',
  track: 'pipewright.dev/track',
} as const;

const MAX_DOCUMENTS = 500;
const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export function parseManifests(text: string): K8sObject[] {
  const docs = parseAllDocuments(text, { prettyErrors: true });
  const objects: K8sObject[] = [];
  const seen = new Set<string>();
  let index = 0;
  const fail = (message: string): never => {
    throw new StageFailure(`invalid manifest (document ${index}): ${message}`, 'InvalidConfig');
  };
  if (!Array.isArray(docs)) {
    // parseAllDocuments returns an EmptyStream for empty input.
    return [];
  }
  for (const doc of docs) {
    index++;
    if (doc.errors.length > 0) fail(doc.errors[0]!.message.split('\n')[0]!);
    const value: unknown = doc.toJS({ maxAliasCount: 50 });
    if (value === null || value === undefined) continue;
    const items = isObject(value) && value.kind === 'List' && Array.isArray(value.items) ? value.items : [value];
    for (const item of items) {
      if (!isObject(item)) fail('expected a mapping with apiVersion, kind and metadata');
      const obj = item as Record<string, unknown>;
      if (typeof obj.apiVersion !== 'string' || !obj.apiVersion) fail('apiVersion is missing');
      if (typeof obj.kind !== 'string' || !obj.kind) fail('kind is missing');
      const meta = obj.metadata;
      if (!isObject(meta)) fail(`${String(obj.kind)}: metadata is missing`);
      const m = meta as Record<string, unknown>;
      if (typeof m.name !== 'string' || !m.name) fail(`${String(obj.kind)}: metadata.name is missing (generateName is not supported: applies must be idempotent)`);
      const name = m.name as string;
      if (name.length > 253 || !NAME.test(name)) fail(`${String(obj.kind)} "${name}": not a valid name (lower-case letters, digits, '-' and '.')`);
      if (m.namespace !== undefined && (typeof m.namespace !== 'string' || !NAME.test(m.namespace))) {
        fail(`${String(obj.kind)} ${name}: metadata.namespace is not a valid namespace`);
      }
      for (const field of ['labels', 'annotations'] as const) {
        if (m[field] !== undefined && !isStringMap(m[field])) fail(`${String(obj.kind)} ${name}: metadata.${field} must map names to strings`);
      }
      const key = `${obj.apiVersion}/${obj.kind}/${(m.namespace as string | undefined) ?? ''}/${name}`;
      if (seen.has(key)) fail(`${String(obj.kind)} ${name} appears twice`);
      seen.add(key);
      objects.push(obj as K8sObject);
      if (objects.length > MAX_DOCUMENTS) fail(`more than ${MAX_DOCUMENTS} objects`);
    }
  }
  return objects;
}

export type RunIds = { pipelineId?: string; runId: string; stageId: string };

/** A copy of `obj` with the pipewright.dev/{pipeline,run,stage} annotations. */
export function annotate<T extends K8sObject>(obj: T, ids: RunIds, extra: Record<string, string> = {}): T {
  return {
    ...obj,
    metadata: {
      ...obj.metadata,
      annotations: {
        ...(obj.metadata.annotations ?? {}),
        ...(ids.pipelineId ? { [ANN.pipeline]: ids.pipelineId } : {}),
        [ANN.run]: ids.runId,
        [ANN.stage]: ids.stageId,
        ...extra,
      },
    },
  };
}

export function describeObject(obj: { kind: string; metadata: { name: string; namespace?: string } }): string {
  return `${obj.kind} ${obj.metadata.namespace ? `${obj.metadata.namespace}/` : ''}${obj.metadata.name}`;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isStringMap(v: unknown): boolean {
  return isObject(v) && Object.values(v).every((x) => typeof x === 'string');
}

/** JSON with sorted keys, for content hashes. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (isObject(value)) {
    return `{${Object.keys(value)
      .filter((k) => value[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}
