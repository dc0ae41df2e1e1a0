/**
 * The import corpus (tests/fixtures/import-corpus, see its README): every file
 * imports without an error and becomes a graph the validator accepts, with a
 * report that names what was not carried over; and the structure of a dozen of
 * them is checked stage by stage.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { validatePipeline } from '../../../workflows/model';
import { gateEnvironmentStages, importPipelineFile, type ImportSuccess } from '../../../workflows/model/import';

const CORPUS = new URL('../../fixtures/import-corpus/', import.meta.url);
const FOLDERS = ['github', 'gitlab', 'spinnaker'] as const;
const corpusFiles = FOLDERS.flatMap((dir) => readdirSync(new URL(`${dir}/`, CORPUS)).sort().map((f) => `${dir}/${f}`));
const read = (path: string) => readFileSync(new URL(path, CORPUS), 'utf8');
const CALLED = {
  './.github/workflows/shared-build.yml': read('github-called/shared-build.yml'),
  './.github/workflows/shared-deploy.yml': read('github-called/shared-deploy.yml'),
};

function load(path: string, opts = {}) {
  const r = importPipelineFile(read(path), opts);
  if (!r.ok) throw new Error(`${path} refused: ${r.error}`);
  const environments = r.report.environments.map((e) => e.name);
  const v = validatePipeline(r.spec, { environments });
  return { ...r, spec: v.spec!, issues: v.issues };
}
const ids = (r: ImportSuccess) => r.spec.nodes.map((n) => n.id);
const kinds = (r: ImportSuccess) => r.spec.nodes.map((n) => `${n.id}:${n.kind}`);
const edges = (r: ImportSuccess) => r.spec.edges.map((e) => `${e.from}-${e.on}->${e.to}`).sort();
const envOf = (r: ImportSuccess, id: string) => r.spec.nodes.find((n) => n.id === id)?.environment;
const commandOf = (r: ImportSuccess, id: string) => (r.spec.nodes.find((n) => n.id === id)?.config as { command: string }).command;
const notCarried = (r: ImportSuccess) => r.report.notCarried.map((n) => n.construct);

describe('import corpus: every file', () => {
  it('holds at least 40 files of the three formats', () => {
    expect(corpusFiles.length).toBeGreaterThanOrEqual(40);
    for (const dir of FOLDERS) expect(corpusFiles.filter((f) => f.startsWith(`${dir}/`)).length).toBeGreaterThanOrEqual(8);
  });

  it.each(corpusFiles)('%s imports as a valid graph and reports what it did not carry over', (path) => {
    const r = load(path);
    expect(r.format).toBe(path.startsWith('github/') ? 'github-actions' : path.startsWith('gitlab/') ? 'gitlab-ci' : 'spinnaker');
    expect(r.issues.filter((i) => i.severity === 'error')).toEqual([]);
    expect(r.spec.nodes.length).toBeGreaterThan(0);
    // Every job/stage of the source is accounted for, and points at stages that exist.
    const nodeIds = new Set(ids(r));
    expect(r.report.mapped.length).toBeGreaterThan(0);
    for (const m of r.report.mapped) {
      expect(m.became).not.toBe('');
      for (const id of m.nodeIds) expect(nodeIds.has(id), `${m.source} → ${id}`).toBe(true);
    }
    // Every stage came from something in the report (nothing invented silently).
    const reported = new Set(r.report.mapped.flatMap((m) => m.nodeIds));
    for (const n of r.spec.nodes) expect(reported.has(n.id) || n.kind === 'approval' || n.kind === 'wait', `stage ${n.id} not in the report`).toBe(true);
    // What was not carried over says what and why; in YAML files, where.
    for (const n of r.report.notCarried) {
      expect(n.construct).not.toBe('');
      expect(n.why.length).toBeGreaterThan(10);
      if (!path.startsWith('spinnaker/') && !n.construct.startsWith('${{')) expect(n.line, n.construct).toBeGreaterThan(0);
    }
    // No GitHub or GitLab expression reaches a script as text the shell would run.
    for (const n of r.spec.nodes) if (n.kind === 'command') expect((n.config as { command: string }).command).not.toMatch(/\$\{\{\s*(github|matrix|needs|steps|inputs|secrets|env)\./);
  });
});

describe('import corpus: structure', () => {
  it('node CI: lint → a matrix with exclude fanned out → coverage joined after every leg', () => {
    const r = load('github/node-ci-matrix.yml');
    expect(ids(r)).toEqual(['lint', 'test', 'test-2', 'test-3', 'test-4', 'test-5', 'coverage']);
    expect(r.spec.edges).toHaveLength(10);
    for (const leg of ['test', 'test-2', 'test-3', 'test-4', 'test-5']) expect(edges(r)).toEqual(expect.arrayContaining([`lint-success->${leg}`, `${leg}-success->coverage`]));
    // macos + node 18 was excluded
    const legs = r.spec.nodes.filter((n) => n.id.startsWith('test')).map((n) => (n.config as { env: Record<string, string> }).env);
    expect(legs).not.toContainEqual(expect.objectContaining({ MATRIX_os: 'macos-latest', MATRIX_node: '18' }));
    expect(r.report.triggers).toEqual([{ kind: 'webhook', branches: ['main', 'release/**'], tags: [], line: 4 }]);
  });

  it('release on tags: job outputs flow as stage outputs into the publish stage bound to a missing environment', () => {
    const r = load('github/release-tags.yml');
    expect(edges(r)).toEqual(['build-success->announce', 'build-success->publish', 'publish-success->announce']);
    expect(envOf(r, 'publish')).toBe('release');
    expect(r.report.environments.map((e) => e.name)).toEqual(['release']);
    expect(commandOf(r, 'publish')).toContain('${PW_OUTPUT_build_version}');
    expect((r.spec.nodes.find((n) => n.id === 'publish')!.config as { env: Record<string, string> }).env.REGISTRY_TOKEN).toMatch(/REGISTRY_TOKEN/);
    expect(r.report.triggers).toEqual([{ kind: 'webhook', branches: [], tags: ['v*.*.*'], line: 4 }]);
    expect(notCarried(r)).toContain('permissions');
  });

  it('nightly: two schedules, a timeout and a failure edge to the report job', () => {
    const r = load('github/nightly-schedule.yml');
    expect(r.report.triggers).toEqual([
      { kind: 'schedule', cron: '17 3 * * *', line: 4 },
      { kind: 'schedule', cron: '0 12 * * 6', line: 4 },
    ]);
    expect(edges(r)).toEqual(['integration-failure->report']);
    expect(r.spec.nodes[0]!.timeoutSeconds).toBe(45 * 60);
  });

  it('dispatch inputs of every type become typed parameters', () => {
    const r = load('github/dispatch-inputs.yml');
    expect(r.spec.parameters.map((p) => [p.name, p.type, p.required ?? false, p.default])).toEqual([
      ['version', 'string', true, undefined],
      ['target', 'string', true, undefined],
      ['strategy', 'string', false, 'rolling'],
      ['replicas', 'number', false, 3],
      ['dry_run', 'boolean', false, false],
    ]);
    expect(commandOf(r, 'plan')).toContain('${PW_PARAM_replicas}');
    expect(r.spec.nodes.find((n) => n.id === 'apply')!.timeoutSeconds).toBe(1200);
  });

  it('promotion through four environments, one of them named differently in the file', () => {
    const r = load('github/multi-env-promotion.yml');
    expect(r.spec.nodes.map((n) => n.environment ?? '-')).toEqual(['-', 'dev', 'qa', 'staging', 'production']);
    expect(edges(r)).toEqual(['build-success->dev', 'dev-success->qa', 'qa-success->staging', 'staging-success->production']);
    expect(r.report.environments.find((e) => e.name === 'production')).toMatchObject({ source: 'Production' });
    expect(r.spec.parameters.map((p) => [p.name, p.type])).toEqual([['skip_qa', 'boolean']]);
  });

  it('rollback on failure and an always() notifier', () => {
    const r = load('github/rollback-on-failure.yml');
    expect(edges(r)).toEqual(['deploy-always->notify', 'deploy-failure->rollback', 'rollback-always->notify']);
    expect(commandOf(r, 'rollback')).toContain('${PW_OUTPUT_deploy_previous}');
    expect(r.spec.nodes.find((n) => n.id === 'deploy')!.timeoutSeconds).toBe(900);
  });

  it('a 5×4 matrix minus one exclude is capped at 16 stages with the reason', () => {
    const r = load('github/large-matrix.yml');
    expect(r.spec.nodes).toHaveLength(16);
    expect(r.report.warnings.map((w) => w.message).join('\n')).toMatch(/19 combinations; the first 16 became parallel stages, the other 3 were left out/);
    expect(r.report.triggers).toEqual([{ kind: 'schedule', cron: '0 4 * * 0', line: 4 }]);
  });

  it('local reusable workflows: reported alone, expanded when the called files are supplied', () => {
    const alone = load('github/reusable-local-caller.yml');
    expect(ids(alone)).toEqual(['build', 'smoke', 'deploy']);
    expect(notCarried(alone)).toEqual(expect.arrayContaining(['uses: ./.github/workflows/shared-build.yml', 'uses: ./.github/workflows/shared-deploy.yml']));
    const expanded = load('github/reusable-local-caller.yml', { supplied: CALLED });
    expect(ids(expanded)).toEqual(['build-compile', 'build-checksum', 'smoke', 'deploy-deploy', 'deploy-verify']);
    expect(edges(expanded)).toEqual(['build-checksum-success->smoke', 'build-compile-success->build-checksum', 'deploy-deploy-success->deploy-verify', 'smoke-success->deploy-deploy']);
    expect(notCarried(expanded)).not.toContain('uses: ./.github/workflows/shared-build.yml');
    // The dialog lists the called files still missing, with their lines.
    expect(alone.report.missingWorkflows).toEqual([
      { uses: './.github/workflows/shared-build.yml', line: 9 },
      { uses: './.github/workflows/shared-deploy.yml', line: 19 },
    ]);
    expect(expanded.report.missingWorkflows ?? []).toEqual([]);
    const half = load('github/reusable-local-caller.yml', { supplied: { './.github/workflows/shared-build.yml': CALLED['./.github/workflows/shared-build.yml'] } });
    expect(half.report.missingWorkflows).toEqual([{ uses: './.github/workflows/shared-deploy.yml', line: 19 }]);
  });

  it('remote reusable workflows are reported with their ref, never fetched', () => {
    const r = load('github/reusable-remote-caller.yml');
    expect(edges(r)).toEqual(['build-success->publish', 'security-scan-success->publish']);
    expect(notCarried(r)).toEqual(expect.arrayContaining(['uses: acme-platform/workflows/.github/workflows/security-scan.yml@v3']));
  });

  it('GitLab rails app: stage order, anchors, only: main → trigger filter, manual production gate', () => {
    const r = load('gitlab/rails-app.gitlab-ci.yml');
    expect(kinds(r)).toEqual(['install:command', 'rspec:command', 'rubocop:command', 'deploy_staging:command', 'deploy_production:command', 'approve-deploy_production:approval']);
    expect(edges(r)).toEqual([
      'approve-deploy_production-success->deploy_production',
      'install-success->rspec',
      'install-success->rubocop',
      'rspec-success->approve-deploy_production',
      'rspec-success->deploy_staging',
      'rubocop-success->approve-deploy_production',
      'rubocop-success->deploy_staging',
    ]);
    expect(commandOf(r, 'rspec')).toContain('bundle install --jobs 4');
    expect(r.report.triggers).toEqual([expect.objectContaining({ kind: 'webhook', branches: ['main'] })]);
    expect(notCarried(r)).toEqual(expect.arrayContaining(['cache', 'image']));
  });

  it('GitLab needs DAG: needs overrides stage order, needs: [] starts at once', () => {
    const r = load('gitlab/needs-dag.gitlab-ci.yml');
    expect(edges(r)).toEqual([
      'build_linux-success->test_linux',
      'build_mac-success->test_mac',
      'docs-success->deploy',
      'package-success->deploy',
      'test_linux-success->package',
      'test_mac-success->package',
    ]);
    expect(envOf(r, 'deploy')).toBe('production');
  });

  it('GitLab parallel:matrix with two groups and parallel: N fan out', () => {
    const r = load('gitlab/parallel-matrix.gitlab-ci.yml');
    expect(ids(r).filter((id) => id.startsWith('test'))).toHaveLength(7);
    expect(ids(r).filter((id) => id.startsWith('shard'))).toHaveLength(3);
    expect(ids(r).filter((id) => id.startsWith('deploy'))).toHaveLength(3);
    expect(r.spec.edges).toHaveLength(30); // 10 test-stage jobs × 3 deploy jobs
  });

  it('GitLab when: variants, extends chains and environment stop', () => {
    const when = load('gitlab/when-variants.gitlab-ci.yml');
    expect(edges(when)).toEqual(expect.arrayContaining(['flaky_test-failure->notify_failure', 'integration-failure->notify_failure', 'notify_failure-always->always_collect']));
    expect(kinds(when)).toContain('wait-delayed_smoke:wait');
    const ext = load('gitlab/extends-chain.gitlab-ci.yml');
    expect(commandOf(ext, 'pytest')).toContain('python --version');
    expect(commandOf(ext, 'deploy_eu')).toContain('./deploy.sh');
    expect([envOf(ext, 'deploy_eu'), envOf(ext, 'deploy_us')]).toEqual(['production-eu', 'production-us']);
    const review = load('gitlab/review-apps.gitlab-ci.yml');
    expect(kinds(review)).toContain('approve-stop_review:approval');
    expect(review.report.warnings.map((w) => w.message).join('\n')).toContain('action: stop');
    expect(notCarried(review)).toEqual(expect.arrayContaining([expect.stringMatching(/^environment: review\/\$CI_COMMIT_REF_SLUG/)]));
  });

  it('GitLab include: and trigger: are reported', () => {
    const r = load('gitlab/include-remote.gitlab-ci.yml');
    expect(notCarried(r).filter((c) => c.startsWith('include:'))).toHaveLength(4);
    expect(notCarried(r)).toContain('workflow:');
    const child = load('gitlab/trigger-child.gitlab-ci.yml');
    expect(notCarried(child)).toEqual(expect.arrayContaining(['job child: trigger', 'job docs_project: trigger']));
  });

  it('Spinnaker canary: refId chain, judgment gate with inputs, wait, webhooks, typed parameters and triggers reported', () => {
    const r = load('spinnaker/canary-judgment.json');
    expect(kinds(r)).toEqual(['Check_tag:command', 'Announce:webhook', 'Canary_soak:wait', 'Promote_canary:approval', 'Record_promotion:webhook']);
    expect(r.spec.edges).toHaveLength(4);
    expect(r.spec.parameters.map((p) => p.name)).toEqual(['imageTag', 'skipCanary']);
    expect(notCarried(r)).toEqual(expect.arrayContaining(['stage Check tag (checkPreconditions)', 'trigger docker', 'Record promotion: waitForCompletion']));
  });

  it('Spinnaker fan-out and join, a text manifest to k8s-apply, two judgments joined', () => {
    const fan = load('spinnaker/fan-out-regions.json');
    expect(edges(fan)).toEqual([
      'All_regions_healthy_-success->Close_change',
      'Deploy_AP-success->All_regions_healthy_',
      'Deploy_EU-success->All_regions_healthy_',
      'Deploy_US-success->All_regions_healthy_',
      'Hold-success->Deploy_AP',
      'Hold-success->Deploy_EU',
      'Hold-success->Deploy_US',
    ]);
    const manifest = load('spinnaker/manifest-text.json');
    expect(kinds(manifest)[0]).toBe('Deploy_catalog:k8s-apply');
    expect(envOf(manifest, 'Deploy_catalog')).toBe('staging');
    const chain = load('spinnaker/judgment-chain.json');
    expect(chain.spec.nodes.filter((n) => n.kind === 'approval')).toHaveLength(2);
    expect(edges(chain)).toEqual(expect.arrayContaining(['Security_sign-off-success->Open_change_window', 'Product_sign-off-success->Open_change_window']));
    expect(chain.report.triggers).toEqual([{ kind: 'webhook', branches: ['release'], tags: [] }]);
  });
});

describe('import corpus: protected environments', () => {
  const runnable = (r: ImportSuccess, env: string) =>
    validatePipeline(gateEnvironmentStages(r.spec, [env]), { environments: r.report.environments.map((e) => e.name), protection: [{ name: env, requireGate: true }] });

  it('a rollback reached on failure inside a protected environment gets its own gate, so the pipeline can run', () => {
    const r = load('github/rollback-on-failure.yml');
    const gated = runnable(r, 'production');
    expect(gated.issues.filter((i) => i.severity === 'error')).toEqual([]);
    expect(edges({ ...r, spec: gated.spec! })).toEqual(
      expect.arrayContaining(['approve-production-success->deploy', 'deploy-failure->approve-rollback', 'approve-rollback-success->rollback']),
    );
  });

  it('a GitLab on_failure rollback after a manual production job gets its own gate too', () => {
    const r = load('gitlab/k8s-helm.gitlab-ci.yml');
    const gated = runnable(r, 'production');
    expect(gated.issues.filter((i) => i.severity === 'error')).toEqual([]);
    expect(edges({ ...r, spec: gated.spec! })).toEqual(expect.arrayContaining(['helm_production-failure->approve-rollback_production', 'approve-rollback_production-success->rollback_production']));
  });
});
