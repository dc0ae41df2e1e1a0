/**
 * The runner API on its own port (PIPEWRIGHT_RUNNER_API_PORT, as `npm start`
 * sets it): the web app's process answers it there exactly as under its own
 * URL, and serves nothing else there. The e2e runner reaches the control plane
 * only through this port, so every stage the other e2e tests run went through it.
 */
import { describe, expect, inject, it } from 'vitest';

const appUrl = inject('appUrl');
const runnerApiUrl = inject('runnerApiUrl');

const heartbeat = (base: string, token: string) =>
  fetch(`${base}/api/runner/heartbeat`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{}' });

describe('the runner API port', () => {
  it('is another port than the app, and refuses an unknown runner token there as under the app', async () => {
    expect(new URL(runnerApiUrl).port).not.toBe(new URL(appUrl).port);
    for (const base of [runnerApiUrl, appUrl]) {
      const res = await heartbeat(base, 'not-a-runner-token');
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ error: 'this runner token is unknown or was revoked' });
    }
  });

  it('refuses a stage call without a valid stage credential, and a body that is not JSON', async () => {
    const forged = await fetch(`${runnerApiUrl}/api/runner/stage/finish`, {
      method: 'POST',
      headers: { authorization: 'Bearer forged', 'content-type': 'application/json' },
      body: JSON.stringify({ runId: 'r', nodeId: 'n', attempt: 1, status: 'succeeded' }),
    });
    expect(forged.status).toBe(401);
    const broken = await fetch(`${runnerApiUrl}/api/runner/stage/finish`, { method: 'POST', headers: { authorization: 'Bearer forged' }, body: '{not json' });
    expect(broken.status).toBe(400);
    expect((await broken.json()).error).toBe('the body is not JSON');
  });

  it('serves nothing of the app: pages, sign-in and the tRPC API are not there', async () => {
    for (const route of ['/', '/sign-in', '/api/trpc/pipelines.list', '/api/health']) {
      const res = await fetch(`${runnerApiUrl}${route}`);
      expect(res.status, route).toBe(404);
      expect(await res.json()).toEqual({ error: 'not found' });
    }
  });
});
