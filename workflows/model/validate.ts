/**
 * The validator: one function used live by the editor and by the API before
 * saving or running. It never throws on bad input; it returns a list of issues,
 * each pointing at the node or edge to paint.
 */
import type { z } from 'zod';
import { getStageDefinition } from '../stages/registry';
import { approverProblems, type ApproverFacts, type ApproverProblem } from './approvers';
import { describeLabels, labelsSatisfy, type RunnerFacts } from './runners';
import { findTooDeep, nestedDeeperThan } from './depth';
import { LIMITS } from './limits';
import { protectionIssues, type EnvironmentProtection, type ProtectionIssueCode } from './protection';
import { pipelineSpecSchema, type PipelineSpec } from './spec';
import { refKey, shellNamePart, shellStageOf, shellTokens, shellVariablesOf, SHELL_VARIABLE_PREFIX } from './shell-env';
import { parseTemplate, stringsIn } from './template';

export type IssueCode =
  | 'not-an-object'
  | 'too-large'
  | 'too-many-nodes'
  | 'schema'
  | 'no-stages'
  | 'unknown-kind'
  | 'duplicate-node-id'
  | 'duplicate-edge-id'
  | 'duplicate-edge'
  | 'duplicate-parameter'
  | 'dangling-edge'
  | 'self-loop'
  | 'cycle'
  | 'unreachable'
  | 'isolated'
  | 'invalid-config'
  | 'config-too-large'
  | 'gate-no-approvers'
  | 'bad-template'
  | 'unknown-parameter'
  | 'unknown-output'
  | 'output-not-upstream'
  | 'environment-ref-unbound'
  | 'unknown-environment'
  | ProtectionIssueCode
  | 'template-in-command'
  | 'unknown-shell-variable'
  | 'no-runner'
  | ApproverProblem['code'];

export type ValidationIssue = {
  code: IssueCode;
  message: string;
  severity: 'error' | 'warning';
  nodeId?: string;
  edgeId?: string;
  /** Dot path of the field inside the node's config (for the config panel). */
  path?: string;
};

export type ValidationResult = {
  /** The parsed spec (defaults applied) when the document has the right shape. */
  spec?: PipelineSpec;
  issues: ValidationIssue[];
  /** True when there is no issue of severity `error`. */
  ok: boolean;
};

function result(issues: ValidationIssue[], spec?: PipelineSpec): ValidationResult {
  return { spec, issues, ok: !issues.some((i) => i.severity === 'error') };
}

function pathString(path: ReadonlyArray<PropertyKey>): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.').replace(/\.\[/g, '[');
}

function zodIssues(error: z.ZodError, raw: Record<string, unknown>): ValidationIssue[] {
  const rawNodes = Array.isArray(raw.nodes) ? raw.nodes : [];
  const rawEdges = Array.isArray(raw.edges) ? raw.edges : [];
  return error.issues.slice(0, 200).map((zi) => {
    const [head, index, ...rest] = zi.path;
    const issue: ValidationIssue = {
      code: 'schema',
      severity: 'error',
      message: `${pathString(zi.path) || 'document'}: ${zi.message}`,
    };
    if (head === 'nodes' && typeof index === 'number') {
      const id = (rawNodes[index] as { id?: unknown } | undefined)?.id;
      if (typeof id === 'string') issue.nodeId = id;
      issue.path = pathString(rest);
    } else if (head === 'edges' && typeof index === 'number') {
      const id = (rawEdges[index] as { id?: unknown } | undefined)?.id;
      if (typeof id === 'string') issue.edgeId = id;
    }
    return issue;
  });
}

/** Safe size of a value as JSON; `Infinity` when it cannot be serialised (cycles, BigInt). */
function jsonSize(value: unknown): number {
  try {
    return JSON.stringify(value)?.length ?? 0;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

/**
 * The nodes of `set` that lie on a cycle: members of a strongly connected
 * component with more than one node (Kosaraju, iterative). The others in `set`
 * merely wait on a cycle (downstream of one, or between two).
 */
function nodesOnCycles(set: ReadonlySet<string>, outgoing: ReadonlyMap<string, string[]>, incoming: ReadonlyMap<string, string[]>): Set<string> {
  const finished: string[] = [];
  const seen = new Set<string>();
  for (const start of set) {
    if (seen.has(start)) continue;
    seen.add(start);
    const stack: { id: string; next: number }[] = [{ id: start, next: 0 }];
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const outs = outgoing.get(top.id)!;
      if (top.next < outs.length) {
        const to = outs[top.next++]!;
        if (set.has(to) && !seen.has(to)) {
          seen.add(to);
          stack.push({ id: to, next: 0 });
        }
      } else {
        stack.pop();
        finished.push(top.id);
      }
    }
  }
  const component = new Map<string, number>();
  const sizes: number[] = [];
  for (let i = finished.length - 1; i >= 0; i--) {
    const root = finished[i]!;
    if (component.has(root)) continue;
    const c = sizes.push(0) - 1;
    component.set(root, c);
    const stack = [root];
    while (stack.length > 0) {
      const id = stack.pop()!;
      sizes[c]!++;
      for (const from of incoming.get(id)!) {
        if (set.has(from) && !component.has(from)) {
          component.set(from, c);
          stack.push(from);
        }
      }
    }
  }
  return new Set([...set].filter((id) => sizes[component.get(id)!]! > 1));
}

/**
 * Validates a pipeline document of unknown shape.
 * @example validatePipeline(JSON.parse(text)).issues
 */
export type ValidateOptions = {
  /**
   * Names of the workspace's environments. When given, a stage bound to an
   * environment not in the list is an error (the validator is pure: the API
   * and the editor pass the list they read).
   */
  environments?: readonly string[];
  /** Environments whose protection requires an approval gate (names only; `protection` says more). */
  gatedEnvironments?: readonly string[];
  /**
   * The environments' protection facts (approval gate required, cluster
   * connection and namespace): checked by `protectionIssues` (protection.ts).
   * Kubernetes stages must be bound to an environment whenever `environments`
   * or this is given (the workspace is known).
   */
  protection?: readonly EnvironmentProtection[];
  /** Registered runners' labels (when given, a stage no registered runner can run gets a warning). */
  runners?: RunnerFacts;
  /** The workspace's people and groups (when given, a gate naming nobody who may decide, or unknown people or groups, is an error). */
  approvers?: ApproverFacts;
};

/**
 * Nesting beyond the limits: the stages whose config is too deep (the
 * config-too-large issue, on the stage), else where the document is. Such a
 * document has no usable shape, so it is refused outright (nothing is saved).
 */
function depthIssues(raw: Record<string, unknown>): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const rawNodes: unknown[] = Array.isArray(raw.nodes) ? raw.nodes : [];
  for (const node of rawNodes) {
    if (node === null || typeof node !== 'object' || !('config' in node)) continue;
    const { id, name, config } = node as { id?: unknown; name?: unknown; config?: unknown };
    if (!nestedDeeperThan(config, LIMITS.configDepth)) continue;
    const label = typeof name === 'string' ? name : typeof id === 'string' ? id : 'a stage';
    issues.push({
      code: 'config-too-large',
      severity: 'error',
      ...(typeof id === 'string' ? { nodeId: id } : {}),
      message: `configuration of "${label}" is nested deeper than ${LIMITS.configDepth} levels`,
    });
    if (issues.length >= 20) break;
  }
  if (issues.length > 0) return issues;
  const elsewhere = findTooDeep(raw, LIMITS.documentDepth);
  if (!elsewhere) return [];
  return [
    {
      code: 'too-large',
      severity: 'error',
      message: `the pipeline document is nested deeper than ${LIMITS.documentDepth} levels (at ${pathString(elsewhere.path.slice(0, 8))}${elsewhere.path.length > 8 ? '…' : ''})`,
    },
  ];
}

export function validatePipeline(input: unknown, options: ValidateOptions = {}): ValidationResult {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    return result([{ code: 'not-an-object', severity: 'error', message: 'a pipeline must be a JSON/YAML object' }]);
  }
  const raw = input as Record<string, unknown>;
  if (Array.isArray(raw.nodes) && raw.nodes.length > LIMITS.maxNodes) {
    return result([
      {
        code: 'too-many-nodes',
        severity: 'error',
        message: `a pipeline may have at most ${LIMITS.maxNodes} stages; this one has ${raw.nodes.length}`,
      },
    ]);
  }
  // Before anything recursive (JSON.stringify, zod) sees it: a document nested thousands of levels deep
  // gets the same issue as one just over the limit, never a stack overflow.
  const tooDeep = depthIssues(raw);
  if (tooDeep.length > 0) return result(tooDeep);
  const size = jsonSize(input);
  if (size > LIMITS.specSize) {
    return result([
      {
        code: 'too-large',
        severity: 'error',
        message: `the pipeline document is too large (${size === Infinity ? 'not serialisable' : `${size} characters`}, limit ${LIMITS.specSize})`,
      },
    ]);
  }
  const parsed = pipelineSpecSchema.safeParse(input);
  if (!parsed.success) return result(zodIssues(parsed.error, raw));
  const spec = parsed.data;
  return result(checkSpec(spec, options), spec);
}

/** Semantic checks on a document that already has the right shape. */
export function checkSpec(spec: PipelineSpec, options: ValidateOptions = {}): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const push = (i: Omit<ValidationIssue, 'severity'> & { severity?: ValidationIssue['severity'] }) =>
    issues.push({ severity: 'error', ...i });

  if (spec.nodes.length === 0) push({ code: 'no-stages', message: 'add at least one stage' });

  // Ids.
  const nodes = new Map<string, PipelineSpec['nodes'][number]>();
  for (const node of spec.nodes) {
    if (nodes.has(node.id)) push({ code: 'duplicate-node-id', nodeId: node.id, message: `two stages share the id "${node.id}"` });
    else nodes.set(node.id, node);
  }
  const params = new Set<string>();
  for (const p of spec.parameters) {
    if (params.has(p.name)) push({ code: 'duplicate-parameter', message: `parameter "${p.name}" is declared twice` });
    params.add(p.name);
  }

  // Edges.
  const edgeIds = new Set<string>();
  const pairs = new Set<string>();
  const outgoing = new Map<string, string[]>();
  const incoming = new Map<string, string[]>();
  for (const id of nodes.keys()) {
    outgoing.set(id, []);
    incoming.set(id, []);
  }
  for (const edge of spec.edges) {
    if (edgeIds.has(edge.id)) push({ code: 'duplicate-edge-id', edgeId: edge.id, message: `two connections share the id "${edge.id}"` });
    edgeIds.add(edge.id);
    const missing = [edge.from, edge.to].filter((end) => !nodes.has(end));
    if (missing.length > 0) {
      push({ code: 'dangling-edge', edgeId: edge.id, message: `connection "${edge.id}" points at missing stage(s) ${missing.map((m) => `"${m}"`).join(', ')}` });
      continue;
    }
    if (edge.from === edge.to) {
      push({ code: 'self-loop', edgeId: edge.id, nodeId: edge.from, message: 'a stage cannot depend on itself' });
      continue;
    }
    const pair = `${edge.from}\u0000${edge.to}`;
    if (pairs.has(pair)) {
      push({ code: 'duplicate-edge', edgeId: edge.id, message: `"${edge.from}" is connected to "${edge.to}" more than once` });
      continue;
    }
    pairs.add(pair);
    outgoing.get(edge.from)!.push(edge.to);
    incoming.get(edge.to)!.push(edge.from);
  }

  // Cycles (Kahn's algorithm); whatever is left over sits on or behind a cycle.
  const indegree = new Map<string, number>();
  for (const [id, ins] of incoming) indegree.set(id, ins.length);
  const queue = [...nodes.keys()].filter((id) => indegree.get(id) === 0);
  const order: string[] = [];
  for (let head = 0; head < queue.length; head++) {
    const id = queue[head]!;
    order.push(id);
    for (const next of outgoing.get(id)!) {
      const d = indegree.get(next)! - 1;
      indegree.set(next, d);
      if (d === 0) queue.push(next);
    }
  }
  const ordered = new Set(order);
  const inCycle = new Set([...nodes.keys()].filter((id) => !ordered.has(id)));
  if (inCycle.size > 0) {
    const cyclic = nodesOnCycles(inCycle, outgoing, incoming);
    for (const id of inCycle) {
      const onCycle = cyclic.has(id);
      push({
        code: onCycle ? 'cycle' : 'unreachable',
        nodeId: id,
        message: onCycle
          ? `stage "${nodes.get(id)!.name}" is part of a cycle; pipelines must flow one way`
          : `stage "${nodes.get(id)!.name}" can never start: it waits on a cycle`,
      });
    }
  }
  if (nodes.size > 1) {
    for (const id of nodes.keys()) {
      if (incoming.get(id)!.length === 0 && outgoing.get(id)!.length === 0) {
        push({ code: 'isolated', severity: 'warning', nodeId: id, message: `stage "${nodes.get(id)!.name}" is not connected; it will run at the start, in parallel with everything` });
      }
    }
  }

  // Output references need their source upstream (only meaningful without
  // cycles). Answered per reference by a walk up from the referencing stage
  // that skips everything earlier in topological order than the source (no
  // path from the source runs through it); answers are memoised. Computing
  // every stage's full ancestor set instead is quadratic (a 1,000-stage chain
  // holds 500,000 entries).
  const rank = new Map(order.map((id, i) => [id, i]));
  const upstream = new Map<string, boolean>();
  const isUpstream = (source: string, id: string): boolean => {
    const key = `${source}\u0000${id}`;
    let answer = upstream.get(key);
    if (answer === undefined) {
      answer = false;
      const floor = rank.get(source)!;
      const seen = new Set<string>();
      const stack = [id];
      while (stack.length > 0 && !answer) {
        for (const from of incoming.get(stack.pop()!)!) {
          if (from === source) answer = true;
          else if (rank.get(from)! > floor && !seen.has(from)) {
            seen.add(from);
            stack.push(from);
          }
        }
      }
      upstream.set(key, answer);
    }
    return answer;
  };

  // Protected environments (gates before their stages, no auto-approval, cluster bindings).
  const protection: EnvironmentProtection[] = [
    ...(options.protection ?? []),
    ...(options.gatedEnvironments ?? []).filter((name) => !options.protection?.some((p) => p.name === name)).map((name) => ({ name, requireGate: true })),
  ];
  if (protection.length > 0 || options.environments) {
    for (const problem of protectionIssues({ nodes: [...nodes.values()], edges: spec.edges }, protection)) push(problem);
  }

  // Per-node config.
  const stageVariableIds = new Set([...nodes.keys()].map(shellNamePart));
  for (const node of nodes.values()) {
    const def = getStageDefinition(node.kind);
    if (!def) {
      push({ code: 'unknown-kind', nodeId: node.id, message: `unknown stage kind "${node.kind}"` });
      continue;
    }
    if (jsonSize(node.config) > LIMITS.configSize) {
      push({ code: 'config-too-large', nodeId: node.id, message: `configuration of "${node.name}" is larger than ${LIMITS.configSize} characters` });
      continue;
    }
    if (nestedDeeperThan(node.config, LIMITS.configDepth)) {
      push({ code: 'config-too-large', nodeId: node.id, message: `configuration of "${node.name}" is nested deeper than ${LIMITS.configDepth} levels` });
      continue;
    }
    const parsed = def.configSchema.safeParse(node.config);
    if (!parsed.success) {
      for (const zi of parsed.error.issues.slice(0, 20)) {
        const path = pathString(zi.path);
        push({ code: 'invalid-config', nodeId: node.id, path, message: `${node.name}: ${path ? `${path}: ` : ''}${zi.message}` });
      }
    } else if (def.check) {
      for (const problem of def.check(parsed.data)) {
        push({
          code: def.runtime === 'gate' && problem.path === 'users' ? 'gate-no-approvers' : 'invalid-config',
          nodeId: node.id,
          path: problem.path,
          message: `${node.name}: ${problem.message}`,
        });
      }
      if (def.runtime === 'gate' && options.approvers) {
        const gate = parsed.data as { users: string[]; groups: string[]; quorum: number };
        for (const problem of approverProblems(gate, options.approvers)) {
          push({ code: problem.code, nodeId: node.id, path: problem.path, message: `${node.name}: ${problem.message}` });
        }
      }
    }

    if (options.runners && def?.runtime === 'activity' && !options.runners.runners.some((r) => labelsSatisfy(r.labels, node.runsOn))) {
      push({
        code: 'no-runner',
        severity: 'warning',
        nodeId: node.id,
        path: 'runsOn',
        message: `${node.name}: no registered runner has the labels ${describeLabels(node.runsOn)}; the stage will wait for one and then fail (an admin registers runners under Admin → Runners)`,
      });
    }

    if (node.environment && options.environments && !options.environments.includes(node.environment)) {
      push({
        code: 'unknown-environment',
        nodeId: node.id,
        path: 'environment',
        message: `${node.name}: there is no environment "${node.environment}"${options.environments.length ? ` (there are ${options.environments.join(', ')})` : ' (an admin creates them under Admin → Environments)'}`,
      });
    }

    // References.
    const shell = shellStageOf(node.kind);
    // `<stage>_<output>` after PW_OUTPUT_: some stage id (at most idLength characters) then `_` and a name.
    const namesStageOutput = (rest: string) => {
      for (let i = rest.indexOf('_'); i > 0 && i <= LIMITS.idLength; i = rest.indexOf('_', i + 1)) {
        if (i + 1 < rest.length && stageVariableIds.has(rest.slice(0, i))) return true;
      }
      return false;
    };
    const shellVariables = shell ? shellVariablesOf(node.kind, node.config, [...params.keys()]) : undefined;
    for (const { path, text } of stringsIn(node.config)) {
      // Capped before parsing: no stage field needs more, and the editor validates on every keystroke.
      if (text.length > LIMITS.valueLength) {
        push({ code: 'config-too-large', nodeId: node.id, path, message: `${node.name}: ${path}: longer than ${LIMITS.valueLength} characters` });
        continue;
      }
      const { refs, errors } = parseTemplate(text);
      if (shell?.fields.includes(path)) {
        // `$PW_PARAM_x` / `$PW_OUTPUT_<stage>_x` written directly: a typo would expand to nothing.
        const known = new Set(shellVariables?.values());
        for (const token of shellTokens(text)) {
          if (token.startsWith(SHELL_VARIABLE_PREFIX.param) && !known.has(token)) {
            push({ code: 'unknown-shell-variable', severity: 'warning', nodeId: node.id, path, message: `${node.name}: ${path}: $${token} names no parameter of this pipeline, so it is empty` });
          } else if (token.startsWith(SHELL_VARIABLE_PREFIX.output) && !known.has(token)) {
            const rest = token.slice(SHELL_VARIABLE_PREFIX.output.length);
            if (!namesStageOutput(rest)) {
              push({ code: 'unknown-shell-variable', severity: 'warning', nodeId: node.id, path, message: `${node.name}: ${path}: $${token} names no stage's output (write $PW_OUTPUT_<stage id>_<output>), so it is empty` });
            }
          }
        }
        const warned = new Set<string>();
        for (const ref of refs) {
          const name = shellVariables?.get(refKey(ref));
          if (!name || warned.has(name)) continue;
          warned.add(name);
          push({
            code: 'template-in-command',
            severity: 'warning',
            nodeId: node.id,
            path,
            message: `${node.name}: ${path}: ${ref.raw} is not pasted into the command; its value is passed as the environment variable $${name}. Write "$${name}" instead (in double quotes: inside single quotes it would not expand)`,
          });
        }
      }
      for (const e of errors) push({ code: 'bad-template', nodeId: node.id, path, message: `${node.name}: ${path}: ${e}` });
      for (const ref of refs) {
        if (ref.kind === 'env' || ref.kind === 'secret') {
          if (!node.environment) {
            push({
              code: 'environment-ref-unbound',
              nodeId: node.id,
              path,
              message: `${node.name}: ${path}: ${ref.raw} needs an environment; bind this stage to one (its "environment" field) to use ${ref.kind === 'env' ? 'variables' : 'secrets'}`,
            });
          }
          continue;
        }
        if (ref.kind === 'param') {
          if (!params.has(ref.name)) push({ code: 'unknown-parameter', nodeId: node.id, path, message: `${node.name}: ${path}: unknown parameter "${ref.name}"` });
          continue;
        }
        const source = nodes.get(ref.stageId);
        if (!source) {
          push({ code: 'unknown-output', nodeId: node.id, path, message: `${node.name}: ${path}: no stage with id "${ref.stageId}"` });
          continue;
        }
        const sourceDef = getStageDefinition(source.kind);
        if (sourceDef && !sourceDef.outputs.dynamic && !sourceDef.outputs.names.includes(ref.name)) {
          push({
            code: 'unknown-output',
            nodeId: node.id,
            path,
            message: `${node.name}: ${path}: stage "${source.name}" has no output "${ref.name}"${sourceDef.outputs.names.length ? ` (it has ${sourceDef.outputs.names.join(', ')})` : ''}`,
          });
        } else if (inCycle.size === 0 && !isUpstream(ref.stageId, node.id)) {
          push({
            code: 'output-not-upstream',
            nodeId: node.id,
            path,
            message: `${node.name}: ${path}: "${source.name}" does not run before this stage, so its outputs are not available here`,
          });
        }
      }
    }
  }
  return issues;
}
