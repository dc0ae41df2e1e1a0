/**
 * Notifications: a webhook (Slack-compatible JSON, signed) when a gate starts
 * waiting, when it is decided, and when a run ends.
 *
 * 1. Sent from the worker, by `recordRunState` (server/control-worker/activities.ts), the
 *    one place where gate and run transitions are written. The activity hands
 *    the state over and moves on: claiming and sending happen in the
 *    background, and nothing here can fail or slow down a run.
 * 2. Idempotent per event: each event has an id (`gate.waiting:<run>:<node>`,
 *    `gate.decided:<run>:<node>`, `run.ended:<run>`) and is claimed by
 *    inserting it into `notifications`; only the insert that wins sends. A
 *    retried activity, a replayed workflow or a second worker sends nothing
 *    twice (at most once: a worker that dies mid-send does not resend).
 * 3. Where to: the admin setting `notifications.webhook` (`{ url, secret,
 *    enabled }`, Admin → Settings; the secret sealed with the workspace key), else `PIPEWRIGHT_NOTIFY_WEBHOOK_URL` and
 *    `PIPEWRIGHT_NOTIFY_WEBHOOK_SECRET`. Nothing configured: nothing is sent
 *    or recorded.
 * 4. The request: POST JSON `{ text, blocks, pipewright: {...} }` — `text` and
 *    `blocks` for Slack (incoming webhooks, Mattermost, Rocket.Chat accept
 *    them), `pipewright` for machines. Headers as webhook stages send them:
 *    `X-Pipewright-Event`, `X-Pipewright-Delivery` (the event id),
 *    `X-Pipewright-Timestamp` and, with a secret,
 *    `X-Pipewright-Signature: sha256=HMAC-SHA256(secret, "<timestamp>.<body>")`
 *    (`signWebhook`). Up to three attempts (5xx, 429, network errors); the
 *    outcome is kept in `notifications`.
 * 5. Everything a person typed (names, comments, instructions) is escaped for
 *    Slack's mrkdwn (`&`, `<`, `>`), so it cannot form links or mentions.
 */
import { eq, inArray } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { notifications, pipelines, runs, settings, user } from '../../db/schema';
import type { RunState } from '../../workflows/run-state';
import { executionPlanSchema, type ExecutionPlan } from '../../workflows/model/plan';
import { signWebhook } from '../../workflows/stages/webhook/executor';
import { open, resolveSecretKey } from '../clusters/crypto';

export const WEBHOOK_SETTING = 'notifications.webhook';

export type WebhookSetting = { url: string; secret?: string; enabled?: boolean };
export type NotifyTarget = { url: string; secret?: string };
export type NotifyEventType = 'gate.waiting' | 'gate.decided' | 'run.ended';
export type NotifyEvent = { id: string; type: NotifyEventType; runId: string; nodeId?: string };

export type NotifierDeps = {
  db: Db;
  env: Readonly<Record<string, string | undefined>>;
  fetch?: typeof fetch;
  /** Delays between attempts, in ms (tests shorten them). */
  retryDelaysMs?: number[];
  timeoutMs?: number;
};

/** The events a recorded run state stands for. */
export function eventsOf(state: RunState, final: boolean): NotifyEvent[] {
  const out: NotifyEvent[] = [];
  for (const [nodeId, s] of Object.entries(state.stages)) {
    const g = s.gate;
    if (!g) continue;
    if (g.status === 'waiting') out.push({ id: `gate.waiting:${state.runId}:${nodeId}`, type: 'gate.waiting', runId: state.runId, nodeId });
    if (g.status === 'approved' || g.status === 'rejected') {
      out.push({ id: `gate.decided:${state.runId}:${nodeId}`, type: 'gate.decided', runId: state.runId, nodeId });
    }
  }
  if (final) out.push({ id: `run.ended:${state.runId}`, type: 'run.ended', runId: state.runId });
  return out;
}

/** Escapes text for Slack mrkdwn (and for the plain `text` fallback). */
export function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function duration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

type Context = {
  run: { id: string; number: number; pipelineId: string; status: string; params: Record<string, unknown>; triggeredBy: string; pipelineVersion: number };
  pipelineName: string;
  plan: ExecutionPlan | null;
  names: Map<string, string>;
  publicUrl: string;
};

/** The message for one event (Slack-compatible). Pure: easy to test. */
export function buildMessage(event: NotifyEvent, state: RunState, c: Context) {
  const runUrl = `${c.publicUrl.replace(/\/+$/, '')}/pipelines/${encodeURIComponent(c.run.pipelineId)}/runs/${encodeURIComponent(c.run.id)}`;
  const runLabel = `${c.pipelineName} #${c.run.number}`;
  const runLink = `<${runUrl}|${slackEscape(runLabel)}>`;
  const who = (userName: string | undefined) => (userName ? (c.names.get(userName) ?? userName) : 'someone');
  // Whoever decided, with the username beside the display name: display names are not unique, usernames are.
  const voter = (userName: string | undefined) => {
    const name = userName ? c.names.get(userName) : undefined;
    return userName && name && name !== userName ? `${name} (${userName})` : who(userName);
  };
  const node = event.nodeId ? c.plan?.nodes.find((n) => n.id === event.nodeId) : undefined;
  const gateName = node?.name ?? event.nodeId ?? '';
  const gate = event.nodeId ? state.stages[event.nodeId]?.gate : undefined;
  const params = Object.entries(c.run.params);
  const paramsLine = params.length ? params.map(([k, v]) => `${k}=${String(v)}`).join('  ') : '';

  let text: string;
  let body: string;
  const extra: Record<string, unknown> = {};
  if (event.type === 'gate.waiting') {
    const rules = node?.gate;
    text = `Approval needed: "${gateName}" in ${runLabel}`;
    const lines = [`:hourglass_flowing_sand: *Approval needed* for *${slackEscape(gateName)}* in ${runLink}`];
    if (rules?.instructions) lines.push(`>${slackEscape(rules.instructions).replace(/\n/g, '\n>')}`);
    if (rules) {
      const approvers = [...rules.groups.map((g) => `group ${g}`), ...rules.users].join(', ') || 'nobody';
      lines.push(`Approvers: ${slackEscape(approvers)} · ${rules.quorum} approval${rules.quorum === 1 ? '' : 's'} needed`);
    }
    if (gate?.deadlineAt) lines.push(`Decides itself (${rules?.onTimeout === 'approve' ? 'approve' : 'reject'}) in ${duration(gate.deadlineAt - gate.waitingSince)}`);
    body = lines.join('\n');
    extra.deadlineAt = gate?.deadlineAt ?? null;
  } else if (event.type === 'gate.decided') {
    const status = gate?.status ?? 'decided';
    const by = gate?.decidedBy === 'timeout' ? 'the timeout' : voter(gate?.decidedBy);
    const comment = gate?.votes.find((v) => v.userName === gate.decidedBy)?.comment;
    text = `"${gateName}" ${status} by ${by} in ${runLabel}`;
    body = `${status === 'approved' ? ':white_check_mark:' : ':x:'} *${slackEscape(gateName)}* ${status} by *${slackEscape(by)}* in ${runLink}`;
    if (comment) body += `\n>${slackEscape(comment).replace(/\n/g, '\n>')}`;
    extra.decision = status;
    extra.decidedBy = gate?.decidedBy ?? null;
    extra.votes = gate?.votes.map((v) => ({ userName: v.userName, decision: v.decision, comment: v.comment })) ?? [];
  } else {
    const took = state.endedAt ? ` in ${duration(state.endedAt - state.startedAt)}` : '';
    const icon = state.status === 'succeeded' ? ':white_check_mark:' : state.status === 'cancelled' ? ':black_square_for_stop:' : ':x:';
    text = `${runLabel} ${state.status}${took}`;
    body = `${icon} ${runLink} *${state.status}*${took}`;
    if (state.error) body += `\n>${slackEscape(state.error).replace(/\n/g, '\n>')}`;
    extra.status = state.status;
    extra.error = state.error ?? null;
  }

  const blocks: unknown[] = [{ type: 'section', text: { type: 'mrkdwn', text: body } }];
  const context = [`started by ${slackEscape(who(c.run.triggeredBy))}`, `version ${c.run.pipelineVersion}`];
  if (paramsLine) context.push(slackEscape(paramsLine).slice(0, 500));
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: context.join(' · ') }] });
  return {
    text: slackEscape(text),
    blocks,
    pipewright: {
      event: event.type,
      id: event.id,
      url: runUrl,
      runId: c.run.id,
      runNumber: c.run.number,
      pipelineId: c.run.pipelineId,
      pipelineName: c.pipelineName,
      gateId: event.nodeId ?? null,
      gateName: event.nodeId ? gateName : null,
      ...extra,
    },
  };
}

export type Notifier = ReturnType<typeof createNotifier>;

export function createNotifier(deps: NotifierDeps) {
  const { db, env } = deps;
  const doFetch = deps.fetch ?? fetch;
  const delays = deps.retryDelaysMs ?? [2000, 10_000];
  const timeoutMs = deps.timeoutMs ?? 10_000;
  let cached: { at: number; target: NotifyTarget | null } | undefined;
  /** Events this process already claimed or saw claimed (saves an insert per event on every later record). */
  const known = new Set<string>();

  /** Where notifications go now (the admin setting, else the environment), read at most every 5 s. */
  async function target(): Promise<NotifyTarget | null> {
    if (cached && Date.now() - cached.at < 5000) return cached.target;
    const row = await db.select({ value: settings.value }).from(settings).where(eq(settings.key, WEBHOOK_SETTING)).get();
    const s = row?.value as WebhookSetting | undefined;
    let t: NotifyTarget | null = null;
    if (s && s.enabled === false) t = null;
    else if (s?.url) {
      let secret: string | undefined = env.PIPEWRIGHT_NOTIFY_WEBHOOK_SECRET || undefined;
      if (s.secret) {
        try {
          secret = open(resolveSecretKey(), s.secret, `settings:${WEBHOOK_SETTING}`);
        } catch (err) {
          // Never send unsigned what was meant to be signed.
          console.error(`[notify] cannot open the webhook secret (is PIPEWRIGHT_SECRET_KEY the web server's?): ${err instanceof Error ? err.message : err}`);
          cached = { at: Date.now(), target: null };
          return null;
        }
      }
      t = { url: s.url, secret };
    }
    else if (env.PIPEWRIGHT_NOTIFY_WEBHOOK_URL) t = { url: env.PIPEWRIGHT_NOTIFY_WEBHOOK_URL, secret: env.PIPEWRIGHT_NOTIFY_WEBHOOK_SECRET || undefined };
    cached = { at: Date.now(), target: t };
    return t;
  }

  async function context(runId: string): Promise<Context | null> {
    const run = await db
      .select({
        id: runs.id,
        number: runs.number,
        pipelineId: runs.pipelineId,
        status: runs.status,
        params: runs.params,
        triggeredBy: runs.triggeredBy,
        pipelineVersion: runs.pipelineVersion,
        plan: runs.plan,
        pipelineName: pipelines.name,
      })
      .from(runs)
      .innerJoin(pipelines, eq(pipelines.id, runs.pipelineId))
      .where(eq(runs.id, runId))
      .get();
    if (!run) return null;
    const parsed = executionPlanSchema.safeParse(run.plan);
    const people = await db.select({ id: user.id, username: user.username, name: user.name }).from(user).where(inArray(user.id, [run.triggeredBy]));
    const names = new Map<string, string>();
    for (const p of people) names.set(p.id, p.name);
    return {
      run: { ...run, params: run.params as Record<string, unknown> },
      pipelineName: run.pipelineName,
      plan: parsed.success ? parsed.data : null,
      names,
      publicUrl: env.PIPEWRIGHT_URL || `http://localhost:${env.PORT || 3000}`,
    };
  }

  /** Display names for usernames that decided gates. */
  async function addVoterNames(c: Context, state: RunState) {
    const usernames = new Set<string>();
    for (const s of Object.values(state.stages)) for (const v of s.gate?.votes ?? []) usernames.add(v.userName);
    if (usernames.size === 0) return;
    const rows = await db.select({ username: user.username, name: user.name }).from(user).where(inArray(user.username, [...usernames]));
    for (const r of rows) if (r.username) c.names.set(r.username, r.name);
  }

  async function deliver(event: NotifyEvent, t: NotifyTarget, payload: unknown): Promise<void> {
    const body = JSON.stringify(payload);
    let attempts = 0;
    let result = '';
    let sent = false;
    for (;;) {
      attempts++;
      const timestamp = String(Math.floor(Date.now() / 1000));
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'user-agent': 'Pipewright-Notifier',
        'x-pipewright-event': event.type,
        'x-pipewright-delivery': event.id,
        'x-pipewright-timestamp': timestamp,
      };
      if (t.secret) headers['x-pipewright-signature'] = signWebhook(t.secret, timestamp, body);
      let retry = false;
      try {
        const res = await doFetch(t.url, { method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
        await res.arrayBuffer().catch(() => undefined);
        result = `HTTP ${res.status}`;
        sent = res.ok;
        retry = res.status >= 500 || res.status === 429;
      } catch (err) {
        result = err instanceof Error ? err.message.slice(0, 300) : String(err);
        retry = true;
      }
      if (sent || !retry || attempts > delays.length) break;
      await new Promise((r) => setTimeout(r, delays[attempts - 1]));
    }
    await db
      .update(notifications)
      .set({ status: sent ? 'sent' : 'failed', attempts, lastResult: result, sentAt: sent ? new Date() : null })
      .where(eq(notifications.id, event.id));
    if (!sent) console.warn(`[notify] ${event.id} not delivered after ${attempts} attempt(s): ${result}`);
  }

  /**
   * Claims and sends the notifications a recorded state stands for. Never
   * throws; resolves when every claimed event was delivered or given up on.
   */
  async function onRunState(state: RunState, final: boolean): Promise<void> {
    try {
      const events = eventsOf(state, final).filter((e) => !known.has(e.id));
      if (events.length === 0) return;
      const t = await target();
      if (!t) return;
      const claimed: NotifyEvent[] = [];
      for (const e of events) {
        const won = await db
          .insert(notifications)
          .values({ id: e.id, event: e.type, runId: e.runId, status: 'sending' })
          .onConflictDoNothing()
          .returning({ id: notifications.id });
        if (won.length > 0) claimed.push(e);
        if (known.size > 20_000) known.clear();
        known.add(e.id);
      }
      if (claimed.length === 0) return;
      const c = await context(state.runId);
      if (!c) return;
      await addVoterNames(c, state);
      await Promise.all(claimed.map((e) => deliver(e, t, buildMessage(e, state, c))));
    } catch (err) {
      console.error('[notify] failed:', err instanceof Error ? err.message : err);
    }
  }

  return { onRunState, target, forgetTarget: () => (cached = undefined) };
}
