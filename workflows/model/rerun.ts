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
 */

export type RerunNode = { id: string; needs: readonly { from: string }[]; isGate: boolean };

export type RerunPlan = {
  /** Succeeded stages the new run takes over as they are. */
  reuse: string[];
  /** Stages the new run executes. */
  rerun: string[];
  /** Approved gates asked again because something after them runs again. */
  reaskedGates: string[];
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
  };
}
