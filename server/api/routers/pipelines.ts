import { z } from 'zod';
import { approverFacts } from '../../services/approver-facts';
import * as svc from '../../services/pipelines';
import { retirePipelineTriggers } from '../../services/triggers';
import { getTemporalClient } from '../../temporal/client';
import { authedProcedure, capabilityProcedure, createTRPCRouter } from '../trpc';

const id = z.string().min(1).max(64);
/** A document of unknown shape: the validator checks it and returns issues instead of a parse error. */
const specDocument = z.unknown();

export const pipelinesRouter = createTRPCRouter({
  list: authedProcedure
    .input(z.object({ search: z.string().max(200).optional() }).optional())
    .query(({ ctx, input }) => svc.listPipelines(ctx.db, input ?? {})),
  get: authedProcedure
    .input(z.object({ id, version: z.number().int().min(1).optional() }))
    .query(({ ctx, input }) => svc.getPipeline(ctx.db, input.id, input.version)),
  versions: authedProcedure.input(z.object({ id })).query(({ ctx, input }) => svc.listVersions(ctx.db, input.id)),
  /** Runs the same validator as the editor and the runner; never throws on bad documents. */
  validate: authedProcedure.input(z.object({ spec: specDocument })).mutation(async ({ ctx, input }) => {
    const { issues, ok } = await svc.validateDocument(ctx.db, input.spec);
    return { issues, ok };
  }),
  /** People and groups, so the editor checks gates' approvers live with the same validator. */
  approverFacts: capabilityProcedure('edit').query(({ ctx }) => approverFacts(ctx.db)),
  create: capabilityProcedure('edit')
    .input(
      z.object({
        name: z.string().trim().min(1).max(120),
        description: z.string().max(2000).optional(),
        spec: specDocument.optional(),
        message: z.string().max(500).optional(),
      }),
    )
    .mutation(({ ctx, input }) => svc.createPipeline(ctx.db, ctx.user!, input)),
  save: capabilityProcedure('edit')
    .input(z.object({ id, baseVersion: z.number().int().min(1), spec: specDocument, message: z.string().max(500).optional() }))
    .mutation(({ ctx, input }) =>
      svc.savePipelineVersion(ctx.db, ctx.user!, { pipelineId: input.id, baseVersion: input.baseVersion, spec: input.spec, message: input.message }),
    ),
  delete: capabilityProcedure('edit')
    .input(z.object({ id }))
    .mutation(async ({ ctx, input }) => {
      await svc.deletePipeline(ctx.db, ctx.user!, input.id);
      // Nothing fires for a deleted pipeline: its triggers are disabled and its schedules deleted.
      await retirePipelineTriggers(ctx.db, getTemporalClient, input.id);
    }),
});
