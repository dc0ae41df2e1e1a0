import { z } from 'zod';
import { RUN_STATUSES } from '../../../db/schema';
import { runParametersSchema } from '../../../workflows/model';
import { startRollbackRun } from '../../services/k8s-rollback';
import * as svc from '../../services/runs';
import { getTemporalClient } from '../../temporal/client';
import { authedProcedure, capabilityProcedure, createTRPCRouter } from '../trpc';

const id = z.string().min(1).max(64);

export const runsRouter = createTRPCRouter({
  start: capabilityProcedure('run')
    .input(
      z.object({
        pipelineId: id,
        version: z.number().int().min(1).optional(),
        params: runParametersSchema.optional(),
        /** A rehearsal: commands print what they would run, deploys are only checked, webhooks are not sent; gates as usual. */
        rehearsal: z.boolean().optional(),
      }),
    )
    .mutation(({ ctx, input }) => svc.startRun(ctx.db, getTemporalClient, ctx.user!, input)),
  list: authedProcedure
    .input(
      z
        .object({
          pipelineId: id.optional(),
          status: z.enum(RUN_STATUSES).optional(),
          limit: z.number().int().min(1).max(200).optional(),
          before: z.date().optional(),
        })
        .optional(),
    )
    .query(({ ctx, input }) => svc.listRuns(ctx.db, input ?? {})),
  get: authedProcedure.input(z.object({ id })).query(({ ctx, input }) => svc.getRun(ctx.db, input.id)),
  logs: authedProcedure
    .input(z.object({ runId: id, nodeId: id, afterOffset: z.number().int().min(0).optional(), limit: z.number().int().min(1).max(1_000_000).optional() }))
    .query(({ ctx, input }) => svc.getLogs(ctx.db, input)),
  /** A new run with the same parameters, on the same version (or the newest with `latest`). */
  rerun: capabilityProcedure('run')
    .input(z.object({ runId: id, latest: z.boolean().optional() }))
    .mutation(({ ctx, input }) => svc.rerun(ctx.db, getTemporalClient, ctx.user!, input)),
  /** A new run of the same version and parameters that reuses every stage that succeeded in a failed or cancelled run. */
  rerunFromFailed: capabilityProcedure('run')
    .input(z.object({ runId: id }))
    .mutation(({ ctx, input }) => svc.rerunFromFailed(ctx.db, getTemporalClient, ctx.user!, input)),
  /** "Roll back" on a finished k8s-deploy stage: a new run of the same pipeline with one k8s-rollback stage. */
  rollbackDeploy: capabilityProcedure('run')
    .input(z.object({ runId: id, stageId: id }))
    .mutation(({ ctx, input }) => startRollbackRun(ctx.db, getTemporalClient, ctx.user!, input)),
  cancel: capabilityProcedure('run')
    .input(z.object({ runId: id, reason: z.string().max(500).optional() }))
    .mutation(({ ctx, input }) => svc.cancelRun(ctx.db, getTemporalClient, ctx.user!, input)),
});
