import { z } from 'zod';
import { LIMITS } from '../../model/limits';
import { defineStage } from '../types';

/**
 * Worker variables a webhook stage may sign with: the default key and those
 * named `PIPEWRIGHT_WEBHOOK_KEY_<NAME>`. Any other name is refused, so a stage
 * cannot make the worker sign with (and leak an HMAC oracle of) the admin
 * password, the auth secret or any other variable of its environment.
 */
export const WEBHOOK_DEFAULT_KEY_ENV = 'PIPEWRIGHT_WEBHOOK_SECRET';
export const WEBHOOK_KEY_ENV_PREFIX = 'PIPEWRIGHT_WEBHOOK_KEY_';
export function isWebhookKeyEnv(name: string): boolean {
  return name === WEBHOOK_DEFAULT_KEY_ENV || (name.startsWith(WEBHOOK_KEY_ENV_PREFIX) && name.length > WEBHOOK_KEY_ENV_PREFIX.length);
}

export const webhookConfigSchema = z.object({
  url: z.string().min(1, 'enter a URL').max(2048).describe('Where to POST the JSON body.'),
  body: z.unknown().default({}).describe('JSON body; strings may contain `${{ … }}` references.'),
  headers: z.record(z.string(), z.string().max(4096)).default({}).describe('Extra request headers.'),
  secretEnv: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
    .default(WEBHOOK_DEFAULT_KEY_ENV)
    .describe(
      `Name of the worker environment variable holding the HMAC-SHA256 signing key: ${WEBHOOK_DEFAULT_KEY_ENV} or one starting with ${WEBHOOK_KEY_ENV_PREFIX} (e.g. ${WEBHOOK_KEY_ENV_PREFIX}CHAT). The key itself never appears in the pipeline, the logs or the browser.`,
    ),
  timeoutSeconds: z.number().min(0.1).max(300).default(10).describe('Limit for the request, in seconds.'),
});
export type WebhookConfig = z.infer<typeof webhookConfigSchema>;

export const webhookStage = defineStage({
  kind: 'webhook',
  label: 'Webhook',
  description: 'POST signed JSON to a URL: notify a chat, call an external system.',
  icon: '↗',
  category: 'notify',
  runtime: 'activity',
  configSchema: webhookConfigSchema,
  defaults: { url: 'https://example.com/hooks/pipewright', body: { text: 'Pipeline ${{ params.version }}' } },
  outputs: { names: ['status'], dynamic: false },
  check: (c) => {
    const issues: { path: string; message: string }[] = [];
    const size = JSON.stringify(c.body ?? null)?.length ?? 0;
    if (size > LIMITS.valueLength) issues.push({ path: 'body', message: 'body is too large' });
    if (typeof c.secretEnv === 'string' && !isWebhookKeyEnv(c.secretEnv)) {
      issues.push({ path: 'secretEnv', message: `must be ${WEBHOOK_DEFAULT_KEY_ENV} or start with ${WEBHOOK_KEY_ENV_PREFIX}` });
    }
    return issues;
  },
});
