/**
 * The frame of every signed-in page: the top bar (wordmark, Pipelines, Runs,
 * Approvals with a count of gates waiting for you, who you are, sign out), a
 * warning while command stages run without their sandbox, a banner while the
 * Temporal server cannot be reached, and the page's content. Prefetches the approvals count and hands everything
 * prefetched on the server to the browser's query cache.
 */
import Link from 'next/link';
import type { ReactNode } from 'react';
import { SignOutButton } from '@/app/components/sign-out-button';
import { ROLE_LABEL } from '@/app/lib/format';
import { LiveBridge } from '@/app/lib/live';
import { HydrateClient, prefetch, trpc } from '@/app/trpc/server';
import type { SessionUser } from '@/server/auth/session';
import { getEnv } from '@/server/env';
import { NavLinks } from './nav-links';
import { TemporalBanner } from './temporal-banner';

export function Wordmark() {
  return (
    <Link href="/" className="flex items-center gap-2 rounded-md focus:outline-none focus-visible:ring-2 focus-visible:ring-accent">
      <span aria-hidden className="flex h-7 w-7 items-center justify-center rounded-lg bg-accent text-accent-fg shadow-sm">
        <svg viewBox="0 0 24 24" className="h-4 w-4" fill="none" stroke="currentColor" strokeWidth="2.4" strokeLinecap="round" strokeLinejoin="round">
          <path d="M4 7h6l4 10h6" />
          <circle cx="4" cy="7" r="1.2" fill="currentColor" />
          <circle cx="20" cy="17" r="1.2" fill="currentColor" />
        </svg>
      </span>
      <span className="text-[15px] font-semibold tracking-tight text-fg">Pipewright</span>
    </Link>
  );
}

export async function AppShell({ user, children }: { user: SessionUser; children: ReactNode }) {
  await prefetch(trpc.approvals.pending.queryOptions());
  return (
    <HydrateClient>
      <LiveBridge />
      <header className="sticky top-0 z-30 border-b border-line bg-surface/85 backdrop-blur supports-[backdrop-filter]:bg-surface/70">
        <div className="mx-auto flex h-14 max-w-7xl items-center gap-6 px-4 sm:px-6">
          <Wordmark />
          <NavLinks admin={user.role === 'admin'} />
          <div className="ml-auto flex items-center gap-3">
            <div className="hidden text-right leading-tight sm:block" data-testid="current-user">
              <div className="text-sm font-medium text-fg">{user.name || user.username}</div>
              <div className="text-xs text-muted">
                {user.username} · {ROLE_LABEL[user.role] ?? user.role}
              </div>
            </div>
            <span aria-hidden className="hidden h-6 w-px bg-line sm:block" />
            <SignOutButton className="rounded-md px-2.5 py-1.5 text-sm font-medium text-muted hover:bg-subtle hover:text-fg focus:outline-none focus-visible:ring-2 focus-visible:ring-accent disabled:opacity-60" />
          </div>
        </div>
      </header>
      {getEnv().PIPEWRIGHT_UNSAFE_NO_SANDBOX ? <UnsafeSandboxBanner /> : null}
      <TemporalBanner />
      <main className="mx-auto max-w-7xl px-4 py-8 sm:px-6">{children}</main>
    </HydrateClient>
  );
}

/**
 * Shown on every signed-in page while PIPEWRIGHT_UNSAFE_NO_SANDBOX is set (read
 * from this server's configuration, which `npm start` shares with the worker).
 */
function UnsafeSandboxBanner() {
  return (
    <div role="alert" data-testid="unsafe-sandbox-banner" className="border-b border-red-200 bg-red-50 text-red-800 dark:border-red-500/30 dark:bg-red-500/10 dark:text-red-200">
      <div className="mx-auto max-w-7xl px-4 py-2 text-sm sm:px-6">
        <strong className="font-semibold">Command stages run without a sandbox.</strong> PIPEWRIGHT_UNSAFE_NO_SANDBOX is set, so any pipeline
        author can read this server&apos;s secrets (encryption keys, sessions, the database). Install bubblewrap and unset it.
      </div>
    </div>
  );
}
