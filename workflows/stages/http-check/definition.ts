import { z } from 'zod';
import { LIMITS } from '../../model/limits';
import { defineStage } from '../types';

const urlString = z.string().min(1, 'enter a URL').max(2048);

export const httpDependencySchema = z.object({
  name: z.string().min(1).max(LIMITS.nameLength),
  url: urlString,
  expectStatus: z.number().int().min(100).max(599).default(200),
});

export const httpCheckConfigSchema = z.object({
  /** URL to request until it answers as expected (smoke test). */
  url: urlString,
  method: z.enum(['GET', 'HEAD', 'POST']).default('GET'),
  headers: z.record(z.string(), z.string().max(4096)).default({}),
  expectStatus: z.number().int().min(100).max(599).default(200),
  /** The body must contain this text. */
  bodyContains: z.string().max(4096).optional(),
  /** Dot path into a JSON body (e.g. `status` or `checks.0.state`) … */
  jsonPath: z.string().max(256).optional(),
  /** … and the value it must have (compared as text). */
  jsonEquals: z.string().max(4096).optional(),
  /** Seconds between attempts. */
  intervalSeconds: z.number().min(0.1).max(3600).default(2),
  /** Give up after this many seconds. */
  deadlineSeconds: z.number().min(1).max(86_400).default(60),
  /** Limit for one request, in seconds. */
  requestTimeoutSeconds: z.number().min(0.1).max(600).default(10),
  /** Other services that must be up; on failure the stage says which one is down. */
  dependencies: z.array(httpDependencySchema).max(50).default([]),
});
export type HttpCheckConfig = z.infer<typeof httpCheckConfigSchema>;

export const httpCheckStage = defineStage({
  kind: 'http-check',
  label: 'Smoke test (HTTP)',
  description: 'Request a URL until it answers as expected; checks listed dependencies too.',
  icon: '♥',
  category: 'test',
  runtime: 'activity',
  configSchema: httpCheckConfigSchema,
  defaults: { url: 'http://localhost:3000/api/health', expectStatus: 200 },
  outputs: { names: ['status', 'attempts'], dynamic: false },
  check: (c) =>
    c.jsonEquals !== undefined && !c.jsonPath ? [{ path: 'jsonPath', message: 'jsonEquals needs a jsonPath' }] : [],
});
