import { z } from 'zod';
import { defineStage } from '../types';

export const waitConfigSchema = z.object({
  seconds: z.number().min(0).max(90 * 24 * 3600).describe('How long to wait, in seconds. A durable timer: it survives restarts.'),
});
export type WaitConfig = z.infer<typeof waitConfigSchema>;

export const waitStage = defineStage({
  kind: 'wait',
  label: 'Wait',
  description: 'Pause the run for a while (bake time, soak time). Survives restarts.',
  icon: '⏱',
  category: 'flow',
  runtime: 'timer',
  configSchema: waitConfigSchema,
  defaults: { seconds: 60 },
  outputs: { names: [], dynamic: false },
});
