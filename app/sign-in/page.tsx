/**
 * The sign-in page: username and password, plus "Sign in with SSO" when an
 * OIDC provider is configured. Someone already signed in goes straight on to
 * `?next=` (same-site paths only) or `/`.
 */
import type { Metadata } from 'next';
import { headers } from 'next/headers';
import { redirect } from 'next/navigation';
import { getSessionUser } from '@/server/auth/session';
import { getEnv } from '@/server/env';
import { safeNext } from '@/app/lib/safe-next';
import { SignInForm } from './sign-in-form';

export const metadata: Metadata = { title: 'Sign in · Pipewright' };

type Props = { searchParams: Promise<Record<string, string | string[] | undefined>> };

const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

export default async function SignInPage({ searchParams }: Props) {
  const params = await searchParams;
  const next = safeNext(first(params.next));
  if (await getSessionUser(await headers())) redirect(next);

  const env = getEnv();
  const sso = Boolean(env.PIPEWRIGHT_OIDC_ISSUER && env.PIPEWRIGHT_OIDC_CLIENT_ID && env.PIPEWRIGHT_OIDC_CLIENT_SECRET);
  const ssoError = first(params.error) ? 'Single sign-on did not complete. Try again, or sign in with your username.' : null;

  return (
    <main className="flex min-h-screen items-center justify-center bg-canvas px-4 py-12">
      <div className="w-full max-w-sm">
        <div className="mb-8 text-center">
          <h1 className="text-2xl font-semibold tracking-tight text-fg">Pipewright</h1>
          <p className="mt-1 text-sm text-muted">Sign in to continue</p>
        </div>
        <div className="rounded-xl border border-line bg-surface p-6 shadow-sm">
          <SignInForm next={next} sso={sso} initialError={ssoError} />
        </div>
      </div>
    </main>
  );
}
