/**
 * Delivery insight: DORA metrics and stage measures (anyone signed in reads them), the release plan and its
 * issue log (anyone signed in reads; authors and admins write the written sections and the causes and fixes).
 */
import { z } from 'zod';
import * as svc from '../../services/insights';
import { authedProcedure, createTRPCRouter } from '../trpc';

const id = z.string().min(1).max(64);

export const insightsInput = z.object({
  pipelineId: id.optional(),
  environment: z.string().min(1).max(64).optional(),
  days: z.union([z.literal(7), z.literal(30), z.literal(90)]).default(30),
  timeZone: z.string().max(64).optional(),
});

export const insightsRouter = createTRPCRouter({
  metrics: authedProcedure.input(insightsInput).query(({ ctx, input }) => svc.getInsights(ctx.db, input)),
});
