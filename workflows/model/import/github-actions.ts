/**
 * GitHub Actions workflow → pipeline.
 *
 * Jobs become command stages (`run:` steps in order, one script), `needs`
 * success edges (`if: failure()` failure edges, `always()` always edges), a
 * matrix a fan-out of stages joined by whatever needs the job, `environment:`
 * a binding, `workflow_dispatch.inputs` parameters, `push`/`schedule`
 * triggers. Expressions become parameter/output variables where they mean one;
 * the rest is reported with its line.
 */
import { LIMITS } from '../limits';
import { shellNamePart } from '../shell-env';
import type { PipelineParameter } from '../spec';
import {
  buildSpec,
  clip,
  environmentSlug,
  expandMatrix,
  IdAllocator,
  ImportRefused,
  matrixLabel,
  MAX_FAN_OUT,
  parameterName,
  shellQuote,
  type DraftEdge,
  type DraftNode,
  type ImportReport,
  type ImportSuccess,
} from './common';
import { asArray, asString, isRecord, parseYamlSource, type YamlSource } from './yaml-source';

/** Extra files supplied alongside (reusable workflows), by path as referenced (`./.github/workflows/x.yml`) or file name. */
export type SuppliedFiles = Record<string, string>;

type JobGroup = { entries: string[]; exits: string[] };
type Ctx = {
  src: YamlSource;
  report: ImportReport;
  ids: IdAllocator;
  nodes: DraftNode[];
  edges: DraftEdge[];
  params: Map<string, string>;
  supplied: SuppliedFiles;
  depth: number;
};

const EXPR = /\$\{\{\s*([\s\S]*?)\s*\}\}/g;

export function importGithubActions(text: string, opts: { name?: string; supplied?: SuppliedFiles } = {}): ImportSuccess {
  const src = parseYamlSource(text);
  const doc = src.value;
  if (!isRecord(doc) || !isRecord(doc.jobs)) throw new ImportRefused('This is not a GitHub Actions workflow: it has no `jobs:` mapping.');
  const report: ImportReport = { format: 'github-actions', mapped: [], notCarried: [], warnings: [], environments: [], triggers: [] };
  const ctx: Ctx = { src, report, ids: new IdAllocator(), nodes: [], edges: [], params: new Map(), supplied: opts.supplied ?? {}, depth: 0 };
  const parameters = importTriggers(ctx, doc);
  if (doc.concurrency !== undefined) {
    report.warnings.push({
      line: src.lineOf(['concurrency']),
      message: 'concurrency: became "one run at a time" (settings.concurrency = 1); runs queue instead of cancelling one another (cancel-in-progress is not carried over).',
    });
  }
  if (isRecord(doc.env) && Object.keys(doc.env).length > 0) {
    report.warnings.push({ line: src.lineOf(['env']), message: 'Workflow-level env: was copied into every stage\'s environment.' });
  }
  if (doc.permissions !== undefined) report.notCarried.push({ construct: 'permissions', line: src.lineOf(['permissions']), why: 'GITHUB_TOKEN permissions have no meaning outside GitHub.' });
  if (doc.defaults !== undefined) report.warnings.push({ line: src.lineOf(['defaults']), message: 'defaults: (run shell / working-directory) applied to every run step.' });
  importJobs(ctx, doc, [], isRecord(doc.env) ? doc.env : {});
  const name = opts.name ?? asString(doc.name) ?? 'Imported GitHub Actions workflow';
  const spec = buildSpec({ name, nodes: ctx.nodes, edges: ctx.edges, parameters, settings: { concurrency: 1 } });
  return { ok: true, format: 'github-actions', spec, report };
}

function importTriggers(ctx: Ctx, doc: Record<string, unknown>): PipelineParameter[] {
  const { src, report } = ctx;
  // `on:` may be a string, a list or a mapping (YAML 1.1 parsers read `on` as true: this library does not).
  const on = doc.on ?? doc.true;
  const events: Record<string, unknown> = typeof on === 'string' ? { [on]: null } : Array.isArray(on) ? Object.fromEntries(on.map((e) => [String(e), null])) : isRecord(on) ? on : {};
  const parameters: PipelineParameter[] = [];
  for (const [event, config] of Object.entries(events)) {
    const line = src.lineOf(['on', event]);
    if (event === 'push') {
      const c = isRecord(config) ? config : {};
      const branches = asArray(c.branches).map(String);
      const tags = asArray(c.tags).map(String);
      report.triggers.push({ kind: 'webhook', branches: branches.length || tags.length ? branches : ['*'], tags, line });
      if (c['branches-ignore'] || c['tags-ignore'] || c.paths || c['paths-ignore']) {
        report.notCarried.push({ construct: 'on.push filters', line, why: 'branches-ignore, tags-ignore and paths filters have no equivalent: the webhook trigger filters by branch only.' });
      }
    } else if (event === 'schedule') {
      for (const entry of asArray(config)) {
        const cron = isRecord(entry) ? asString(entry.cron) : undefined;
        if (cron) report.triggers.push({ kind: 'schedule', cron, line });
      }
    } else if (event === 'workflow_dispatch' || event === 'workflow_call') {
      const inputs = isRecord(config) && isRecord(config.inputs) ? config.inputs : {};
      for (const [inputName, def] of Object.entries(inputs)) {
        if (parameters.some((p) => p.name === inputName)) continue;
        const p = dispatchParameter(ctx, inputName, isRecord(def) ? def : {}, src.lineOf(['on', event, 'inputs', inputName]));
        parameters.push(p);
        ctx.params.set(inputName, p.name);
      }
      if (event === 'workflow_call' && isRecord(config) && (config.secrets || config.outputs)) {
        report.notCarried.push({ construct: 'on.workflow_call secrets/outputs', line, why: 'A pipeline started by another one receives parameters only; secrets come from environments.' });
      }
    } else {
      report.notCarried.push({ construct: `on.${event}`, line, why: `The "${event}" event has no Pipewright trigger; start the pipeline by hand, by webhook or on a schedule.` });
    }
  }
  return parameters;
}

function dispatchParameter(ctx: Ctx, inputName: string, def: Record<string, unknown>, line: number | undefined): PipelineParameter {
  const name = parameterName(inputName);
  const type = asString(def.type) ?? 'string';
  const description = asString(def.description);
  const required = def.required === true;
  const base = { name, required, ...(description ? { description: clip(description, LIMITS.descriptionLength) } : {}) };
  if (name !== inputName) ctx.report.warnings.push({ line, message: `Input "${inputName}" became parameter "${name}" (parameter names use letters, digits, _ and -).` });
  if (type === 'boolean') {
    const d = def.default;
    return { ...base, type: 'boolean', ...(d === true || d === 'true' ? { default: true } : d === false || d === 'false' ? { default: false } : {}) };
  }
  if (type === 'number') {
    const n = Number(def.default);
    return { ...base, type: 'number', ...(def.default !== undefined && Number.isFinite(n) ? { default: n } : {}) };
  }
  const d = asString(def.default);
  if (type === 'choice') {
    const options = asArray(def.options).map(String);
    ctx.report.warnings.push({ line, message: `Choice input "${inputName}" became a text parameter; its options (${clip(options.join(', '), 200)}) are listed in its description, not enforced.` });
    return { ...base, type: 'string', description: clip(`${description ? `${description} ` : ''}One of: ${options.join(', ')}`, LIMITS.descriptionLength), ...(d !== undefined ? { default: clip(d, LIMITS.valueLength) } : {}) };
  }
  if (type === 'environment') {
    ctx.report.warnings.push({ line, message: `Environment input "${inputName}" became a text parameter naming an environment.` });
  }
  return { ...base, type: 'string', ...(d !== undefined ? { default: clip(d, LIMITS.valueLength) } : {}) };
}

/** Imports the jobs of one workflow (the top one or a reusable one expanded in place); returns each job's group. */
function importJobs(ctx: Ctx, doc: Record<string, unknown>, pathPrefix: (string | number)[], workflowEnv: Record<string, unknown>, idPrefix = '', callerNeeds: string[] = []): Map<string, JobGroup> {
  const jobs = isRecord(doc.jobs) ? doc.jobs : {};
  const groups = new Map<string, JobGroup>();
  const nodeIdOfJob = new Map<string, string>();
  // Ids first, so `needs.X.outputs.Y` can name a later job's stage.
  for (const jobId of Object.keys(jobs)) nodeIdOfJob.set(jobId, ctx.ids.take(`${idPrefix}${jobId}`));
  const pending = new Map<string, { needs: string[]; condition: string | undefined; line?: number }>();
  for (const [jobId, raw] of Object.entries(jobs)) {
    const path = [...pathPrefix, 'jobs', jobId];
    const line = ctx.src.lineOf(path);
    if (!isRecord(raw)) {
      ctx.report.notCarried.push({ construct: `job ${jobId}`, line, why: 'not a mapping' });
      continue;
    }
    const needs = asArray(raw.needs).map(String);
    const condition = asString(raw.if);
    pending.set(jobId, { needs, condition, line: (condition ? ctx.src.lineOf([...path, 'if']) : undefined) ?? line });
    const group = isRecord(raw) && typeof raw.uses === 'string'
      ? importCalledWorkflow(ctx, jobId, raw, path, nodeIdOfJob.get(jobId)!)
      : importJob(ctx, jobId, raw, path, nodeIdOfJob.get(jobId)!, nodeIdOfJob, workflowEnv, doc);
    groups.set(jobId, group);
  }
  for (const [jobId, { needs, condition, line }] of pending) {
    const group = groups.get(jobId);
    if (!group) continue;
    const on = edgeConditionOf(ctx, jobId, condition, line);
    const upstream = needs.length > 0 ? needs : [];
    for (const need of upstream) {
      const from = groups.get(need);
      if (!from) {
        ctx.report.notCarried.push({ construct: `needs: ${need}`, line, why: `job "${jobId}" needs "${need}", which is not in this workflow` });
        continue;
      }
      for (const a of from.exits) for (const b of group.entries) ctx.edges.push({ from: a, to: b, on });
    }
    if (upstream.length === 0) for (const a of callerNeeds) for (const b of group.entries) ctx.edges.push({ from: a, to: b, on: 'success' });
  }
  return groups;
}

function edgeConditionOf(ctx: Ctx, jobId: string, condition: string | undefined, line: number | undefined): 'success' | 'failure' | 'always' {
  if (!condition) return 'success';
  const c = condition.replace(/^\$\{\{\s*|\s*\}\}$/g, '').trim();
  if (/^always\(\)$/.test(c) || /^!\s*cancelled\(\)$/.test(c)) return 'always';
  if (/^failure\(\)$/.test(c)) return 'failure';
  if (/^success\(\)$/.test(c)) return 'success';
  if (/always\(\)/.test(c)) {
    ctx.report.warnings.push({ line, message: `Job "${jobId}": if: ${clip(c, 200)} — became an "always" connection; the rest of the condition is kept as a note, not evaluated.` });
    return 'always';
  }
  if (/failure\(\)/.test(c)) {
    ctx.report.warnings.push({ line, message: `Job "${jobId}": if: ${clip(c, 200)} — became a "failure" connection; the rest of the condition is kept as a note, not evaluated.` });
    return 'failure';
  }
  ctx.report.warnings.push({ line, message: `Job "${jobId}": if: ${clip(c, 200)} — kept as a note on the stage; the stage always runs after what it needs.` });
  return 'success';
}

function importCalledWorkflow(ctx: Ctx, jobId: string, raw: Record<string, unknown>, path: (string | number)[], nodeId: string): JobGroup {
  const uses = String(raw.uses);
  const line = ctx.src.lineOf([...path, 'uses']);
  const fileName = uses.split('@')[0]!.split('/').pop() ?? uses;
  const supplied = ctx.supplied[uses] ?? ctx.supplied[uses.replace(/^\.\//, '')] ?? ctx.supplied[fileName] ?? ctx.supplied[uses.split('@')[0]!];
  if (supplied !== undefined && ctx.depth < 4) {
    let inner: YamlSource;
    try {
      inner = parseYamlSource(supplied);
    } catch (err) {
      ctx.report.notCarried.push({ construct: `uses: ${uses}`, line, why: `the supplied file could not be read: ${err instanceof Error ? err.message : String(err)}` });
      return placeholder(ctx, jobId, nodeId, `Reusable workflow ${uses}: the supplied file could not be read.`);
    }
    if (isRecord(inner.value) && isRecord(inner.value.jobs)) {
      const outer = ctx.src;
      const before = ctx.nodes.length;
      ctx.src = inner;
      ctx.depth++;
      const withInputs = isRecord(raw.with) ? raw.with : {};
      const groups = importJobs(ctx, inner.value, [], isRecord(inner.value.env) ? inner.value.env : {}, `${nodeId}-`);
      ctx.depth--;
      ctx.src = outer;
      const inner_nodes = ctx.nodes.slice(before);
      for (const n of inner_nodes) n.name = clip(`${jobId} / ${n.name}`, LIMITS.nameLength);
      if (Object.keys(withInputs).length > 0) {
        ctx.report.warnings.push({ line, message: `Reusable workflow ${uses}: its inputs (${Object.keys(withInputs).join(', ')}) are passed as parameters of this pipeline with the same names when they exist.` });
      }
      const all = [...groups.values()];
      const hasIncoming = new Set(ctx.edges.map((e) => e.to));
      const hasOutgoing = new Set(ctx.edges.map((e) => e.from));
      const entries = all.flatMap((g) => g.entries).filter((id) => !hasIncoming.has(id));
      const exits = all.flatMap((g) => g.exits).filter((id) => !hasOutgoing.has(id));
      ctx.report.mapped.push({ source: `job ${jobId} (uses: ${uses})`, line, became: `expanded from the supplied file into ${inner_nodes.length} stage(s)`, nodeIds: inner_nodes.map((n) => n.id) });
      return { entries, exits };
    }
  }
  const missing = (ctx.report.missingWorkflows ??= []);
  if (!missing.some((m) => m.uses === uses)) missing.push({ uses, ...(line ? { line } : {}) });
  ctx.report.notCarried.push({
    construct: `uses: ${uses}`,
    line,
    why: `job "${jobId}" calls a reusable workflow; supply ${fileName} alongside to expand it. It became a placeholder stage that prints what it would call.`,
  });
  return placeholder(ctx, jobId, nodeId, `Calls the reusable workflow ${uses} (not expanded: supply the file alongside when importing).`);
}

function placeholder(ctx: Ctx, jobId: string, nodeId: string, description: string): JobGroup {
  ctx.nodes.push({ id: nodeId, kind: 'command', name: jobId, description, config: { command: `echo ${shellQuote(description)}`, env: {} } });
  ctx.report.mapped.push({ source: `job ${jobId}`, became: 'placeholder command stage (flagged)', nodeIds: [nodeId] });
  return { entries: [nodeId], exits: [nodeId] };
}

function importJob(
  ctx: Ctx,
  jobId: string,
  job: Record<string, unknown>,
  path: (string | number)[],
  nodeId: string,
  nodeIdOfJob: Map<string, string>,
  workflowEnv: Record<string, unknown>,
  doc: Record<string, unknown>,
): JobGroup {
  const { report, src } = ctx;
  const line = src.lineOf(path);
  const title = asString(job.name) ?? jobId;
  const notes: string[] = [];
  // Environment binding.
  const envRaw = isRecord(job.environment) ? job.environment.name : job.environment;
  const envName = asString(envRaw);
  let environment: string | undefined;
  if (envName) {
    if (/\$\{\{/.test(envName)) {
      report.notCarried.push({ construct: `environment: ${envName}`, line: src.lineOf([...path, 'environment']), why: 'the environment is chosen by an expression; bind the stage to an environment by hand' });
    } else {
      environment = environmentSlug(envName);
      if (environment && !report.environments.some((e) => e.name === environment)) {
        report.environments.push({ name: environment, source: envName, protected: /prod/i.test(envName), line: src.lineOf([...path, 'environment']) });
      }
      if (environment && environment !== envName) report.warnings.push({ line: src.lineOf([...path, 'environment']), message: `Environment "${envName}" became "${environment}" (environment names are lowercase letters, digits and -).` });
    }
  }
  const runsOn = job['runs-on'];
  if (runsOn !== undefined) notes.push(`runs-on: ${clip(JSON.stringify(runsOn), 200)}`);
  if (job.container !== undefined || job.services !== undefined) {
    report.notCarried.push({ construct: `job ${jobId}: container/services`, line, why: 'stages run as sandboxed processes on a runner, not in containers; install what the job needs on the runner' });
  }
  if (job.permissions !== undefined) report.notCarried.push({ construct: `job ${jobId}: permissions`, line: src.lineOf([...path, 'permissions']), why: 'GITHUB_TOKEN permissions have no meaning outside GitHub.' });
  if (job.if !== undefined) notes.push(`if: ${String(job.if)}`);
  if (job.concurrency !== undefined) report.warnings.push({ line: src.lineOf([...path, 'concurrency']), message: `Job "${jobId}": concurrency: not carried per job; the pipeline runs one run at a time.` });

  // Matrix fan-out.
  const strategy = isRecord(job.strategy) ? job.strategy : {};
  let combos: Record<string, unknown>[] = [{}];
  if (strategy.matrix !== undefined) {
    const matrix = isRecord(strategy.matrix) ? strategy.matrix : {};
    if (typeof strategy.matrix === 'string') {
      report.notCarried.push({ construct: `job ${jobId}: strategy.matrix`, line: src.lineOf([...path, 'strategy']), why: 'the matrix is computed by an expression at run time; the job became one stage' });
    } else {
      const axes: Record<string, unknown[]> = {};
      let dynamic = false;
      for (const [k, v] of Object.entries(matrix)) {
        if (k === 'include' || k === 'exclude') continue;
        if (Array.isArray(v)) axes[k] = v;
        else dynamic = true;
      }
      const include = asArray(matrix.include).filter(isRecord);
      const exclude = asArray(matrix.exclude).filter(isRecord);
      if (dynamic || typeof matrix.include === 'string') {
        report.notCarried.push({ construct: `job ${jobId}: strategy.matrix`, line: src.lineOf([...path, 'strategy']), why: 'part of the matrix is computed by an expression at run time and was left out' });
      }
      const all = expandMatrix(axes, include, exclude);
      if (all.length > 0) combos = all;
      if (all.length > MAX_FAN_OUT) {
        report.warnings.push({ line: src.lineOf([...path, 'strategy']), message: `Job "${jobId}": the matrix has ${all.length} combinations; the first ${MAX_FAN_OUT} became parallel stages, the other ${all.length - MAX_FAN_OUT} were left out.` });
        combos = all.slice(0, MAX_FAN_OUT);
      }
      if (strategy['fail-fast'] !== false && combos.length > 1) {
        report.warnings.push({ line: src.lineOf([...path, 'strategy']), message: `Job "${jobId}": fail-fast — when one matrix stage fails, the run stops its running siblings (Pipewright's stop-the-line).` });
      }
      if (strategy['max-parallel'] !== undefined) report.warnings.push({ line: src.lineOf([...path, 'strategy']), message: `Job "${jobId}": max-parallel is not carried over; all matrix stages may run at once.` });
    }
  }

  const ids: string[] = [];
  combos.forEach((combo, i) => {
    const id = combos.length > 1 ? (i === 0 ? nodeId : ctx.ids.take(`${nodeId}-${i + 1}`)) : nodeId;
    const name = combos.length > 1 ? `${title} (${matrixLabel(combo)})` : title;
    const stageEnv: Record<string, string> = {};
    const command = jobScript(ctx, jobId, job, path, combo, stageEnv, nodeIdOfJob, environment, doc);
    for (const [k, v] of Object.entries({ ...workflowEnv, ...(isRecord(job.env) ? job.env : {}) })) {
      if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) stageEnv[k] ??= envValue(ctx, asString(v) ?? '', { jobId, line, nodeIdOfJob, environment, combo });
    }
    for (const [k, v] of Object.entries(combo)) stageEnv[`MATRIX_${shellNamePart(k)}`] = typeof v === 'object' ? JSON.stringify(v) : String(v);
    const timeoutMinutes = Number(job['timeout-minutes']);
    ctx.nodes.push({
      id,
      kind: 'command',
      name,
      ...(notes.length ? { description: notes.join('\n') } : {}),
      config: { command, env: stageEnv },
      ...(Number.isFinite(timeoutMinutes) && timeoutMinutes > 0 ? { timeoutSeconds: timeoutMinutes * 60 } : {}),
      ...(environment ? { environment } : {}),
    });
    ids.push(id);
  });
  report.mapped.push({
    source: `job ${jobId}`,
    line,
    became: combos.length > 1 ? `${combos.length} parallel command stages (matrix), joined by what follows` : 'command stage',
    nodeIds: ids,
  });
  return { entries: ids, exits: ids };
}

type ExprScope = { jobId: string; line?: number; nodeIdOfJob: Map<string, string>; environment?: string; combo: Record<string, unknown> };
type Meaning =
  | { kind: 'param'; name: string }
  | { kind: 'output'; stageId: string; name: string }
  | { kind: 'secret'; name: string }
  | { kind: 'variable'; name: string }
  | { kind: 'literal'; value: string };

/** What an expression means here, or undefined when it has no equivalent. */
function meaningOf(ctx: Ctx, expr: string, scope: ExprScope): Meaning | undefined {
  let m = /^(?:inputs|github\.event\.inputs)\.([A-Za-z_][\w-]*)$/.exec(expr);
  if (m) return { kind: 'param', name: ctx.params.get(m[1]!) ?? parameterName(m[1]!) };
  m = /^needs\.([A-Za-z_][\w-]*)\.outputs\.([A-Za-z_][\w-]*)$/.exec(expr);
  if (m && scope.nodeIdOfJob.has(m[1]!)) return { kind: 'output', stageId: scope.nodeIdOfJob.get(m[1]!)!, name: m[2]! };
  m = /^secrets\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(expr);
  if (m) return { kind: 'secret', name: m[1]! };
  m = /^env\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(expr);
  if (m) return { kind: 'variable', name: m[1]! };
  m = /^matrix\.([A-Za-z_][\w-]*)$/.exec(expr);
  if (m && Object.hasOwn(scope.combo, m[1]!)) return { kind: 'variable', name: `MATRIX_${shellNamePart(m[1]!)}` };
  m = /^(github|runner)\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(expr);
  if (m) return { kind: 'variable', name: `${m[1]!.toUpperCase()}_${m[2]!.toUpperCase()}` };
  return undefined;
}

/** A `run:` text with every expression turned into a variable expansion (never spliced values). */
function shellText(ctx: Ctx, text: string, scope: ExprScope, line: number | undefined): string {
  return text.replace(EXPR, (_raw, inner: string) => {
    const expr = inner.trim();
    const meaning = meaningOf(ctx, expr, scope);
    if (!meaning) {
      const name = `GHA_EXPR_${shellNamePart(expr).replace(/_+/g, '_').slice(0, 40).toUpperCase()}`;
      ctx.report.notCarried.push({ construct: `\${{ ${clip(expr, 120)} }}`, line, why: `job "${scope.jobId}": this expression has no equivalent; it became the variable $${name}, empty unless the stage sets it` });
      return `\${${name}}`;
    }
    return expansion(ctx, meaning, scope, line);
  });
}

function expansion(ctx: Ctx, meaning: Meaning, scope: ExprScope, line: number | undefined): string {
  switch (meaning.kind) {
    case 'param':
      return `\${PW_PARAM_${shellNamePart(meaning.name)}}`;
    case 'output':
      return `\${PW_OUTPUT_${shellNamePart(meaning.stageId)}_${shellNamePart(meaning.name)}}`;
    case 'secret':
      if (scope.environment) return `\${PW_SECRET_${meaning.name}}`;
      noteSecret(ctx, meaning.name, scope, line);
      return `\${${meaning.name}}`;
    case 'variable':
      if (/^(GITHUB|RUNNER)_/.test(meaning.name)) noteContext(ctx, meaning.name, line);
      return `\${${meaning.name}}`;
    case 'literal':
      return meaning.value;
  }
}

function noteSecret(ctx: Ctx, name: string, scope: ExprScope, line: number | undefined) {
  if (ctx.report.notCarried.some((n) => n.construct === `secrets.${name}` && n.why.includes(`"${scope.jobId}"`))) return;
  ctx.report.notCarried.push({ construct: `secrets.${name}`, line, why: `job "${scope.jobId}" is bound to no environment; store ${name} as a secret of an environment and bind the stage to it (it then reads $PW_SECRET_${name})` });
}

function noteContext(ctx: Ctx, name: string, line: number | undefined) {
  if (ctx.report.warnings.some((w) => w.message.includes(`$${name} `))) return;
  ctx.report.warnings.push({ line, message: `A GitHub context value became the variable $${name} — GitHub runners set it, Pipewright does not: it is empty unless the runner's environment provides it.` });
}

/** An `env:` value: data, not shell text, so references stay `${{ … }}` templates the interpreter substitutes. */
function envValue(ctx: Ctx, value: string, scope: ExprScope): string {
  return value.replace(EXPR, (_raw, inner: string) => {
    const expr = inner.trim();
    const meaning = meaningOf(ctx, expr, scope);
    if (meaning?.kind === 'param') return `\${{ params.${meaning.name} }}`;
    if (meaning?.kind === 'output') return `\${{ stages.${meaning.stageId}.outputs.${meaning.name} }}`;
    if (meaning?.kind === 'secret' && scope.environment) return `\${{ secrets.${meaning.name} }}`;
    if (meaning?.kind === 'variable' && meaning.name.startsWith('MATRIX_')) {
      const key = Object.keys(scope.combo).find((k) => `MATRIX_${shellNamePart(k)}` === meaning.name);
      const v = key !== undefined ? scope.combo[key] : '';
      return typeof v === 'object' ? JSON.stringify(v) : String(v);
    }
    if (meaning?.kind === 'secret') noteSecret(ctx, meaning.name, scope, scope.line);
    else ctx.report.notCarried.push({ construct: `\${{ ${clip(expr, 120)} }}`, line: scope.line, why: `job "${scope.jobId}": an env value with no equivalent; it became empty` });
    return '';
  });
}

/** Text only printed by a script, with GitHub expressions shown as `<expr>` (never a template the validator would resolve). */
const printedText = (text: string) => text.replace(/\$\{\{\s*(.*?)\s*\}\}/g, '<$1>');

function jobScript(
  ctx: Ctx,
  jobId: string,
  job: Record<string, unknown>,
  path: (string | number)[],
  combo: Record<string, unknown>,
  stageEnv: Record<string, string>,
  nodeIdOfJob: Map<string, string>,
  environment: string | undefined,
  doc: Record<string, unknown>,
): string {
  const { report, src } = ctx;
  const scope: ExprScope = { jobId, line: src.lineOf(path), nodeIdOfJob, environment, combo };
  const defaults = isRecord(job.defaults) && isRecord(job.defaults.run) ? job.defaults.run : isRecord(doc.defaults) && isRecord(doc.defaults.run) ? doc.defaults.run : {};
  const lines: string[] = ['set -e', '# Step outputs ($GITHUB_OUTPUT) become outputs of this stage.', 'export GITHUB_OUTPUT="$PIPEWRIGHT_OUTPUT"'];
  const steps = asArray(job.steps);
  steps.forEach((rawStep, i) => {
    if (!isRecord(rawStep)) return;
    const stepPath = [...path, 'steps', i];
    const line = src.lineOf(stepPath);
    const label = asString(rawStep.name) ?? asString(rawStep.id) ?? (typeof rawStep.uses === 'string' ? rawStep.uses : `step ${i + 1}`);
    // A step's name is only printed: an expression in it (`Set up ${{ matrix.python }}`) is shown as text, not resolved.
    const shown = printedText(label);
    if (typeof rawStep.uses === 'string') {
      lines.push('', `# step ${i + 1}: ${oneLine(shown)}`, `echo ${shellQuote(`step "${shown}" uses ${printedText(rawStep.uses)}: not run by Pipewright`)}`);
      if (!report.notCarried.some((n) => n.construct === `uses: ${rawStep.uses}` && n.why.includes(`"${jobId}"`))) {
        report.notCarried.push({ construct: `uses: ${rawStep.uses}`, line, why: `job "${jobId}", step "${label}": actions are not run; the stage prints the step instead. Add the commands it stands for to the script.` });
      }
      return;
    }
    const run = asString(rawStep.run);
    if (run === undefined) return;
    if (rawStep.if !== undefined) report.warnings.push({ line, message: `Job "${jobId}", step "${label}": if: ${clip(String(rawStep.if), 160)} — not evaluated; the step always runs.` });
    for (const [k, v] of Object.entries(isRecord(rawStep.env) ? rawStep.env : {})) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) continue;
      const value = envValue(ctx, asString(v) ?? '', { ...scope, line });
      if (stageEnv[k] !== undefined && stageEnv[k] !== value) report.warnings.push({ line, message: `Job "${jobId}": ${k} is set differently by two steps; the stage uses the first value.` });
      stageEnv[k] ??= value;
    }
    const cwd = asString(rawStep['working-directory']) ?? asString(defaults['working-directory']);
    const shell = asString(rawStep.shell) ?? asString(defaults.shell) ?? 'bash';
    const body = shellText(ctx, run, scope, line);
    lines.push('', `# step ${i + 1}: ${oneLine(shown)}`);
    const cd = cwd ? `cd ${cwd.includes('${{') ? `"${shellText(ctx, cwd, scope, line)}"` : shellQuote(cwd)}` : undefined;
    if (/^(bash|sh)(\s|$)/.test(shell)) {
      lines.push('(', ...(cd ? [cd] : []), body.replace(/\s+$/, ''), ')');
      if (rawStep['continue-on-error'] === true) {
        lines[lines.length - 1] = ') || echo "step failed (continue-on-error): carrying on"';
      }
    } else {
      const interpreter = /^python/.test(shell) ? 'python3' : /^pwsh|^powershell/.test(shell) ? 'pwsh -NoProfile -Command -' : /^cmd/.test(shell) ? undefined : shell.replace(/\{0\}/g, '').trim();
      if (!interpreter) {
        report.notCarried.push({ construct: `shell: ${shell}`, line, why: `job "${jobId}", step "${label}": Windows cmd scripts cannot run on a Linux runner; the step was left out` });
        return;
      }
      report.warnings.push({ line, message: `Job "${jobId}", step "${label}": shell ${shell} runs as \`${interpreter}\` reading the script from standard input.` });
      lines.push('(', ...(cd ? [cd] : []), `${interpreter} <<'PIPEWRIGHT_STEP'`, body.replace(/\s+$/, ''), 'PIPEWRIGHT_STEP', ')');
    }
  });
  // Job outputs named differently from the step output they come from get a line of their own.
  const outputs = isRecord(job.outputs) ? job.outputs : {};
  for (const [outName, expr] of Object.entries(outputs)) {
    const m = /^\$\{\{\s*steps\.[\w-]+\.outputs\.([\w-]+)\s*\}\}$/.exec(String(expr).trim());
    if (!m) {
      report.notCarried.push({ construct: `jobs.${jobId}.outputs.${outName}`, line: src.lineOf([...path, 'outputs', outName]), why: 'only outputs taken from a step output (${{ steps.<id>.outputs.<name> }}) are carried over' });
      continue;
    }
    if (m[1] !== outName && /^[A-Za-z_][\w-]*$/.test(outName)) {
      lines.push('', `# job output ${outName} = step output ${m[1]}`, `grep '^${m[1]}=' "$PIPEWRIGHT_OUTPUT" | tail -n 1 | sed 's/^${m[1]}=/${outName}=/' >> "$PIPEWRIGHT_OUTPUT" || true`);
    }
  }
  if (job['continue-on-error'] === true) {
    report.warnings.push({ line: src.lineOf([...path, 'continue-on-error']), message: `Job "${jobId}": continue-on-error — a failing script is reported in the log and the stage succeeds.` });
    return clip(['(', ...lines, ') || echo "job failed (continue-on-error): carrying on"'].join('\n'), LIMITS.valueLength);
  }
  if (lines.length === 3) lines.push('', `echo ${shellQuote(`job "${jobId}" has no run steps`)}`);
  return clip(lines.join('\n'), LIMITS.valueLength);
}

const oneLine = (text: string) => text.replace(/[\r\n]+/g, ' ').slice(0, 200);
