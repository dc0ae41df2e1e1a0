/**
 * The release plan derived from the seeded "Release train": its environments in promotion order, its gates
 * with their approvers and quorum, its rollback path, the first-deployment steps with their commands; review
 * flags follow the facts; the Markdown export has every section and the issue log.
 */
import { describe, expect, it } from 'vitest';
import { releaseTrainPipeline } from '@/db/seed';
import { deriveReleasePlan, releasePlanMarkdown, WRITTEN_SECTIONS, type PlanEnvironment } from '@/server/services/insights/release-plan';
import { validatePipeline } from '@/workflows/model';

const envs: PlanEnvironment[] = [
  { name: 'dev', displayName: 'Development', position: 0, requireGate: false, promoteRoles: ['author', 'admin'], clusterConnection: null, namespace: null },
  { name: 'staging', displayName: 'Staging', position: 1, requireGate: false, promoteRoles: ['author', 'admin'], clusterConnection: null, namespace: null },
  { name: 'production', displayName: 'Production', position: 2, requireGate: true, promoteRoles: ['approver', 'admin'], clusterConnection: null, namespace: null },
];

function releaseTrain() {
  const { spec } = validatePipeline(releaseTrainPipeline());
  if (!spec) throw new Error('seed does not validate');
  return { pipelineName: spec.name, nodes: spec.nodes.map((n) => ({ ...n, config: n.config as Record<string, unknown> })), edges: spec.edges, environments: envs };
}

describe('release plan of the Release train', () => {
  const sections = deriveReleasePlan(releaseTrain());
  const byKey = new Map(sections.map((s) => [s.key, s]));

  it('lists its environments in promotion order with who may promote', () => {
    const text = byKey.get('environments')!.markdown;
    expect(text).toContain('Development → Staging → Production');
    expect(text).toMatch(/\*\*Production\*\* \(`production`\) — promoted by approver, admin; needs an approval gate/);
  });

  it('lists both gates with their approver group and quorum; the production starter may never approve', () => {
    const text = byKey.get('gates')!.markdown;
    expect(text).toContain('| Go to staging | staging | group approvers | 1 | no |');
    expect(text).toContain('| Go to production | production | group approvers | 1 | never (protected environment) |');
  });

  it('has a rollback path: roll back to the previous build from the promotion board, stop the line otherwise', () => {
    const text = byKey.get('back-out')!.markdown;
    expect(text).toContain('**Roll back to #N** promotes the build that was live before into Development, Staging, Production');
    expect(text).toContain('stops the line');
  });

  it('gives the first deployment step by step, with the commands', () => {
    const text = byKey.get('first-deployment')!.markdown;
    const order = ['Build', 'Unit tests', 'Deploy to dev', 'Go to staging', 'Deploy to staging', 'Smoke test', 'Go to production', 'Deploy to production'].map((n) => text.indexOf(`**${n}**`));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(text).toContain('echo "building $v"');
  });

  it('a changed gate changes the facts of the gates section only', () => {
    const changed = releaseTrain();
    changed.nodes = changed.nodes.map((n) => (n.id === 'gate-production' ? { ...n, config: { ...n.config, quorum: 2 } } : n));
    const after = new Map(deriveReleasePlan(changed).map((s) => [s.key, s.factsHash]));
    expect(after.get('gates')).not.toBe(byKey.get('gates')!.factsHash);
    expect(after.get('environments')).toBe(byKey.get('environments')!.factsHash);
  });

  it('the Markdown has every section, written ones, stale flags and the issue log', () => {
    const md = releasePlanMarkdown({
      pipelineName: 'Release train',
      version: 3,
      generatedAt: Date.UTC(2026, 11, 1),
      derived: sections.map((s) => ({ ...s, stale: s.key === 'gates' })),
      written: WRITTEN_SECTIONS.map((w) => ({ key: w.key, title: w.title, body: w.key === 'monitoring' ? 'Watch the error-rate dashboard.' : '', version: 3, updatedByName: w.key === 'monitoring' ? 'Ada' : null, updatedAt: Date.UTC(2026, 10, 30) })),
      issues: [{ runId: 'r', runNumber: 12, environment: 'staging', at: Date.UTC(2026, 10, 29, 10), failure: 'smoke failed after the deployment', failedStage: 'smoke', error: 'exit code 1', excerpt: 'GET /health\n503', cause: 'DB pool exhausted', fix: 'raised pool size', fixRunNumber: 13, updatedByName: 'Ada', updatedAt: Date.UTC(2026, 10, 29, 12) }],
    });
    for (const s of sections) expect(md).toContain(`## ${s.title}`);
    expect(md).toContain('## Monitoring\n\nWatch the error-rate dashboard.');
    expect(md).toContain('## Backup and restore\n\n_Not written yet._');
    expect(md.match(/Changed since last reviewed/g)).toHaveLength(1);
    expect(md).toContain('### Run #12 — staging, 2026-11-29 10:00 UTC');
    expect(md).toContain('- Fix: raised pool size (fixed by run #13)');
  });
});
