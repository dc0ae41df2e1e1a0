/**
 * Share links for embeds. Authors and admins create, list and revoke them;
 * nobody else sees them. The embeds themselves do not go through tRPC at all
 * (they are plain GET routes authorised by the link's token), so no procedure
 * here or elsewhere can be reached with an embed token.
 */
import { z } from 'zod';
import { SHARE_SCOPES } from '../../../db/schema';
import { MAX_ALLOWED_ORIGINS } from '../../embeds/origins';
import * as svc from '../../services/embeds';
import { capabilityProcedure, createTRPCRouter } from '../trpc';

const id = z.string().min(1).max(64);

export const embedsRouter = createTRPCRouter({
  create: capabilityProcedure('edit')
    .input(
      z.object({
        pipelineId: id,
        scope: z.enum(SHARE_SCOPES).default('view'),
        allowedOrigins: z.array(z.string().max(300)).max(MAX_ALLOWED_ORIGINS).default([]),
        /** Null: never expires. */
        expiresInDays: z.number().int().min(1).max(svc.MAX_EXPIRY_DAYS).nullable().default(null),
        label: z.string().max(120).optional(),
      }),
    )
    .mutation(({ ctx, input }) => svc.createShareToken(ctx.db, ctx.user!, input)),
  list: capabilityProcedure('edit')
    .input(z.object({ pipelineId: id }))
    .query(({ ctx, input }) => svc.listShareTokens(ctx.db, input.pipelineId)),
  revoke: capabilityProcedure('edit')
    .input(z.object({ id }))
    .mutation(({ ctx, input }) => svc.revokeShareToken(ctx.db, ctx.user!, input)),
});
