import { z } from 'zod';
import { LIMITS } from '../../model/limits';
import { defineStage } from '../types';

const urlString = z.string().min(1, 'enter a URL').max(2048);

export const httpDependencySchema = z.object({
  name: z.string().min(1).max(LIMITS.nameLength).describe('Name shown when this dependency is down.'),
  url: urlString.describe('URL of the dependency\'s health check.'),
  expectStatus: z.number().int().min(100).max(599).default(200).describe('The status code that counts as up.'),
});

export const httpCheckConfigSchema = z.object({
  url: urlString.describe('URL to request until it answers as expected (smoke test).'),
  method: z.enum(['GET', 'HEAD', 'POST']).default('GET').describe('HTTP method of each request.'),
  headers: z.record(z.string(), z.string().max(4096)).default({}).describe('Extra request headers.'),
  expectStatus: z.number().int().min(100).max(599).default(200).describe('The status code that counts as healthy.'),
  bodyContains: z.string().max(4096).optional().describe('The body must contain this text.'),
  jsonPath: z.string().max(256).optional().describe('Dot path into a JSON body (e.g. `status` or `checks.0.state`) …'),
  jsonEquals: z.string().max(4096).optional().describe('… and the value it must have (compared as text).'),
  intervalSeconds: z.number().min(0.1).max(3600).default(2).describe('Seconds between attempts.'),
  deadlineSeconds: z.number().min(1).max(86_400).default(60).describe('Give up after this many seconds.'),
  requestTimeoutSeconds: z.number().min(0.1).max(600).default(10).describe('Limit for one request, in seconds.'),
  dependencies: z.array(httpDependencySchema).max(50).default([]).describe('Other services that must be up; on failure the stage says which one is down.'),
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
