import { z } from 'zod';
import { DEFAULTS, LIMITS, OUTPUT_FORMATS, SCHEDULER_NAMES } from './limits';

/**
 * The generation request, as the public API and the engine's `/invocations` accept it.
 * Validator and TypeScript type in one: every tier parses with this schema and nothing else.
 */
const dimension = (name: 'width' | 'height') =>
  z
    .number({ error: `${name} must be a number` })
    .int({ error: `${name} must be an integer` })
    .min(LIMITS.sizeMin, { error: `${name} must be at least ${LIMITS.sizeMin}` })
    .max(LIMITS.sizeMax, { error: `${name} must be at most ${LIMITS.sizeMax}` })
    .refine((v) => v % LIMITS.sizeMultiple === 0, {
      error: `${name} must be a multiple of ${LIMITS.sizeMultiple}`,
    });

export const generationRequestSchema = z
  .strictObject({
    prompt: z
      .string({ error: 'prompt must be a string' })
      .max(LIMITS.promptMaxLength, { error: `prompt must be at most ${LIMITS.promptMaxLength} characters` })
      .refine((v) => v.trim().length > 0, { error: 'prompt must not be empty' }),
    negative_prompt: z
      .string({ error: 'negative_prompt must be a string' })
      .max(LIMITS.negativePromptMaxLength, {
        error: `negative_prompt must be at most ${LIMITS.negativePromptMaxLength} characters`,
      })
      .optional(),
    steps: z
      .number({ error: 'steps must be a number' })
      .int({ error: 'steps must be an integer' })
      .min(LIMITS.stepsMin, { error: `steps must be at least ${LIMITS.stepsMin}` })
      .max(LIMITS.stepsMax, { error: `steps must be at most ${LIMITS.stepsMax}` })
      .optional(),
    guidance_scale: z
      .number({ error: 'guidance_scale must be a number' })
      .min(LIMITS.guidanceScaleMin, { error: `guidance_scale must be at least ${LIMITS.guidanceScaleMin}` })
      .max(LIMITS.guidanceScaleMax, { error: `guidance_scale must be at most ${LIMITS.guidanceScaleMax}` })
      .optional(),
    width: dimension('width').optional(),
    height: dimension('height').optional(),
    seed: z
      .number({ error: 'seed must be a number' })
      .int({ error: 'seed must be an integer' })
      .min(LIMITS.seedMin, { error: `seed must be at least ${LIMITS.seedMin}` })
      .max(LIMITS.seedMax, { error: `seed must be at most ${LIMITS.seedMax}` })
      .optional(),
    scheduler: z.enum(SCHEDULER_NAMES, { error: `scheduler must be one of ${SCHEDULER_NAMES.join(', ')}` }).optional(),
    num_images: z
      .number({ error: 'num_images must be a number' })
      .int({ error: 'num_images must be an integer' })
      .min(LIMITS.numImagesMin, { error: `num_images must be at least ${LIMITS.numImagesMin}` })
      .max(LIMITS.numImagesMax, { error: `num_images must be at most ${LIMITS.numImagesMax}` })
      .optional(),
    output_format: z
      .enum(OUTPUT_FORMATS, { error: `output_format must be one of ${OUTPUT_FORMATS.join(', ')}` })
      .optional(),
  })
  .superRefine((req, ctx) => {
    const width = req.width ?? DEFAULTS.width;
    const height = req.height ?? DEFAULTS.height;
    if (width * height > LIMITS.maxPixels) {
      ctx.addIssue({
        code: 'custom',
        path: [req.width !== undefined ? 'width' : 'height'],
        message: `width × height must be at most ${LIMITS.maxPixels} pixels but is ${width} × ${height}`,
      });
    }
  });

export type GenerationRequest = z.infer<typeof generationRequestSchema>;

/** A validation failure in the one error shape every tier returns. */
export interface FieldError {
  /** Dotted path of the offending field, or `body` when the request as a whole is wrong. */
  readonly field: string;
  readonly message: string;
}

export type ParseResult =
  | { readonly ok: true; readonly request: GenerationRequest }
  | { readonly ok: false; readonly error: FieldError };

/** Validates an already-decoded JSON value; reports the first problem, naming its field. */
export function parseGenerationRequest(value: unknown): ParseResult {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, error: { field: 'body', message: 'request body must be a JSON object' } };
  }
  const result = generationRequestSchema.safeParse(value);
  if (result.success) return { ok: true, request: result.data };
  const issue = result.error.issues[0];
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0];
    return { ok: false, error: { field: key, message: `unknown field ${JSON.stringify(key)}` } };
  }
  if (issue.code === 'invalid_type' && issue.path.length === 1 && issue.input === undefined) {
    const field = String(issue.path[0]);
    return { ok: false, error: { field, message: `${field} is required` } };
  }
  return { ok: false, error: { field: issue.path.map(String).join('.') || 'body', message: issue.message } };
}

/** Decodes a raw body (bytes or text) and validates it. */
export function parseGenerationRequestBody(body: string | Buffer): ParseResult {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  if (Buffer.byteLength(text, 'utf8') > LIMITS.maxBodyBytes) {
    return { ok: false, error: { field: 'body', message: `request body must be at most ${LIMITS.maxBodyBytes} bytes` } };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, error: { field: 'body', message: 'request body must be valid JSON' } };
  }
  return parseGenerationRequest(value);
}
