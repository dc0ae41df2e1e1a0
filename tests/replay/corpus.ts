/**
 * The replay corpus: histories in tests/replay/histories and their manifest (who recorded
 * each, what it covers). Written by record-histories.ts, checked by
 * tests/unit/replay-corpus.test.ts, replayed by tests/integration/replay.test.ts.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const HISTORIES = fileURLToPath(new URL('./histories/', import.meta.url));
export const MANIFEST = `${HISTORIES}manifest.json`;

export type WorkflowType = 'pipelineRun' | 'queuedTrigger' | 'scheduledTrigger';

export type ManifestEntry = {
  scenario: string;
  workflowType: WorkflowType;
  /** What the history exercises (the corpus must cover every path in REQUIRED_PATHS). */
  paths: string[];
  recordedBy: { version: string; commit: string; workflowCode: string };
  recordedAt: string;
  events: number;
};

export type Manifest = { histories: Record<string, ManifestEntry> };

/** Paths of the workflows every corpus must hold a history of. */
export const REQUIRED_PATHS = [
  'parallel',
  'outputs',
  'retry',
  'wait-stage',
  'gate-approved',
  'gate-rejected',
  'gate-quorum',
  'gate-timeout-approve',
  'gate-timeout-reject',
  'failure-edge',
  'stop-the-line',
  'cancel',
  'signed-decisions',
  'rerun-reuse',
  'omitted-stages',
  'runner-pools',
  'runner-wait-timeout',
  'queued-trigger',
  'scheduled-trigger',
  'k8s-deploy',
  'k8s-heartbeats',
  'temporal-status-failed',
  'temporal-status-cancelled',
] as const;

export const readManifest = (): Manifest => JSON.parse(readFileSync(MANIFEST, 'utf8')) as Manifest;

