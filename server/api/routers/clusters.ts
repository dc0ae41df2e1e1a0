/**
 * Cluster connections (admins only): register, list, delete and check the
 * Kubernetes clusters k8s stages deploy to. Credentials go in and are sealed
 * at once; no procedure ever returns them.
 */
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { connectionName, namespaceName } from '../../../workflows/k8s/config';
import * as svc from '../../clusters/connections';
import { capabilityProcedure, createTRPCRouter } from '../trpc';

const admin = capabilityProcedure('admin');
const common = {
  name: connectionName,
  description: z.string().max(500).optional(),
  /** Empty: any namespace (and cluster-scoped objects). */
  allowedNamespaces: z.array(namespaceName).max(100).default([]),
};

const createInput = z.discriminatedUnion('authType', [
  z.object({
    ...common,
    authType: z.literal('token'),
    server: z
      .string()
      .url('enter the API server URL, e.g. https://k8s.example.com:6443')
      .max(2048)
      .refine((u) => u.startsWith('https://'), 'the API server URL must use https'),
    token: z.string().min(1, 'enter the bearer token').max(16_384),
    caPem: z
      .string()
      .max(65_536)
      .refine((v) => !v.trim() || v.includes('-----BEGIN CERTIFICATE-----'), 'the CA must be a PEM certificate')
      .optional(),
    insecureSkipTlsVerify: z.boolean().default(false),
  }),
  z.object({
    ...common,
    authType: z.literal('kubeconfig'),
    kubeconfig: z.string().min(1, 'paste the kubeconfig').max(262_144),
  }),
]);

function mapError(err: unknown): never {
  if (err instanceof svc.ClusterConnectionError) throw new TRPCError({ code: err.code, message: err.message });
  throw err;
}

export const clustersRouter = createTRPCRouter({
  list: admin.query(({ ctx }) => svc.listConnections(ctx.db)),
  create: admin.input(createInput).mutation(({ ctx, input }) => svc.createConnection(ctx.db, ctx.user!, input).catch(mapError)),
  delete: admin.input(z.object({ id: z.string().min(1).max(64) })).mutation(({ ctx, input }) => svc.deleteConnection(ctx.db, ctx.user!, input.id).catch(mapError)),
  /** Tries the credentials against the cluster and records the outcome. */
  check: admin.input(z.object({ id: z.string().min(1).max(64) })).mutation(({ ctx, input }) => svc.checkConnection(ctx.db, input.id).catch(mapError)),
});
