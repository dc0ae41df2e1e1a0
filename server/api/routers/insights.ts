/**
 * Delivery insight: DORA metrics and stage measures (anyone signed in reads them), the release plan and its
 * issue log (anyone signed in reads; authors and admins write the written sections and the causes and fixes).
 */
import { z } from 'zod';
import * as svc from '../../services/insights';
import * as plans from '../../services/insights/release-plans';
import { authedProcedure, capabilityProcedure, createTRPCRouter } from '../trpc';

const id = z.string().min(1).max(64);

export const insightsInput = z.object({
  pipelineId: id.optional(),
  environment: z.string().min(1).max(64).optional(),
  days: z.union([z.literal(7), z.literal(30), z.literal(90)]).default(30),
  timeZone: z.string().max(64).optional(),
});

export const insightsRouter = createTRPCRouter({
  metrics: authedProcedure.input(insightsInput).query(({ ctx, input }) => svc.getInsights(ctx.db, input)),
  releasePlan: authedProcedure
    .input(z.object({ pipelineId: id, version: z.number().int().min(1).optional(), search: z.string().max(200).optional() }))
    .query(({ ctx, input }) => plans.getReleasePlan(ctx.db, input.pipelineId, input)),
  sectionHistory: authedProcedure.input(z.object({ pipelineId: id })).query(({ ctx, input }) => plans.sectionHistory(ctx.db, input.pipelineId)),
  saveSection: capabilityProcedure('edit')
    .input(z.object({ pipelineId: id, section: z.string().min(1).max(64), body: z.string().max(plans.MAX_SECTION_CHARS) }))
    .mutation(({ ctx, input }) => plans.saveSection(ctx.db, ctx.user, input)),
  markReviewed: capabilityProcedure('edit')
    .input(z.object({ pipelineId: id, section: z.string().min(1).max(64) }))
    .mutation(({ ctx, input }) => plans.markReviewed(ctx.db, ctx.user, input)),
  saveIssue: capabilityProcedure('edit')
    .input(
      z.object({
        runId: id,
        environment: z.string().min(1).max(64),
        cause: z.string().max(plans.MAX_ISSUE_TEXT),
        fix: z.string().max(plans.MAX_ISSUE_TEXT),
        fixRunNumber: z.number().int().min(1).nullable().optional(),
      }),
    )
    .mutation(({ ctx, input }) => plans.saveIssue(ctx.db, ctx.user, input)),
});
