/**
 * Runners: admins register (the token is returned once), list and revoke
 * them; anyone signed in may read which labels exist and how many runners
 * with them are online (the editor's `runsOn` field and its warnings).
 */
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import * as svc from '../../services/runners';
import { authedProcedure, capabilityProcedure, createTRPCRouter } from '../trpc';

const admin = capabilityProcedure('admin');

function mapError(err: unknown): never {
  if (err instanceof svc.RunnerError) throw new TRPCError({ code: err.code, message: err.message });
  throw err;
}

export const runnersRouter = createTRPCRouter({
  list: admin.query(({ ctx }) => svc.listRunners(ctx.db)),
  register: admin.input(svc.registerRunnerSchema).mutation(({ ctx, input }) => svc.registerRunner(ctx.db, ctx.user!, input).catch(mapError)),
  revoke: admin.input(z.object({ id: z.string().min(1).max(64) })).mutation(({ ctx, input }) => svc.revokeRunner(ctx.db, ctx.user!, input.id).catch(mapError)),
  /** Label sets of usable runners and whether each is online (no names, hosts or tokens). */
  facts: authedProcedure.query(({ ctx }) => svc.runnerFacts(ctx.db)),
});
