'use client';

import { useState } from 'react';
import { signOut } from '@/app/lib/auth-client';

/** Ends the session and goes to the sign-in page. */
export function SignOutButton({ className }: { className?: string }) {
  const [pending, setPending] = useState(false);

  async function onClick() {
    setPending(true);
    try {
      await signOut();
    } finally {
      // Even if the request failed, leave: the sign-in page shows the real state.
      window.location.assign('/sign-in');
    }
  }

  return (
    <button
      type="button"
      onClick={onClick}
      disabled={pending}
      className={
        className ??
        'rounded-md px-3 py-1.5 text-sm font-medium text-muted hover:bg-subtle hover:text-fg focus:outline-none focus-visible:ring-2 focus-visible:ring-accent disabled:opacity-60'
      }
    >
      {pending ? 'Signing out…' : 'Sign out'}
    </button>
  );
}
