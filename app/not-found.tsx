import Link from 'next/link';
import { buttonStyles } from '@/app/components/ui';

export default function NotFound() {
  return (
    <main className="flex min-h-[70vh] flex-col items-center justify-center px-4 text-center">
      <p className="font-mono text-sm text-muted">404</p>
      <h1 className="mt-2 text-2xl font-semibold tracking-tight text-fg">Nothing here</h1>
      <p className="mt-2 max-w-sm text-sm text-muted">This pipeline or run does not exist, or it was deleted.</p>
      <Link href="/" className={`${buttonStyles.secondary} mt-6`}>
        Back to pipelines
      </Link>
    </main>
  );
}
