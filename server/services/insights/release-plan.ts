/**
 * The release plan of a pipeline, derived (pure, unit-tested): what can be said from the pipeline version and
 * the environments is generated, so it never goes stale; what cannot (backups, data migrations, monitoring,
 * support, capacity) is written by people (`WRITTEN_SECTIONS`) and stored per pipeline version.
 *
 * Every derived section carries `facts`: a canonical text of what it was derived from. Its hash is kept when
 * someone marks the section reviewed; a section whose facts hash differs from the reviewed one is flagged.
 */
import { createHash } from 'node:crypto';

export type PlanSpecNode = { id: string; kind: string; name: string; environment?: string; config: Record<string, unknown> };
export type PlanSpecEdge = { from: string; to: string; on: string };
export type PlanEnvironment = {
  name: string;
  displayName: string;
  position: number;
  requireGate: boolean;
  promoteRoles: string[];
  clusterConnection: string | null;
  namespace: string | null;
};

export type DerivedSection = { key: string; title: string; markdown: string; factsHash: string };

export const WRITTEN_SECTIONS = [
  { key: 'backup-restore', title: 'Backup and restore', hint: 'What is backed up before a release, where, and how to restore it.' },
  { key: 'data-migrations', title: 'Data migrations', hint: 'Schema or data changes that ship with releases, how they are rolled forward and back.' },
  { key: 'monitoring', title: 'Monitoring', hint: 'Dashboards and alerts to watch during and after a release, and what good looks like.' },
  { key: 'support', title: 'Support', hint: 'Who is on call, how to reach them, and who to tell when a release goes out.' },
  { key: 'capacity', title: 'Capacity', hint: 'Expected load, headroom, and how to scale.' },
] as const;
export type WrittenSectionKey = (typeof WRITTEN_SECTIONS)[number]['key'];

const hash = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 16);

/** Text of a value for Markdown: one line, pipes and backticks made harmless. */
function md(v: unknown): string {
  return String(v ?? '')
    .replace(/\r?\n/g, ' ')
    .replace(/\|/g, '\\|')
    .trim();
}
function codeBlock(text: string): string {
  const fence = text.includes('```') ? '~~~~' : '```';
  return `${fence}sh\n${text.trimEnd()}\n${fence}`;
}

/** Nodes in an order that respects the edges (Kahn's algorithm; ties by drawing order). */
function ordered(nodes: PlanSpecNode[], edges: PlanSpecEdge[]): PlanSpecNode[] {
  const indeg = new Map(nodes.map((n) => [n.id, 0]));
  for (const e of edges) indeg.set(e.to, (indeg.get(e.to) ?? 0) + 1);
  const queue = nodes.filter((n) => indeg.get(n.id) === 0);
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const out: PlanSpecNode[] = [];
  while (queue.length > 0) {
    const n = queue.shift()!;
    out.push(n);
    for (const e of edges.filter((x) => x.from === n.id)) {
      const d = (indeg.get(e.to) ?? 0) - 1;
      indeg.set(e.to, d);
      if (d === 0 && byId.has(e.to)) queue.push(byId.get(e.to)!);
    }
  }
  return out.length === nodes.length ? out : nodes;
}

function target(n: PlanSpecNode, env: PlanEnvironment | undefined): string {
  const c = n.config;
  if (n.kind.startsWith('k8s-')) {
    const conn = (c.connection as string | undefined) || env?.clusterConnection || '?';
    const ns = (c.namespace as string | undefined) || env?.namespace || '?';
    return `cluster ${conn}, namespace ${ns}${c.deployment ? `, deployment ${String(c.deployment)}` : ''}`;
  }
  if (n.kind === 'http-check' || n.kind === 'webhook') return String(c.url ?? '');
  if (n.environment) return `environment ${n.environment}`;
  return 'the runner';
}

function stepLine(n: PlanSpecNode, envs: Map<string, PlanEnvironment>): string {
  const c = n.config;
  const head = `**${md(n.name)}** (\`${n.id}\`, ${n.kind}${n.environment ? `, ${n.environment}` : ''}) → ${md(target(n, n.environment ? envs.get(n.environment) : undefined))}`;
  if (n.kind === 'command' && typeof c.command === 'string') return `${head}\n\n${codeBlock(c.command)}`;
  if (n.kind === 'k8s-deploy') {
    const strategy = (c.strategy as { type?: string } | undefined)?.type ?? 'rolling';
    return `${head}: ${strategy} rollout${c.image ? ` of image \`${md(c.image)}\`` : ''}; rolls back by itself when the rollout or its smoke test fails.`;
  }
  if (n.kind === 'approval') return `${head}: waits for ${approvers(c)}.`;
  if (n.kind === 'wait') return `${head}: waits ${md(c.seconds ?? c.duration ?? '')} s.`;
  return head;
}

function approvers(c: Record<string, unknown>): string {
  const groups = (c.groups as string[] | undefined) ?? [];
  const users = (c.users as string[] | undefined) ?? [];
  const who = [...groups.map((g) => `group **${md(g)}**`), ...users.map((u) => `**${md(u)}**`)].join(', ') || 'nobody';
  const quorum = Number(c.quorum ?? 1);
  return `${quorum} approval${quorum === 1 ? '' : 's'} from ${who}`;
}

/** The derived sections of a pipeline's release plan, in reading order. */
export function deriveReleasePlan(input: { pipelineName: string; nodes: PlanSpecNode[]; edges: PlanSpecEdge[]; environments: PlanEnvironment[] }): DerivedSection[] {
  const envs = new Map(input.environments.map((e) => [e.name, e]));
  const nodes = ordered(input.nodes, input.edges);
  const used = [...new Set(nodes.map((n) => n.environment).filter((e): e is string => !!e))].sort((a, b) => (envs.get(a)?.position ?? 1e9) - (envs.get(b)?.position ?? 1e9));
  const sections: DerivedSection[] = [];
  const add = (key: string, title: string, markdown: string, facts: unknown) => sections.push({ key, title, markdown, factsHash: hash(JSON.stringify(facts)) });

  // 1. Environments and the promotion path.
  const envLines = used.map((name, i) => {
    const e = envs.get(name);
    const stages = nodes.filter((n) => n.environment === name).map((n) => md(n.name));
    const rules = e ? `promoted by ${e.promoteRoles.join(', ') || 'nobody'}${e.requireGate ? '; needs an approval gate' : ''}` : 'not defined under Admin → Environments';
    return `${i + 1}. **${md(e?.displayName ?? name)}** (\`${name}\`) — ${rules}. Stages: ${stages.join(', ')}.`;
  });
  const buildStages = nodes.filter((n) => !n.environment).map((n) => md(n.name));
  add(
    'environments',
    'Environments and how builds move through them',
    [
      `A build is made once (${buildStages.join(', ') || 'no build stages'}) and the same build is promoted ${used.length ? used.map((u) => envs.get(u)?.displayName ?? u).join(' → ') : 'nowhere (no stage is bound to an environment)'}, from the promotion board or by the pipeline running on.`,
      '',
      ...envLines,
    ].join('\n'),
    { used, envs: used.map((u) => envs.get(u) ?? null), buildStages },
  );

  // 2. Gates.
  const gates = nodes.filter((n) => n.kind === 'approval');
  add(
    'gates',
    'Gates and who may pass them',
    gates.length === 0
      ? 'No approval gate: nothing waits for a person.'
      : [
          '| Gate | Environment | Who may approve | Quorum | Starter may approve | Timeout |',
          '| --- | --- | --- | --- | --- | --- |',
          ...gates.map((g) => {
            const c = g.config;
            const who = [...((c.groups as string[] | undefined) ?? []).map((x) => `group ${md(x)}`), ...((c.users as string[] | undefined) ?? []).map(md)].join(', ');
            const protectedEnv = g.environment && envs.get(g.environment)?.requireGate;
            const timeout = Number(c.timeoutSeconds ?? 0);
            return `| ${md(g.name)} | ${md(g.environment ?? '—')} | ${who || 'nobody'} | ${md(c.quorum ?? 1)} | ${protectedEnv ? 'never (protected environment)' : c.allowTriggerer ? 'yes' : 'no'} | ${timeout ? `${timeout} s, then ${md(c.onTimeout ?? 'reject')}` : 'none'} |`;
          }),
        ].join('\n'),
    gates.map((g) => [g.id, g.name, g.environment, g.config.groups, g.config.users, g.config.quorum, g.config.allowTriggerer, g.config.timeoutSeconds, g.config.onTimeout]),
  );

  // 3. First deployment: the stages in order (what a success path runs).
  const failureTargets = new Set(input.edges.filter((e) => e.on === 'failure').map((e) => e.to));
  const happy = nodes.filter((n) => !failureTargets.has(n.id) && n.kind !== 'k8s-rollback');
  add(
    'first-deployment',
    'First deployment, step by step',
    happy.map((n, i) => `${i + 1}. ${stepLine(n, envs)}`).join('\n\n'),
    happy.map((n) => [n.id, n.kind, n.name, n.environment, n.config]),
  );

  // 4. Smoke tests and what they check.
  const smokes = nodes.filter((n) => n.kind === 'http-check' || (n.kind === 'command' && /smoke/i.test(`${n.id} ${n.name}`)) || (n.kind === 'k8s-deploy' && n.config.smokeTest));
  add(
    'smoke-tests',
    'Smoke tests and the dependencies they check',
    smokes.length === 0
      ? 'No smoke test: add an http-check after each deployment so a broken release stops the line.'
      : smokes
          .map((n) => {
            const deps = ((n.config.dependencies as { name?: string; url?: string }[] | undefined) ?? []).map((d) => `${md(d.name)} (${md(d.url)})`);
            return `- **${md(n.name)}** (${md(n.environment ?? 'no environment')}): ${n.kind === 'http-check' ? `requests ${md(n.config.url)} until it answers ${md(n.config.expectStatus ?? 200)}` : n.kind === 'command' ? `runs \`${md(String(n.config.command ?? '').split('\n')[0])}\`…` : 'the rollout’s own smoke test'}${deps.length ? `; dependencies: ${deps.join(', ')}` : ''}.`;
          })
          .join('\n'),
    smokes.map((n) => [n.id, n.config]),
  );

  // 5. Back-out.
  const failureEdges = input.edges.filter((e) => e.on === 'failure' || e.on === 'always');
  const rollbacks = nodes.filter((n) => n.kind === 'k8s-rollback');
  const k8sDeploys = nodes.filter((n) => n.kind === 'k8s-deploy');
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const backout: string[] = [];
  for (const e of failureEdges) backout.push(`- When **${md(byId.get(e.from)?.name ?? e.from)}** fails${e.on === 'always' ? ' (or always)' : ''}, **${md(byId.get(e.to)?.name ?? e.to)}** runs: ${md(target(byId.get(e.to) ?? { id: e.to, kind: '', name: '', config: {} }, undefined))}.`);
  for (const r of rollbacks) backout.push(`- **${md(r.name)}** rolls ${md(target(r, r.environment ? envs.get(r.environment) : undefined))} back to its previous revision.`);
  for (const d of k8sDeploys) backout.push(`- **${md(d.name)}** rolls back by itself when its rollout or smoke test fails; once finished, its **Roll back** button on the run page starts an audited run that restores the previous revision.`);
  backout.push(
    `- From the promotion board, **Roll back to #N** promotes the build that was live before into ${used.length ? used.map((u) => envs.get(u)?.displayName ?? u).join(', ') : 'an environment'} (the same build, its deploy stages run again; its gates are asked again).`,
    '- Anything without a failure branch stops the line: running stages are cancelled, later ones are skipped, and nothing after the failure is deployed.',
  );
  add('back-out', 'Backing out a deployment', backout.join('\n'), [failureEdges, rollbacks.map((r) => [r.id, r.config]), k8sDeploys.map((d) => d.id), used]);

  // 6. Restart / redeploy.
  add(
    'redeploy',
    'Restart and redeploy',
    [
      '- **Re-run from failed stage** (run page, authors): a new run of the same version and parameters; stages that succeeded are reused, failed and skipped ones run again; gates before anything that must run again are asked again.',
      `- **Promote** the same build again into ${used.map((u) => envs.get(u)?.displayName ?? u).join(', ') || 'an environment'} from the promotion board to redeploy it.`,
      '- If the worker, web server or Temporal server restarts, runs carry on where they were; completed stages do not run again.',
    ].join('\n'),
    used,
  );

  // 7. Logs.
  add(
    'logs',
    'Where the logs are',
    [
      '- Each stage’s output (stdout, stderr and Pipewright’s own system lines) is on its run page, stage by stage and attempt by attempt, live while it runs; secrets are masked before they are stored.',
      '- Decisions, cancellations, roll-backs and refused attempts are in Admin → Audit log (exportable as CSV).',
      `- Stages of this pipeline that write logs: ${nodes.filter((n) => n.kind !== 'approval' && n.kind !== 'wait').map((n) => md(n.name)).join(', ') || 'none'}.`,
    ].join('\n'),
    nodes.map((n) => n.id),
  );
  return sections;
}

export type IssueLogEntry = {
  runId: string;
  runNumber: number;
  environment: string;
  at: number;
  failure: string;
  failedStage: string | null;
  error: string | null;
  excerpt: string | null;
  cause: string;
  fix: string;
  fixRunNumber: number | null;
  updatedByName: string | null;
  updatedAt: number | null;
};

export type WrittenSection = { key: string; title: string; body: string; version: number | null; updatedByName: string | null; updatedAt: number | null };

/** The whole plan as Markdown (the export and the printable page read the same). */
export function releasePlanMarkdown(input: {
  pipelineName: string;
  version: number;
  generatedAt: number;
  derived: (DerivedSection & { stale: boolean })[];
  written: WrittenSection[];
  issues: IssueLogEntry[];
}): string {
  const out: string[] = [`# Release plan: ${md(input.pipelineName)}`, '', `Pipeline version ${input.version} · generated ${new Date(input.generatedAt).toISOString().slice(0, 16).replace('T', ' ')} UTC by Pipewright from the pipeline, its environments and its runs.`, ''];
  for (const s of input.derived) {
    out.push(`## ${s.title}`, '');
    if (s.stale) out.push('> **Changed since last reviewed.**', '');
    out.push(s.markdown, '');
  }
  for (const w of input.written) {
    out.push(`## ${w.title}`, '');
    out.push(w.body.trim() ? w.body.trim() : '_Not written yet._', '');
    if (w.updatedByName) out.push(`_Written by ${md(w.updatedByName)}, ${new Date(w.updatedAt!).toISOString().slice(0, 10)} (version ${w.version})._`, '');
  }
  out.push('## Issue log', '');
  if (input.issues.length === 0) out.push('No failed or rolled-back deployment yet.', '');
  for (const i of input.issues) {
    out.push(`### Run #${i.runNumber} — ${md(i.environment)}, ${new Date(i.at).toISOString().slice(0, 16).replace('T', ' ')} UTC`, '');
    out.push(`- What happened: ${md(i.failure)}${i.failedStage ? ` (stage \`${i.failedStage}\`)` : ''}${i.error ? `: ${md(i.error)}` : ''}`);
    if (i.excerpt) out.push('', codeBlock(i.excerpt), '');
    out.push(`- Cause: ${i.cause ? md(i.cause) : '_not recorded_'}`);
    out.push(`- Fix: ${i.fix ? md(i.fix) : '_not recorded_'}${i.fixRunNumber ? ` (fixed by run #${i.fixRunNumber})` : ''}`);
    if (i.updatedByName) out.push(`- Recorded by ${md(i.updatedByName)}, ${new Date(i.updatedAt!).toISOString().slice(0, 10)}`);
    out.push('');
  }
  return out.join('\n');
}
