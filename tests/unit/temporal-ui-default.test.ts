/**
 * `npm start` runs the embedded Temporal dev server without its Web UI unless
 * asked (PIPEWRIGHT_TEMPORAL_UI=true), and with its HTTP API on a known port
 * the stage egress policy keeps stages away from.
 */
import { describe, expect, it } from 'vitest';
import { devServerArgs, embeddedUiPort } from '@/scripts/temporal-dev-server';
import { envSchema } from '@/server/env';
import { egressPolicyFromEnv } from '@/workflows/stages/egress';

const parse = (vars: Record<string, string>) => envSchema.parse(vars);

describe('embedded Temporal UI', () => {
  it('is off by default, so the dev server starts headless', () => {
    const env = parse({});
    expect(embeddedUiPort(env)).toBeUndefined();
    const args = devServerArgs({ bin: 'temporal', port: env.TEMPORAL_DEV_PORT, uiPort: embeddedUiPort(env), httpPort: env.TEMPORAL_DEV_HTTP_PORT, namespace: 'default' });
    expect(args).toContain('--headless');
    expect(args).not.toContain('--ui-port');
    expect(args.join(' ')).toContain('--http-port 7243');
  });

  it('starts on TEMPORAL_DEV_UI_PORT with PIPEWRIGHT_TEMPORAL_UI=true', () => {
    expect(embeddedUiPort(parse({ PIPEWRIGHT_TEMPORAL_UI: 'true' }))).toBe(8233);
    const env = parse({ PIPEWRIGHT_TEMPORAL_UI: 'true', TEMPORAL_DEV_UI_PORT: '9233' });
    const args = devServerArgs({ bin: 'temporal', port: 7233, uiPort: embeddedUiPort(env), namespace: 'default' });
    expect(args.join(' ')).toContain('--ui-port 9233');
    expect(args).not.toContain('--headless');
  });

  it('the ports it uses by default are the ones stages are kept away from', () => {
    const env = parse({ PIPEWRIGHT_TEMPORAL_UI: 'true' });
    const ports = egressPolicyFromEnv({}).protectedPorts;
    expect(ports).toEqual(expect.arrayContaining([env.TEMPORAL_DEV_PORT, env.TEMPORAL_DEV_UI_PORT, env.TEMPORAL_DEV_HTTP_PORT]));
  });

  it('refuses a bad egress allow-list at start, naming the entry', () => {
    const parsed = envSchema.safeParse({ PIPEWRIGHT_STAGE_EGRESS_ALLOW: '10.0.0.0/8, 10.0.0.0/99' });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toContain('10.0.0.0/99');
  });
});
