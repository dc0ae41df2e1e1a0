/** The app router. The client imports only `type AppRouter`. */
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import { approvalsRouter } from './routers/approvals';
import { auditRouter } from './routers/audit';
import { clustersRouter } from './routers/clusters';
import { embedsRouter } from './routers/embeds';
import { environmentsRouter } from './routers/environments';
import { insightsRouter } from './routers/insights';
import { pipelinesRouter } from './routers/pipelines';
import { promotionRouter } from './routers/promotion';
import { runnersRouter } from './routers/runners';
import { runsRouter } from './routers/runs';
import { settingsRouter } from './routers/settings';
import { triggersRouter } from './routers/triggers';
import { usersRouter } from './routers/users';
import { createCallerFactory, createTRPCRouter } from './trpc';

export const appRouter = createTRPCRouter({
  pipelines: pipelinesRouter,
  runs: runsRouter,
  approvals: approvalsRouter,
  embeds: embedsRouter,
  clusters: clustersRouter,
  users: usersRouter,
  audit: auditRouter,
  settings: settingsRouter,
  triggers: triggersRouter,
  environments: environmentsRouter,
  promotion: promotionRouter,
  runners: runnersRouter,
  insights: insightsRouter,
});

export type AppRouter = typeof appRouter;
export type RouterOutputs = inferRouterOutputs<AppRouter>;
export type RouterInputs = inferRouterInputs<AppRouter>;
export const createCaller = createCallerFactory(appRouter);
