'use client';
/**
 * The right-hand panel's "Inspect" tab: what is selected — a stage (its
 * typed configuration form), a connection (its condition), several things,
 * or nothing (the pipeline: name, parameters, settings).
 */
import { useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { useQuery } from '@tanstack/react-query';
import { useShallow } from 'zustand/react/shallow';
import { KindIcon } from '@/app/components/kind-icon';
import { cx, inputClass } from '@/app/components/ui';
import {
  getStageDefinition,
  identifierSchema,
  nodeSchema,
  PROTECTED_ENVIRONMENT_HELP,
  retryPolicySchema,
  settingsSchema,
  shellStageOf,
  type EdgeCondition,
  type PipelineEdge,
  type PipelineSpec,
  type ValidationIssue,
} from '@/workflows/model';
import { useTRPC } from '@/app/trpc/react';
import { fourEyesRule } from '@/app/lib/four-eyes';
import { CONDITION_STYLE } from './condition-edge';
import { useEditor, useEditorActions, useEditorStore } from './editor-context';
import { useEditorUi } from './editor-ui';
import { ParametersEditor } from './parameters-editor';
import { suggestionsFor } from './references';
import { remapOutputRefs } from './clipboard';
import { idForName, idReferences } from './ids';
import { fieldsFor } from './schema-fields';
import { SchemaForm, formPaths } from './schema-form';
import { CATEGORY_STYLE } from './stage-node';
import { canEdit, displayedSpec } from './store';

const timeoutFields = fieldsFor(nodeSchema.pick({ timeoutSeconds: true }));
const environmentFields = fieldsFor(nodeSchema.pick({ environment: true }));
const retryFields = fieldsFor(retryPolicySchema);
const settingsFields = fieldsFor(settingsSchema);
const noSuggestions = () => [];

export function Section({ title, children, aside, defaultOpen = true, testId }: { title: string; children: ReactNode; aside?: ReactNode; defaultOpen?: boolean; testId?: string }) {
  return (
    <details open={defaultOpen} className="group border-b border-line" data-testid={testId}>
      <summary className="flex cursor-pointer list-none items-center justify-between gap-2 px-4 py-2.5 text-xs font-semibold uppercase tracking-wide text-muted hover:text-fg focus:outline-none focus-visible:ring-2 focus-visible:ring-inset focus-visible:ring-accent [&::-webkit-details-marker]:hidden">
        <span className="flex items-center gap-1.5">
          <svg aria-hidden viewBox="0 0 12 12" className="h-2.5 w-2.5 transition-transform group-open:rotate-90" fill="currentColor">
            <path d="M4 2l4 4-4 4z" />
          </svg>
          {title}
        </span>
        {aside}
      </summary>
      <div className="px-4 pb-4 pt-1">{children}</div>
    </details>
  );
}

/** Issues of one stage, by config path (`''` for the stage as a whole), without the "Name: path:" prefix. */
function issuesByPath(issues: readonly ValidationIssue[], nodeId: string, nodeName: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const i of issues) {
    if (i.nodeId !== nodeId) continue;
    const key = i.path ?? '';
    let message = i.message;
    if (message.startsWith(`${nodeName}: `)) message = message.slice(nodeName.length + 2);
    message = message.replace(/^nodes\[\d+\]\.?/, '');
    if (key && message.startsWith(`${key}: `)) message = message.slice(key.length + 2);
    map.set(key, [...(map.get(key) ?? []), message || i.message]);
  }
  return map;
}

export function Inspector() {
  const mode = useEditor((s) => s.mode);
  const selectedNodes = useEditor((s) => s.selectedNodes);
  const selectedEdges = useEditor((s) => s.selectedEdges);

  if (selectedNodes.size === 1 && selectedEdges.size === 0) return <NodeInspector key={[...selectedNodes][0]} id={[...selectedNodes][0]!} />;
  if (selectedEdges.size === 1 && selectedNodes.size === 0) return <EdgeInspector id={[...selectedEdges][0]!} />;
  if (selectedNodes.size + selectedEdges.size > 1) return <MultiInspector />;
  return <PipelineInspector key={mode.kind} />;
}

/**
 * The stage's fields except its position, stable while it is dragged (so the
 * form does not re-render on every frame of a drag).
 */
function useStageFields(id: string) {
  return useEditor(
    useShallow((s) => {
      const n = displayedSpec(s).nodes.find((x) => x.id === id);
      return n ? { id: n.id, kind: n.kind, name: n.name, description: n.description, config: n.config, retry: n.retry, timeoutSeconds: n.timeoutSeconds, environment: n.environment, runsOn: n.runsOn } : null;
    }),
  );
}

/**
 * Runner labels a stage needs (`runsOn`): free text (comma-separated), plus the
 * labels registered runners have, with how many of them are online, to click.
 */
function RunsOnField({ value, onChange, issues, readOnly }: { value: string[]; onChange: (labels: string[]) => void; issues?: string[]; readOnly: boolean }) {
  const trpc = useTRPC();
  const facts = useQuery(trpc.runners.facts.queryOptions(undefined, { staleTime: 15_000, refetchOnWindowFocus: false }));
  const shown = value.join(', ');
  const [draft, setDraft] = useState(shown);
  useEffect(() => setDraft(shown), [shown]);
  const known = useMemo(() => {
    const online = new Map<string, number>();
    for (const r of facts.data?.runners ?? []) for (const l of r.labels) online.set(l, (online.get(l) ?? 0) + (r.online ? 1 : 0));
    return [...online.entries()].sort(([a], [b]) => a.localeCompare(b));
  }, [facts.data]);
  const commit = (text: string) =>
    onChange([...new Set(text.split(/[\s,]+/).map((l) => l.trim().toLowerCase()).filter(Boolean))]);
  return (
    <div className="space-y-2 text-sm" data-field="runsOn">
      <input
        className={cx(inputClass, 'nodrag nokey py-1.5 font-mono text-[12.5px]', Boolean(issues?.length) && '!border-amber-400')}
        value={draft}
        placeholder="any runner (default pool)"
        disabled={readOnly}
        aria-label="Runner labels"
        onChange={(e) => setDraft(e.target.value)}
        onBlur={() => commit(draft)}
        onKeyDown={(e) => {
          if (e.key === 'Enter') commit(draft);
        }}
      />
      <p className="text-xs text-muted">A runner must have all these labels to run the stage.</p>
      {known.length > 0 && (
        <div className="flex flex-wrap gap-1.5" aria-label="Known runner labels">
          {known.map(([label, online]) => (
            <button
              key={label}
              type="button"
              disabled={readOnly || value.includes(label)}
              onClick={() => onChange([...value, label])}
              className="rounded border border-line px-1.5 py-0.5 font-mono text-xs text-fg hover:border-accent disabled:opacity-50"
              title={`${online} runner(s) with this label online`}
            >
              {label} <span className="text-muted">· {online} online</span>
            </button>
          ))}
        </div>
      )}
      {issues?.map((m) => (
        <p key={m} className="text-xs text-amber-700 dark:text-amber-300">
          {m}
        </p>
      ))}
    </div>
  );
}

/** An approval gate's four-eyes rule, with the protection of the environment it is bound to taken into account. */
function GateFourEyes({ allowTriggerer, environment }: { allowTriggerer: unknown; environment: string | undefined }) {
  const trpc = useTRPC();
  const envs = useQuery(trpc.environments.list.queryOptions(undefined, { staleTime: 60_000, refetchOnWindowFocus: false }));
  const guarded = environment && envs.data?.some((e) => e.name === environment && e.requireGate) ? environment : null;
  // An unset field means what the schema says (yes), except where the environment overrides it.
  const rule = fourEyesRule(allowTriggerer !== false, guarded);
  return (
    <p className={cx('mt-3 rounded-md border px-3 py-2 text-xs', rule.starterMayApprove ? 'border-line text-muted' : 'border-emerald-200 bg-emerald-50/60 text-emerald-900 dark:border-emerald-500/30 dark:bg-emerald-500/10 dark:text-emerald-100')} data-testid="gate-four-eyes">
      {rule.text}
      {guarded && allowTriggerer !== false && ' This overrides “may the person who started the run approve” above.'}
    </p>
  );
}

/**
 * Who can decide a gate, resolved against the workspace's people and groups,
 * so the default "approvers" group (and what it means) is not missed.
 */
function GateDeciders({ config, editable }: { config: Record<string, unknown>; editable: boolean }) {
  const trpc = useTRPC();
  const facts = useQuery(trpc.pipelines.approverFacts.queryOptions(undefined, { enabled: editable, staleTime: 60_000, refetchOnWindowFocus: false }));
  const users = Array.isArray(config.users) ? (config.users as string[]) : [];
  const groups = Array.isArray(config.groups) ? (config.groups as string[]) : [];
  const quorum = typeof config.quorum === 'number' ? config.quorum : 1;
  const deciders = useMemo(() => {
    if (!facts.data) return null;
    const out = new Map<string, string>();
    const people = facts.data.people;
    for (const u of users) {
      const p = people.find((x) => x.id === u || x.username?.toLowerCase() === u.toLowerCase() || x.email.toLowerCase() === u.toLowerCase());
      if (p?.mayDecide) out.set(p.id, p.name);
    }
    for (const g of groups) {
      for (const id of facts.data.groups.find((x) => x.name === g)?.members ?? []) {
        const p = people.find((x) => x.id === id);
        if (p?.mayDecide) out.set(p.id, `${p.name} (${g})`);
      }
    }
    return [...out.values()];
  }, [facts.data, users, groups]);
  return (
    <div className="mb-3 rounded-md border border-line bg-subtle px-3 py-2 text-[12.5px]" data-testid="gate-deciders">
      <p className="font-medium text-fg">
        Who can decide{groups.length > 0 && <> — groups {groups.map((g) => `“${g}”`).join(', ')}</>}
        {users.length > 0 && <>{groups.length > 0 ? ' and' : ' —'} {users.length} named {users.length === 1 ? 'person' : 'people'}</>}
      </p>
      {deciders && (
        <p className="text-muted">
          {deciders.length === 0 ? 'Nobody who may decide gates: this gate can never pass.' : `${deciders.join(', ')} · ${quorum} of them must approve.`}
        </p>
      )}
      <p className="text-muted">Before a stage in a protected environment, the person who started the run can never approve.</p>
    </div>
  );
}

function NodeInspector({ id }: { id: string }) {
  const node = useStageFields(id);
  const editable = useEditor(canEdit);
  const issues = useEditor((s) => s.issues);
  const focus = useEditor((s) => s.focus);
  const store = useEditorStore();
  const actions = useEditorActions();
  const ui = useEditorUi();
  const rootRef = useRef<HTMLDivElement>(null);

  // Computed when a field asks (typing `${{`), from the document as it is then.
  const suggestions = useCallback(() => suggestionsFor(displayedSpec(store.getState()), id), [store, id]);
  const byPath = useMemo(() => issuesByPath(issues, id, node?.name ?? ''), [issues, id, node?.name]);

  // Jump to a field asked for by the problems list.
  useEffect(() => {
    if (!focus || focus.nodeId !== id || !rootRef.current) return;
    const root = rootRef.current;
    const target = (focus.path && root.querySelector(`[data-field="${CSS.escape(focus.path)}"]`)) || root;
    target.scrollIntoView({ block: 'center' });
    const input = target.querySelector<HTMLElement>('input, textarea, select, button[role="switch"]');
    input?.focus({ preventScroll: true });
  }, [focus, id]);

  if (!node) return <p className="p-4 text-sm text-muted">This stage no longer exists.</p>;
  const def = getStageDefinition(node.kind);
  const configFields = def ? fieldsFor(def.configSchema) : null;
  const shown = configFields ? formPaths(configFields, node.config) : new Set<string>();
  const otherIssues = [...byPath].filter(([p]) => p === '' || (!shown.has(p) && !['name', 'id', 'description', 'timeoutSeconds', 'environment'].includes(p) && !p.startsWith('retry')));
  const readOnly = !editable;

  return (
    <div ref={rootRef} data-testid="node-inspector">
      <div className="flex items-start gap-3 border-b border-line px-4 py-3.5">
        <KindIcon kind={node.kind} className={cx('h-10 w-10 rounded-lg', def ? CATEGORY_STYLE[def.category].icon : '')} />
        <div className="min-w-0 flex-1">
          <h2 className="truncate text-[15px] font-semibold text-fg">{node.name}</h2>
          <p className="text-xs text-muted">{def ? `${def.label} · ${def.description}` : `Unknown kind “${node.kind}”`}</p>
        </div>
      </div>
      {editable && (
        <div className="flex flex-wrap gap-1.5 border-b border-line px-4 py-2">
          <SmallButton onClick={() => ui.openConnect(node.id)}>Connect to…</SmallButton>
          <SmallButton onClick={() => ui.duplicate()}>Duplicate</SmallButton>
          <SmallButton onClick={() => actions.remove([node.id], [])} danger>
            Delete
          </SmallButton>
        </div>
      )}

      {otherIssues.length > 0 && (
        <ul className="space-y-1 border-b border-line bg-red-50/60 px-4 py-2.5 dark:bg-red-500/5" data-testid="node-issues">
          {otherIssues.flatMap(([, messages]) => messages).map((m, i) => (
            <li key={i} className="flex gap-1.5 text-[12.5px] text-red-700 dark:text-red-300">
              <span aria-hidden>⚠</span>
              {m}
            </li>
          ))}
        </ul>
      )}

      <Section title="Stage">
        <div className="space-y-3">
          <TextRow
            label="Name"
            value={node.name}
            readOnly={readOnly}
            issues={byPath.get('name')}
            onChange={(name) => actions.updateNode(node.id, { name }, `node:${node.id}:name`)}
            onBlur={() => {
              // The id follows the name while the stage is new and nothing refers to it. A saved stage keeps its id:
              // its runs, versions and other people's edits know it by that id (IdRow offers the rename instead).
              const state = store.getState();
              const spec = displayedSpec(state);
              const next = idForName(node.name, node.id, spec.nodes.map((n) => n.id));
              const isNew = !state.saved.nodes.some((n) => n.id === node.id);
              if (!readOnly && isNew && next !== node.id && idReferences(spec.nodes, node.id, remapOutputRefs) === 0) actions.renameNodeId(node.id, next);
            }}
            testId="stage-name"
          />
          <IdRow id={node.id} name={node.name} readOnly={readOnly} />
          <TextRow
            label="Description"
            value={node.description ?? ''}
            readOnly={readOnly}
            multiline
            placeholder="optional"
            onChange={(description) => actions.updateNode(node.id, { description: description || undefined }, `node:${node.id}:description`)}
          />
        </div>
      </Section>

      <Section title="Configuration" testId="config-form">
        {def?.runtime === 'gate' && <GateDeciders config={node.config} editable={editable} />}
        {configFields ? (
          configFields.length === 0 ? (
            <p className="text-sm text-muted">This kind has nothing to configure.</p>
          ) : (
            <SchemaForm
              fields={configFields}
              value={node.config}
              onChange={(config, path) => actions.setNodeConfig(node.id, config, `config:${node.id}:${path}`)}
              issues={byPath}
              suggestions={suggestions}
              readOnly={readOnly}
              shellFields={shellStageOf(node.kind)?.fields}
            />
          )
        ) : (
          <pre className="overflow-x-auto rounded-md bg-subtle p-2 text-xs">{JSON.stringify(node.config, null, 2)}</pre>
        )}
        {def?.runtime === 'gate' && <GateFourEyes allowTriggerer={(node.config as Record<string, unknown>).allowTriggerer} environment={node.environment} />}
      </Section>

      <Section title="Environment" defaultOpen={Boolean(node.environment || byPath.has('environment'))} testId="stage-environment">
        <SchemaForm
          fields={environmentFields}
          value={node.environment !== undefined ? { environment: node.environment } : {}}
          onChange={(v) => actions.updateNode(node.id, { environment: (v.environment as string | undefined) || undefined }, `node:${node.id}:environment`)}
          issues={byPath}
          suggestions={noSuggestions}
          readOnly={readOnly}
        />
        <p className="mt-2 text-xs text-muted" data-testid="protected-environment-help">
          {PROTECTED_ENVIRONMENT_HELP}
        </p>
      </Section>

      {def?.runtime === 'activity' && (
        <Section title="Runs on" defaultOpen={Boolean(node.runsOn?.length || byPath.has('runsOn'))} testId="stage-runs-on">
          <RunsOnField
            value={node.runsOn ?? []}
            onChange={(labels) => actions.updateNode(node.id, { runsOn: labels.length ? labels : undefined }, `node:${node.id}:runsOn`)}
            issues={byPath.get('runsOn')}
            readOnly={readOnly}
          />
        </Section>
      )}

      <Section title="Retries and timeout" defaultOpen={Boolean(node.retry || node.timeoutSeconds)}>
        <div className="space-y-4">
          <SchemaForm
            fields={timeoutFields}
            value={node.timeoutSeconds !== undefined ? { timeoutSeconds: node.timeoutSeconds } : {}}
            onChange={(v) => actions.updateNode(node.id, { timeoutSeconds: v.timeoutSeconds as number | undefined }, `node:${node.id}:timeout`)}
            issues={byPath}
            suggestions={noSuggestions}
            readOnly={readOnly}
          />
          <SchemaForm
            fields={retryFields}
            value={node.retry ?? {}}
            onChange={(v, path) => actions.updateNode(node.id, { retry: Object.keys(v).length ? v : undefined }, `node:${node.id}:retry:${path}`)}
            issues={byPath}
            suggestions={noSuggestions}
            readOnly={readOnly}
            prefix="retry"
          />
        </div>
      </Section>

      <Section title="Connections" defaultOpen={false}>
        <Connections nodeId={node.id} />
      </Section>
    </div>
  );
}

function Connections({ nodeId }: { nodeId: string }) {
  const ui = useEditorUi();
  const edges = useEditor((s) => displayedSpec(s).edges);
  const names = useEditor(useShallow((s) => Object.fromEntries(displayedSpec(s).nodes.map((n) => [n.id, n.name]))));
  const name = (id: string) => names[id] ?? id;
  const ins = edges.filter((e) => e.to === nodeId);
  const outs = edges.filter((e) => e.from === nodeId);
  const row = (e: PipelineEdge, other: string, dir: string) => (
    <li key={e.id}>
      <button type="button" onClick={() => ui.jumpTo({ edgeId: e.id })} className="flex w-full items-center gap-2 rounded px-1.5 py-1 text-left text-[13px] hover:bg-subtle">
        <span className="text-muted">{dir}</span>
        <span className="min-w-0 flex-1 truncate text-fg">{name(other)}</span>
        <span className="text-xs text-muted">{CONDITION_STYLE[e.on].label}</span>
      </button>
    </li>
  );
  if (ins.length + outs.length === 0) return <p className="text-sm text-muted">Not connected.</p>;
  return (
    <ul className="space-y-0.5">
      {ins.map((e) => row(e, e.from, '←'))}
      {outs.map((e) => row(e, e.to, '→'))}
    </ul>
  );
}

function IdRow({ id, name, readOnly }: { id: string; name: string; readOnly: boolean }) {
  const actions = useEditorActions();
  const ui = useEditorUi();
  // A referenced id stays as it is when the name changes; offer the id the name suggests, with its references.
  const offer = useEditor((s) => {
    const spec = displayedSpec(s);
    const next = idForName(name, id, spec.nodes.map((n) => n.id));
    // Offered only after a rename (a stage as it was saved is left alone): a saved stage keeps its id, a
    // referenced one keeps it until the references are renamed with it.
    const savedNode = s.saved.nodes.find((n) => n.id === id);
    if (next === id || savedNode?.name === name) return null;
    return `${next}\u0000${idReferences(spec.nodes, id, remapOutputRefs)}\u0000${savedNode ? '1' : '0'}`;
  });
  const [offerId, offerRefs, offerSaved] = offer ? (offer.split('\u0000') as [string, string, string]) : [null, '0', '0'];
  const [draft, setDraft] = useState(id);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => setDraft(id), [id]);
  const apply = () => {
    if (draft === id) return setError(null);
    const parsed = identifierSchema.safeParse(draft);
    if (!parsed.success) return setError(parsed.error.issues[0]?.message ?? 'not a valid id');
    const done = actions.renameNodeId(id, draft);
    if (!done) return setError(`another stage already has the id “${draft}”`);
    setError(null);
    ui.notify(`Renamed ${id} to ${draft}; connections and references follow`, 'success');
  };
  return (
    <div>
      <label htmlFor="stage-id" className="mb-1 flex items-baseline justify-between text-[13px] font-medium text-fg">
        ID <span className="text-[11px] font-normal text-muted">used in {'${{ stages.ID.outputs.x }}'}</span>
      </label>
      <input
        id="stage-id"
        value={draft}
        readOnly={readOnly}
        onChange={(e) => setDraft(e.target.value)}
        onBlur={apply}
        onKeyDown={(e) => {
          if (e.key === 'Enter') apply();
          if (e.key === 'Escape') setDraft(id);
        }}
        aria-invalid={error ? true : undefined}
        className={cx(inputClass, 'nodrag nokey py-1.5 font-mono text-[12.5px]', error && '!border-red-400')}
      />
      {error && <p className="mt-1 text-[12px] text-red-600 dark:text-red-400">{error}</p>}
      {offerId && !readOnly && (Number(offerRefs) > 0 || offerSaved === '1') && (
        <p className="mt-1 text-[12px] text-muted" data-testid="id-rename-offer">
          {Number(offerRefs) > 0
            ? `Kept because ${offerRefs} stage${offerRefs === '1' ? ' refers' : 's refer'} to it.`
            : 'Kept because saved versions and runs know this stage by it.'}{' '}
          <button
            type="button"
            className="font-medium text-accent hover:underline"
            onClick={() => {
              if (actions.renameNodeId(id, offerId)) ui.notify(`Renamed ${id} to ${offerId}; ${offerRefs} reference${offerRefs === '1' ? '' : 's'} updated (Ctrl+Z undoes it)`, 'success');
            }}
          >
            {Number(offerRefs) > 0 ? `Rename to “${offerId}” and update the references` : `Rename to “${offerId}”`}
          </button>
        </p>
      )}
    </div>
  );
}

export function TextRow({
  label,
  value,
  onChange,
  readOnly,
  multiline,
  placeholder,
  issues,
  testId,
  onBlur,
}: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  /** When the person leaves the field (single-line only). */
  onBlur?: () => void;
  readOnly?: boolean;
  multiline?: boolean;
  placeholder?: string;
  issues?: string[];
  testId?: string;
}) {
  const id = `row-${label.toLowerCase().replace(/\W+/g, '-')}`;
  const cls = cx(inputClass, 'nodrag nokey py-1.5 text-[13px]', Boolean(issues?.length) && '!border-red-400');
  return (
    <div>
      <label htmlFor={id} className="mb-1 block text-[13px] font-medium text-fg">
        {label}
      </label>
      {multiline ? (
        <textarea id={id} value={value} readOnly={readOnly} placeholder={placeholder} rows={2} onChange={(e) => onChange(e.target.value)} className={cx(cls, 'resize-y')} data-testid={testId} />
      ) : (
        <input id={id} value={value} readOnly={readOnly} placeholder={placeholder} onChange={(e) => onChange(e.target.value)} onBlur={onBlur} aria-invalid={issues?.length ? true : undefined} className={cls} data-testid={testId} />
      )}
      {issues?.map((m, i) => (
        <p key={i} className="mt-1 text-[12px] text-red-600 dark:text-red-400">
          ⚠ {m}
        </p>
      ))}
    </div>
  );
}

function SmallButton({ children, onClick, danger }: { children: ReactNode; onClick: () => void; danger?: boolean }) {
  return (
    <button
      type="button"
      onClick={onClick}
      className={cx(
        'rounded-md border px-2 py-1 text-[12.5px] font-medium transition-colors focus:outline-none focus-visible:ring-2 focus-visible:ring-accent',
        danger ? 'border-red-200 text-red-700 hover:bg-red-50 dark:border-red-500/30 dark:text-red-300 dark:hover:bg-red-500/10' : 'border-line-strong text-fg hover:bg-subtle',
      )}
    >
      {children}
    </button>
  );
}

function EdgeInspector({ id }: { id: string }) {
  const edge = useEditor((s) => displayedSpec(s).edges.find((e) => e.id === id));
  const from = useEditor((s) => (edge ? displayedSpec(s).nodes.find((n) => n.id === edge.from) : undefined));
  const to = useEditor((s) => (edge ? displayedSpec(s).nodes.find((n) => n.id === edge.to) : undefined));
  const issues = useEditor((s) => s.issues);
  const editable = useEditor(canEdit);
  const actions = useEditorActions();
  if (!edge) return <p className="p-4 text-sm text-muted">This connection no longer exists.</p>;
  const mine = issues.filter((i) => i.edgeId === id);
  return (
    <div data-testid="edge-inspector">
      <div className="border-b border-line px-4 py-3.5">
        <h2 className="text-[15px] font-semibold text-fg">Connection</h2>
        <p className="mt-0.5 text-sm text-muted">
          <span className="font-medium text-fg">{from?.name ?? edge.from}</span> → <span className="font-medium text-fg">{to?.name ?? edge.to}</span>
        </p>
        <p className="mt-0.5 font-mono text-[11px] text-muted">{edge.id}</p>
      </div>
      {mine.length > 0 && (
        <ul className="space-y-1 border-b border-line bg-red-50/60 px-4 py-2.5 dark:bg-red-500/5">
          {mine.map((i, n) => (
            <li key={n} className="text-[12.5px] text-red-700 dark:text-red-300">
              ⚠ {i.message}
            </li>
          ))}
        </ul>
      )}
      <fieldset className="px-4 py-3">
        <legend className="mb-2 text-[13px] font-medium text-fg">{to?.name ?? edge.to} starts…</legend>
        <div className="space-y-2">
          {(['success', 'failure', 'always'] as EdgeCondition[]).map((on) => (
            <label key={on} className={cx('flex cursor-pointer items-start gap-2.5 rounded-lg border p-2.5', edge.on === on ? 'border-accent bg-accent/5' : 'border-line hover:bg-subtle')}>
              <input type="radio" name="edge-condition" value={on} checked={edge.on === on} disabled={!editable} onChange={() => actions.setEdgeCondition(id, on)} className="mt-0.5 accent-[var(--pw-accent)]" />
              <span>
                <span className="block text-[13px] font-medium text-fg">
                  {CONDITION_STYLE[on].glyph} {CONDITION_STYLE[on].label}
                </span>
                <span className="block text-xs text-muted">{CONDITION_STYLE[on].hint}</span>
              </span>
            </label>
          ))}
        </div>
      </fieldset>
      {editable && (
        <div className="px-4 pb-4">
          <SmallButton onClick={() => actions.remove([], [id])} danger>
            Delete connection
          </SmallButton>
        </div>
      )}
    </div>
  );
}

function MultiInspector() {
  const nodes = useEditor((s) => s.selectedNodes.size);
  const edges = useEditor((s) => s.selectedEdges.size);
  const editable = useEditor(canEdit);
  const actions = useEditorActions();
  const ui = useEditorUi();
  return (
    <div className="p-4">
      <h2 className="text-[15px] font-semibold text-fg">
        {nodes} stage{nodes === 1 ? '' : 's'}
        {edges > 0 && `, ${edges} connection${edges === 1 ? '' : 's'}`} selected
      </h2>
      <p className="mt-1 text-sm text-muted">Drag one of them to move them together. Shift-click to add or remove one.</p>
      <div className="mt-3 flex flex-wrap gap-1.5">
        {nodes > 0 && <SmallButton onClick={() => ui.copy()}>Copy</SmallButton>}
        {editable && nodes > 0 && <SmallButton onClick={() => ui.duplicate()}>Duplicate</SmallButton>}
        {editable && (
          <SmallButton onClick={() => actions.removeSelection()} danger>
            Delete
          </SmallButton>
        )}
      </div>
    </div>
  );
}

function PipelineInspector() {
  const name = useEditor((s) => displayedSpec(s).name);
  const description = useEditor((s) => displayedSpec(s).description);
  const settings = useEditor((s) => displayedSpec(s).settings);
  const count = useEditor((s) => displayedSpec(s).nodes.length);
  const edgeCount = useEditor((s) => displayedSpec(s).edges.length);
  const editable = useEditor(canEdit);
  const actions = useEditorActions();
  return (
    <div data-testid="pipeline-inspector">
      <div className="border-b border-line px-4 py-3.5">
        <h2 className="text-[15px] font-semibold text-fg">Pipeline</h2>
        <p className="text-xs text-muted">
          {count} stage{count === 1 ? '' : 's'} · {edgeCount} connection{edgeCount === 1 ? '' : 's'}. Select a stage to configure it.
        </p>
      </div>
      <Section title="General">
        <div className="space-y-3">
          <TextRow label="Pipeline name" value={name} readOnly={!editable} onChange={(v) => actions.setMeta({ name: v })} />
          <TextRow label="Pipeline description" value={description ?? ''} multiline readOnly={!editable} placeholder="What this pipeline delivers" onChange={(v) => actions.setMeta({ description: v })} />
        </div>
      </Section>
      <Section title="Parameters" testId="parameters-panel">
        <ParametersEditor readOnly={!editable} />
      </Section>
      <Section title="Settings" defaultOpen={false}>
        <SchemaForm
          fields={settingsFields}
          value={settings as unknown as Record<string, unknown>}
          onChange={(v, path) => {
            const parsed = settingsSchema.safeParse(v);
            actions.setSettings(parsed.success ? parsed.data : (v as unknown as PipelineSpec['settings']), `settings:${path}`);
          }}
          issues={new Map()}
          suggestions={noSuggestions}
          readOnly={!editable}
        />
      </Section>
    </div>
  );
}
