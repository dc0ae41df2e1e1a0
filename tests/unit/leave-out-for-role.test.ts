/**
 * "Build once, promote the same build": what a start by someone whose role an
 * environment does not allow leaves out (workflows/model/protection.ts).
 */
import { describe, expect, it } from 'vitest';
import { leaveOutForRole, type RoleEnvironment } from '../../workflows/model';

const envs: RoleEnvironment[] = [
  { name: 'staging', displayName: 'Staging', promoteRoles: ['author', 'approver', 'admin'] },
  { name: 'production', displayName: 'Production', promoteRoles: ['approver', 'admin'] },
];
const node = (id: string, environment?: string, ...from: string[]) => ({ id, ...(environment ? { environment } : {}), needs: from.map((f) => ({ from: f })) });
// build → deploy-staging → gate-prod → deploy-prod → notify; cleanup after build only.
const release = {
  nodes: [
    node('build'),
    node('deploy-staging', 'staging', 'build'),
    node('gate-prod', 'production', 'deploy-staging'),
    node('deploy-prod', 'production', 'gate-prod'),
    node('notify', undefined, 'deploy-prod'),
    node('cleanup', undefined, 'build'),
  ],
};

describe('leaveOutForRole', () => {
  it('leaves an author’s production gate, deploy and what follows them out, with the roles production needs', () => {
    expect(leaveOutForRole(release, envs, 'author')).toEqual({
      environments: [envs[1]],
      nodes: ['gate-prod', 'deploy-prod', 'notify'],
      reason: 'not run: deploying to production needs the role approver or admin — promote this build from the promotion board',
      remaining: 3,
    });
  });

  it('leaves nothing out for a role every environment allows', () => {
    expect(leaveOutForRole(release, envs, 'admin')).toBeNull();
  });

  it('says when nothing would be left to run, and ignores reused and already omitted stages', () => {
    const prodOnly = { nodes: [node('gate-prod', 'production'), node('deploy-prod', 'production', 'gate-prod')] };
    expect(leaveOutForRole(prodOnly, envs, 'author')).toMatchObject({ nodes: ['gate-prod', 'deploy-prod'], remaining: 0 });
    expect(leaveOutForRole(release, envs, 'author', { omitted: new Set(['gate-prod', 'deploy-prod', 'notify']) })).toBeNull();
  });

  it('names every environment it leaves out, and one that allows nobody', () => {
    const locked = [...envs, { name: 'vault', displayName: 'Vault', promoteRoles: [] }];
    const graph = { nodes: [...release.nodes, node('seal', 'vault', 'build')] };
    expect(leaveOutForRole(graph, locked, 'author')?.reason).toBe(
      'not run: deploying to production needs the role approver or admin; nobody may deploy to vault (it allows no role) — promote this build from the promotion board',
    );
  });
});
