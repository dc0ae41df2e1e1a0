/**
 * tRPC set-up.
 *
 * 1. Context: the database, the signed-in person (or null), and the request
 *    headers. The API route builds it from cookies; tests build it directly.
 * 2. Procedures: `publicProcedure` (health, embeds), `authedProcedure` (401
 *    when signed out), `capabilityProcedure(cap)` (403 + an audit entry).
 * 3. The error formatter adds field errors (`zodError`) and pipeline issues
 *    (`issues`) so the UI can paint them, and hides internal messages.
 */
import { initTRPC, TRPCError } from '@trpc/server';
import { ZodError } from 'zod';
import type { Db } from '../../db/client';
import { auditLog } from '../../db/schema';
import type { SessionUser } from '../auth/session';
import { InvalidPipelineCause } from '../errors';
import { transformer } from './transformer';

export type Context = {
  db: Db;
  user: SessionUser | null;
};

const t = initTRPC.context<Context>().create({
  transformer,
  errorFormatter({ shape, error }) {
    const internal = error.code === 'INTERNAL_SERVER_ERROR';
    if (internal) console.error('[api]', error.cause ?? error);
    return {
      ...shape,
      message: internal ? 'Something went wrong on the server; it has been logged.' : shape.message,
      data: {
        code: shape.data.code,
        httpStatus: shape.data.httpStatus,
        path: shape.data.path,
        zodError: error.cause instanceof ZodError ? error.cause.flatten() : null,
        issues: error.cause instanceof InvalidPipelineCause ? error.cause.issues : null,
      },
    };
  },
});

export const createTRPCRouter = t.router;
export const createCallerFactory = t.createCallerFactory;
export const publicProcedure = t.procedure;

export const authedProcedure = t.procedure.use(({ ctx, next }) => {
  if (!ctx.user) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Sign in first.' });
  return next({ ctx: { ...ctx, user: ctx.user } });
});

export type Capability = 'edit' | 'run' | 'decide' | 'admin';

const ALLOWED: Record<Capability, SessionUser['role'][]> = {
  edit: ['author', 'admin'],
  run: ['author', 'admin'],
  decide: ['approver', 'admin'],
  admin: ['admin'],
};

export function hasCapability(user: SessionUser, cap: Capability) {
  return ALLOWED[cap].includes(user.role);
}

/** A procedure only people with `cap` may call; refusals are audited. */
export function capabilityProcedure(cap: Capability) {
  return authedProcedure.use(async ({ ctx, next, path }) => {
    if (!hasCapability(ctx.user, cap)) {
      await ctx.db.insert(auditLog).values({
        actorId: ctx.user.id,
        actorName: ctx.user.username,
        action: path,
        outcome: 'refused',
        reason: `role ${ctx.user.role} may not ${cap}`,
      });
      throw new TRPCError({ code: 'FORBIDDEN', message: `Your role (${ctx.user.role}) may not do this.` });
    }
    return next();
  });
}
