/**
 * Environments: everyone signed in reads names, order, variables and which
 * secrets are set (never their values); admins create, edit, reorder, delete
 * and set or delete secrets (a secret value goes in once and is never returned).
 */
import { z } from 'zod';
import * as svc from '../../services/environments';
import { authedProcedure, capabilityProcedure, createTRPCRouter } from '../trpc';

const admin = capabilityProcedure('admin');
const id = z.string().min(1).max(64);

export const environmentsRouter = createTRPCRouter({
  list: authedProcedure.query(({ ctx }) => svc.listEnvironments(ctx.db)),
  create: admin.input(svc.createEnvironmentSchema).mutation(({ ctx, input }) => svc.createEnvironment(ctx.db, ctx.user!, input)),
  update: admin.input(svc.updateEnvironmentSchema).mutation(({ ctx, input }) => svc.updateEnvironment(ctx.db, ctx.user!, input)),
  reorder: admin.input(z.object({ ids: z.array(id).max(100) })).mutation(({ ctx, input }) => svc.reorderEnvironments(ctx.db, ctx.user!, input.ids)),
  delete: admin.input(z.object({ id })).mutation(({ ctx, input }) => svc.deleteEnvironment(ctx.db, ctx.user!, input.id)),
  setSecret: admin
    .input(z.object({ id, name: svc.envKeySchema, value: z.string().min(1, 'enter a value').max(16_384) }))
    .mutation(({ ctx, input }) => svc.setSecret(ctx.db, ctx.user!, input)),
  deleteSecret: admin.input(z.object({ id, name: svc.envKeySchema })).mutation(({ ctx, input }) => svc.deleteSecret(ctx.db, ctx.user!, input)),
});
