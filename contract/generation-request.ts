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

/** Standard base64, optionally as the data: URL a browser's FileReader makes of a PNG, JPEG or WebP file. */
export const INIT_IMAGE_PATTERN = /^(?:data:image\/(?:png|jpeg|webp);base64,)?[A-Za-z0-9+/]+={0,2}$/;

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
    init_image: z
      .string({ error: 'init_image must be a string' })
      .max(LIMITS.initImageMaxBase64Length, { error: `init_image must be at most ${LIMITS.initImageMaxBase64Length} characters of base64` })
      .regex(INIT_IMAGE_PATTERN, { error: 'init_image must be a base64 PNG, JPEG or WebP image (optionally a data: URL)' })
      .optional()
      .meta({
        description:
          `Image-to-image: the picture to start from, base64. Resized to width × height (or, without them, its own size ` +
          `rounded down to a multiple of ${LIMITS.sizeMultiple}), at most ${LIMITS.initImageMaxPixels} pixels decoded.`,
      }),
    strength: z
      .number({ error: 'strength must be a number' })
      .gt(LIMITS.strengthMin, { error: `strength must be greater than ${LIMITS.strengthMin}` })
      .max(LIMITS.strengthMax, { error: `strength must be at most ${LIMITS.strengthMax}` })
      .optional()
      .meta({ description: `How far init_image is noised before denoising: near 0 keeps it, 1 keeps little beyond its layout and colours. Only with init_image; default ${DEFAULTS.strength}.` }),
    output_format: z
      .enum(OUTPUT_FORMATS, { error: `output_format must be one of ${OUTPUT_FORMATS.join(', ')}` })
      .optional(),
  })
  .superRefine((req, ctx) => {
    if (req.strength !== undefined && req.init_image === undefined) {
      ctx.addIssue({ code: 'custom', path: ['strength'], message: 'strength applies only to image-to-image: give an init_image or leave strength out' });
    }
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
  /** Over a size limit (the body, or `init_image`): answered 413 `body_too_large`, not 400. */
  readonly tooLarge?: true;
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
  if (issue.code === 'too_big' && issue.path[0] === 'init_image') {
    return { ok: false, error: { field: 'init_image', message: issue.message, tooLarge: true } };
  }
  // zod 4 leaves `input` out of its issues, so a missing key is told from a mistyped one by the object itself.
  if (issue.code === 'invalid_type' && issue.path.length === 1 && !Object.prototype.hasOwnProperty.call(value, issue.path[0])) {
    const field = String(issue.path[0]);
    return { ok: false, error: { field, message: `${field} is required` } };
  }
  return { ok: false, error: { field: issue.path.map(String).join('.') || 'body', message: issue.message } };
}

/** Decodes a raw body (bytes or text) and validates it. */
export function parseGenerationRequestBody(body: string | Buffer): ParseResult {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  if (Buffer.byteLength(text, 'utf8') > LIMITS.maxBodyBytes) {
    return { ok: false, error: { field: 'body', message: `request body must be at most ${LIMITS.maxBodyBytes} bytes`, tooLarge: true } };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, error: { field: 'body', message: 'request body must be valid JSON' } };
  }
  return parseGenerationRequest(value);
}

/**
 * What the deployed model can take, as the engine reports it; the gateway checks requests against it
 * before spending quota, and the page adapts its form.
 */
export interface ModelCapabilities {
  /** The model has a VAE encoder, so `init_image` works. */
  readonly acceptsInitImage: boolean;
  /**
   * An LCM-distilled UNet (it takes `timestep_cond`): guidance goes in as an embedding and there is
   * no unconditional branch for a negative prompt to steer (diffusers' LatentConsistencyModelPipeline).
   */
  readonly distilled: boolean;
  readonly acceptsNegativePrompt: boolean;
}

/**
 * The refusals that depend on the model rather than on the request alone; pure, so every tier can
 * ask before any work or quota is spent. An empty negative prompt is no negative prompt.
 */
export function checkRequestAgainstModel(
  request: Pick<GenerationRequest, 'negative_prompt' | 'init_image'>,
  model: ModelCapabilities,
): FieldError | undefined {
  if (!model.acceptsNegativePrompt && request.negative_prompt !== undefined && request.negative_prompt.trim() !== '') {
    return {
      field: 'negative_prompt',
      message: 'this model is LCM-distilled: it takes no negative prompt (its guidance is built in); leave negative_prompt out',
    };
  }
  if (!model.acceptsInitImage && request.init_image !== undefined) {
    return { field: 'init_image', message: 'this model has no VAE encoder (vae_encoder/model.onnx), so it cannot start from an init_image' };
  }
  return undefined;
}
