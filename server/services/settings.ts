/**
 * Workspace settings admins change in the app. For now: where notifications
 * go (server/notify/notifier.ts reads the same row on the worker).
 *
 * The webhook's signing secret is sealed with the workspace key
 * (AES-256-GCM, server/clusters/crypto.ts) and never returned by the API:
 * the page only learns whether one is set.
 */
import { TRPCError } from '@trpc/server';
import { eq } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { auditLog, settings } from '../../db/schema';
import { signWebhook } from '../../workflows/stages/webhook/executor';
import type { SessionUser } from '../auth/session';
import { open, resolveSecretKey, seal } from '../clusters/crypto';
import { getEnv } from '../env';
import { WEBHOOK_SETTING, type WebhookSetting } from '../notify/notifier';

type Actor = Pick<SessionUser, 'id' | 'username'>;

export const SECRET_AAD = `settings:${WEBHOOK_SETTING}`;

/** Where notifications go, as the admin page shows it (never the secret). */
export async function getNotificationSettings(db: Db) {
  const env = getEnv();
  const row = await db.select().from(settings).where(eq(settings.key, WEBHOOK_SETTING)).get();
  const s = row?.value as WebhookSetting | undefined;
  return {
    url: s?.url ?? '',
    enabled: s ? s.enabled !== false : Boolean(env.PIPEWRIGHT_NOTIFY_WEBHOOK_URL),
    hasSecret: Boolean(s?.secret),
    /** Which configuration applies now. */
    source: s && (s.url || s.enabled === false) ? ('settings' as const) : env.PIPEWRIGHT_NOTIFY_WEBHOOK_URL ? ('environment' as const) : ('none' as const),
    envUrl: env.PIPEWRIGHT_NOTIFY_WEBHOOK_URL ? redactUrl(env.PIPEWRIGHT_NOTIFY_WEBHOOK_URL) : null,
    envHasSecret: Boolean(env.PIPEWRIGHT_NOTIFY_WEBHOOK_SECRET),
    updatedAt: row?.updatedAt ?? null,
    updatedBy: row?.updatedBy ?? null,
  };
}

/** `https://hooks.slack.com/services/…` — the path of a Slack webhook URL is itself a secret. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname.length > 1 ? '/…' : ''}`;
  } catch {
    return '(invalid URL)';
  }
}

/**
 * Saves the webhook. `secret`: undefined keeps the current one, '' removes it.
 * An empty `url` with `enabled` goes back to the environment's configuration.
 */
export async function setNotificationSettings(db: Db, actor: Actor, input: { url: string; enabled: boolean; secret?: string }) {
  const url = input.url.trim();
  if (url && !/^https?:\/\//i.test(url)) throw new TRPCError({ code: 'BAD_REQUEST', message: 'The webhook URL must start with https:// (or http://).' });
  const row = await db.select().from(settings).where(eq(settings.key, WEBHOOK_SETTING)).get();
  const before = row?.value as WebhookSetting | undefined;
  const secret = input.secret === undefined ? before?.secret : input.secret === '' ? undefined : seal(resolveSecretKey(), input.secret, SECRET_AAD);
  const value: WebhookSetting = { url, enabled: input.enabled, ...(secret ? { secret } : {}) };
  await db
    .insert(settings)
    .values({ key: WEBHOOK_SETTING, value, updatedBy: actor.username, updatedAt: new Date() })
    .onConflictDoUpdate({ target: settings.key, set: { value, updatedBy: actor.username, updatedAt: new Date() } });
  await db.insert(auditLog).values({
    actorId: actor.id,
    actorName: actor.username,
    action: 'settings.notifications',
    outcome: 'ok',
    details: {
      url: url ? redactUrl(url) : null,
      enabled: input.enabled,
      secret: input.secret === undefined ? 'kept' : input.secret === '' ? 'removed' : 'changed',
    },
  });
  return getNotificationSettings(db);
}

/** The sealed secret of the setting, opened (the notifier uses the same). */
export function openWebhookSecret(sealed: string): string {
  return open(resolveSecretKey(), sealed, SECRET_AAD);
}

/** Sends a test message to the webhook that applies now; returns what it answered. */
export async function sendTestNotification(db: Db, actor: Actor) {
  const env = getEnv();
  const row = await db.select().from(settings).where(eq(settings.key, WEBHOOK_SETTING)).get();
  const s = row?.value as WebhookSetting | undefined;
  const target =
    s && s.enabled === false
      ? null
      : s?.url
        ? { url: s.url, secret: s.secret ? openWebhookSecret(s.secret) : env.PIPEWRIGHT_NOTIFY_WEBHOOK_SECRET }
        : env.PIPEWRIGHT_NOTIFY_WEBHOOK_URL
          ? { url: env.PIPEWRIGHT_NOTIFY_WEBHOOK_URL, secret: env.PIPEWRIGHT_NOTIFY_WEBHOOK_SECRET }
          : null;
  if (!target) throw new TRPCError({ code: 'PRECONDITION_FAILED', message: 'No notification webhook is configured.' });
  const text = `Test notification from Pipewright, sent by ${actor.username}.`;
  const body = JSON.stringify({
    text,
    blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `:wave: ${text}` } }],
    pipewright: { event: 'test', id: `test:${Date.now()}` },
  });
  const timestamp = String(Math.floor(Date.now() / 1000));
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'Pipewright-Notifier',
    'x-pipewright-event': 'test',
    'x-pipewright-delivery': `test:${timestamp}`,
    'x-pipewright-timestamp': timestamp,
  };
  if (target.secret) headers['x-pipewright-signature'] = signWebhook(target.secret, timestamp, body);
  try {
    const res = await fetch(target.url, { method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.timeout(10_000) });
    await res.arrayBuffer().catch(() => undefined);
    return { ok: res.ok, status: res.status, message: `The webhook answered HTTP ${res.status}.` };
  } catch (err) {
    return { ok: false, status: 0, message: `Could not reach the webhook: ${err instanceof Error ? err.message : String(err)}` };
  }
}
