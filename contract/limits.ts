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
  /** Largest request body, in bytes, that any tier accepts. */
  maxBodyBytes: 16 * 1024,
} as const;

export const DEFAULTS = {
  steps: 25,
  guidanceScale: 7.5,
  negativePrompt: '',
  numImages: 1,
  outputFormat: 'png' as OutputFormat,
  /**
   * Used where the model does not say: SD 1.x was trained at 512x512. When the model's UNet config
   * gives `sample_size`, the engine uses `sample_size * 8` instead.
   */
  width: 512,
  height: 512,
} as const;
