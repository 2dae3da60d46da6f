import * as z from 'zod';
import { OUTPUT_FORMATS } from './limits';
import { withheldImageSchema } from './withheld-image';

const count = z.number().int().nonnegative();

/** One generated image as the engine's server returns it in JSON. */
export const generatedImageSchema = z.object({
  /** Base64 of the encoded image bytes. */
  data: z.string().min(1),
  format: z.enum(OUTPUT_FORMATS),
  width: count,
  height: count,
  /** The seed that reproduces exactly this image with `num_images: 1`. */
  seed: count,
});
export type GeneratedImage = z.infer<typeof generatedImageSchema>;

export const generationTimingsSchema = z.object({
  queue_ms: z.number(),
  encode_prompt_ms: z.number(),
  denoise_ms: z.number(),
  decode_ms: z.number(),
  /** The safety checker on every image; absent from engines without one. */
  safety_check_ms: z.number().optional(),
  total_ms: z.number(),
});
export type GenerationTimings = z.infer<typeof generationTimingsSchema>;

/** Body of a successful `POST /invocations` with a JSON `Accept`. */
export const generationResponseSchema = z.object({
  /** In batch order; an image the safety checker flagged is `{seed, withheld}`, with no data. */
  images: z.array(z.union([generatedImageSchema, withheldImageSchema])).min(1),
  timings: generationTimingsSchema,
  /** Resolved settings, so a caller can repeat the generation exactly. */
  parameters: z.object({
    steps: count,
    guidance_scale: z.number(),
    width: count,
    height: count,
    scheduler: z.string(),
    num_images: count,
    /** Image-to-image only. */
    strength: z.number().optional(),
  }),
});
export type GenerationResponse = z.infer<typeof generationResponseSchema>;

