import { z } from 'zod';
import * as svc from '../../services/audit';
import { capabilityProcedure, createTRPCRouter } from '../trpc';

const admin = capabilityProcedure('admin');

/** The audit log (admins only). CSV export: `GET /api/admin/audit/export` with the same filters. */
export const auditRouter = createTRPCRouter({
  list: admin
    .input(svc.auditFilterSchema.extend({ cursor: z.number().int().positive().optional(), limit: z.number().int().min(1).max(500).optional() }))
    .query(({ ctx, input }) => svc.listAudit(ctx.db, input)),
  facets: admin.query(({ ctx }) => svc.auditFacets(ctx.db)),
});
