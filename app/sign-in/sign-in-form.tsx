'use client';

import { useEffect, useState, type FormEvent } from 'react';
import { signIn } from '@/app/lib/auth-client';

type Props = {
  /** Already checked to be a same-site path. */
  next: string;
  /** Offer "Sign in with SSO". */
  sso: boolean;
  initialError?: string | null;
};

function describe(status: number, message: string | undefined): string {
  if (status === 401 || status === 422 || status === 400) return 'Wrong username or password.';
  if (status === 0) return 'Could not reach the server. Check your connection and try again.';
  return message ? `Sign-in failed: ${message}` : `Sign-in failed (HTTP ${status}).`;
}

export function SignInForm({ next, sso, initialError = null }: Props) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string | null>(initialError);
  /** While rate limited: when the server accepts attempts again (ms since epoch). */
  const [retryAt, setRetryAt] = useState<number | null>(null);
  const [now, setNow] = useState(() => Date.now());

  useEffect(() => {
    if (retryAt === null) return;
    const timer = setInterval(() => {
      const t = Date.now();
      setNow(t);
      if (t >= retryAt) {
        setRetryAt(null);
        setError(null);
      }
    }, 1000);
    return () => clearInterval(timer);
  }, [retryAt]);

  const waitSeconds = retryAt === null ? 0 : Math.max(1, Math.ceil((retryAt - now) / 1000));
  const shownError = retryAt !== null ? `Too many attempts, try again in ${waitSeconds} s.` : error;

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (pending || retryAt !== null) return;
    setPending(true);
    setError(null);
    let retryAfter: number | null = null;
    try {
      const { error: failure } = await signIn.username(
        { username: username.trim(), password },
        {
          onError(ctx) {
            const header = Number(ctx.response.headers.get('X-Retry-After'));
            if (Number.isFinite(header) && header > 0) retryAfter = header;
          },
        },
      );
      if (!failure) {
        // A full navigation, so every server component sees the new session cookie.
        window.location.assign(next);
        return;
      }
      setPassword('');
      if (failure.status === 429) {
        const t = Date.now();
        setNow(t);
        setRetryAt(t + (retryAfter ?? 60) * 1000);
      } else {
        setError(describe(failure.status, failure.message));
      }
    } catch {
      setError(describe(0, undefined));
    }
    setPending(false);
  }

  async function onSso() {
    setPending(true);
    setError(null);
    const { error: failure } = await signIn.social({
      provider: 'oidc',
      callbackURL: next,
      errorCallbackURL: `/sign-in?error=sso&next=${encodeURIComponent(next)}`,
    });
    if (failure) {
      setError(failure.status === 429 ? 'Too many attempts, try again in a minute.' : 'Single sign-on is not available right now.');
      setPending(false);
    }
  }

  const disabled = pending || retryAt !== null;
  const inputClass =
    'mt-1 block w-full rounded-md border border-line-strong bg-surface px-3 py-2 text-sm text-fg shadow-sm placeholder:text-muted focus:border-accent focus:outline-none focus:ring-2 focus:ring-accent/30 disabled:bg-subtle';

  return (
    <div className="space-y-5">
      <form onSubmit={onSubmit} className="space-y-4" noValidate>
        <div>
          <label htmlFor="username" className="block text-sm font-medium text-fg">
            Username
          </label>
          <input
            id="username"
            name="username"
            type="text"
            autoComplete="username"
            autoCapitalize="none"
            spellCheck={false}
            autoFocus
            required
            value={username}
            onChange={(e) => setUsername(e.target.value)}
            disabled={pending}
            className={inputClass}
          />
        </div>
        <div>
          <label htmlFor="password" className="block text-sm font-medium text-fg">
            Password
          </label>
          <input
            id="password"
            name="password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            disabled={pending}
            className={inputClass}
          />
        </div>

        {shownError && (
          <p role="alert" aria-live="polite" className="rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-700 dark:border-red-900/60 dark:bg-red-950/40 dark:text-red-300">
            {shownError}
          </p>
        )}

        <button
          type="submit"
          disabled={disabled || !username.trim() || !password}
          className="flex w-full items-center justify-center rounded-md bg-accent px-3 py-2 text-sm font-semibold text-accent-fg shadow-sm hover:bg-accent-hover focus:outline-none focus-visible:ring-2 focus-visible:ring-accent focus-visible:ring-offset-2 focus-visible:ring-offset-surface disabled:cursor-not-allowed disabled:opacity-60"
        >
          {pending ? 'Signing in…' : 'Sign in'}
        </button>
      </form>

      {sso && (
        <>
          <div className="flex items-center gap-3 text-xs uppercase tracking-wide text-muted">
            <span className="h-px flex-1 bg-line" />
            or
            <span className="h-px flex-1 bg-line" />
          </div>
          <button
            type="button"
            onClick={onSso}
            disabled={disabled}
            className="flex w-full items-center justify-center rounded-md border border-line-strong bg-surface px-3 py-2 text-sm font-medium text-fg shadow-sm hover:bg-subtle focus:outline-none focus-visible:ring-2 focus-visible:ring-accent focus-visible:ring-offset-2 focus-visible:ring-offset-surface disabled:cursor-not-allowed disabled:opacity-60"
          >
            Sign in with SSO
          </button>
        </>
      )}
    </div>
  );
}
