/**
 * Import a CI/CD file as a pipeline: detects the format (GitHub Actions,
 * GitLab CI, Spinnaker), refuses what is no pipeline file (too large, binary,
 * malformed, a YAML bomb) with a clear message, and returns a normal pipeline
 * document with the mapping report. Pure: no I/O.
 */
import { validatePipeline } from '../validate';
import { checkImportText, ImportRefused, type ImportFormat, type ImportResult, type ImportSuccess } from './common';
import { importGithubActions, type SuppliedFiles } from './github-actions';
import { importGitlabCi } from './gitlab-ci';
import { importSpinnaker, spinnakerPipelineOf } from './spinnaker';
import { isRecord, parseYamlSource } from './yaml-source';

export * from './common';
export type { SuppliedFiles } from './github-actions';

export type ImportOptions = {
  /** Format, or detected from the content when left out. */
  format?: ImportFormat;
  /** Name of the new pipeline (default: the file's own name). */
  name?: string;
  /** Other files supplied alongside (reusable workflows), by the path the workflow uses. */
  supplied?: SuppliedFiles;
};

/** Which format a file is, from its content; undefined when it is none of them. */
export function detectFormat(value: unknown): ImportFormat | undefined {
  if (spinnakerPipelineOf(value)) return 'spinnaker';
  if (!isRecord(value)) return undefined;
  if (isRecord(value.jobs) && ('on' in value || 'true' in value || Object.values(value.jobs).some((j) => isRecord(j) && ('runs-on' in j || 'steps' in j || 'uses' in j)))) {
    return 'github-actions';
  }
  if (Object.values(value).some((j) => isRecord(j) && ('script' in j || 'extends' in j || 'trigger' in j)) || Array.isArray(value.stages)) return 'gitlab-ci';
  return undefined;
}

export function importPipelineFile(text: string, opts: ImportOptions = {}): ImportResult {
  try {
    checkImportText(text);
    const trimmed = text.trimStart();
    let json: unknown;
    if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined; // YAML flow mappings start with { too
      }
    }
    const parsed = json ?? parseYamlSource(text).value;
    const format = opts.format ?? detectFormat(parsed);
    if (!format) {
      throw new ImportRefused('This file is not a GitHub Actions workflow (jobs: with runs-on/steps), a GitLab CI file (jobs with script:) or a Spinnaker pipeline (JSON with stages).');
    }
    let result: ImportSuccess;
    if (format === 'spinnaker') {
      const lines = text.split('\n');
      const lineOf = (needle: string) => {
        const i = lines.findIndex((l) => l.includes(needle));
        return i >= 0 ? i + 1 : undefined;
      };
      result = importSpinnaker(parsed, lineOf, { name: opts.name });
    } else if (format === 'github-actions') {
      result = importGithubActions(text, { name: opts.name, supplied: opts.supplied });
    } else {
      result = importGitlabCi(text, { name: opts.name });
    }
    if (result.spec.nodes.length === 0) throw new ImportRefused('The file has no jobs or stages to import.');
    return result;
  } catch (err) {
    if (err instanceof ImportRefused) return { ok: false, error: err.message, ...(err.line ? { line: err.line } : {}) };
    throw err;
  }
}

/** The import with the validator's verdict on its result (what the preview shows). */
export function previewImport(text: string, opts: ImportOptions & { environments?: string[] } = {}) {
  const result = importPipelineFile(text, opts);
  if (!result.ok) return result;
  const { issues, ok } = validatePipeline(result.spec, opts.environments ? { environments: opts.environments } : undefined);
  return { ...result, issues, valid: ok };
}
