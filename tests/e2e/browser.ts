/**
 * Real Chromium for the e2e tests (playwright-core, the system's
 * /usr/bin/chromium), plus helpers to sign in and out through the UI and to
 * call the API as a demo user.
 */
import { createTRPCClient, httpBatchLink } from '@trpc/client';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser as ChromiumBrowser, type BrowserContext, type Page } from 'playwright-core';
import superjson from 'superjson';
import type { AppRouter } from '../../server/api/root';

export const DEMO_PASSWORD = 'pipewright-demo';
export const SCREENSHOT_DIR = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../test-results');

export type Browser = { context: BrowserContext; page: Page; close: () => Promise<void> };

export async function openBrowser(): Promise<Browser> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'pipewright-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1440, height: 1000 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  context.setDefaultTimeout(30_000);
  context.setDefaultNavigationTimeout(60_000);
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  return {
    context,
    page,
    close: async () => {
      await context.close().catch(() => undefined);
      fs.rmSync(profile, { recursive: true, force: true });
      if (errors.length) process.stderr.write(`[e2e] page errors:\n  ${errors.join('\n  ')}\n`);
    },
  };
}

/** Signs in through the sign-in page; the page must be on /sign-in. Resolves once it has left it. */
export async function signIn(page: Page, username: string, password = DEMO_PASSWORD) {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL((url) => !url.pathname.startsWith('/sign-in'), { timeout: 20_000 });
}

export async function signOut(page: Page) {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL((url) => url.pathname.startsWith('/sign-in'));
}

/** A typed API client signed in as `username` (one password sign-in). */
export async function apiAs(appUrl: string, username: string, password = DEMO_PASSWORD) {
  const res = await fetch(`${appUrl}/api/auth/sign-in/username`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: appUrl },
    body: JSON.stringify({ username, password }),
  });
  if (!res.ok) throw new Error(`sign-in as ${username} failed: HTTP ${res.status} ${await res.text()}`);
  const cookie = res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
  return createTRPCClient<AppRouter>({
    links: [httpBatchLink({ url: `${appUrl}/api/trpc`, transformer: superjson, headers: { cookie, origin: appUrl } })],
  });
}

/**
 * Several signed-in people, each in a browser context of their own, in one
 * headless Chromium: `launch()` in beforeAll, `close()` in afterAll (it
 * reports the pages' uncaught errors).
 */
export function browserPeople(appUrl: string) {
  let browser: ChromiumBrowser | undefined;
  const contexts: BrowserContext[] = [];
  const pageErrors: string[] = [];
  return {
    async launch() {
      browser = await chromium.launch({
        executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      });
    },
    /** A person signed in through the sign-in page. */
    async person(username: string, opts: { password?: string; colorScheme?: 'light' | 'dark' } = {}): Promise<Page> {
      const context = await browser!.newContext({ viewport: { width: 1400, height: 1000 }, colorScheme: opts.colorScheme ?? 'light' });
      context.setDefaultTimeout(30_000);
      contexts.push(context);
      const page = await context.newPage();
      page.on('pageerror', (err) => pageErrors.push(`${username}: ${err.message}`));
      await page.goto(`${appUrl}/sign-in`);
      await signIn(page, username, opts.password);
      return page;
    },
    async close() {
      for (const c of contexts) await c.close().catch(() => undefined);
      await browser?.close().catch(() => undefined);
      if (pageErrors.length) process.stderr.write(`[e2e] page errors:\n  ${pageErrors.join('\n  ')}\n`);
    },
  };
}

/** A full-page screenshot into the test artifacts. */
export async function shot(page: Page, name: string) {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: `${SCREENSHOT_DIR}/${name}`, fullPage: true });
}
