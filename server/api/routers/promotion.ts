/**
 * The promotion board (anyone signed in) and Promote (authorised by the
 * target environment's protection rules in the service, refusals audited).
 */
import { z } from 'zod';
import { environmentNameSchema } from '../../../workflows/model/spec';
import * as svc from '../../services/promotion';
import { getTemporalClient } from '../../temporal/client';
import { authedProcedure, createTRPCRouter } from '../trpc';

const id = z.string().min(1).max(64);

export const promotionRouter = createTRPCRouter({
  /** The board with the `limit` newest builds (all builds count for what is live and eligible). */
  board: authedProcedure
    .input(z.object({ pipelineId: id, limit: z.number().int().min(1).max(5000).default(50) }))
    .query(({ ctx, input }) => svc.getBoard(ctx.db, input.pipelineId, { limit: input.limit })),
  promote: authedProcedure
    .input(z.object({ pipelineId: id, buildRunId: id, environment: environmentNameSchema }))
    .mutation(({ ctx, input }) => svc.promote(ctx.db, getTemporalClient, ctx.user, input)),
});
