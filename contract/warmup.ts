import * as z from 'zod';
import { BACKEND_STATES } from './status';

/** `POST /v1/warmups` as the page reads it. */
export const apiWarmUpSchema = z.strictObject({
  state: z.enum(BACKEND_STATES).meta({ description: 'The backend\'s state, as `GET /v1/status` reports it.' }),
  warming: z.boolean().meta({
    description:
      'A warm-up is in flight for this deployment (this call started it or an earlier one did). False where the ' +
      'backend has nothing to warm (already warm, a mode that warms nothing, or an opt-in that is off).',
  }),
});
export type ApiWarmUp = z.infer<typeof apiWarmUpSchema>;
