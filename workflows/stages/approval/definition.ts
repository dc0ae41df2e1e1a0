import { z } from 'zod';
import { LIMITS } from '../../model/limits';
import { defineStage } from '../types';

const principal = z.string().min(1).max(LIMITS.nameLength);

export const approvalConfigSchema = z.object({
  users: z.array(principal).max(200).default([]).meta({ title: 'People who may decide' }).describe('People (user names or emails) who may decide; their role must be approver or admin.'),
  groups: z
    .array(principal)
    .max(50)
    .default([])
    .meta({ title: 'Groups who may decide' })
    .describe('Groups whose approvers and admins may decide. A new gate names the group "approvers".'),
  quorum: z.number().int().min(1).max(50).default(1).describe('How many distinct approvals pass the gate (k of n). One rejection fails it.'),
  allowTriggerer: z
    .boolean()
    .default(true)
    .meta({ title: 'The person who started the run may approve it' })
    .describe('May the person who started the run approve it? Never in an environment that requires an approval gate, whatever this says.'),
  instructions: z.string().max(LIMITS.descriptionLength).default('').describe('What the approver should check before deciding.'),
  timeoutSeconds: z.number().int().min(0).max(90 * 24 * 3600).default(0).describe('Decide automatically after this many seconds (0 = wait forever).'),
  onTimeout: z
    .enum(['approve', 'reject'])
    .default('reject')
    .describe('The decision applied when the timeout passes (a gate of an environment that requires one may only reject).'),
});
export type ApprovalConfig = z.infer<typeof approvalConfigSchema>;

export const approvalStage = defineStage({
  kind: 'approval',
  label: 'Manual approval',
  description: 'A gate: the run waits until enough allowed people approve, or one rejects.',
  icon: '✋',
  category: 'gate',
  runtime: 'gate',
  configSchema: approvalConfigSchema,
  // New gates do not let the person who started the run approve it (four eyes); saved ones keep what they say.
  defaults: { users: [], groups: ['approvers'], quorum: 1, allowTriggerer: false },
  outputs: { names: ['decision', 'decidedBy'], dynamic: false },
  check: (c) => {
    const problems = [];
    if (c.users.length === 0 && c.groups.length === 0) {
      problems.push({ path: 'users', message: 'a gate needs at least one approver (a user or a group)' });
    }
    if (c.groups.length === 0 && c.users.length > 0 && c.quorum > c.users.length) {
      problems.push({
        path: 'quorum',
        message: `quorum ${c.quorum} can never be reached with ${c.users.length} approver(s)`,
      });
    }
    return problems;
  },
});
