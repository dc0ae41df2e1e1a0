/**
 * "Re-run from the failed stage": which stages of a failed or cancelled run a
 * new run reuses and which it runs again. Pure, shared by the API (which starts
 * the run) and the run page (which explains it before anyone presses the button).
 *
 * 1. Every stage that succeeded is reused (never executed again), the others
 *    (failed, skipped, cancelled, still pending) run again.
 * 2. Approval gates: an approval authorises what comes after it, at the moment
 *    it was given. A gate that approved something which must now run again is
 *    asked again — and so that its new decision really guards what follows,
 *    everything downstream of it runs again too (nothing runs after a gate
 *    without a fresh approval). A gate whose downstream stages all succeeded
 *    stays reused, like any succeeded stage: nothing after it runs again. This
 *    is what a release manager expects: approving "deploy to production" at 10:00
 *    does not approve a re-deploy at 16:00, while an approval that guarded only
 *    finished work is not asked for twice.
 * 3. Rollbacks: a stage whose effect a later stage undid is not reused. A rollback
 *    stage is a `k8s-rollback` stage or one reached by a `failure` edge. When it
 *    ran, it undid what came before it — the succeeded stages on the way up to
 *    it, as far as the nearest approval gate (gates mark where one release step
 *    begins) — so those run again, and so does everything after them (it was
 *    checked against what the rollback removed). The rollback itself is never
 *    reused: reusing it would put a "succeeded" rollback into a run that rolled
 *    nothing back; in the new run it runs only if its failure happens again.
 */

export type RerunNode = {
  id: string;
  needs: readonly { from: string; on?: string }[];
  isGate: boolean;
  /** The stage kind (a `k8s-rollback` is a rollback wherever it is drawn). */
  kind?: string;
};

/** Whether a stage undoes what came before it: a `k8s-rollback`, or anything reached by a `failure` edge. */
export function isRollbackStage(node: Pick<RerunNode, 'kind' | 'needs'>): boolean {
  return node.kind === 'k8s-rollback' || node.needs.some((n) => n.on === 'failure');
}

export type RerunPlan = {
  /** Succeeded stages the new run takes over as they are. */
  reuse: string[];
  /** Stages the new run executes. */
  rerun: string[];
  /** Approved gates asked again because something after them runs again. */
  reaskedGates: string[];
  /** Rollback stages that ran: not reused, whatever their status. */
  rollbacks: string[];
  /** Succeeded stages that run again because a rollback undid them (`by`: the rollback). */
  undone: { id: string; by: string }[];
};

export function planRerunFromFailed(nodes: readonly RerunNode[], status: (id: string) => string | undefined): RerunPlan {
  const children = new Map<string, string[]>(nodes.map((n) => [n.id, []]));
  for (const n of nodes) for (const need of n.needs) children.get(need.from)?.push(n.id);

  const rerun = new Set(nodes.filter((n) => status(n.id) !== 'succeeded').map((n) => n.id));
  const descendants = (id: string): Set<string> => {
    const seen = new Set<string>();
    const stack = [...(children.get(id) ?? [])];
    while (stack.length > 0) {
      const next = stack.pop()!;
      if (seen.has(next)) continue;
      seen.add(next);
      stack.push(...(children.get(next) ?? []));
    }
    return seen;
  };

  // Rollbacks that ran undid the succeeded stages above them, up to the nearest gate.
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const rollbacks = nodes.filter((n) => isRollbackStage(n) && (status(n.id) === 'succeeded' || status(n.id) === 'failed'));
  const undoneBy = new Map<string, string>();
  for (const r of rollbacks) {
    rerun.add(r.id);
    const seen = new Set<string>();
    const stack = r.needs.map((n) => n.from);
    while (stack.length > 0) {
      const id = stack.pop()!;
      const node = byId.get(id);
      if (!node || seen.has(id) || node.isGate) continue;
      seen.add(id);
      if (status(id) === 'succeeded' && !undoneBy.has(id)) undoneBy.set(id, r.id);
      stack.push(...node.needs.map((n) => n.from));
    }
  }
  for (const id of undoneBy.keys()) {
    rerun.add(id);
    for (const d of descendants(id)) rerun.add(d);
  }

  const reasked = new Set<string>();
  // Adding a gate's descendants can only add nodes below other gates' descendants
  // too, so iterate until nothing changes (at most once per gate).
  for (let changed = true; changed; ) {
    changed = false;
    for (const n of nodes) {
      if (!n.isGate || rerun.has(n.id)) continue;
      const below = descendants(n.id);
      if ([...below].some((d) => rerun.has(d))) {
        rerun.add(n.id);
        reasked.add(n.id);
        for (const d of below) rerun.add(d);
        changed = true;
      }
    }
  }
  const order = nodes.map((n) => n.id);
  return {
    reuse: order.filter((id) => !rerun.has(id)),
    rerun: order.filter((id) => rerun.has(id)),
    reaskedGates: order.filter((id) => reasked.has(id)),
    rollbacks: order.filter((id) => rollbacks.some((r) => r.id === id)),
    undone: order.filter((id) => undoneBy.has(id)).map((id) => ({ id, by: undoneBy.get(id)! })),
  };
}
