import { describe, expect, it } from 'vitest';
import { validatePipeline, type ApproverFacts } from '@/workflows/model';

// The demo workspace: ada writes pipelines, alan and grace approve, vera only looks; admin is an admin.
const facts: ApproverFacts = {
  people: [
    { id: 'u-ada', username: 'ada', email: 'ada@example.com', name: 'Ada', role: 'author', mayDecide: false },
    { id: 'u-alan', username: 'alan', email: 'alan@example.com', name: 'Alan', role: 'approver', mayDecide: true },
    { id: 'u-grace', username: 'grace', email: 'grace@example.com', name: 'Grace', role: 'approver', mayDecide: true },
    { id: 'u-vera', username: 'vera', email: 'vera@example.com', name: 'Vera', role: 'viewer', mayDecide: false },
    { id: 'u-admin', username: 'admin', email: 'admin@example.com', name: 'Admin', role: 'admin', mayDecide: true },
  ],
  groups: [
    { name: 'approvers', members: ['u-alan', 'u-grace'] },
    { name: 'writers', members: ['u-ada', 'u-vera'] },
  ],
};

const pipeline = (gate: Record<string, unknown>) => ({
  schemaVersion: 1,
  name: 'p',
  nodes: [
    { id: 'build', kind: 'command', name: 'Build', config: { command: 'true' } },
    { id: 'gate', kind: 'approval', name: 'Release gate', config: gate },
  ],
  edges: [{ id: 'e', from: 'build', to: 'gate', on: 'success' }],
});

const problems = (gate: Record<string, unknown>) =>
  validatePipeline(pipeline(gate), { approvers: facts }).issues.map((i) => ({ code: i.code, severity: i.severity, path: i.path }));

describe('gate approvers checked against people and groups', () => {
  it('reports a gate that can never pass as errors: unknown person, author, viewer, unknown group', () => {
    const result = validatePipeline(pipeline({ users: ['nobody-xyz', 'ada', 'vera'], groups: ['no-such-group'] }), { approvers: facts });
    expect(result.ok).toBe(false);
    expect(result.issues.map((i) => [i.code, i.severity, i.nodeId])).toEqual([
      ['unknown-approver', 'error', 'gate'],
      ['approver-cannot-decide', 'error', 'gate'],
      ['approver-cannot-decide', 'error', 'gate'],
      ['unknown-group', 'error', 'gate'],
    ]);
    expect(result.issues[1]!.message).toContain('ada is an author and may not decide gates');
    expect(result.issues[3]!.message).toContain('there is no group "no-such-group" (there are approvers, writers)');
  });

  it('accepts people named by user name, email or id who may decide, and groups with such members', () => {
    expect(problems({ users: ['alan', 'Grace@Example.com', 'u-admin'], groups: ['approvers'], quorum: 2 })).toEqual([]);
  });

  it('refuses a group nobody in which may decide', () => {
    expect(problems({ users: [], groups: ['writers'] })).toEqual([{ code: 'group-cannot-decide', severity: 'error', path: 'groups' }]);
  });

  it('refuses a quorum the people named can never reach', () => {
    expect(problems({ users: [], groups: ['approvers'], quorum: 3 })).toEqual([{ code: 'gate-cannot-pass', severity: 'error', path: 'quorum' }]);
  });

  it('checks nothing about people when the workspace is not known', () => {
    expect(validatePipeline(pipeline({ users: ['nobody-xyz'], groups: [] })).ok).toBe(true);
  });
});
