import { z } from 'zod';
import * as svc from '../../services/settings';
import { capabilityProcedure, createTRPCRouter } from '../trpc';

const admin = capabilityProcedure('admin');

/** Workspace settings (admins only; changes audited). */
export const settingsRouter = createTRPCRouter({
  notifications: admin.query(({ ctx }) => svc.getNotificationSettings(ctx.db)),
  setNotifications: admin
    .input(z.object({ url: z.string().trim().max(2000), enabled: z.boolean(), secret: z.string().max(500).optional() }))
    .mutation(({ ctx, input }) => svc.setNotificationSettings(ctx.db, ctx.user!, input)),
  testNotification: admin.mutation(({ ctx }) => svc.sendTestNotification(ctx.db, ctx.user!)),
});
