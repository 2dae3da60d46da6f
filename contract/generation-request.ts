import * as z from 'zod';
import { DEFAULTS, LIMITS, OUTPUT_FORMATS, SCHEDULER_NAMES } from './limits';

const boundedInteger = (name: string, min: number, max: number) =>
  z
    .number({ error: `${name} must be a number` })
    .int({ error: `${name} must be an integer` })
    .min(min, { error: `${name} must be at least ${min}` })
    .max(max, { error: `${name} must be at most ${max}` });

const dimension = (name: 'width' | 'height') =>
  boundedInteger(name, LIMITS.sizeMin, LIMITS.sizeMax).refine((v) => v % LIMITS.sizeMultiple === 0, {
    error: `${name} must be a multiple of ${LIMITS.sizeMultiple}`,
  });

const boundedString = (name: string, max: number) =>
  z.string({ error: `${name} must be a string` }).max(max, { error: `${name} must be at most ${max} characters` });

/**
 * The generation request, as the public API and the engine's `/invocations` accept it.
 * Validator and TypeScript type in one: every tier parses with this schema and nothing else.
 */
export const generationRequestSchema = z
  .strictObject({
    prompt: boundedString('prompt', LIMITS.promptMaxLength).refine((v) => v.trim().length > 0, { error: 'prompt must not be empty' }),
    negative_prompt: boundedString('negative_prompt', LIMITS.negativePromptMaxLength).optional(),
    steps: boundedInteger('steps', LIMITS.stepsMin, LIMITS.stepsMax).optional(),
    guidance_scale: z
      .number({ error: 'guidance_scale must be a number' })
      .min(LIMITS.guidanceScaleMin, { error: `guidance_scale must be at least ${LIMITS.guidanceScaleMin}` })
      .max(LIMITS.guidanceScaleMax, { error: `guidance_scale must be at most ${LIMITS.guidanceScaleMax}` })
      .optional(),
    width: dimension('width').optional(),
    height: dimension('height').optional(),
    seed: boundedInteger('seed', LIMITS.seedMin, LIMITS.seedMax).optional(),
    scheduler: z.enum(SCHEDULER_NAMES, { error: `scheduler must be one of ${SCHEDULER_NAMES.join(', ')}` }).optional(),
    num_images: boundedInteger('num_images', LIMITS.numImagesMin, LIMITS.numImagesMax).optional(),
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
