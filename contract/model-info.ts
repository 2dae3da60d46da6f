import * as z from 'zod';
import { LIMITS, SCHEDULER_NAMES } from './limits';
import { CONTENT_FILTERS } from './safety';

/**
 * What the deployed model is and wants, so the page can follow it: its defaults for what a
 * request leaves out (its native size, scheduler, steps and guidance) and what it can take.
 * The engine reports it on `/ping`; the gateway passes it on in `GET /v1/status`.
 */
export const modelInfoSchema = z.strictObject({
  width: z.number().int().min(LIMITS.sizeMin).max(LIMITS.sizeMax),
  height: z.number().int().min(LIMITS.sizeMin).max(LIMITS.sizeMax),
  scheduler: z.enum(SCHEDULER_NAMES),
  steps: z.number().int().min(LIMITS.stepsMin).max(LIMITS.stepsMax),
  guidance_scale: z.number().min(LIMITS.guidanceScaleMin).max(LIMITS.guidanceScaleMax),
  accepts_init_image: z.boolean().meta({ description: 'The model has a VAE encoder: `init_image` works.' }),
  accepts_negative_prompt: z.boolean().meta({ description: 'False for LCM-distilled models, whose guidance is built in.' }),
  content_filter: z
    .enum(CONTENT_FILTERS)
    .optional()
    .meta({
      description:
        "`safety_checker`: the model's own safety checker screens every image, and a flagged one is withheld; `none`: images are returned unfiltered (the deployment turned the checker off, or the model has none).",
    }),
  decoder: z
    .enum(['full', 'tiny'])
    .optional()
    .meta({ description: 'The VAE decoder that makes the images: `tiny` (TAESD) is fast on a CPU but blurs fine detail.' }),
});
export type ModelInfo = z.infer<typeof modelInfoSchema>;

/** `GET /ping` on the engine server: ready or loading, and the model once it is loaded. */
export const engineHealthSchema = z.object({
  status: z.enum(['ready', 'loading']),
  model: modelInfoSchema.optional(),
});
export type EngineHealth = z.infer<typeof engineHealthSchema>;
