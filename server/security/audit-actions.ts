/**
 * The audit log names an action the same way whether it went through or was
 * refused before reaching its service (a cross-site request refused by the
 * tRPC route, say): `gate.approve`, not `approvals.decide`. This table maps
 * tRPC procedure paths to the names the services write.
 */
const BY_PROCEDURE: Record<string, string> = {
  'pipelines.create': 'pipeline.create',
  'pipelines.save': 'pipeline.save',
  'pipelines.delete': 'pipeline.delete',
  'runs.start': 'run.start',
  'runs.rerun': 'run.start',
  'runs.cancel': 'run.cancel',
  'embeds.create': 'share.create',
  'embeds.revoke': 'share.revoke',
  'promotion.promote': 'promotion.promote',
  'environments.create': 'environment.create',
  'environments.update': 'environment.update',
  'environments.reorder': 'environment.reorder',
  'environments.delete': 'environment.delete',
  'clusters.create': 'cluster.create',
  'clusters.delete': 'cluster.delete',
  'runners.register': 'runner.register',
  'runners.revoke': 'runner.revoke',
  'users.create': 'user.create',
  'users.update': 'user.update',
  'users.resetPassword': 'user.password_reset',
  'settings.setNotifications': 'settings.notifications',
};

/** The decision a superjson tRPC body (single or batched) carries, if any. */
function decisionIn(body: unknown): string | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const single = (body as { json?: { decision?: unknown } }).json?.decision;
  if (single === 'approve' || single === 'reject') return single;
  for (const v of Object.values(body as Record<string, unknown>)) {
    const d = (v as { json?: { decision?: unknown } } | null)?.json?.decision;
    if (d === 'approve' || d === 'reject') return d;
  }
  return undefined;
}

/**
 * The audit action of a tRPC call, given its parsed body when there is one; a
 * batch gets each procedure's name, comma-separated.
 * @example auditActionOf('approvals.decide', { json: { decision: 'approve' } }) // 'gate.approve'
 */
export function auditActionOf(paths: string, body?: unknown): string {
  const one = (path: string) => {
    if (path === 'approvals.decide') {
      const d = decisionIn(body);
      return d ? `gate.${d}` : 'gate.decide';
    }
    return BY_PROCEDURE[path] ?? path;
  };
  return paths.split(',').map(one).join(',').slice(0, 200) || 'trpc';
}
