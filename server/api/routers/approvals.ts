import { z } from 'zod';
import * as svc from '../../services/approvals';
import { getTemporalClient } from '../../temporal/client';
import { authedProcedure, createTRPCRouter } from '../trpc';

export const approvalsRouter = createTRPCRouter({
  /** Gates waiting for the signed-in person (`all`: every waiting gate, with `canDecide`). */
  pending: authedProcedure
    .input(z.object({ all: z.boolean().optional() }).optional())
    .query(({ ctx, input }) => svc.listPendingGates(ctx.db, ctx.user, input ?? {})),
  /** One gate's state and who decided it (for a card that stopped waiting while the page was open). */
  gate: authedProcedure
    .input(z.object({ runId: z.string().min(1).max(64), gateId: z.string().min(1).max(64) }))
    .query(({ ctx, input }) => svc.getGate(ctx.db, input)),
  /** Role and gate rules are checked (and refusals audited) inside the service. */
  decide: authedProcedure
    .input(
      z.object({
        runId: z.string().min(1).max(64),
        gateId: z.string().min(1).max(64),
        decision: z.enum(['approve', 'reject']),
        comment: z.string().max(2000).optional(),
      }),
    )
    .mutation(({ ctx, input }) => svc.decideGate(ctx.db, getTemporalClient, ctx.user, input)),
});
