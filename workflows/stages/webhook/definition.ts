import { z } from 'zod';
import { LIMITS } from '../../model/limits';
import { defineStage } from '../types';

export const webhookConfigSchema = z.object({
  url: z.string().min(1, 'enter a URL').max(2048).describe('Where to POST the JSON body.'),
  body: z.unknown().default({}).describe('JSON body; strings may contain `${{ … }}` references.'),
  headers: z.record(z.string(), z.string().max(4096)).default({}).describe('Extra request headers.'),
  secretEnv: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
    .default('PIPEWRIGHT_WEBHOOK_SECRET')
    .describe('Name of the worker environment variable holding the HMAC-SHA256 signing key. The key itself never appears in the pipeline, the logs or the browser.'),
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
    const size = JSON.stringify(c.body ?? null)?.length ?? 0;
    return size > LIMITS.valueLength ? [{ path: 'body', message: 'body is too large' }] : [];
  },
});
