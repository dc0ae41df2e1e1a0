/**
 * Small building blocks shared by the pages: buttons, cards, headers, empty
 * states, error boxes. No hooks, so both server and client components use them.
 */
import Link from 'next/link';
import type { ComponentProps, ReactNode } from 'react';
import { describeError } from '@/app/lib/errors';

export function cx(...parts: (string | false | null | undefined)[]): string {
  return parts.filter(Boolean).join(' ');
}

const buttonBase =
  'inline-flex items-center justify-center gap-1.5 whitespace-nowrap rounded-md text-sm font-medium transition-colors focus:outline-none focus-visible:ring-2 focus-visible:ring-accent focus-visible:ring-offset-2 focus-visible:ring-offset-canvas disabled:cursor-not-allowed disabled:opacity-55';

export const buttonStyles = {
  primary: `${buttonBase} bg-accent px-3 py-1.5 text-accent-fg shadow-sm hover:bg-accent-hover`,
  secondary: `${buttonBase} border border-line-strong bg-surface px-3 py-1.5 text-fg shadow-sm hover:bg-subtle`,
  ghost: `${buttonBase} px-2.5 py-1.5 text-muted hover:bg-subtle hover:text-fg`,
  danger: `${buttonBase} border border-red-300 bg-surface px-3 py-1.5 text-red-700 shadow-sm hover:bg-red-50 dark:border-red-500/40 dark:text-red-300 dark:hover:bg-red-500/10`,
  approve: `${buttonBase} bg-emerald-600 px-3 py-1.5 text-white shadow-sm hover:bg-emerald-500 dark:bg-emerald-500 dark:text-emerald-950 dark:hover:bg-emerald-400`,
  reject: `${buttonBase} bg-red-600 px-3 py-1.5 text-white shadow-sm hover:bg-red-500 dark:bg-red-500 dark:text-red-950 dark:hover:bg-red-400`,
} as const;

export type ButtonVariant = keyof typeof buttonStyles;

export function Button({ variant = 'secondary', className, type = 'button', ...props }: ComponentProps<'button'> & { variant?: ButtonVariant }) {
  return <button type={type} className={cx(buttonStyles[variant], className)} {...props} />;
}

export const inputClass =
  'block w-full rounded-md border border-line-strong bg-surface px-3 py-2 text-sm text-fg shadow-sm placeholder:text-muted/70 focus:border-accent focus:outline-none focus:ring-2 focus:ring-accent/25 disabled:opacity-60';

export function Card({ className, children, ...props }: ComponentProps<'div'>) {
  return (
    <div className={cx('rounded-xl border border-line bg-surface shadow-[0_1px_2px_rgb(15_23_42/0.04)]', className)} {...props}>
      {children}
    </div>
  );
}

export function SectionTitle({ children, aside }: { children: ReactNode; aside?: ReactNode }) {
  return (
    <div className="mb-3 flex items-center justify-between gap-3">
      <h2 className="text-sm font-semibold uppercase tracking-wide text-muted">{children}</h2>
      {aside}
    </div>
  );
}

export function PageHeader({
  title,
  subtitle,
  actions,
  breadcrumbs,
  badge,
}: {
  title: ReactNode;
  subtitle?: ReactNode;
  actions?: ReactNode;
  breadcrumbs?: { href: string; label: string }[];
  badge?: ReactNode;
}) {
  return (
    <div className="mb-6">
      {breadcrumbs && breadcrumbs.length > 0 && (
        <nav aria-label="Breadcrumb" className="mb-2 flex flex-wrap items-center gap-1.5 text-sm text-muted">
          {breadcrumbs.map((b) => (
            <span key={b.href} className="flex items-center gap-1.5">
              <Link href={b.href} className="hover:text-fg hover:underline">
                {b.label}
              </Link>
              <span aria-hidden className="text-line-strong">
                /
              </span>
            </span>
          ))}
        </nav>
      )}
      <div className="flex flex-wrap items-start justify-between gap-4">
        <div className="min-w-0">
          <div className="flex flex-wrap items-center gap-3">
            <h1 className="text-2xl font-semibold tracking-tight text-fg">{title}</h1>
            {badge}
          </div>
          {subtitle && <div className="mt-1 max-w-3xl text-sm text-muted">{subtitle}</div>}
        </div>
        {actions && <div className="flex shrink-0 flex-wrap items-center gap-2">{actions}</div>}
      </div>
    </div>
  );
}

export function EmptyState({ icon, title, children, action }: { icon?: ReactNode; title: ReactNode; children?: ReactNode; action?: ReactNode }) {
  return (
    <div className="flex flex-col items-center justify-center rounded-xl border border-dashed border-line-strong bg-surface/60 px-6 py-14 text-center">
      {icon && (
        <div aria-hidden className="mb-3 flex h-11 w-11 items-center justify-center rounded-full bg-subtle text-xl text-muted">
          {icon}
        </div>
      )}
      <p className="font-medium text-fg">{title}</p>
      {children && <div className="mt-1 max-w-md text-sm text-muted">{children}</div>}
      {action && <div className="mt-5">{action}</div>}
    </div>
  );
}

/** A readable error: the server's message, then pipeline problems and field errors as a list. */
export function ErrorBox({ error, title, className }: { error: unknown; title?: string; className?: string }) {
  const shown = describeError(error);
  const items = [
    ...shown.issues.map((i) => `${i.nodeId ? `${i.nodeId}: ` : i.edgeId ? `${i.edgeId}: ` : ''}${i.message}`),
    ...shown.fields,
  ];
  return (
    <div role="alert" className={cx('rounded-lg border border-red-200 bg-red-50 px-3.5 py-2.5 text-sm text-red-800 dark:border-red-500/30 dark:bg-red-500/10 dark:text-red-200', className)}>
      {title && <p className="font-semibold">{title}</p>}
      <p>{shown.message}</p>
      {items.length > 0 && (
        <ul className="mt-1.5 list-disc space-y-0.5 pl-5">
          {items.map((m, i) => (
            <li key={i}>{m}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function Notice({ tone = 'info', children, className }: { tone?: 'info' | 'warning' | 'success'; children: ReactNode; className?: string }) {
  const tones = {
    info: 'border-sky-200 bg-sky-50 text-sky-900 dark:border-sky-500/30 dark:bg-sky-500/10 dark:text-sky-100',
    warning: 'border-amber-200 bg-amber-50 text-amber-900 dark:border-amber-500/30 dark:bg-amber-500/10 dark:text-amber-100',
    success: 'border-emerald-200 bg-emerald-50 text-emerald-900 dark:border-emerald-500/30 dark:bg-emerald-500/10 dark:text-emerald-100',
  };
  return <div className={cx('rounded-lg border px-3.5 py-2.5 text-sm', tones[tone], className)}>{children}</div>;
}

/** A small neutral label: versions, kinds, roles, parameter values. */
export function Tag({ children, mono, className, title }: { children: ReactNode; mono?: boolean; className?: string; title?: string }) {
  return (
    <span
      title={title}
      className={cx(
        'inline-flex max-w-full items-center gap-1 truncate rounded-md border border-line bg-subtle px-1.5 py-0.5 text-xs text-muted',
        mono && 'font-mono',
        className,
      )}
    >
      {children}
    </span>
  );
}

export function Spinner({ className }: { className?: string }) {
  return (
    <span
      aria-hidden
      className={cx('inline-block h-3.5 w-3.5 animate-spin rounded-full border-2 border-current border-r-transparent align-[-2px]', className)}
    />
  );
}
