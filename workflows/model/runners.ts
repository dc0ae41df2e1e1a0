/**
 * Runner pools: where an executing stage runs.
 *
 * 1. A stage names labels (`runsOn`, e.g. `["linux", "k8s"]`); a runner with
 *    *all* those labels may run it. No labels = the default pool (any runner).
 * 2. A pool is a Temporal task queue whose name is derived here from the sorted,
 *    de-duplicated labels, so the interpreter (which schedules) and the runner
 *    (which polls) agree without talking: `<base>` for [], `<base>:k8s,linux`.
 * 3. A runner with labels L polls the queue of every subset of L, so a stage
 *    asking for fewer labels still reaches it. That is 2^|L| queues, hence the
 *    cap on labels per runner.
 * Pure module: shared by the editor, the validator, the interpreter and the runner.
 */
import { z } from 'zod';

/** Most labels one runner may carry (it polls 2^n queues). */
export const MAX_RUNNER_LABELS = 4;

export const runnerLabelSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(32, 'must be at most 32 characters')
  .regex(/^[a-z0-9][a-z0-9_.-]*$/, 'must be lowercase letters, digits, _ . and -, starting with a letter or digit');

export const runsOnSchema = z
  .array(runnerLabelSchema)
  .max(MAX_RUNNER_LABELS, `at most ${MAX_RUNNER_LABELS} labels`)
  .describe('Labels a runner must all have to run this stage (none = the default pool: any runner).');

export const runnerLabelsSchema = z.array(runnerLabelSchema).max(MAX_RUNNER_LABELS, `a runner may have at most ${MAX_RUNNER_LABELS} labels`);

/** Sorted and de-duplicated (the canonical form of a label set). */
export function normaliseLabels(labels: readonly string[] | undefined): string[] {
  return [...new Set(labels ?? [])].sort();
}

/** The task queue of a label set: `<base>` for the default pool, `<base>:a,b` otherwise. */
export function runnerQueue(base: string, labels: readonly string[] | undefined): string {
  const l = normaliseLabels(labels);
  return l.length === 0 ? base : `${base}:${l.join(',')}`;
}

/** Every queue a runner with `labels` polls (one per subset, the empty set included). */
export function runnerQueues(base: string, labels: readonly string[]): string[] {
  const l = normaliseLabels(labels);
  if (l.length > MAX_RUNNER_LABELS) throw new Error(`a runner may have at most ${MAX_RUNNER_LABELS} labels (got ${l.length})`);
  const out: string[] = [];
  for (let mask = 0; mask < 1 << l.length; mask++) out.push(runnerQueue(base, l.filter((_, i) => mask & (1 << i))));
  return out;
}

/** Whether a runner with `runnerLabels` may run a stage that asks for `runsOn`. */
export function labelsSatisfy(runnerLabels: readonly string[], runsOn: readonly string[] | undefined): boolean {
  const have = new Set(runnerLabels);
  return (runsOn ?? []).every((l) => have.has(l));
}

/** "linux, k8s", or "(any)" for the default pool: how a label set reads in messages. */
export function describeLabels(labels: readonly string[] | undefined): string {
  const l = normaliseLabels(labels);
  return l.length === 0 ? '(any)' : l.join(', ');
}

/** What the validator and the editor know about registered runners (optional context). */
export type RunnerFacts = {
  /** Label sets of registered, not revoked runners, with whether each is online. */
  runners: { labels: string[]; online: boolean }[];
};
