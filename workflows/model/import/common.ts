/**
 * What every importer shares: the mapping report, id and name helpers, the
 * layout of the resulting graph, and the refusal of input that is no pipeline
 * file at all (too large, binary, not text).
 *
 * 1. Importers are pure (no I/O): the API runs them for the preview and the
 *    save, the editor may run them too. The result is a normal pipeline
 *    document, checked by the one validator, plus a report a person reads
 *    before anything is saved.
 * 2. Nothing a person wrote is ever spliced into shell text: references become
 *    `${PW_PARAM_x}` / `${PW_OUTPUT_<stage>_<name>}` variables (shell-env.ts).
 */
import { LIMITS } from '../limits';
import type { EdgeCondition, PipelineSpecInput } from '../spec';

export type ImportFormat = 'github-actions' | 'gitlab-ci' | 'spinnaker';
export const IMPORT_FORMAT_LABELS: Record<ImportFormat, string> = {
  'github-actions': 'GitHub Actions workflow',
  'gitlab-ci': 'GitLab CI file',
  spinnaker: 'Spinnaker pipeline',
};

/** Largest file accepted, in bytes (characters): a pipeline file is far smaller. */
export const MAX_IMPORT_BYTES = 1_000_000;
/** Most YAML aliases expanded in one document (a billion-laughs file is refused, not expanded). */
export const MAX_YAML_ALIASES = 200;
/** Most stages one matrix or `parallel:` job fans out into; the rest is reported. */
export const MAX_FAN_OUT = 16;

/** One job/stage of the source and what it became. */
export type MappedItem = { source: string; line?: number; became: string; nodeIds: string[] };
/** A construct that was not carried over. */
export type NotCarried = { construct: string; line?: number; why: string };
/** Behaviour that differs from the source. */
export type ImportWarning = { line?: number; message: string };
/** A trigger the source declares (created with the pipeline when the person asks for it). */
export type ProposedTrigger =
  | { kind: 'webhook'; branches: string[]; tags: string[]; line?: number }
  | { kind: 'schedule'; cron: string; line?: number };
/** An environment a stage is bound to. */
export type ImportedEnvironment = { name: string; source: string; protected: boolean; line?: number };

export type ImportReport = {
  format: ImportFormat;
  mapped: MappedItem[];
  notCarried: NotCarried[];
  warnings: ImportWarning[];
  environments: ImportedEnvironment[];
  triggers: ProposedTrigger[];
  /** Reusable workflows the file calls that were not supplied alongside (supply them to expand them). */
  missingWorkflows?: { uses: string; line?: number }[];
};

export type ImportSuccess = { ok: true; format: ImportFormat; spec: PipelineSpecInput; report: ImportReport };
export type ImportRefusal = { ok: false; error: string; line?: number };
export type ImportResult = ImportSuccess | ImportRefusal;

/** Thrown inside importers for input that cannot become a pipeline at all; turned into an `ImportRefusal`. */
export class ImportRefused extends Error {
  constructor(
    message: string,
    readonly line?: number,
  ) {
    super(message);
    this.name = 'ImportRefused';
  }
}

/** Refuses what is not a pipeline file before any parsing: too large, binary, not UTF-8 text. */
export function checkImportText(text: string): void {
  if (text.length > MAX_IMPORT_BYTES) {
    throw new ImportRefused(`The file is ${formatSize(text.length)}; files up to ${formatSize(MAX_IMPORT_BYTES)} can be imported.`);
  }
  // eslint-disable-next-line no-control-regex
  if (/\u0000/.test(text) || /[\u0001-\u0008\u000e-\u001a\u001c-\u001f]/.test(text.slice(0, 8192)) || text.includes('\ufffd')) {
    throw new ImportRefused('This is not a text file (it contains binary data). Paste or upload a YAML or JSON pipeline file.');
  }
  if (text.trim() === '') throw new ImportRefused('The file is empty.');
}

export function formatSize(n: number): string {
  return n >= 1_000_000 ? `${(n / 1_000_000).toFixed(1)} MB` : n >= 1000 ? `${Math.round(n / 1000)} kB` : `${n} bytes`;
}

/** A valid, unique node id from a source name (`build:linux` → `build_linux`). */
export class IdAllocator {
  private readonly used = new Set<string>();
  take(wanted: string): string {
    let base = wanted.replace(/[^A-Za-z0-9_-]/g, '_').replace(/^[^A-Za-z_]+/, '');
    if (!base) base = 'stage';
    base = base.slice(0, LIMITS.idLength - 4);
    let id = base;
    for (let n = 2; this.used.has(id.toLowerCase()); n++) id = `${base}_${n}`;
    this.used.add(id.toLowerCase());
    return id;
  }
}

/** A parameter name valid in the model (`my input` → `my_input`). */
export const parameterName = (name: string) => new IdAllocator().take(name);

/** An environment name valid in the model (`Production EU` → `production-eu`), or undefined when nothing is left. */
export function environmentSlug(name: string): string | undefined {
  const slug = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^[^a-z]+/, '')
    .replace(/-+/g, '-')
    .replace(/-$/, '')
    .slice(0, 40)
    .replace(/-$/, '');
  return slug || undefined;
}

export const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** Quotes text for `/bin/sh` as one literal word (for messages printed by generated scripts). */
export const shellQuote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;

export type DraftNode = {
  id: string;
  kind: string;
  name: string;
  description?: string;
  config: Record<string, unknown>;
  timeoutSeconds?: number;
  environment?: string;
};
export type DraftEdge = { from: string; to: string; on: EdgeCondition };

/** Builds the pipeline document: edges de-duplicated, nodes laid out left to right by depth. */
export function buildSpec(input: {
  name: string;
  description?: string;
  nodes: DraftNode[];
  edges: DraftEdge[];
  parameters: PipelineSpecInput['parameters'];
  settings?: { concurrency?: number; runTimeoutSeconds?: number };
}): PipelineSpecInput {
  const ids = new Set(input.nodes.map((n) => n.id));
  const seen = new Set<string>();
  const edges = input.edges.filter((e) => {
    const key = `${e.from}\u0000${e.to}`;
    if (!ids.has(e.from) || !ids.has(e.to) || e.from === e.to || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  const depth = layerDepths(input.nodes.map((n) => n.id), edges);
  const rows = new Map<number, number>();
  const nodes = input.nodes.map((n) => {
    const d = depth.get(n.id) ?? 0;
    const row = rows.get(d) ?? 0;
    rows.set(d, row + 1);
    return {
      id: n.id,
      kind: n.kind,
      name: clip(n.name || n.id, LIMITS.nameLength),
      ...(n.description ? { description: clip(n.description, LIMITS.descriptionLength) } : {}),
      config: n.config,
      position: { x: d * 280, y: row * 140 },
      ...(n.timeoutSeconds ? { timeoutSeconds: Math.min(Math.max(1, Math.round(n.timeoutSeconds)), LIMITS.maxTimeoutSeconds) } : {}),
      ...(n.environment ? { environment: n.environment } : {}),
    };
  });
  return {
    schemaVersion: 1,
    name: clip(input.name.trim() || 'Imported pipeline', LIMITS.nameLength),
    ...(input.description ? { description: clip(input.description, LIMITS.descriptionLength) } : {}),
    nodes,
    edges: edges.map((e) => ({ id: `${e.from}->${e.to}`, from: e.from, to: e.to, on: e.on })),
    parameters: (input.parameters ?? []).slice(0, LIMITS.maxParameters),
    settings: {
      concurrency: input.settings?.concurrency ?? 1,
      defaultRetry: {},
      stageTimeoutSeconds: 3600,
      runTimeoutSeconds: Math.min(input.settings?.runTimeoutSeconds ?? 0, LIMITS.maxRunTimeoutSeconds),
    },
  };
}

/** Longest path from a root, per node (a cycle's members keep the depth reached before it closed). */
function layerDepths(ids: string[], edges: DraftEdge[]): Map<string, number> {
  const incoming = new Map<string, string[]>(ids.map((id) => [id, []]));
  for (const e of edges) incoming.get(e.to)?.push(e.from);
  const depth = new Map<string, number>();
  const visiting = new Set<string>();
  const visit = (id: string): number => {
    const known = depth.get(id);
    if (known !== undefined) return known;
    if (visiting.has(id)) return 0;
    visiting.add(id);
    const d = Math.max(-1, ...(incoming.get(id) ?? []).map(visit)) + 1;
    visiting.delete(id);
    depth.set(id, d);
    return d;
  };
  ids.forEach(visit);
  return depth;
}

/** Cartesian product of a matrix's axes, with GitHub-style `exclude` (partial match) and `include`. */
export function expandMatrix(
  axes: Record<string, unknown[]>,
  include: Record<string, unknown>[] = [],
  exclude: Record<string, unknown>[] = [],
): Record<string, unknown>[] {
  let combos: Record<string, unknown>[] = [{}];
  for (const [key, values] of Object.entries(axes)) {
    const next: Record<string, unknown>[] = [];
    for (const c of combos) for (const v of values) next.push({ ...c, [key]: v });
    combos = next;
    if (combos.length > 10_000) break;
  }
  if (Object.keys(axes).length === 0) combos = [];
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  combos = combos.filter((c) => !exclude.some((x) => Object.entries(x).every(([k, v]) => same(c[k], v))));
  const axisKeys = new Set(Object.keys(axes));
  for (const inc of include) {
    const matching = combos.filter((c) => Object.entries(inc).every(([k, v]) => !axisKeys.has(k) || same(c[k], v)));
    if (matching.length > 0) for (const c of matching) Object.assign(c, inc);
    else combos.push({ ...inc });
  }
  return combos;
}

export const matrixLabel = (combo: Record<string, unknown>) =>
  Object.values(combo)
    .map((v) => (typeof v === 'object' ? JSON.stringify(v) : String(v)))
    .join(', ');

/**
 * Puts one approval gate in front of the stages bound to each of `environments`
 * (for environments created as protected: a run must pass a gate before it
 * deploys there). Connections into those stages from outside the environment
 * now lead into the gate.
 */
export function gateEnvironmentStages(spec: PipelineSpecInput, environments: readonly string[]): PipelineSpecInput {
  const nodes = [...spec.nodes];
  let edges = [...spec.edges];
  const taken = new Set(nodes.map((n) => n.id.toLowerCase()));
  for (const env of environments) {
    const bound = nodes.filter((n) => n.environment === env && n.kind !== 'approval');
    if (bound.length === 0) continue;
    const boundIds = new Set(bound.map((n) => n.id));
    // A gate bound to the environment is there already (e.g. a GitLab manual job's) when one exists.
    if (!nodes.some((n) => n.kind === 'approval' && n.environment === env)) {
      let gateId = `approve-${env}`.slice(0, LIMITS.idLength);
      for (let i = 2; taken.has(gateId.toLowerCase()); i++) gateId = `approve-${env}-${i}`.slice(0, LIMITS.idLength);
      taken.add(gateId.toLowerCase());
      const first = bound[0]!;
      nodes.push({
        id: gateId,
        kind: 'approval',
        name: `Approve ${env}`,
        config: { users: [], groups: ['approvers'], quorum: 1, allowTriggerer: false, instructions: `Deploy to ${env}?`, timeoutSeconds: 0, onTimeout: 'reject' },
        position: { x: (first.position?.x ?? 0) - 140, y: (first.position?.y ?? 0) + 70 },
        environment: env,
      });
      const into = edges.filter((e) => boundIds.has(e.to) && !boundIds.has(e.from));
      const sources = new Map(into.map((e) => [e.from, e.on ?? 'success']));
      edges = edges.filter((e) => !(boundIds.has(e.to) && !boundIds.has(e.from)));
      for (const [from, on] of sources) edges.push({ id: `${from}->${gateId}`, from, to: gateId, on });
      const entryStages = bound.filter((n) => !edges.some((e) => e.to === n.id && boundIds.has(e.from)));
      for (const n of entryStages) edges.push({ id: `${gateId}->${n.id}`, from: gateId, to: n.id, on: 'success' });
    }
    // A stage of the environment reached on failure (a rollback) or always is not covered by the first gate
    // (only success connections carry its approval): it gets a gate of its own, entered the same way.
    for (const n of bound) {
      const unapproved = edges.filter((e) => e.to === n.id && boundIds.has(e.from) && (e.on ?? 'success') !== 'success');
      if (unapproved.length === 0) continue;
      let ownGate = `approve-${n.id}`.slice(0, LIMITS.idLength);
      for (let i = 2; taken.has(ownGate.toLowerCase()); i++) ownGate = `approve-${n.id}-${i}`.slice(0, LIMITS.idLength);
      taken.add(ownGate.toLowerCase());
      nodes.push({
        id: ownGate,
        kind: 'approval',
        name: `Approve ${n.name}`,
        config: { users: [], groups: ['approvers'], quorum: 1, allowTriggerer: false, instructions: `Run "${n.name}" in ${env}?`, timeoutSeconds: 0, onTimeout: 'reject' },
        position: { x: (n.position?.x ?? 0) - 140, y: (n.position?.y ?? 0) + 70 },
        environment: env,
      });
      edges = edges.filter((e) => !unapproved.includes(e));
      for (const e of unapproved) edges.push({ id: `${e.from}->${ownGate}`, from: e.from, to: ownGate, on: e.on });
      edges.push({ id: `${ownGate}->${n.id}`, from: ownGate, to: n.id, on: 'success' });
    }
  }
  return { ...spec, nodes, edges };
}
