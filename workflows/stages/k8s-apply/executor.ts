/**
 * Executor of `k8s-apply` (Node only): server-side apply of every document, in
 * order, with field manager `pipewright`.
 *
 * 1. Every object is parsed, placed in a namespace and checked against the
 *    connection's allowed namespaces before the first one is sent, so a
 *    forbidden or broken document leaves nothing half-applied.
 * 2. Applying the same manifests again changes nothing (same run: not even the
 *    resourceVersion), which is what makes a retried attempt safe.
 */
import { applyObject, openClient, placeObjects, runIds } from '../../k8s/deploy';
import { toStageError } from '../../k8s/errors';
import { describeObject, parseManifests } from '../../k8s/manifests';
import { Progress } from '../../k8s/rollout';
import type { StageExecutor } from '../executor-types';
import type { K8sApplyConfig } from './definition';

export const executeK8sApply: StageExecutor<K8sApplyConfig> = async (config, ctx) => {
  const progress = new Progress(ctx, { kind: 'k8s-apply', phase: 'applying' });
  try {
    const objects = parseManifests(config.manifests);
    const client = await openClient(ctx, config.connection, config.namespace);
    const env = { client, namespace: config.namespace, signal: ctx.signal, ids: runIds(ctx) };
    const placed = await placeObjects(env, objects);
    const counts = { created: 0, configured: 0, unchanged: 0 };
    for (const [i, obj] of placed.entries()) {
      const { outcome } = await applyObject(env, obj, { dryRun: config.dryRun });
      counts[outcome]++;
      progress.update({ applied: i + 1, total: placed.length }, `${describeObject(obj)} ${outcome}${config.dryRun ? ' (dry run)' : ''}`);
    }
    const names = placed.map(describeObject).join(', ');
    return {
      outputs: { applied: String(placed.length), objects: names.length > 4000 ? `${names.slice(0, 3990)}…` : names },
      summary: `${placed.length} objects: ${counts.created} created, ${counts.configured} configured, ${counts.unchanged} unchanged${config.dryRun ? ' (dry run)' : ''}`,
    };
  } catch (err) {
    throw toStageError(err, 'k8s-apply');
  } finally {
    progress.stop();
    await ctx.log.flush();
  }
};
