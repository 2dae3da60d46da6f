import * as z from 'zod';
import { modelInfoSchema } from './model-info';

/** The backend's capacity as the public sees it. */
export const BACKEND_STATES = ['cold', 'warming', 'warm'] as const;
export type BackendState = (typeof BACKEND_STATES)[number];

const count = z.number().int().min(0);

/** `GET /v1/status` as the page reads it. */
export const apiStatusSchema = z.strictObject({
  state: z
    .enum(BACKEND_STATES)
    .meta({ description: '`cold`: scaled to zero, the next request starts an instance; `warming`: starting; `warm`: serving.' }),
  instances: z.strictObject({ current: count, desired: count }),
  queue_depth: count.meta({ description: 'Requests waiting or running.' }),
  estimated_wait_seconds: count.meta({
    description:
      'For a request sent now. Cold: boot seconds + (queue_depth + 1) × seconds per image; warm: ' +
      '(queue_depth + 1) × seconds per image / instances. Both figures are deployment settings.',
  }),
  message: z.string().meta({ description: 'One sentence for people.' }),
  model: modelInfoSchema.optional().meta({ description: 'The deployed model\'s defaults and abilities, where the gateway knows them.' }),
});
export type ApiStatus = z.infer<typeof apiStatusSchema>;
