/**
 * GitLab CI file → pipeline.
 *
 * Jobs become command stages (before_script + script + after_script), ordered
 * by `stages:` (every job of a stage after every job of the previous one)
 * unless `needs:` says otherwise; `when: manual` puts an approval gate before
 * the job, `when: on_failure`/`always` become failure/always connections,
 * `extends`, anchors, merge keys and `!reference` tags are resolved,
 * `parallel: matrix` fans out. What has no equivalent is reported.
 */
import { LIMITS } from '../limits';
import type { EdgeCondition } from '../spec';
import {
  buildSpec,
  clip,
  environmentSlug,
  expandMatrix,
  IdAllocator,
  ImportRefused,
  matrixLabel,
  MAX_FAN_OUT,
  shellQuote,
  type DraftEdge,
  type DraftNode,
  type ImportReport,
  type ImportSuccess,
} from './common';
import { asArray, asString, isRecord, isReferenceTag, parseYamlSource } from './yaml-source';

const RESERVED = new Set(['stages', 'variables', 'default', 'include', 'workflow', 'image', 'services', 'before_script', 'after_script', 'cache', 'types']);
const DEFAULT_STAGES = ['.pre', 'build', 'test', 'deploy', '.post'];

export function importGitlabCi(text: string, opts: { name?: string } = {}): ImportSuccess {
  const src = parseYamlSource(text);
  if (!isRecord(src.value)) throw new ImportRefused('This is not a GitLab CI file: the top level is not a mapping of jobs.');
  const root = resolveReferences(src.value, src.value, 0) as Record<string, unknown>;
  const report: ImportReport = { format: 'gitlab-ci', mapped: [], notCarried: [], warnings: [], environments: [], triggers: [] };
  const ids = new IdAllocator();
  const nodes: DraftNode[] = [];
  const edges: DraftEdge[] = [];

  for (const inc of asArray(root.include)) {
    const what = isRecord(inc) ? Object.entries(inc).map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`).join(', ') : String(inc);
    report.notCarried.push({ construct: `include: ${clip(what, 160)}`, line: src.lineOf(['include']), why: 'included files are not fetched; import them separately or paste their jobs into this file' });
  }
  if (root.workflow !== undefined) report.notCarried.push({ construct: 'workflow:', line: src.lineOf(['workflow']), why: 'workflow rules decide whether GitLab creates a pipeline; use the trigger\'s branch filter instead' });
  for (const key of ['image', 'services', 'cache']) {
    if (root[key] !== undefined || (isRecord(root.default) && root.default[key] !== undefined)) {
      report.notCarried.push({ construct: key, line: src.lineOf([key]) ?? src.lineOf(['default', key]), why: key === 'cache' ? 'stages of one run share a workspace; there is no cache between runs' : 'stages run as sandboxed processes on a runner, not in containers' });
    }
  }
  const defaults = isRecord(root.default) ? root.default : {};
  const globalBefore = root.before_script ?? defaults.before_script;
  const globalAfter = root.after_script ?? defaults.after_script;
  const globalVars = variablesOf(root.variables);
  const stages = asArray(root.stages).map(String);
  const stageOrder = stages.length > 0 ? ['.pre', ...stages.filter((s) => s !== '.pre' && s !== '.post'), '.post'] : DEFAULT_STAGES;

  type Job = { name: string; def: Record<string, unknown>; line?: number; stage: string; entries: string[]; exits: string[]; when: string };
  const jobs: Job[] = [];
  for (const [name, raw] of Object.entries(root)) {
    if (RESERVED.has(name) || name.startsWith('.') || !isRecord(raw)) continue;
    const line = src.lineOf([name]);
    const def = applyExtends(root, name, raw, report, line, 0);
    if (def.script === undefined && def.trigger === undefined && def.run === undefined) continue;
    const stage = asString(def.stage) ?? 'test';
    if (!stageOrder.includes(stage)) {
      report.notCarried.push({ construct: `job ${name}: stage ${stage}`, line, why: `stage "${stage}" is not listed in stages:; the job was placed in the last stage` });
    }
    const when = asString(def.when) ?? 'on_success';
    const job: Job = { name, def, line, stage: stageOrder.includes(stage) ? stage : stageOrder[stageOrder.length - 2]!, entries: [], exits: [], when };
    importJob(job);
    jobs.push(job);
  }
  if (jobs.length === 0) throw new ImportRefused('This is not a GitLab CI file: no job has a script.');

  function importJob(job: Job) {
    const { name, def, line } = job;
    const env: Record<string, string> = {};
    Object.assign(env, globalVars, variablesOf(def.variables));
    const notes: string[] = [];
    if (def.trigger !== undefined) {
      report.notCarried.push({ construct: `job ${name}: trigger`, line, why: 'child and multi-project pipelines are not started; the job became a placeholder stage' });
    }
    const combos = parallelCombos(job);
    let environment: string | undefined;
    const envDef = isRecord(def.environment) ? def.environment : def.environment !== undefined ? { name: def.environment } : undefined;
    if (envDef) {
      const envName = asString(envDef.name) ?? '';
      if (/\$/.test(envName)) {
        report.notCarried.push({ construct: `environment: ${envName}`, line: src.lineOf([name, 'environment']), why: 'dynamic environment names (with $variables) have no equivalent; bind the stage by hand' });
      } else if (envName) {
        environment = environmentSlug(envName);
        if (environment && !report.environments.some((e) => e.name === environment)) {
          report.environments.push({ name: environment, source: envName, protected: /prod/i.test(envName) || job.when === 'manual', line: src.lineOf([name, 'environment']) });
        }
      }
      if (asString(envDef.action) === 'stop') {
        report.warnings.push({ line: src.lineOf([name, 'environment']), message: `Job "${name}" stops environment "${envName}" (action: stop): it became an ordinary stage bound to it; Pipewright does not track stopped environments.` });
      }
      if (envDef.on_stop !== undefined) notes.push(`on_stop: ${String(envDef.on_stop)}`);
    }
    for (const key of ['rules', 'only', 'except'] as const) {
      if (def[key] === undefined) continue;
      const refs = key === 'only' ? onlyRefs(def.only) : [];
      if (refs.length > 0 && !report.triggers.some((t) => t.kind === 'webhook')) {
        report.triggers.push({ kind: 'webhook', branches: refs, tags: [], line: src.lineOf([name, key]) });
      }
      notes.push(`${key}: ${clip(JSON.stringify(def[key]), 300)}`);
      report.warnings.push({ line: src.lineOf([name, key]), message: `Job "${name}": ${key}: kept as a note on the stage (not evaluated): the stage runs in every run${refs.length ? `; its branches became the webhook trigger's filter` : ''}.` });
    }
    if (def.image !== undefined || def.services !== undefined) notes.push(`image: ${clip(JSON.stringify(def.image ?? def.services), 200)}`);
    if (def.artifacts !== undefined) report.warnings.push({ line: src.lineOf([name, 'artifacts']), message: `Job "${name}": artifacts stay in the run's shared workspace; declare them on the stage to store them.` });
    if (def.retry !== undefined) report.warnings.push({ line: src.lineOf([name, 'retry']), message: `Job "${name}": retry became the stage's retry policy only for infrastructure failures; set "attempts" to retry failing scripts.` });
    const before = def.before_script ?? globalBefore;
    const after = def.after_script ?? globalAfter;
    const scriptLines = [
      ...(before !== undefined ? ['# before_script', ...flatLines(before)] : []),
      ...(def.script !== undefined ? ['# script', ...flatLines(def.script)] : []),
    ];
    let command = scriptLines.length > 0 ? `set -e\n${scriptLines.join('\n')}` : `echo ${shellQuote(`job "${name}" triggers another pipeline: not started by Pipewright`)}`;
    if (after !== undefined) {
      command = `(\n${command}\n)\nstatus=$?\n# after_script (runs whatever the script did)\n${flatLines(after).join('\n')}\nexit $status`;
    }
    if (def.allow_failure === true) {
      command = `(\n${command}\n) || echo "job failed (allow_failure): carrying on"`;
      report.warnings.push({ line: src.lineOf([name, 'allow_failure']), message: `Job "${name}": allow_failure — a failing script is reported in the log and the stage succeeds.` });
    }
    const usedCi = new Set([...command.matchAll(/\$\{?(CI_[A-Z0-9_]+|GITLAB_[A-Z0-9_]+)/g)].map((m) => m[1]!));
    if (usedCi.size > 0) {
      report.warnings.push({ line, message: `Job "${name}" uses GitLab's predefined variables (${[...usedCi].slice(0, 8).join(', ')}${usedCi.size > 8 ? ', …' : ''}); they are empty unless the stage's env sets them.` });
    }
    const timeout = parseDuration(asString(def.timeout));
    const ids: string[] = [];
    combos.forEach((combo, i) => {
      const id = ids.length === 0 ? ids_take(name) : ids_take(`${name}-${i + 1}`);
      const stageEnv = { ...env };
      for (const [k, v] of Object.entries(combo)) if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) stageEnv[k] = typeof v === 'object' ? JSON.stringify(v) : String(v);
      nodes.push({
        id,
        kind: 'command',
        name: combos.length > 1 ? `${name} (${matrixLabel(combo)})` : name,
        description: [`stage: ${job.stage}`, ...notes].join('\n'),
        config: { command: clip(command, LIMITS.valueLength), env: stageEnv },
        ...(timeout ? { timeoutSeconds: timeout } : {}),
        ...(environment ? { environment } : {}),
      });
      ids.push(id);
    });
    job.entries = ids;
    job.exits = ids;
    let became = combos.length > 1 ? `${combos.length} parallel command stages` : 'command stage';
    if (job.when === 'manual') {
      const gate = ids_take(`approve-${name}`);
      nodes.push({
        id: gate,
        kind: 'approval',
        name: `Approve ${name}`,
        config: { users: [], groups: ['approvers'], quorum: 1, allowTriggerer: false, instructions: `Run the manual job "${name}"?`, timeoutSeconds: 0, onTimeout: 'reject' },
        // Bound to the job's environment, so it is the approval a protected environment asks for.
        ...(environment ? { environment } : {}),
      });
      for (const id of ids) edges.push({ from: gate, to: id, on: 'success' });
      job.entries = [gate];
      became += ' behind an approval gate (when: manual)';
      if (def.allow_failure !== false) report.warnings.push({ line, message: `Job "${name}" is manual: in GitLab the pipeline goes on without it; here the run waits at the gate "Approve ${name}" (reject it to skip).` });
    } else if (job.when === 'delayed') {
      const seconds = parseDuration(asString(def.start_in)) ?? 0;
      const wait = ids_take(`wait-${name}`);
      nodes.push({ id: wait, kind: 'wait', name: `Wait before ${name}`, config: { seconds } });
      for (const id of ids) edges.push({ from: wait, to: id, on: 'success' });
      job.entries = [wait];
      became += ` after a ${seconds}-second wait (when: delayed)`;
    } else if (job.when === 'never') {
      report.warnings.push({ line, message: `Job "${name}" has when: never; it was imported as a stage anyway — delete it if it should not run.` });
    }
    report.mapped.push({ source: `job ${name} (stage ${job.stage})`, line, became: [...job.entries, ...ids].length ? became : 'nothing', nodeIds: [...new Set([...job.entries, ...ids])] });
  }

  function ids_take(name: string) {
    return ids.take(name);
  }

  function parallelCombos(job: Job): Record<string, unknown>[] {
    const parallel = job.def.parallel;
    if (parallel === undefined) return [{}];
    const line = src.lineOf([job.name, 'parallel']);
    let combos: Record<string, unknown>[];
    if (typeof parallel === 'number') {
      combos = Array.from({ length: Math.max(1, parallel) }, (_, i) => ({ CI_NODE_INDEX: i + 1, CI_NODE_TOTAL: parallel }));
    } else if (isRecord(parallel) && Array.isArray(parallel.matrix)) {
      combos = parallel.matrix.filter(isRecord).flatMap((entry) => {
        const axes: Record<string, unknown[]> = {};
        for (const [k, v] of Object.entries(entry)) axes[k] = asArray(v);
        return expandMatrix(axes);
      });
    } else return [{}];
    if (combos.length > MAX_FAN_OUT) {
      report.warnings.push({ line, message: `Job "${job.name}": parallel gives ${combos.length} jobs; the first ${MAX_FAN_OUT} became parallel stages, the other ${combos.length - MAX_FAN_OUT} were left out.` });
      combos = combos.slice(0, MAX_FAN_OUT);
    }
    return combos.length > 0 ? combos : [{}];
  }

  // Connections: needs, else every job of the previous stage that has jobs.
  const byName = new Map(jobs.map((j) => [j.name, j]));
  const stageIndex = (j: Job) => stageOrder.indexOf(j.stage);
  for (const job of jobs) {
    const on: EdgeCondition = job.when === 'on_failure' ? 'failure' : job.when === 'always' ? 'always' : 'success';
    let upstream: Job[];
    if (job.def.needs !== undefined) {
      upstream = [];
      for (const need of asArray(job.def.needs)) {
        const needName = isRecord(need) ? asString(need.job) : asString(need);
        if (isRecord(need) && (need.pipeline !== undefined || need.project !== undefined)) {
          report.notCarried.push({ construct: `needs: ${clip(JSON.stringify(need), 120)}`, line: src.lineOf([job.name, 'needs']), why: 'needs on another pipeline or project have no equivalent' });
          continue;
        }
        const found = needName ? byName.get(needName) : undefined;
        if (found) upstream.push(found);
        else if (!(isRecord(need) && need.optional === true)) report.notCarried.push({ construct: `needs: ${needName}`, line: src.lineOf([job.name, 'needs']), why: `job "${job.name}" needs "${needName}", which is not in this file` });
      }
    } else {
      const mine = stageIndex(job);
      const earlier = jobs.filter((j) => stageIndex(j) < mine);
      const previous = Math.max(-1, ...earlier.map(stageIndex));
      upstream = earlier.filter((j) => stageIndex(j) === previous);
    }
    if (on === 'failure' && upstream.length > 1) {
      report.warnings.push({ line: job.line, message: `Job "${job.name}" (when: on_failure) runs when the jobs of the previous stage fail; here it needs every one of them to fail, so it may run less often.` });
    }
    for (const u of upstream) for (const a of u.exits) for (const b of job.entries) edges.push({ from: a, to: b, on });
  }

  const name = opts.name ?? 'Imported GitLab CI pipeline';
  const spec = buildSpec({ name, nodes, edges, parameters: [] });
  return { ok: true, format: 'gitlab-ci', spec, report };
}

/** `!reference [job, key]` markers replaced by what they point at (nested up to a few levels). */
function resolveReferences(value: unknown, root: Record<string, unknown>, depth: number): unknown {
  if (depth > 20) return value;
  if (isReferenceTag(value)) {
    let target: unknown = root;
    for (const key of value.__reference) target = isRecord(target) ? target[key] : undefined;
    if (target === undefined) throw new ImportRefused(`!reference [${value.__reference.join(', ')}] points at nothing in this file.`);
    return resolveReferences(target, root, depth + 1);
  }
  if (Array.isArray(value)) return value.map((v) => resolveReferences(v, root, depth + 1));
  if (isRecord(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveReferences(v, root, depth + 1)]));
  return value;
}

/** A job with its `extends:` chain merged in (GitLab's deep merge: mappings merge, everything else is replaced). */
function applyExtends(root: Record<string, unknown>, name: string, job: Record<string, unknown>, report: ImportReport, line: number | undefined, depth: number): Record<string, unknown> {
  if (job.extends === undefined) return job;
  if (depth > 10) throw new ImportRefused(`extends: of job "${name}" nests more than 10 levels (or loops).`);
  let merged: Record<string, unknown> = {};
  for (const parentName of asArray(job.extends).map(String)) {
    const parent = root[parentName];
    if (!isRecord(parent)) {
      report.notCarried.push({ construct: `extends: ${parentName}`, line, why: `job "${name}" extends "${parentName}", which is not in this file (an include?)` });
      continue;
    }
    merged = deepMerge(merged, applyExtends(root, parentName, parent, report, line, depth + 1));
  }
  const own = { ...job };
  delete own.extends;
  return deepMerge(merged, own);
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = isRecord(v) && isRecord(out[k]) ? deepMerge(out[k] as Record<string, unknown>, v) : v;
  return out;
}

function variablesOf(raw: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isRecord(raw)) return out;
  for (const [k, v] of Object.entries(raw)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) continue;
    const value = isRecord(v) ? asString(v.value) : asString(v);
    if (value !== undefined) out[k] = clip(value, LIMITS.valueLength);
  }
  return out;
}

function flatLines(v: unknown): string[] {
  if (Array.isArray(v)) return v.flatMap(flatLines);
  const s = asString(v);
  return s === undefined ? [] : [s];
}

function onlyRefs(only: unknown): string[] {
  const refs = Array.isArray(only) ? only : isRecord(only) ? asArray(only.refs) : [];
  return refs.map(String).filter((r) => !['branches', 'tags', 'merge_requests', 'api', 'pipelines', 'pushes', 'schedules', 'triggers', 'web', 'external', 'chat'].includes(r) && !r.startsWith('/'));
}

/** `1h 30m`, `30 minutes`, `2 hrs` → seconds. */
export function parseDuration(text: string | undefined): number | undefined {
  if (!text) return undefined;
  let total = 0;
  let any = false;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)\s*(d|day|days|h|hr|hrs|hour|hours|m|min|mins|minute|minutes|s|sec|secs|second|seconds)\b/gi)) {
    any = true;
    const n = Number(m[1]);
    const unit = m[2]!.toLowerCase();
    total += n * (unit.startsWith('d') ? 86400 : unit.startsWith('h') ? 3600 : unit.startsWith('m') ? 60 : 1);
  }
  if (!any && /^\d+$/.test(text.trim())) return Number(text.trim());
  return any ? Math.round(total) : undefined;
}
