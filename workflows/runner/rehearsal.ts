/**
 * Rehearsal: one attempt of a stage in a rehearsal run, on the runner.
 *
 * 1. The control plane says a run is a rehearsal (the run's `rehearsal` flag,
 *    sent with the stage's context), so the workflow and its history are those
 *    of an ordinary run: the same interpreter walks the same graph, gates wait
 *    for people as usual, waits wait.
 * 2. Nothing changes the world: a command prints what it would have run (its
 *    working directory, the variables it would get — names only — and the
 *    script) and publishes the outputs its script would write, as
 *    placeholders; a webhook prints what it would send and sends nothing; an
 *    HTTP check prints what it would check; a Kubernetes apply is a
 *    server-side dry run (configuration and cluster checked, nothing
 *    changed); a Kubernetes deploy or rollback checks its cluster connection
 *    and namespace and that the API server answers.
 */
import { K8sClient } from '../k8s/client';
import { getExecutor } from '../stages/executors';
import { StageFailure, type ExecutorContext, type ExecutorResult } from '../stages/executor-types';

const OUTPUT_LINE = /(?:echo|printf)\s+(?:-[a-z]+\s+)?["']?([A-Za-z_][A-Za-z0-9_-]*)=[^\n]*>>\s*"?\$\{?(?:PIPEWRIGHT_OUTPUT|GITHUB_OUTPUT)\}?"?/g;

/** Output names a script writes with `echo "name=…" >> "$PIPEWRIGHT_OUTPUT"` (or `$GITHUB_OUTPUT`), plus names it renames outputs to. */
export function outputsWritten(script: string): string[] {
  const names = new Set<string>();
  for (const m of script.matchAll(OUTPUT_LINE)) names.add(m[1]!);
  for (const m of script.matchAll(/sed 's\/\^[A-Za-z_][\w-]*=\/([A-Za-z_][\w-]*)=\/'/g)) names.add(m[1]!);
  return [...names];
}

const placeholder = (stage: string, name: string) => `<rehearsal: ${stage}.${name}>`;

export async function rehearseStage(kind: string, config: Record<string, unknown>, ctx: ExecutorContext): Promise<ExecutorResult> {
  const say = (text: string) => ctx.log.write('system', text.endsWith('\n') ? text : `${text}\n`);
  say('— rehearsal: nothing is changed —');
  switch (kind) {
    case 'command': {
      const command = String(config.command ?? '');
      const env = (config.env ?? {}) as Record<string, string>;
      say(`would run in ${config.cwd ? `./${String(config.cwd)}` : 'the run\'s workspace'}:`);
      ctx.log.write('stdout', `${command}\n`);
      const names = Object.keys(env);
      if (names.length > 0) say(`with the variables: ${names.sort().join(', ')}`);
      for (const input of (config.inputs ?? []) as { artifact: string; path: string }[]) say(`would place artifact ${input.artifact} at ${input.path}`);
      for (const a of (config.artifacts ?? []) as { name: string; path: string }[]) say(`would store ${a.path} as artifact "${a.name}"`);
      const outputs = Object.fromEntries(outputsWritten(command).map((n) => [n, placeholder(ctx.nodeId, n)]));
      if (Object.keys(outputs).length > 0) say(`outputs it would publish: ${Object.keys(outputs).join(', ')}`);
      return { summary: 'rehearsed: command not run', outputs };
    }
    case 'webhook': {
      say(`would POST to ${String(config.url)}:`);
      ctx.log.write('stdout', `${JSON.stringify(config.body ?? {}, null, 2)}\n`);
      const headers = Object.keys((config.headers ?? {}) as Record<string, string>);
      if (headers.length > 0) say(`with the headers: ${headers.join(', ')}`);
      say('not sent (rehearsal)');
      return { summary: 'rehearsed: webhook not sent', outputs: { status: '0' } };
    }
    case 'http-check': {
      say(`would check ${String(config.url)}`);
      return { summary: 'rehearsed: HTTP check not made', outputs: {} };
    }
    case 'k8s-apply': {
      say('server-side dry run: the API server checks every object, nothing is stored');
      const executor = getExecutor('k8s-apply')!;
      const result = await executor.execute({ ...config, dryRun: true }, ctx);
      return { ...result, summary: `rehearsed (dry run): ${result.summary}` };
    }
    case 'k8s-deploy':
    case 'k8s-rollback': {
      const name = String(config.connection ?? '');
      if (!ctx.clusters) throw new StageFailure('this runner has no access to cluster connections', 'InvalidConfig');
      const connection = await ctx.clusters.get(name);
      const client = new K8sClient(connection, ctx.signal);
      const namespace = String(config.namespace ?? 'default');
      client.assertNamespace(namespace, `namespace ${namespace}`);
      let reachable: boolean;
      try {
        reachable = await client.serves('apps/v1', 'Deployment');
      } catch (err) {
        throw new StageFailure(`cluster "${name}" did not answer: ${err instanceof Error ? err.message : String(err)}`, 'InvalidConfig');
      }
      if (!reachable) throw new StageFailure(`cluster "${name}" does not serve apps/v1 Deployments`, 'InvalidConfig');
      say(`cluster "${name}" answers; namespace ${namespace} is allowed; configuration is valid`);
      say(kind === 'k8s-deploy' ? 'would roll out — nothing was applied (rehearsal)' : 'would roll back — nothing was changed (rehearsal)');
      return { summary: `rehearsed: cluster "${name}" reachable, nothing changed`, outputs: {} };
    }
    default:
      say(`would run a ${kind} stage`);
      return { summary: `rehearsed: ${kind} not run`, outputs: {} };
  }
}
