'use client';
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { usePathname } from 'next/navigation';
import { useTRPC } from '@/app/trpc/react';
import { cx } from './ui';

const LINKS = [
  { href: '/', label: 'Pipelines', active: (p: string) => p === '/' || p.startsWith('/pipelines') },
  { href: '/runs', label: 'Runs', active: (p: string) => p.startsWith('/runs') },
  { href: '/approvals', label: 'Approvals', active: (p: string) => p.startsWith('/approvals') },
  { href: '/insights', label: 'Insights', active: (p: string) => p.startsWith('/insights') },
] as const;

const ADMIN_LINK = { href: '/admin/users', label: 'Admin', active: (p: string) => p.startsWith('/admin') };

/** Gates the signed-in person can still decide (named by the gate, role allows, not voted yet). */
export function useApprovalsCount(): number {
  const trpc = useTRPC();
  // Kept live by the events stream (LiveBridge in the app shell), not by polling.
  const pending = useQuery(trpc.approvals.pending.queryOptions());
  return pending.data?.filter((g) => g.canDecide).length ?? 0;
}

export function NavLinks({ admin = false }: { admin?: boolean }) {
  const pathname = usePathname() ?? '/';
  const count = useApprovalsCount();
  return (
    <nav aria-label="Main" className="flex items-center gap-1">
      {[...LINKS, ...(admin ? [ADMIN_LINK] : [])].map((l) => {
        const active = l.active(pathname);
        return (
          <Link
            key={l.href}
            href={l.href}
            aria-current={active ? 'page' : undefined}
            className={cx(
              'relative flex items-center gap-1.5 rounded-md px-3 py-1.5 text-sm font-medium transition-colors focus:outline-none focus-visible:ring-2 focus-visible:ring-accent',
              active ? 'bg-subtle text-fg' : 'text-muted hover:bg-subtle/70 hover:text-fg',
            )}
          >
            {l.label}
            {l.href === '/approvals' && count > 0 && (
              <span
                data-testid="approvals-count"
                aria-label={`${count} waiting for you`}
                className="inline-flex h-5 min-w-5 items-center justify-center rounded-full bg-amber-500 px-1.5 text-[11px] font-semibold text-white dark:text-amber-950"
              >
                {count}
              </span>
            )}
          </Link>
        );
      })}
    </nav>
  );
}
