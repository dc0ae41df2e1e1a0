import { z } from 'zod';
import { approverFacts } from '../../services/approver-facts';
import { MAX_IMPORT_BYTES } from '../../../workflows/model/import';
import * as importSvc from '../../services/import';
import * as releasePlans from '../../services/insights/release-plans';
import * as svc from '../../services/pipelines';
import { retirePipelineTriggers } from '../../services/triggers';
import { getTemporalClient } from '../../temporal/client';
import { authedProcedure, capabilityProcedure, createTRPCRouter } from '../trpc';

const id = z.string().min(1).max(64);
/** A document of unknown shape: the validator checks it and returns issues instead of a parse error. */
const specDocument = z.unknown();
/** A version number, or the editor's unsaved draft. */
const versionPick = z.union([z.number().int().min(1), z.literal('draft')]);

/** A file to import: size and content are checked by the importer, which answers with a clear refusal. */
const importInput = z.object({
  text: z.string().max(MAX_IMPORT_BYTES + 1, `files up to ${MAX_IMPORT_BYTES / 1_000_000} MB can be imported`),
  fileName: z.string().max(255).optional(),
  format: z.enum(['github-actions', 'gitlab-ci', 'spinnaker']).optional(),
  name: z.string().max(120).optional(),
  supplied: z
    .record(z.string().max(500), z.string().max(MAX_IMPORT_BYTES))
    .refine((files) => Object.keys(files).length <= 20, 'at most 20 files alongside')
    .optional(),
});

export const pipelinesRouter = createTRPCRouter({
  list: authedProcedure
    .input(z.object({ search: z.string().max(200).optional() }).optional())
    .query(({ ctx, input }) => svc.listPipelines(ctx.db, input ?? {})),
  get: authedProcedure
    .input(z.object({ id, version: z.number().int().min(1).optional() }))
    .query(({ ctx, input }) => svc.getPipeline(ctx.db, input.id, input.version)),
  versions: authedProcedure.input(z.object({ id })).query(({ ctx, input }) => svc.listVersions(ctx.db, input.id)),
  /** The release plan's written sections that differ between two versions (or a version and the draft): the version compare lists them. */
  writtenSectionChanges: authedProcedure
    .input(z.object({ id, from: versionPick, to: versionPick }))
    .query(({ ctx, input }) => releasePlans.writtenSectionChanges(ctx.db, input.id, input.from, input.to)),
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
  /** Import → preview: the graph, the mapping report and the issues; saves nothing. */
  importPreview: capabilityProcedure('edit')
    .input(importInput)
    .mutation(({ ctx, input }) => importSvc.previewImport(ctx.db, input)),
  /** Import → save: the file becomes version 1 of a new pipeline (the file kept with it). */
  importCreate: capabilityProcedure('edit')
    .input(importInput.extend({ createEnvironments: z.boolean().optional(), triggers: z.array(z.number().int().min(0).max(100)).max(100).optional() }))
    .mutation(({ ctx, input }) => importSvc.importPipeline(ctx.db, getTemporalClient, ctx.user!, input)),
  /** The file a version was imported from (null when drawn here). */
  importSource: authedProcedure
    .input(z.object({ id, version: z.number().int().min(1) }))
    .query(({ ctx, input }) => importSvc.getImportSource(ctx.db, input.id, input.version)),
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
