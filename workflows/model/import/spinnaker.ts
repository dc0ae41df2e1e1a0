/**
 * Spinnaker pipeline JSON → pipeline.
 *
 * Stages connect by `refId`/`requisiteStageRefIds`; `manualJudgment` becomes
 * an approval gate, `wait` a wait, `webhook` a webhook, `deployManifest` a
 * Kubernetes apply (inline manifests); every other stage type becomes a
 * placeholder command stage flagged in the report. `parameterConfig` becomes
 * parameters; triggers are reported.
 */
import { LIMITS } from '../limits';
import type { PipelineParameter } from '../spec';
import {
  buildSpec,
  clip,
  environmentSlug,
  IdAllocator,
  ImportRefused,
  parameterName,
  shellQuote,
  type DraftEdge,
  type DraftNode,
  type ImportReport,
  type ImportSuccess,
} from './common';
import { asArray, asString, isRecord } from './yaml-source';

/** The pipeline object inside what was pasted (a pipeline, a pipeline template's `pipeline`, or a list of pipelines' first). */
export function spinnakerPipelineOf(value: unknown): Record<string, unknown> | undefined {
  // Spinnaker stages are objects with a type (GitLab's `stages:` is a list of names).
  const isPipeline = (v: unknown): v is Record<string, unknown> =>
    isRecord(v) && Array.isArray(v.stages) && (v.stages.length === 0 ? 'parameterConfig' in v || 'triggers' in v : v.stages.every((s) => isRecord(s) && typeof s.type === 'string'));
  if (isPipeline(value)) return value;
  if (isRecord(value) && isPipeline(value.pipeline)) return value.pipeline;
  if (Array.isArray(value) && isPipeline(value[0])) return value[0];
  return undefined;
}

export function importSpinnaker(value: unknown, lineOf: (needle: string) => number | undefined, opts: { name?: string } = {}): ImportSuccess {
  const pipeline = spinnakerPipelineOf(value);
  if (!pipeline) throw new ImportRefused('This is not a Spinnaker pipeline: it has no "stages" list.');
  const report: ImportReport = { format: 'spinnaker', mapped: [], notCarried: [], warnings: [], environments: [], triggers: [] };
  const ids = new IdAllocator();
  const nodes: DraftNode[] = [];
  const edges: DraftEdge[] = [];
  const idOfRef = new Map<string, string>();
  const stages = asArray(pipeline.stages).filter(isRecord);
  if (Array.isArray(value) && value.length > 1) report.warnings.push({ message: `The file holds ${value.length} pipelines; the first ("${asString(pipeline.name) ?? ''}") was imported.` });

  const parameters: PipelineParameter[] = [];
  for (const p of asArray(pipeline.parameterConfig).filter(isRecord)) {
    const raw = asString(p.name);
    if (!raw) continue;
    const name = parameterName(raw);
    if (parameters.some((q) => q.name === name)) continue;
    const options = asArray(p.options).map((o) => (isRecord(o) ? asString(o.value) : asString(o))).filter((o): o is string => o !== undefined);
    const description = [asString(p.description), options.length ? `One of: ${options.join(', ')}` : undefined].filter(Boolean).join(' ');
    const d = asString(p.default);
    parameters.push({ name, type: 'string', required: p.required === true, ...(description ? { description: clip(description, LIMITS.descriptionLength) } : {}), ...(d ? { default: clip(d, LIMITS.valueLength) } : {}) });
    if (options.length) report.warnings.push({ line: lineOf(`"${raw}"`), message: `Parameter "${raw}" has options; they are listed in its description, not enforced.` });
  }
  for (const t of asArray(pipeline.triggers).filter(isRecord)) {
    const type = asString(t.type) ?? 'unknown';
    if (type === 'git') {
      const branch = asString(t.branch);
      report.triggers.push({ kind: 'webhook', branches: branch ? [branch] : ['*'], tags: [] });
    } else if (type === 'cron' && asString(t.cronExpression)) {
      report.notCarried.push({ construct: `trigger cron ${asString(t.cronExpression)}`, line: lineOf('"cronExpression"'), why: 'Spinnaker cron expressions have seconds and Quartz syntax; create the schedule by hand' });
    } else {
      report.notCarried.push({ construct: `trigger ${type}`, line: lineOf(`"${type}"`), why: `${type} triggers have no equivalent; start the pipeline by hand, by webhook or on a schedule` });
    }
  }

  stages.forEach((s, i) => {
    const refId = asString(s.refId) ?? String(i + 1);
    const type = asString(s.type) ?? 'unknown';
    const title = asString(s.name) ?? type;
    idOfRef.set(refId, ids.take(title.length <= 40 ? title : `${type}-${refId}`));
  });

  stages.forEach((s, i) => {
    const refId = asString(s.refId) ?? String(i + 1);
    const id = idOfRef.get(refId)!;
    const type = asString(s.type) ?? 'unknown';
    const title = asString(s.name) ?? type;
    const line = lineOf(`"refId": "${refId}"`) ?? lineOf(`"refId":"${refId}"`);
    const timeoutSeconds = Number(s.stageTimeoutMs) > 0 ? Math.ceil(Number(s.stageTimeoutMs) / 1000) : undefined;
    let node: DraftNode;
    let became: string;
    if (type === 'manualJudgment') {
      const inputs = asArray(s.judgmentInputs).map((j) => (isRecord(j) ? asString(j.value) : asString(j))).filter(Boolean);
      const instructions = [asString(s.instructions), inputs.length ? `Choices in Spinnaker: ${inputs.join(', ')} — write the choice as a comment.` : undefined].filter(Boolean).join('\n');
      node = {
        id,
        kind: 'approval',
        name: title,
        config: {
          users: [],
          groups: ['approvers'],
          quorum: 1,
          allowTriggerer: false,
          instructions: clip(translateSpel(instructions, report, line), LIMITS.descriptionLength),
          timeoutSeconds: timeoutSeconds ?? 0,
          onTimeout: 'reject',
        },
      };
      became = 'approval gate';
      if (inputs.length) report.warnings.push({ line, message: `"${title}": judgment inputs (${inputs.join(', ')}) became instructions; approvers approve or reject and may say their choice in a comment.` });
    } else if (type === 'wait') {
      const seconds = Math.max(0, Number(s.waitTime) || 0);
      node = { id, kind: 'wait', name: title, config: { seconds } };
      became = `wait (${seconds} s)`;
      if (s.skipWaitText !== undefined) report.warnings.push({ line, message: `"${title}": the wait cannot be skipped by hand in Pipewright.` });
    } else if (type === 'webhook') {
      const method = (asString(s.method) ?? 'POST').toUpperCase();
      const url = asString(s.url) ?? '';
      if (method !== 'POST') report.warnings.push({ line, message: `"${title}": Spinnaker sends ${method}; the webhook stage always POSTs.` });
      if (s.waitForCompletion === true) report.notCarried.push({ construct: `${title}: waitForCompletion`, line, why: 'the webhook stage sends one request; add an HTTP check stage to poll for completion' });
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(isRecord(s.customHeaders) ? s.customHeaders : {})) headers[k] = asString(Array.isArray(v) ? v[0] : v) ?? '';
      if (!url) report.notCarried.push({ construct: `${title}: url`, line, why: 'the webhook has no URL (a preconfigured webhook?); enter it on the stage' });
      node = {
        id,
        kind: 'webhook',
        name: title,
        config: { url: translateSpel(url || 'https://example.invalid/set-the-url', report, line), body: translateJson(s.payload ?? {}, report, line), headers },
      };
      became = 'webhook';
    } else if (type === 'deployManifest' && asString(s.source) !== 'artifact' && Array.isArray(s.manifests) && s.manifests.length > 0) {
      const manifests = s.manifests.map((m) => toYaml(m)).join('---\n');
      const account = asString(s.account) ?? '';
      const namespace = asString(s.namespaceOverride) ?? (isRecord(s.manifests[0]) && isRecord(s.manifests[0].metadata) ? asString(s.manifests[0].metadata.namespace) : undefined) ?? 'default';
      const connection = account.toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/^-+|-+$/g, '') || 'default';
      // Kubernetes stages deploy through an environment; the Spinnaker account names it.
      const environment = environmentSlug(account) ?? 'default';
      node = { id, kind: 'k8s-apply', name: title, environment, config: { connection, namespace, manifests: clip(translateSpel(manifests, report, line), LIMITS.valueLength), dryRun: false } };
      if (!report.environments.some((e) => e.name === environment)) report.environments.push({ name: environment, source: account || environment, protected: /prod/i.test(account), line });
      became = 'Kubernetes apply';
      report.warnings.push({ line, message: `"${title}": deploys to the cluster connection "${account}" — register a cluster connection with that name before running it.` });
    } else {
      const why =
        type === 'deployManifest'
          ? 'the manifests come from an artifact, which has no equivalent here'
          : type === 'checkPreconditions'
            ? 'preconditions are Spinnaker expressions; write them as a command or an HTTP check'
            : `Spinnaker's "${type}" stage has no equivalent`;
      const text = `Spinnaker stage "${title}" (${type}): not carried over — ${why}.`;
      node = { id, kind: 'command', name: title, description: text, config: { command: `echo ${shellQuote(text)}`, env: {} } };
      became = 'placeholder command stage (flagged)';
      report.notCarried.push({ construct: `stage ${title} (${type})`, line, why: `${why}; it became a placeholder command stage` });
    }
    if (timeoutSeconds && node.kind !== 'approval' && node.kind !== 'wait') node.timeoutSeconds = timeoutSeconds;
    if (s.failPipeline === false || s.continuePipeline === true) report.warnings.push({ line, message: `"${title}": "ignore the failure" options are not carried over; a failure stops the line.` });
    if (s.stageEnabled !== undefined) report.warnings.push({ line, message: `"${title}": its "conditional on expression" is not evaluated; the stage always runs.` });
    nodes.push(node);
    report.mapped.push({ source: `stage ${title} (${type}, refId ${refId})`, line, became, nodeIds: [id] });
    for (const req of asArray(s.requisiteStageRefIds).map(String)) {
      const from = idOfRef.get(req);
      if (from) edges.push({ from, to: id, on: 'success' });
      else report.notCarried.push({ construct: `requisiteStageRefIds: ${req}`, line, why: `"${title}" waits for stage ${req}, which is not in this pipeline` });
    }
  });
  if (pipeline.limitConcurrent === false) report.warnings.push({ message: 'limitConcurrent: false — Pipewright runs one run of the pipeline at a time by default; raise the concurrency in the settings.' });
  const name = opts.name ?? asString(pipeline.name) ?? 'Imported Spinnaker pipeline';
  const spec = buildSpec({ name, nodes, edges, parameters, settings: { concurrency: pipeline.limitConcurrent === false ? 5 : 1 } });
  return { ok: true, format: 'spinnaker', spec, report };
}

/** `${ parameters.x }` / `${ parameters['x'] }` → `${{ params.x }}`; other SpEL expressions are reported. */
function translateSpel(text: string, report: ImportReport, line: number | undefined): string {
  return text.replace(/\$\{\s*([^}]*)\}/g, (raw, expr: string) => {
    const m = /^(?:trigger\.)?parameters(?:\.([A-Za-z_][\w-]*)|\[\s*['"]([^'"]+)['"]\s*\])\s*$/.exec(expr.trim());
    if (m) return `\${{ params.${parameterName(m[1] ?? m[2]!)} }}`;
    report.notCarried.push({ construct: clip(raw, 120), line, why: 'this Spinnaker expression has no equivalent and was kept as text' });
    return raw.replace('${', '$ {');
  });
}

function translateJson(value: unknown, report: ImportReport, line: number | undefined): unknown {
  if (typeof value === 'string') return translateSpel(value, report, line);
  if (Array.isArray(value)) return value.map((v) => translateJson(v, report, line));
  if (isRecord(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, translateJson(v, report, line)]));
  return value;
}

/** A manifest object as YAML-compatible JSON text (JSON is YAML). */
const toYaml = (m: unknown) => `${JSON.stringify(m, null, 2)}\n`;
