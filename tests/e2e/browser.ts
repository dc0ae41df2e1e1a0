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

export type Browser = {
  context: BrowserContext;
  page: Page;
  /** Closes the browser; throws when a page had an uncaught error or logged an app error (see `watchErrors`). */
  close: () => Promise<void>;
  /** Console errors matching `pattern` are expected in this test (e.g. a CSP refusal it provokes on purpose). */
  expectConsoleError: (pattern: RegExp) => void;
};

/**
 * Console errors that are the browser's, not the app's: a resource answered
 * 4xx/5xx (a test that asks for a refused page provokes it), a request
 * aborted by navigation. Everything else logged as an error is a bug.
 */
const BROWSER_NOISE = [/^Failed to load resource: /, /net::ERR_ABORTED/];

/**
 * Collects what makes a page broken for its user: uncaught exceptions
 * (`pageerror`) and errors the app logs to the console. `failIfAny()` throws
 * with all of them, so a test whose pages threw fails even when its
 * assertions passed.
 */
export function watchErrors() {
  const errors: string[] = [];
  const expected: RegExp[] = [];
  return {
    page(page: Page, who = '') {
      const tag = who ? `${who}: ` : '';
      page.on('pageerror', (err) => errors.push(`${tag}uncaught ${err.name}: ${err.message}`));
      page.on('console', (m) => {
        if (m.type() !== 'error') return;
        const text = m.text();
        if (BROWSER_NOISE.some((re) => re.test(text)) || expected.some((re) => re.test(text))) return;
        errors.push(`${tag}console error: ${text.slice(0, 500)}`);
      });
    },
    expect(pattern: RegExp) {
      expected.push(pattern);
    },
    failIfAny() {
      if (errors.length === 0) return;
      const list = errors.splice(0);
      throw new Error(`The browser pages had errors:\n  ${list.join('\n  ')}`);
    },
  };
}

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
  const errors = watchErrors();
  // Every page of the context (popups, new tabs) is watched, not only the first.
  errors.page(page);
  context.on('page', (p) => p !== page && errors.page(p));
  return {
    context,
    page,
    expectConsoleError: (pattern) => errors.expect(pattern),
    close: async () => {
      await context.close().catch(() => undefined);
      fs.rmSync(profile, { recursive: true, force: true });
      errors.failIfAny();
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
 * fails with the pages' uncaught errors and app console errors).
 */
export function browserPeople(appUrl: string) {
  let browser: ChromiumBrowser | undefined;
  const contexts: BrowserContext[] = [];
  const errors = watchErrors();
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
      errors.page(page, username);
      await page.goto(`${appUrl}/sign-in`);
      await signIn(page, username, opts.password);
      return page;
    },
    async close() {
      for (const c of contexts) await c.close().catch(() => undefined);
      await browser?.close().catch(() => undefined);
      errors.failIfAny();
    },
    /** Console errors matching `pattern` are expected in this file. */
    expectConsoleError: (pattern: RegExp) => errors.expect(pattern),
  };
}

/** A full-page screenshot into the test artifacts. */
export async function shot(page: Page, name: string) {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: `${SCREENSHOT_DIR}/${name}`, fullPage: true });
}
