'use client';
import { usePathname, useRouter } from 'next/navigation';
import { useState } from 'react';
import { RunsPanel } from '@/app/components/runs-panel';
import { PageHeader } from '@/app/components/ui';
import type { RunStatus } from '@/db/schema';

export function RunsView({ initialStatus, people }: { initialStatus?: RunStatus; people: Record<string, string> }) {
  const router = useRouter();
  const pathname = usePathname();
  const [status, setStatus] = useState<RunStatus | undefined>(initialStatus);

  const choose = (value: RunStatus | undefined) => {
    setStatus(value);
    router.replace(value ? `${pathname}?status=${value}` : pathname, { scroll: false });
  };

  return (
    <>
      <PageHeader title="Runs" subtitle="Every run of every pipeline, newest first. Updates live." />
      <RunsPanel status={status} onStatusChange={choose} people={people} showPipeline />
    </>
  );
}
