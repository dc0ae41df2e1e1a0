/**
 * Starting points for "New pipeline from template".
 *
 * 1. Each template is a complete, valid pipeline built only from stage kinds
 *    every installation has (command, http-check, approval, wait), so it runs
 *    on any machine; the commands echo what a real one would do and are meant
 *    to be replaced.
 * 2. Positions are laid out here in layers (longest path from the start), so a
 *    new pipeline opens with a tidy drawing and keeps it.
 * 3. Commands read parameters and outputs as environment variables
 *    (`"$PW_PARAM_version"`, `"$PW_OUTPUT_commit_artifact"`), the safe form: a
 *    value is never pasted into shell text (workflows/model/shell-env.ts).
 * 4. Pure module: the list page, the editor and the unit tests import it.
 */
import { SPEC_SCHEMA_VERSION, type EdgeCondition, type PipelineNode, type PipelineParameter, type PipelineSpec } from './spec';

export type PipelineTemplate = {
  id: string;
  name: string;
  /** One or two sentences for the picker. */
  description: string;
  /** Short labels shown on the picker card. */
  tags: readonly string[];
  spec: PipelineSpec;
};

type NodeDraft = Omit<PipelineNode, 'position' | 'config'> & { config: Record<string, unknown> };
type EdgeDraft = [from: string, to: string, on?: EdgeCondition];

/** Horizontal and vertical distance between laid-out stages, in canvas units. */
export const TEMPLATE_SPACING = { x: 300, y: 120 } as const;

/**
 * Layered positions: a stage's column is the length of the longest path that
 * leads to it; stages of one column are stacked in the order given and centred.
 */
export function layeredPositions(nodeIds: readonly string[], edges: readonly { from: string; to: string }[]): Map<string, { x: number; y: number }> {
  const incoming = new Map(nodeIds.map((id) => [id, [] as string[]]));
  for (const e of edges) incoming.get(e.to)?.push(e.from);
  const column = new Map<string, number>();
  const visiting = new Set<string>();
  const columnOf = (id: string): number => {
    const known = column.get(id);
    if (known !== undefined) return known;
    if (visiting.has(id)) return 0; // a cycle: templates have none, but never loop
    visiting.add(id);
    const c = Math.max(-1, ...(incoming.get(id) ?? []).map(columnOf)) + 1;
    visiting.delete(id);
    column.set(id, c);
    return c;
  };
  const columns: string[][] = [];
  for (const id of nodeIds) (columns[columnOf(id)] ??= []).push(id);
  const tallest = Math.max(1, ...columns.map((c) => c?.length ?? 0));
  const out = new Map<string, { x: number; y: number }>();
  columns.forEach((ids, c) => {
    const offset = ((tallest - ids.length) * TEMPLATE_SPACING.y) / 2;
    ids.forEach((id, row) => out.set(id, { x: c * TEMPLATE_SPACING.x, y: Math.round(offset + row * TEMPLATE_SPACING.y) }));
  });
  return out;
}

function build(name: string, description: string, parameters: PipelineParameter[], drafts: NodeDraft[], edgeDrafts: EdgeDraft[]): PipelineSpec {
  const edges = edgeDrafts.map(([from, to, on = 'success']) => ({ id: `${from}-${to}`, from, to, on }));
  const positions = layeredPositions(
    drafts.map((d) => d.id),
    edges,
  );
  return {
    schemaVersion: SPEC_SCHEMA_VERSION,
    name,
    description,
    parameters,
    nodes: drafts.map((d) => ({ ...d, position: positions.get(d.id) ?? { x: 0, y: 0 } })),
    edges,
    settings: { concurrency: 1, defaultRetry: {}, stageTimeoutSeconds: 3600, runTimeoutSeconds: 0 },
  };
}

const versionParam: PipelineParameter = { name: 'version', type: 'string', default: '1.0.0', required: true, description: 'Version of the build to promote' };
const urlParam = (name: string, url: string, description: string): PipelineParameter => ({ name, type: 'string', default: url, required: false, description });

const cmd = (id: string, name: string, command: string, extra: Partial<NodeDraft> = {}): NodeDraft => ({ id, kind: 'command', name, config: { command }, ...extra });
const smoke = (id: string, name: string, url: string): NodeDraft => ({
  id,
  kind: 'http-check',
  name,
  config: { url, expectStatus: 200, intervalSeconds: 2, deadlineSeconds: 120 },
});
const gate = (id: string, name: string, groups: string[], instructions: string): NodeDraft => ({
  id,
  kind: 'approval',
  name,
  config: { groups, quorum: 1, allowTriggerer: false, instructions },
});
const wait = (id: string, name: string, seconds: number): NodeDraft => ({ id, kind: 'wait', name, config: { seconds } });

const ARTIFACT = '$PW_OUTPUT_commit_artifact';

/** Build once, promote the same artifact through every environment. */
const releaseProcess = build(
  'Release process',
  'Build once in the commit stage, then promote the same artifact: acceptance tests, QA sign-off, staging, production approval, production — with a rollback if the production smoke test fails.',
  [versionParam, urlParam('stagingUrl', 'https://staging.example.com/health', 'Health check of staging'), urlParam('productionUrl', 'https://www.example.com/health', 'Health check of production')],
  [
    cmd(
      'commit',
      'Commit stage',
      'echo "compile, unit tests, static analysis for $PW_PARAM_version"\necho "artifact=app-$PW_PARAM_version.tar.gz" >> "$PIPEWRIGHT_OUTPUT"',
    ),
    cmd('acceptance', 'Acceptance tests', `echo "running acceptance tests against ${ARTIFACT}"`, { retry: { maxAttempts: 2 } }),
    gate('qa', 'QA gate', ['qa'], 'Check the acceptance test report and exploratory testing notes, then approve the build for staging.'),
    cmd('deploy-staging', 'Deploy to staging', `echo "deploying ${ARTIFACT} to staging"`),
    smoke('smoke-staging', 'Smoke test staging', '${{ params.stagingUrl }}'),
    gate('approve-production', 'Production approval', ['release-managers'], 'Staging is healthy. Approve to release to production.'),
    cmd('deploy-production', 'Deploy to production', `echo "deploying ${ARTIFACT} to production"`),
    smoke('smoke-production', 'Smoke test production', '${{ params.productionUrl }}'),
    cmd('rollback', 'Roll back production', 'echo "restoring the previous release in production"'),
  ],
  [
    ['commit', 'acceptance'],
    ['acceptance', 'qa'],
    ['qa', 'deploy-staging'],
    ['deploy-staging', 'smoke-staging'],
    ['smoke-staging', 'approve-production'],
    ['approve-production', 'deploy-production'],
    ['deploy-production', 'smoke-production'],
    ['smoke-production', 'rollback', 'failure'],
  ],
);

/** Two identical environments; traffic switches at once and can switch back at once. */
const blueGreen = build(
  'Blue/green deployment',
  'Bring the new version up beside the live one (green beside blue), test it privately, switch traffic in one step, and switch back if the live check fails.',
  [versionParam, urlParam('previewUrl', 'https://green.internal.example.com/health', 'Health check of the idle colour'), urlParam('liveUrl', 'https://www.example.com/health', 'Health check behind the live router')],
  [
    cmd('deploy-idle', 'Deploy to idle colour', 'echo "deploying $PW_PARAM_version to the idle colour (green)"'),
    smoke('test-idle', 'Test idle colour', '${{ params.previewUrl }}'),
    gate('approve-switch', 'Approve switch', ['release-managers'], 'The idle colour passed its checks. Approve to send all traffic to it.'),
    cmd('switch', 'Switch traffic', 'echo "router: live -> green"'),
    smoke('check-live', 'Check live traffic', '${{ params.liveUrl }}'),
    cmd('switch-back', 'Switch back', 'echo "router: live -> blue (the previous colour is still running)"'),
    wait('bake', 'Keep old colour warm', 600),
    cmd('retire', 'Retire old colour', 'echo "scaling down blue"'),
  ],
  [
    ['deploy-idle', 'test-idle'],
    ['test-idle', 'approve-switch'],
    ['approve-switch', 'switch'],
    ['switch', 'check-live'],
    ['check-live', 'switch-back', 'failure'],
    ['check-live', 'bake'],
    ['bake', 'retire'],
  ],
);

/** A little traffic first, then more, checking health after each step. */
const canary = build(
  'Canary release',
  'Send 10 % of the traffic to the new version, let it bake and check it, then 50 %, then everyone. A failed check at any step takes the canary out.',
  [versionParam, urlParam('canaryUrl', 'https://canary.internal.example.com/health', 'Health check of the canary')],
  [
    cmd('canary-10', 'Canary 10 %', 'echo "route 10% of traffic to $PW_PARAM_version"'),
    wait('bake-10', 'Bake 10 %', 300),
    smoke('check-10', 'Check canary at 10 %', '${{ params.canaryUrl }}'),
    cmd('abort-10', 'Remove canary (10 %)', 'echo "route 0% to the canary; remove it"'),
    cmd('canary-50', 'Canary 50 %', 'echo "route 50% of traffic to $PW_PARAM_version"'),
    wait('bake-50', 'Bake 50 %', 600),
    smoke('check-50', 'Check canary at 50 %', '${{ params.canaryUrl }}'),
    cmd('abort-50', 'Remove canary (50 %)', 'echo "route 0% to the canary; remove it"'),
    gate('approve-promote', 'Approve full rollout', ['release-managers'], 'The canary held at 50 %. Approve to send all traffic to the new version.'),
    cmd('promote', 'Promote to 100 %', 'echo "route 100% of traffic to $PW_PARAM_version; retire the old version"'),
  ],
  [
    ['canary-10', 'bake-10'],
    ['bake-10', 'check-10'],
    ['check-10', 'abort-10', 'failure'],
    ['check-10', 'canary-50'],
    ['canary-50', 'bake-50'],
    ['bake-50', 'check-50'],
    ['check-50', 'abort-50', 'failure'],
    ['check-50', 'approve-promote'],
    ['approve-promote', 'promote'],
  ],
);

/** Replace instances batch by batch; stop and roll back when a batch is unhealthy. */
const rolling = build(
  'Rolling update',
  'Update the fleet a third at a time, checking health after each batch. A failed check stops the rollout and rolls the updated batches back.',
  [versionParam, urlParam('healthUrl', 'https://www.example.com/health', 'Health check of the service')],
  [
    cmd('batch-1', 'Update batch 1 of 3', 'echo "updating instances 1-3 to $PW_PARAM_version"'),
    smoke('check-1', 'Health after batch 1', '${{ params.healthUrl }}'),
    cmd('rollback-1', 'Roll back batch 1', 'echo "restoring instances 1-3"'),
    cmd('batch-2', 'Update batch 2 of 3', 'echo "updating instances 4-6 to $PW_PARAM_version"'),
    smoke('check-2', 'Health after batch 2', '${{ params.healthUrl }}'),
    cmd('rollback-2', 'Roll back batches 1-2', 'echo "restoring instances 1-6"'),
    cmd('batch-3', 'Update batch 3 of 3', 'echo "updating instances 7-9 to $PW_PARAM_version"'),
    smoke('check-3', 'Health after batch 3', '${{ params.healthUrl }}'),
    cmd('rollback-3', 'Roll back all batches', 'echo "restoring instances 1-9"'),
  ],
  [
    ['batch-1', 'check-1'],
    ['check-1', 'rollback-1', 'failure'],
    ['check-1', 'batch-2'],
    ['batch-2', 'check-2'],
    ['check-2', 'rollback-2', 'failure'],
    ['check-2', 'batch-3'],
    ['batch-3', 'check-3'],
    ['check-3', 'rollback-3', 'failure'],
  ],
);

export const PIPELINE_TEMPLATES: readonly PipelineTemplate[] = [
  { id: 'release', name: releaseProcess.name, description: releaseProcess.description!, tags: ['commit stage', 'QA gate', 'staging', 'production', 'rollback'], spec: releaseProcess },
  { id: 'blue-green', name: blueGreen.name, description: blueGreen.description!, tags: ['switch', 'switch back', 'approval'], spec: blueGreen },
  { id: 'canary', name: canary.name, description: canary.description!, tags: ['10 % → 50 % → 100 %', 'bake time', 'abort'], spec: canary },
  { id: 'rolling', name: rolling.name, description: rolling.description!, tags: ['3 batches', 'health checks', 'rollback'], spec: rolling },
];

export function getTemplate(id: string): PipelineTemplate | undefined {
  return PIPELINE_TEMPLATES.find((t) => t.id === id);
}
