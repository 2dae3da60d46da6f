/**
 * The one definition of what a generation request may ask for. The engine's server, the gateway,
 * the front and the OpenAPI document all read these values; nothing else may restate them.
 * What only the page needs (menu labels, size presets) lives in `site/src/choices.ts`.
 *
 * Plain data without imports, so the front can bundle it without pulling in a validator.
 */

/** Scheduler names accepted by the API, in the order the front lists them. */
export const SCHEDULER_NAMES = [
  'pndm',
  'ddim',
  'euler',
  'euler_ancestral',
  'dpmpp_2m',
  'dpmpp_2m_karras',
  'lms',
  'lcm',
] as const;
export type SchedulerName = (typeof SCHEDULER_NAMES)[number];

export const OUTPUT_FORMATS = ['png', 'jpeg', 'webp'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export const IMAGE_MIME_TYPES: Readonly<Record<OutputFormat, string>> = {
  png: 'image/png',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
};

/** Characters of base64 in `init_image`: a file of up to 2.25 MiB. */
const INIT_IMAGE_MAX_BASE64_LENGTH = 3 * 1024 * 1024;
/** Everything of a request but its init image. */
const SETTINGS_MAX_BYTES = 16 * 1024;

export const LIMITS = {
  /** Characters; CLIP reads only the first 75 tokens, this bounds abuse of the gateway and logs. */
  promptMaxLength: 1000,
  negativePromptMaxLength: 1000,
  stepsMin: 1,
  /** The scheduler tables are verified against diffusers up to 50 steps. */
  stepsMax: 50,
  /** At or below 1 the pipeline skips classifier-free guidance (one UNet batch). */
  guidanceScaleMin: 0,
  guidanceScaleMax: 20,
  /** Both sides must be a multiple of this (the VAE downsamples by 8). */
  sizeMultiple: 8,
  sizeMin: 64,
  sizeMax: 1024,
  /** 768x768: SD 1.x beyond this is slow and repeats subjects; also bounds GPU memory per request. */
  maxPixels: 768 * 768,
  numImagesMin: 1,
  numImagesMax: 4,
  seedMin: 0,
  /** Seeds are unsigned 32-bit so they survive JSON, URLs and every PRNG we might use. */
  seedMax: 4294967295,
  /** `strength` must be above this (0 would keep the init image unchanged and run no step). */
  strengthMin: 0,
  strengthMax: 1,
  initImageMaxBase64Length: INIT_IMAGE_MAX_BASE64_LENGTH,
  /**
   * Decoded width × height of an init image, before it is resized to the output size: bounds the
   * memory a decode takes (a 1024x1024 photo is 3 MiB of RGB).
   */
  initImageMaxPixels: 1024 * 1024,
  /**
   * Largest request body, in bytes, that any tier accepts: the settings plus the largest init image
   * (3.02 MiB). It stays below every backend's payload limit: SageMaker serverless 4 MB, real-time
   * 6 MB, Lambda's synchronous invocation 6 MB; asynchronous inference reads its input from S3.
   */
  maxBodyBytes: SETTINGS_MAX_BYTES + INIT_IMAGE_MAX_BASE64_LENGTH,
} as const;

export const DEFAULTS = {
  steps: 25,
  guidanceScale: 7.5,
  negativePrompt: '',
  numImages: 1,
  /** With an init image: diffusers' `StableDiffusionImg2ImgPipeline` default. */
  strength: 0.8,
  outputFormat: 'png' as OutputFormat,
  /**
   * Used where the model does not say: SD 1.x was trained at 512x512. When the model's UNet config
   * gives `sample_size`, the engine uses `sample_size * 8` instead.
   */
  width: 512,
  height: 512,
} as const;
