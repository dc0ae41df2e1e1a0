/**
 * First-start data: the admin and demo users (see server/auth/users.ts) and a
 * few example pipelines that run on any machine. Idempotent: run by every
 * `npm start`, it only adds what is missing.
 */
/* eslint-disable import-x/no-restricted-paths -- a script, not the database layer: it creates users and pipelines through the services (moving it to scripts/ is left for later) */
import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { PipelineSpecInput } from '../workflows/model';
import { getEnv } from '../server/env';
import { createPipeline } from '../server/services/pipelines';
import { getDb } from './client';
import { environments, pipelines } from './schema';

const SYSTEM = { id: 'system', username: 'system' };

/** The example "Release train": build once, then dev → staging → production through gates. */
export function releaseTrainPipeline(): PipelineSpecInput {
  const deploy = (id: string, name: string, environment: string, x: number, extra = '') => ({
    id,
    kind: 'command',
    name,
    environment,
    position: { x, y: 100 },
    config: {
      command: `echo "deploying $PW_OUTPUT_build_version to $PW_ENV_URL ($PW_ENV_REPLICAS replicas)"\nsleep 1${extra}\necho "url=$PW_ENV_URL" >> "$PIPEWRIGHT_OUTPUT"\necho "done"`,
    },
  });
  const gate = (id: string, name: string, environment: string, x: number, instructions: string) => ({
    id,
    kind: 'approval',
    name,
    environment,
    position: { x, y: 100 },
    config: { groups: ['approvers'], quorum: 1, instructions },
  });
  return {
    schemaVersion: 1,
    name: 'Release train',
    description: 'Build once, then promote the same build dev → staging → production from the promotion board. Production passes an approval gate.',
    parameters: [{ name: 'version', type: 'string', default: '', description: 'Version to build (empty: one is made up from the clock)' }],
    settings: { concurrency: 5, defaultRetry: {}, stageTimeoutSeconds: 600, runTimeoutSeconds: 0 },
    nodes: [
      {
        id: 'build',
        kind: 'command',
        name: 'Build',
        position: { x: 0, y: 100 },
        config: {
          command:
            'v="$PW_PARAM_version"\n[ -n "$v" ] || v="1.$(date +%j).$(date +%H%M%S)"\necho "building $v"\nsleep 1\necho "version=$v" >> "$PIPEWRIGHT_OUTPUT"\necho "commit=$(date +%s | sha1sum | cut -c1-10)" >> "$PIPEWRIGHT_OUTPUT"',
        },
      },
      { id: 'unit', kind: 'command', name: 'Unit tests', position: { x: 260, y: 100 }, config: { command: 'echo "running 64 unit tests"; sleep 1; echo "64 passed"' } },
      deploy('deploy-dev', 'Deploy to dev', 'dev', 520),
      gate('gate-staging', 'Go to staging', 'staging', 780, 'Dev looks good? Approve to deploy this build to staging.'),
      deploy('deploy-staging', 'Deploy to staging', 'staging', 1040),
      {
        id: 'smoke',
        kind: 'command',
        name: 'Smoke test',
        environment: 'staging',
        position: { x: 1300, y: 100 },
        config: { command: 'echo "GET $PW_ENV_URL/health"; sleep 1; echo "200 OK"' },
      },
      gate('gate-production', 'Go to production', 'production', 1560, 'Staging smoke test passed. Approve to release this build to production.'),
      deploy('deploy-production', 'Deploy to production', 'production', 1820, '\necho "authenticating with token $PW_SECRET_DEPLOY_TOKEN"'),
    ],
    edges: [
      ['build', 'unit'],
      ['unit', 'deploy-dev'],
      ['deploy-dev', 'gate-staging'],
      ['gate-staging', 'deploy-staging'],
      ['deploy-staging', 'smoke'],
      ['smoke', 'gate-production'],
      ['gate-production', 'deploy-production'],
    ].map(([from, to]) => ({ id: `${from}-${to}`, from: from!, to: to!, on: 'success' as const })),
  };
}

/** dev → staging → production, seeded once (when there is no environment at all). */
async function seedEnvironments(db: Awaited<ReturnType<typeof getDb>>): Promise<string[]> {
  const any = await db.select({ id: environments.id }).from(environments).limit(1);
  if (any.length > 0) return [];
  const { createEnvironment, setSecret } = await import('../server/services/environments');
  await createEnvironment(db, SYSTEM, { name: 'dev', displayName: 'Dev', variables: { URL: 'http://dev.shop.internal', REPLICAS: '1' }, promoteRoles: ['author', 'admin'] });
  await createEnvironment(db, SYSTEM, {
    name: 'staging',
    displayName: 'Staging',
    variables: { URL: 'https://staging.shop.example', REPLICAS: '2' },
    promoteRoles: ['author', 'admin'],
  });
  const production = await createEnvironment(db, SYSTEM, {
    name: 'production',
    displayName: 'Production',
    description: 'Customers use this one.',
    variables: { URL: 'https://shop.example', REPLICAS: '6' },
    promoteRoles: ['approver', 'admin'],
    requireGate: true,
  });
  await setSecret(db, SYSTEM, { id: production.id, name: 'DEPLOY_TOKEN', value: `demo-${randomBytes(12).toString('hex')}` });
  return ['environments dev, staging and production created'];
}

export function examplePipelines(baseUrl: string): PipelineSpecInput[] {
  return [
    {
      schemaVersion: 1,
      name: 'Hello, Pipewright',
      description: 'Build once, test in parallel, pass a QA gate, deploy and smoke-test. Runs anywhere.',
      parameters: [{ name: 'version', type: 'string', default: '1.0.0', required: true, description: 'Version to build and promote' }],
      nodes: [
        {
          id: 'build',
          kind: 'command',
          name: 'Build',
          position: { x: 0, y: 100 },
          config: {
            command:
              'echo "Building version $PW_PARAM_version"\nfor i in 1 2 3; do echo "compiling module $i/3"; sleep 1; done\necho "artifact=app-$PW_PARAM_version.tar.gz" >> "$PIPEWRIGHT_OUTPUT"',
          },
        },
        {
          id: 'unit',
          kind: 'command',
          name: 'Unit tests',
          position: { x: 260, y: 0 },
          config: { command: 'echo "running 128 unit tests"; sleep 2; echo "128 passed"' },
        },
        {
          id: 'lint',
          kind: 'command',
          name: 'Static analysis',
          position: { x: 260, y: 200 },
          config: { command: 'echo "checking $PW_OUTPUT_build_artifact"; sleep 1; echo "no findings"' },
        },
        {
          id: 'qa',
          kind: 'approval',
          name: 'QA sign-off',
          position: { x: 520, y: 100 },
          config: { groups: ['approvers'], quorum: 1, instructions: 'Check the test report, then approve to deploy to staging.' },
        },
        {
          id: 'deploy',
          kind: 'command',
          name: 'Deploy to staging',
          position: { x: 780, y: 100 },
          config: { command: 'echo "deploying $PW_OUTPUT_build_artifact to staging"; sleep 2; echo "done"' },
        },
        {
          id: 'smoke',
          kind: 'http-check',
          name: 'Smoke test',
          position: { x: 1040, y: 100 },
          config: { url: `${baseUrl}/api/health`, expectStatus: 200, deadlineSeconds: 30 },
        },
      ],
      edges: [
        { id: 'build-unit', from: 'build', to: 'unit', on: 'success' },
        { id: 'build-lint', from: 'build', to: 'lint', on: 'success' },
        { id: 'unit-qa', from: 'unit', to: 'qa', on: 'success' },
        { id: 'lint-qa', from: 'lint', to: 'qa', on: 'success' },
        { id: 'qa-deploy', from: 'qa', to: 'deploy', on: 'success' },
        { id: 'deploy-smoke', from: 'deploy', to: 'smoke', on: 'success' },
      ],
    },
    {
      schemaVersion: 1,
      name: 'Deploy with rollback',
      description: 'A deploy whose smoke test fails on purpose, so the rollback branch runs.',
      parameters: [{ name: 'version', type: 'string', default: '2.0.0', required: false }],
      nodes: [
        { id: 'deploy', kind: 'command', name: 'Deploy', position: { x: 0, y: 0 }, config: { command: 'echo "deploying $PW_PARAM_version"; sleep 1' } },
        {
          id: 'smoke',
          kind: 'command',
          name: 'Smoke test',
          position: { x: 260, y: 0 },
          retry: { maxAttempts: 2, initialIntervalSeconds: 1 },
          config: { command: 'echo "GET /health -> 503"; exit 1' },
        },
        { id: 'rollback', kind: 'command', name: 'Roll back', position: { x: 520, y: 80 }, config: { command: 'echo "rolling back to the previous release"; sleep 1' } },
        { id: 'announce', kind: 'command', name: 'Announce', position: { x: 520, y: -80 }, config: { command: 'echo "release $PW_PARAM_version is live"' } },
      ],
      edges: [
        { id: 'deploy-smoke', from: 'deploy', to: 'smoke', on: 'success' },
        { id: 'smoke-rollback', from: 'smoke', to: 'rollback', on: 'failure' },
        { id: 'smoke-announce', from: 'smoke', to: 'announce', on: 'success' },
      ],
    },
  ];
}

export async function seed(): Promise<{ lines: string[] }> {
  const env = getEnv();
  const db = await getDb();
  const lines: string[] = [];
  try {
    const { seedUsers } = await import('../server/auth/users');
    lines.push(...(await seedUsers()));
  } catch (err) {
    lines.push(`could not seed users: ${err instanceof Error ? err.message : String(err)}`);
  }
  try {
    lines.push(...(await seedEnvironments(db)));
  } catch (err) {
    lines.push(`could not seed environments: ${err instanceof Error ? err.message : String(err)}`);
  }
  for (const spec of [...examplePipelines(env.publicUrl), releaseTrainPipeline()]) {
    const existing = await db.select({ id: pipelines.id }).from(pipelines).where(eq(pipelines.name, spec.name)).get();
    if (existing) continue;
    await createPipeline(db, SYSTEM, { name: spec.name, spec, message: 'Example pipeline' });
    lines.push(`example pipeline "${spec.name}" created`);
  }
  return { lines };
}
