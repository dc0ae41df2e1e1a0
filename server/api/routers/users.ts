import { z } from 'zod';
import { ROLES } from '../../../db/schema';
import * as svc from '../../services/users';
import { capabilityProcedure, createTRPCRouter } from '../trpc';

const admin = capabilityProcedure('admin');
const userId = z.string().min(1).max(64);
const group = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _, . and - only');
const password = z.string().min(8, 'at least 8 characters').max(128);

/** People management (admins only; every change audited). */
export const usersRouter = createTRPCRouter({
  list: admin.query(({ ctx }) => svc.listUsers(ctx.db)),
  groups: admin.query(({ ctx }) => svc.listGroups(ctx.db)),
  create: admin
    .input(
      z.object({
        username: z
          .string()
          .trim()
          .min(3)
          .max(30)
          .regex(/^[A-Za-z0-9_.]+$/, 'letters, digits, _ and . only'),
        name: z.string().trim().min(1).max(100),
        email: z.string().trim().email().max(200),
        password,
        role: z.enum(ROLES),
        groups: z.array(group).max(50).default([]),
      }),
    )
    .mutation(({ ctx, input }) => svc.adminCreateUser(ctx.db, ctx.user!, input)),
  update: admin
    .input(z.object({ userId, role: z.enum(ROLES).optional(), name: z.string().max(100).optional(), groups: z.array(group).max(50).optional() }))
    .mutation(({ ctx, input }) => svc.adminUpdateUser(ctx.db, ctx.user!, input)),
  resetPassword: admin.input(z.object({ userId, password })).mutation(({ ctx, input }) => svc.adminResetPassword(ctx.db, ctx.user!, input)),
});
