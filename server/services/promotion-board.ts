/**
 * The promotion board, derived (pure: no database, unit-tested).
 *
 * 1. A build is a run of the pipeline that is not a promotion. Its build
 *    stages are the stages bound to no environment and not downstream of one
 *    (compile, unit tests, …); they run only in the build's own run.
 * 2. A build's state in an environment E comes from the stages bound to E, in
 *    the latest of: the build's own run and its promotion runs into E that
 *    reached E's stages (passed / failed / running / waiting at a gate).
 * 3. A build may be promoted into E when its build stages succeeded and it
 *    passed every earlier environment (as its own pipeline version binds them);
 *    otherwise `missing` lists what it lacks, in words a person can act on.
 * 4. "Live now" in E is the build whose stages for E succeeded last.
 * 5. `promotionPlan` says which stages a promotion into E reuses, runs and
 *    leaves out.
 */
import { approvalWait, describeRunStatus } from '../../workflows/model/run-status';

export type CellStatus = 'passed' | 'failed' | 'running' | 'waiting' | 'none';

export type BoardPlanNode = {
  id: string;
  name: string;
  runtime: string;
  environment?: string;
  needs: { from: string }[];
  /** A gate's approvers, so a waiting cell says whom it waits for (describeRunStatus's wording). */
  gate?: { users: string[]; groups: string[] };
};
export type BoardPlan = { nodes: BoardPlanNode[] };
export type BoardRun = {
  id: string;
  number: number;
  status: string;
  trigger: string;
  planHash: string;
  pipelineVersion: number;
  params: Record<string, string | number | boolean>;
  createdAt: number;
  triggeredByName: string | null;
};
export type BoardStage = { runId: string; nodeId: string; status: string; endedAt: number | null; outputs: Record<string, string> | null };
export type BoardPromotion = { runId: string; buildRunId: string; environment: string; promotedByName: string; createdAt: number; rollback: boolean };
export type BoardEnvironment = { name: string; displayName: string; position: number; requireGate: boolean; promoteRoles: string[] };

export type Cell = {
  status: CellStatus;
  /** The run the status comes from (the build's own run, or a promotion run). */
  runId?: string;
  runNumber?: number;
  /** When E's stages last finished in that run (ms), for "live now". */
  at?: number;
  /** e.g. "deploy-staging failed in run #12". */
  detail: string;
};

export type Build = {
  runId: string;
  number: number;
  status: string;
  createdAt: number;
  by: string | null;
  /** Commit / version as the run's parameters or the build stages' outputs give them. */
  version: string | null;
  commit: string | null;
  buildStages: { id: string; name: string; status: string }[];
  buildOk: boolean;
  cells: Record<string, Cell>;
  /** Per environment: what the build lacks to be promoted there (empty = eligible). */
  missing: Record<string, string[]>;
};

export type LiveBuild = { runId: string; number: number; version: string | null; at: number };

export type BoardColumn = BoardEnvironment & {
  live: LiveBuild | null;
  /** The build live before the current one (what "Roll back" promotes). */
  previous: LiveBuild | null;
};

export type Board = {
  environments: BoardColumn[];
  builds: Build[];
  history: (BoardPromotion & { buildNumber: number | null; runNumber: number | null; runStatus: string | null })[];
};

const ACTIVE = new Set(['queued', 'running']);

/** Nodes downstream (transitively) of `roots` in a plan. */
function descendants(plan: BoardPlan, roots: Set<string>): Set<string> {
  const children = new Map<string, string[]>();
  for (const n of plan.nodes) for (const need of n.needs) children.set(need.from, [...(children.get(need.from) ?? []), n.id]);
  const out = new Set<string>();
  const stack = [...roots];
  while (stack.length > 0) {
    for (const c of children.get(stack.pop()!) ?? []) {
      if (!out.has(c)) {
        out.add(c);
        stack.push(c);
      }
    }
  }
  return out;
}

/** Nodes upstream (transitively) of `targets` in a plan. */
function ancestors(plan: BoardPlan, targets: readonly string[]): Set<string> {
  const byId = new Map(plan.nodes.map((n) => [n.id, n]));
  const out = new Set<string>();
  const stack = [...targets];
  while (stack.length > 0) {
    for (const need of byId.get(stack.pop()!)?.needs ?? []) {
      if (!out.has(need.from)) {
        out.add(need.from);
        stack.push(need.from);
      }
    }
  }
  return out;
}

/** Build stages of a plan: bound to no environment and not downstream of a bound stage. */
export function buildStagesOf(plan: BoardPlan): BoardPlanNode[] {
  const bound = new Set(plan.nodes.filter((n) => n.environment).map((n) => n.id));
  const after = descendants(plan, bound);
  return plan.nodes.filter((n) => !n.environment && !after.has(n.id));
}

/** Environments a plan binds stages to, in promotion order (unknown names last). */
export function environmentsOf(plan: BoardPlan, order: ReadonlyMap<string, number>): string[] {
  const names = [...new Set(plan.nodes.map((n) => n.environment).filter((e): e is string => !!e))];
  return names.sort((a, b) => (order.get(a) ?? Infinity) - (order.get(b) ?? Infinity) || a.localeCompare(b));
}

/** State of one environment's stages in one run. */
export function cellFromRun(nodes: BoardPlanNode[], statusOf: (id: string) => BoardStage | undefined, run: BoardRun, isPromotion: boolean): Cell {
  if (nodes.length === 0) return { status: 'none', detail: 'no stage for this environment' };
  const stages = nodes.map((n) => ({ n, s: statusOf(n.id) }));
  const at = Math.max(0, ...stages.map(({ s }) => s?.endedAt ?? 0)) || undefined;
  const base = { runId: run.id, runNumber: run.number, at };
  const failed = stages.find(({ s }) => s?.status === 'failed');
  if (failed) return { ...base, status: 'failed', detail: `${failed.n.id} failed in run #${run.number}` };
  const waiting = stages.find(({ s }) => s?.status === 'waiting');
  if (waiting) {
    const who = waiting.n.gate ? describeRunStatus('running', [approvalWait(waiting.n, waiting.n.gate)]) : null;
    return { ...base, status: 'waiting', detail: who ? `${who.text} (at ${waiting.n.id} in run #${run.number})` : `waiting at ${waiting.n.id} in run #${run.number}` };
  }
  if (stages.some(({ s }) => s?.status === 'running')) return { ...base, status: 'running', detail: `running in run #${run.number}` };
  const succeeded = stages.filter(({ s }) => s?.status === 'succeeded').length;
  if (succeeded === stages.length || (succeeded > 0 && !ACTIVE.has(run.status) && stages.every(({ s }) => s?.status === 'succeeded' || s?.status === 'skipped'))) {
    return { ...base, status: 'passed', detail: `passed in run #${run.number}` };
  }
  if (ACTIVE.has(run.status) && (isPromotion || succeeded > 0)) return { ...base, status: 'running', detail: `running in run #${run.number}` };
  const cancelled = stages.find(({ s }) => s?.status === 'cancelled');
  if (cancelled && succeeded > 0) return { ...base, status: 'failed', detail: `${cancelled.n.id} cancelled in run #${run.number}` };
  return { status: 'none', detail: 'not deployed yet' };
}

function paramText(params: Record<string, string | number | boolean>, names: string[]): string | null {
  for (const n of names) {
    const v = params[n];
    if (v !== undefined && v !== '') return String(v);
  }
  return null;
}

export function deriveBoard(input: {
  environments: BoardEnvironment[];
  /** Plans by hash. */
  plans: ReadonlyMap<string, BoardPlan>;
  /** Columns: environments of the pipeline's newest version. */
  columns: string[];
  runs: BoardRun[];
  stages: BoardStage[];
  promotions: BoardPromotion[];
}): Board {
  const envByName = new Map(input.environments.map((e) => [e.name, e]));
  const order = new Map(input.environments.map((e) => [e.name, e.position]));
  const stagesByRun = new Map<string, Map<string, BoardStage>>();
  for (const s of input.stages) {
    let m = stagesByRun.get(s.runId);
    if (!m) stagesByRun.set(s.runId, (m = new Map()));
    m.set(s.nodeId, s);
  }
  const runById = new Map(input.runs.map((r) => [r.id, r]));
  const promotionByRun = new Map(input.promotions.map((p) => [p.runId, p]));
  /** Promotion runs per build and environment, newest first. */
  const promotionsOf = new Map<string, BoardPromotion[]>();
  for (const p of [...input.promotions].sort((a, b) => b.createdAt - a.createdAt)) {
    const key = `${p.buildRunId}\n${p.environment}`;
    promotionsOf.set(key, [...(promotionsOf.get(key) ?? []), p]);
  }

  // Per plan (few distinct ones): stages per environment, build stages, environment path.
  const planInfo = new Map<string, { plan: BoardPlan; byEnv: Map<string, BoardPlanNode[]>; build: BoardPlanNode[]; path: string[] }>();
  const infoOf = (hash: string) => {
    let info = planInfo.get(hash);
    if (!info) {
      const plan = input.plans.get(hash) ?? { nodes: [] };
      const byEnv = new Map<string, BoardPlanNode[]>();
      for (const n of plan.nodes) if (n.environment) byEnv.set(n.environment, [...(byEnv.get(n.environment) ?? []), n]);
      info = { plan, byEnv, build: buildStagesOf(plan), path: environmentsOf(plan, order) };
      planInfo.set(hash, info);
    }
    return info;
  };

  const columns = [...new Set(input.columns)].sort((a, b) => (order.get(a) ?? Infinity) - (order.get(b) ?? Infinity) || a.localeCompare(b));
  const builds: Build[] = [];
  for (const run of input.runs) {
    if (run.trigger === 'promotion' || promotionByRun.has(run.id)) continue;
    const info = infoOf(run.planHash);
    const own = stagesByRun.get(run.id) ?? new Map<string, BoardStage>();
    const buildStages = info.build.map((n) => ({ id: n.id, name: n.name, status: own.get(n.id)?.status ?? 'pending' }));
    const buildOk = buildStages.every((s) => s.status === 'succeeded');
    const outputs = Object.assign({}, ...info.build.map((n) => own.get(n.id)?.outputs ?? {})) as Record<string, string>;
    const cells: Record<string, Cell> = {};
    for (const env of new Set([...columns, ...info.path])) {
      const nodes = info.byEnv.get(env) ?? [];
      let cell: Cell = { status: 'none', detail: nodes.length === 0 ? `run #${run.number}'s pipeline version has no stage for ${env}` : 'not deployed yet' };
      const candidates: { run: BoardRun; promotion: boolean }[] = [
        ...(promotionsOf.get(`${run.id}\n${env}`) ?? []).flatMap((p) => {
          const r = runById.get(p.runId);
          return r ? [{ run: r, promotion: true }] : [];
        }),
        { run, promotion: false },
      ];
      for (const c of candidates) {
        const m = stagesByRun.get(c.run.id) ?? new Map<string, BoardStage>();
        const found = cellFromRun(nodes, (id) => m.get(id), c.run, c.promotion);
        if (found.status !== 'none') {
          cell = found;
          break;
        }
      }
      // The build's own run is still on its way to this environment: it waits at a gate before it (say so,
      // with the run to open), or it is still running.
      if (cell.status === 'none' && nodes.length > 0 && ACTIVE.has(run.status)) {
        // Only what lies between the earlier environments' stages and this one's: a gate in front of staging
        // is not production's.
        const before = ancestors(info.plan, nodes.map((n) => n.id));
        const otherEnv = info.plan.nodes.filter((n) => before.has(n.id) && n.environment && n.environment !== env).map((n) => n.id);
        const earlier = new Set([...otherEnv, ...ancestors(info.plan, otherEnv)]);
        const gate = info.plan.nodes.find((n) => before.has(n.id) && !earlier.has(n.id) && own.get(n.id)?.status === 'waiting');
        if (gate) cell = { status: 'waiting', runId: run.id, runNumber: run.number, detail: `waiting at ${gate.name} in run #${run.number}` };
      }
      cells[env] = cell;
    }
    /** Why the build's own run, still in flight, keeps it from being promoted: it is still on its way. */
    const ownWay = ACTIVE.has(run.status)
      ? (() => {
          const waiting = info.plan.nodes.find((n) => own.get(n.id)?.status === 'waiting');
          return `run #${run.number} is still ${waiting ? `waiting at ${waiting.name}` : 'running'}: promote the build once that run has finished, or cancel it`;
        })()
      : null;
    const missing: Record<string, string[]> = {};
    for (const env of columns) {
      const lacks: string[] = [];
      for (const s of buildStages) {
        if (s.status !== 'succeeded') lacks.push(`build: ${s.name} ${s.status === 'failed' ? `failed in run #${run.number}` : `has not succeeded (${s.status})`}`);
      }
      if (ownWay) lacks.push(ownWay);
      if (!info.byEnv.has(env)) lacks.push(`run #${run.number}'s pipeline version has no stage for ${env}`);
      const position = order.get(env) ?? Infinity;
      for (const earlier of info.path) {
        if (earlier === env || (order.get(earlier) ?? Infinity) >= position) continue;
        const c = cells[earlier]!;
        if (c.status !== 'passed') lacks.push(`not passed: ${earlier} (${c.detail})`);
      }
      missing[env] = lacks;
    }
    builds.push({
      runId: run.id,
      number: run.number,
      status: run.status,
      createdAt: run.createdAt,
      by: run.triggeredByName,
      version: paramText(run.params, ['version', 'tag']) ?? outputs.version ?? null,
      commit: paramText(run.params, ['commit', 'sha', 'revision']) ?? outputs.commit ?? null,
      buildStages,
      buildOk,
      cells,
      missing,
    });
  }
  builds.sort((a, b) => b.number - a.number);

  const environments: BoardColumn[] = columns.map((name) => {
    const env = envByName.get(name) ?? { name, displayName: name, position: Infinity, requireGate: false, promoteRoles: [] };
    const passed = builds
      .map((b) => ({ b, c: b.cells[name]! }))
      .filter(({ c }) => c.status === 'passed' && c.at !== undefined)
      .sort((x, y) => y.c.at! - x.c.at!);
    const live = passed[0];
    const previous = live ? passed.find(({ b }) => b.runId !== live.b.runId) : undefined;
    return {
      ...env,
      live: live ? { runId: live.b.runId, number: live.b.number, version: live.b.version, at: live.c.at! } : null,
      previous: previous ? { runId: previous.b.runId, number: previous.b.number, version: previous.b.version, at: previous.c.at! } : null,
    };
  });

  const history = [...input.promotions]
    .sort((a, b) => b.createdAt - a.createdAt)
    .map((p) => ({
      ...p,
      buildNumber: runById.get(p.buildRunId)?.number ?? null,
      runNumber: runById.get(p.runId)?.number ?? null,
      runStatus: runById.get(p.runId)?.status ?? null,
    }));
  return { environments, builds, history };
}

/**
 * What a promotion of a build into `target` does with each stage of its plan:
 * stages bound to `target` (and unbound ones after them) run; stages bound to
 * later environments are left out; everything before is reused when it
 * succeeded in `source` (the run where the build last passed the environment
 * before `target`, or the build itself), else left out.
 */
export function promotionPlan(
  plan: BoardPlan,
  target: string,
  order: ReadonlyMap<string, number>,
  succeededInSource: (id: string) => boolean,
): { run: string[]; reuse: string[]; omit: string[] } {
  const position = order.get(target) ?? Infinity;
  const targetNodes = new Set(plan.nodes.filter((n) => n.environment === target).map((n) => n.id));
  const later = new Set(plan.nodes.filter((n) => n.environment && n.environment !== target && (order.get(n.environment) ?? Infinity) > position).map((n) => n.id));
  const afterTarget = descendants(plan, targetNodes);
  const afterLater = descendants(plan, later);
  const run: string[] = [];
  const reuse: string[] = [];
  const omit: string[] = [];
  for (const n of plan.nodes) {
    if (targetNodes.has(n.id)) run.push(n.id);
    else if (later.has(n.id) || (afterLater.has(n.id) && !n.environment)) omit.push(n.id);
    else if (!n.environment && afterTarget.has(n.id)) run.push(n.id);
    else if (succeededInSource(n.id)) reuse.push(n.id);
    else omit.push(n.id);
  }
  return { run, reuse, omit };
}
