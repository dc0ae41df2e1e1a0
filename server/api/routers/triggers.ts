/**
 * Triggers of a pipeline: webhooks, schedules and upstream pipelines. Anyone
 * signed in may look; authors and admins manage them. A webhook's secret is
 * returned once, by the call that creates or rotates it; nothing else ever
 * returns it.
 */
import { z } from 'zod';
import * as svc from '../../services/triggers';
import { getTemporalClient } from '../../temporal/client';
import { scheduleConfigSchema, upstreamConfigSchema, webhookConfigSchema } from '../../triggers/config';
import { authedProcedure, capabilityProcedure, createTRPCRouter } from '../trpc';

const id = z.string().min(1).max(64);
const name = z.string().trim().max(100).default('');
/** A secret chosen by the person (else one is generated): long enough to be worth signing with. */
const secret = z.string().min(16, 'use at least 16 characters (or leave empty for a generated one)').max(256).optional();
const edit = capabilityProcedure('edit');

export const triggersRouter = createTRPCRouter({
  list: authedProcedure.input(z.object({ pipelineId: id })).query(async ({ ctx, input }) => {
    const list = await svc.listTriggers(ctx.db, input.pipelineId);
    return list;
  }),
  /** Paused state and next firings of the schedule triggers, from Temporal. */
  scheduleStatus: authedProcedure.input(z.object({ pipelineId: id })).query(async ({ ctx, input }) => {
    const list = await svc.listTriggers(ctx.db, input.pipelineId);
    return svc.scheduleStatus(
      getTemporalClient,
      list.filter((t) => t.type === 'schedule').map((t) => t.id),
    );
  }),
  deliveries: authedProcedure
    .input(z.object({ triggerId: id, limit: z.number().int().min(1).max(100).optional() }))
    .query(({ ctx, input }) => svc.listDeliveries(ctx.db, input.triggerId, input.limit)),
  createWebhook: edit
    .input(z.object({ pipelineId: id, name, config: webhookConfigSchema, secret }))
    .mutation(({ ctx, input }) => svc.createWebhookTrigger(ctx.db, ctx.user!, input)),
  updateWebhook: edit
    .input(z.object({ id, name: name.optional(), config: webhookConfigSchema }))
    .mutation(({ ctx, input }) => svc.updateWebhookConfig(ctx.db, ctx.user!, input)),
  rotateSecret: edit.input(z.object({ id, secret })).mutation(({ ctx, input }) => svc.rotateWebhookSecret(ctx.db, ctx.user!, input)),
  createSchedule: edit
    .input(z.object({ pipelineId: id, name, config: scheduleConfigSchema, enabled: z.boolean().optional() }))
    .mutation(({ ctx, input }) => svc.createScheduleTrigger(ctx.db, getTemporalClient, ctx.user!, input)),
  createUpstream: edit
    .input(z.object({ pipelineId: id, name, config: upstreamConfigSchema }))
    .mutation(({ ctx, input }) => svc.createUpstreamTrigger(ctx.db, ctx.user!, input)),
  /** Enable/disable; for schedules this pauses or resumes the Temporal Schedule. */
  setEnabled: edit.input(z.object({ id, enabled: z.boolean() })).mutation(({ ctx, input }) => svc.setTriggerEnabled(ctx.db, getTemporalClient, ctx.user!, input)),
  /** Fire a schedule now. */
  runNow: edit.input(z.object({ id })).mutation(({ ctx, input }) => svc.runScheduleNow(ctx.db, getTemporalClient, ctx.user!, input)),
  delete: edit.input(z.object({ id })).mutation(({ ctx, input }) => svc.deleteTrigger(ctx.db, getTemporalClient, ctx.user!, input)),
});
