/**
 * Who can decide a gate, checked against the workspace's real people and
 * groups: a gate naming nobody who may decide can never pass, so the
 * validator reports it as an error while the author draws (the editor) and
 * when the pipeline is saved or started (the API). Pure: the callers pass the
 * facts they read (`ApproverFacts`).
 */

/** What the validator knows about people and groups (optional validation context). */
export type ApproverFacts = {
  /** Every person: how a gate may name them (username, email, id), their role, and whether that role may decide gates. */
  people: { id: string; username: string | null; email: string; name: string; role: string; mayDecide: boolean }[];
  /** Every group with the usernames (or ids) of its members. */
  groups: { name: string; members: string[] }[];
};

export type ApproverProblem = {
  code: 'unknown-approver' | 'approver-cannot-decide' | 'unknown-group' | 'group-cannot-decide' | 'gate-cannot-pass';
  path: 'users' | 'groups' | 'quorum';
  message: string;
};

type Person = ApproverFacts['people'][number];

function findPerson(facts: ApproverFacts, principal: string): Person | undefined {
  const p = principal.toLowerCase();
  return facts.people.find((x) => x.id === principal || x.username?.toLowerCase() === p || x.email.toLowerCase() === p);
}

const handle = (p: Person) => p.username ?? p.email;

/**
 * Problems of one gate's approvers. `quorum` distinct people who may decide
 * must be reachable, or the gate can never pass.
 * @example approverProblems({ users: ['nobody'], groups: [], quorum: 1 }, facts)
 */
export function approverProblems(gate: { users: readonly string[]; groups: readonly string[]; quorum: number }, facts: ApproverFacts): ApproverProblem[] {
  const problems: ApproverProblem[] = [];
  if (gate.users.length === 0 && gate.groups.length === 0) return problems; // "needs at least one approver" says it
  const deciders = new Set<string>();
  for (const u of gate.users) {
    const person = findPerson(facts, u);
    if (!person) {
      problems.push({ code: 'unknown-approver', path: 'users', message: `there is no person "${u}" (name people by user name or email)` });
    } else if (!person.mayDecide) {
      problems.push({
        code: 'approver-cannot-decide',
        path: 'users',
        message: `${handle(person)} is ${/^[aeiou]/.test(person.role) ? 'an' : 'a'} ${person.role} and may not decide gates (only approvers and admins can; an admin changes roles under Admin → People)`,
      });
    } else {
      deciders.add(person.id);
    }
  }
  for (const g of gate.groups) {
    const group = facts.groups.find((x) => x.name === g);
    if (!group) {
      problems.push({ code: 'unknown-group', path: 'groups', message: `there is no group "${g}"${facts.groups.length ? ` (there are ${facts.groups.map((x) => x.name).join(', ')})` : ''}` });
      continue;
    }
    const members = group.members.map((m) => findPerson(facts, m)).filter((p): p is Person => !!p);
    const able = members.filter((p) => p.mayDecide);
    if (able.length === 0) {
      problems.push({ code: 'group-cannot-decide', path: 'groups', message: `nobody in group "${g}" may decide gates (its members are neither approvers nor admins)` });
    }
    for (const p of able) deciders.add(p.id);
  }
  if (problems.length === 0 && deciders.size < gate.quorum) {
    problems.push({
      code: 'gate-cannot-pass',
      path: 'quorum',
      message: `quorum ${gate.quorum} can never be reached: only ${deciders.size} ${deciders.size === 1 ? 'person' : 'people'} named here may decide gates`,
    });
  }
  return problems;
}
