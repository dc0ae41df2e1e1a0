/**
 * First-start data: the admin and demo users (see server/auth/users.ts) and a
 * few example pipelines that run on any machine. Idempotent: run by every
 * `npm start`, it only adds what is missing.
 */
import { eq } from 'drizzle-orm';
import type { PipelineSpecInput } from '../workflows/model';
import { getEnv } from '../server/env';
import { createPipeline } from '../server/services/pipelines';
import { getDb } from './client';
import { pipelines } from './schema';

const SYSTEM = { id: 'system', username: 'system' };

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
              'echo "Building version ${{ params.version }}"\nfor i in 1 2 3; do echo "compiling module $i/3"; sleep 1; done\necho "artifact=app-${{ params.version }}.tar.gz" >> "$PIPEWRIGHT_OUTPUT"',
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
          config: { command: 'echo "checking ${{ stages.build.outputs.artifact }}"; sleep 1; echo "no findings"' },
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
          config: { command: 'echo "deploying ${{ stages.build.outputs.artifact }} to staging"; sleep 2; echo "done"' },
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
        { id: 'deploy', kind: 'command', name: 'Deploy', position: { x: 0, y: 0 }, config: { command: 'echo "deploying ${{ params.version }}"; sleep 1' } },
        {
          id: 'smoke',
          kind: 'command',
          name: 'Smoke test',
          position: { x: 260, y: 0 },
          retry: { maxAttempts: 2, initialIntervalSeconds: 1 },
          config: { command: 'echo "GET /health -> 503"; exit 1' },
        },
        { id: 'rollback', kind: 'command', name: 'Roll back', position: { x: 520, y: 80 }, config: { command: 'echo "rolling back to the previous release"; sleep 1' } },
        { id: 'announce', kind: 'command', name: 'Announce', position: { x: 520, y: -80 }, config: { command: 'echo "release ${{ params.version }} is live"' } },
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
  for (const spec of examplePipelines(env.publicUrl)) {
    const existing = await db.select({ id: pipelines.id }).from(pipelines).where(eq(pipelines.name, spec.name)).get();
    if (existing) continue;
    await createPipeline(db, SYSTEM, { name: spec.name, spec, message: 'Example pipeline' });
    lines.push(`example pipeline "${spec.name}" created`);
  }
  return { lines };
}
