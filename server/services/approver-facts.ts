/**
 * People and groups as the validator needs them to check gates' approvers
 * (workflows/model/approvers.ts): who exists, and whose role may decide. Read
 * by the pipelines API (validate, save, show) and before a run starts.
 */
import type { Db } from '../../db/client';
import { groupMembers, user } from '../../db/schema';
import type { ApproverFacts } from '../../workflows/model';
import { can } from '../auth/session';

export async function approverFacts(db: Db): Promise<ApproverFacts> {
  const [people, members] = await Promise.all([
    db.select({ id: user.id, username: user.username, email: user.email, name: user.name, role: user.role }).from(user).limit(5000),
    db.select({ userId: groupMembers.userId, group: groupMembers.group }).from(groupMembers),
  ]);
  const groups = new Map<string, string[]>();
  for (const m of members) groups.set(m.group, [...(groups.get(m.group) ?? []), m.userId]);
  return {
    people: people.map((p) => ({ ...p, mayDecide: can.decide(p) })),
    groups: [...groups].map(([name, ids]) => ({ name, members: ids })).sort((a, b) => a.name.localeCompare(b.name)),
  };
}
