'use client';
/**
 * The notification webhook: URL, signing secret (write-only), on/off, and a
 * test message. Without a URL here, PIPEWRIGHT_NOTIFY_WEBHOOK_URL applies.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { Button, Card, ErrorBox, Notice, Spinner, inputClass } from '@/app/components/ui';
import { useTRPC } from '@/app/trpc/react';

export function NotificationSettings() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const current = useQuery(trpc.settings.notifications.queryOptions());
  const [url, setUrl] = useState('');
  const [enabled, setEnabled] = useState(true);
  const [secret, setSecret] = useState('');
  const [secretAction, setSecretAction] = useState<'keep' | 'set' | 'remove'>('keep');
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    if (!current.data) return;
    setUrl(current.data.url);
    setEnabled(current.data.enabled);
  }, [current.data]);
  const save = useMutation(
    trpc.settings.setNotifications.mutationOptions({
      onSuccess: async () => {
        await queryClient.invalidateQueries(trpc.settings.pathFilter());
        setSecret('');
        setSecretAction('keep');
        setSaved(true);
      },
    }),
  );
  const test = useMutation(trpc.settings.testNotification.mutationOptions());
  const d = current.data;

  return (
    <Card className="max-w-2xl p-5">
      <h2 className="font-semibold text-fg">Notifications</h2>
      <p className="mt-1 text-sm text-muted">
        A webhook receives a message when a gate starts waiting, when it is decided and when a run ends: Slack-compatible JSON (<code>text</code> and{' '}
        <code>blocks</code>, plus a <code>pipewright</code> object for machines), signed with HMAC-SHA256 in <code>X-Pipewright-Signature</code> like
        webhook stages.
      </p>
      {d && (
        <p className="mt-3 text-sm text-muted" data-testid="notify-source">
          Now in use:{' '}
          {d.source === 'settings'
            ? d.enabled
              ? 'the webhook below.'
              : 'none (turned off below).'
            : d.source === 'environment'
              ? `PIPEWRIGHT_NOTIFY_WEBHOOK_URL (${d.envUrl})${d.envHasSecret ? ', signed' : ', unsigned'}.`
              : 'none.'}
        </p>
      )}
      <form
        className="mt-4 space-y-4"
        onSubmit={(e) => {
          e.preventDefault();
          setSaved(false);
          save.mutate({ url, enabled, secret: secretAction === 'keep' ? undefined : secretAction === 'remove' ? '' : secret });
        }}
      >
        <div>
          <label htmlFor="notify-url" className="mb-1 block text-sm font-medium text-fg">
            Webhook URL
          </label>
          <input id="notify-url" type="url" value={url} onChange={(e) => setUrl(e.target.value)} placeholder="https://hooks.slack.com/services/…" className={inputClass} />
          <p className="mt-1 text-xs text-muted">Leave empty to use PIPEWRIGHT_NOTIFY_WEBHOOK_URL from the environment.</p>
        </div>
        <fieldset>
          <legend className="mb-1 text-sm font-medium text-fg">Signing secret {d?.hasSecret ? '(set)' : '(none)'}</legend>
          <div className="flex flex-wrap items-center gap-3 text-sm">
            <label className="flex items-center gap-1.5">
              <input type="radio" name="secret" checked={secretAction === 'keep'} onChange={() => setSecretAction('keep')} /> keep
            </label>
            <label className="flex items-center gap-1.5">
              <input type="radio" name="secret" checked={secretAction === 'set'} onChange={() => setSecretAction('set')} /> new secret
            </label>
            {d?.hasSecret && (
              <label className="flex items-center gap-1.5">
                <input type="radio" name="secret" checked={secretAction === 'remove'} onChange={() => setSecretAction('remove')} /> remove
              </label>
            )}
          </div>
          {secretAction === 'set' && (
            <input
              type="password"
              aria-label="New signing secret"
              autoComplete="off"
              value={secret}
              onChange={(e) => setSecret(e.target.value)}
              required
              className={`${inputClass} mt-2`}
            />
          )}
          <p className="mt-1 text-xs text-muted">Stored encrypted; never shown again. Without one, PIPEWRIGHT_NOTIFY_WEBHOOK_SECRET signs.</p>
        </fieldset>
        <label className="flex items-center gap-2 text-sm text-fg">
          <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} /> Send notifications
        </label>
        {save.isError && <ErrorBox error={save.error} />}
        {saved && <Notice tone="success">Saved. Workers pick it up within a few seconds.</Notice>}
        <div className="flex flex-wrap gap-2">
          <Button type="submit" variant="primary" disabled={save.isPending}>
            {save.isPending && <Spinner />} Save
          </Button>
          <Button onClick={() => test.mutate()} disabled={test.isPending}>
            {test.isPending && <Spinner />} Send a test message
          </Button>
        </div>
        {test.data && <Notice tone={test.data.ok ? 'success' : 'warning'}>{test.data.message}</Notice>}
        {test.isError && <ErrorBox error={test.error} />}
      </form>
    </Card>
  );
}
