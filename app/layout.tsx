import type { Metadata, Viewport } from 'next';
import { connection } from 'next/server';
import type { ReactNode } from 'react';
import { TRPCReactProvider } from '@/app/trpc/react';
import './globals.css';

export const metadata: Metadata = {
  title: 'Pipewright',
  description: 'Low-code continuous delivery: stage-and-gate pipelines that run as durable workflows.',
  // public/favicon.ico answers the browser's default request; the SVG is sharper where supported.
  icons: { icon: [{ url: '/favicon.ico', sizes: '32x32' }, { url: '/icon.svg', type: 'image/svg+xml' }] },
};

export const viewport: Viewport = {
  themeColor: [
    { media: '(prefers-color-scheme: light)', color: '#f6f7f9' },
    { media: '(prefers-color-scheme: dark)', color: '#0b0f16' },
  ],
};

export default async function RootLayout({ children }: { children: ReactNode }) {
  // Rendered per request, so Next can put this request's CSP nonce on its scripts (proxy.ts).
  await connection();
  return (
    <html lang="en">
      <body className="min-h-screen bg-canvas text-fg antialiased">
        <TRPCReactProvider>{children}</TRPCReactProvider>
      </body>
    </html>
  );
}
