/** Tabs of the admin area: People, Audit log, Settings, Clusters, Environments, Runners. */
import Link from 'next/link';
import { cx } from '@/app/components/ui';

const TABS = [
  { href: '/admin/users', label: 'People' },
  { href: '/admin/audit', label: 'Audit log' },
  { href: '/admin/settings', label: 'Settings' },
  { href: '/admin/clusters', label: 'Clusters' },
  { href: '/admin/environments', label: 'Environments' },
  { href: '/admin/runners', label: 'Runners' },
] as const;

export function AdminNav({ current }: { current: (typeof TABS)[number]['href'] }) {
  return (
    <nav aria-label="Admin" className="mb-6 flex flex-wrap gap-1 border-b border-line">
      {TABS.map((t) => (
        <Link
          key={t.href}
          href={t.href}
          aria-current={t.href === current ? 'page' : undefined}
          className={cx(
            '-mb-px border-b-2 px-3 py-2 text-sm font-medium transition-colors focus:outline-none focus-visible:ring-2 focus-visible:ring-accent',
            t.href === current ? 'border-accent text-fg' : 'border-transparent text-muted hover:text-fg',
          )}
        >
          {t.label}
        </Link>
      ))}
    </nav>
  );
}
