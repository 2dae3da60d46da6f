import type { GenerationRequest } from '../../contract/generation-request';
import { DEFAULTS, LIMITS, OUTPUT_FORMATS, SCHEDULER_NAMES } from '../../contract/limits';
import type { ModelInfo } from '../../contract/model-info';
import { SIZE_PRESETS } from './choices';
import type { Notice } from './wording';

/** The form as strings, exactly as its controls hold them. Empty means "let the server decide". */
export interface SettingsValues {
  readonly prompt: string;
  readonly negative_prompt: string;
  readonly steps: string;
  readonly guidance_scale: string;
  /** A preset key from {@link sizeKey}, '' for the model's native size, or {@link CUSTOM_SIZE}. */
  readonly size: string;
  readonly width: string;
  readonly height: string;
  readonly seed: string;
  readonly scheduler: string;
  readonly num_images: string;
  readonly output_format: string;
}

export const CUSTOM_SIZE = 'custom';

export const sizeKey = (width: number, height: number): string => `${width}x${height}`;

/** The form's starting values, all from the shared defaults. */
export const DEFAULT_VALUES: SettingsValues = {
  prompt: '',
  negative_prompt: DEFAULTS.negativePrompt,
  steps: String(DEFAULTS.steps),
  guidance_scale: String(DEFAULTS.guidanceScale),
  size: '',
  width: String(DEFAULTS.width),
  height: String(DEFAULTS.height),
  seed: '',
  scheduler: '',
  num_images: String(DEFAULTS.numImages),
  output_format: DEFAULTS.outputFormat,
};

/** The form's starting values for the deployed model: its own steps, guidance and size where it says. */
export function defaultValuesFor(model: ModelInfo | undefined): SettingsValues {
  if (model === undefined) return DEFAULT_VALUES;
  return {
    ...DEFAULT_VALUES,
    steps: String(model.steps),
    guidance_scale: String(model.guidance_scale),
    width: String(model.width),
    height: String(model.height),
  };
}

export type BuildResult = { readonly ok: true; readonly request: GenerationRequest } | { readonly ok: false; readonly error: Notice };

const invalid = (field: string, detail: string) => ({
  ok: false as const,
  error: { title: 'Please check your settings.', detail, field },
});

function integerIn(text: string, min: number, max: number): number | undefined {
  const value = Number(text.trim());
  return text.trim() !== '' && Number.isInteger(value) && value >= min && value <= max ? value : undefined;
}

/**
 * Turns the form into a request, checking it against the shared limits first so most mistakes are
 * caught without a round trip. The server checks again; when it disagrees its message is shown.
 */
export function buildRequest(values: SettingsValues): BuildResult {
  if (values.prompt.trim() === '') return invalid('prompt', 'Describe the image you want first.');
  if (values.prompt.length > LIMITS.promptMaxLength) {
    return invalid('prompt', `The prompt can be at most ${LIMITS.promptMaxLength} characters.`);
  }
  if (values.negative_prompt.length > LIMITS.negativePromptMaxLength) {
    return invalid('negative_prompt', `The negative prompt can be at most ${LIMITS.negativePromptMaxLength} characters.`);
  }
  const steps = integerIn(values.steps, LIMITS.stepsMin, LIMITS.stepsMax);
  if (steps === undefined) return invalid('steps', `Steps must be a whole number from ${LIMITS.stepsMin} to ${LIMITS.stepsMax}.`);

  const guidance = Number(values.guidance_scale.trim());
  if (values.guidance_scale.trim() === '' || !(guidance >= LIMITS.guidanceScaleMin && guidance <= LIMITS.guidanceScaleMax)) {
    return invalid('guidance_scale', `Guidance must be a number from ${LIMITS.guidanceScaleMin} to ${LIMITS.guidanceScaleMax}.`);
  }

  const size = resolveSize(values);
  if (!size.ok) return size;

  let seed: number | undefined;
  if (values.seed.trim() !== '') {
    seed = integerIn(values.seed, LIMITS.seedMin, LIMITS.seedMax);
    if (seed === undefined) {
      return invalid('seed', `The seed must be a whole number from ${LIMITS.seedMin} to ${LIMITS.seedMax}, or empty for a random one.`);
    }
  }
  const numImages = integerIn(values.num_images, LIMITS.numImagesMin, LIMITS.numImagesMax);
  if (numImages === undefined) {
    return invalid('num_images', `Number of images must be from ${LIMITS.numImagesMin} to ${LIMITS.numImagesMax}.`);
  }
  const scheduler = SCHEDULER_NAMES.find((name) => name === values.scheduler);
  if (values.scheduler !== '' && scheduler === undefined) return invalid('scheduler', 'Pick a scheduler from the list.');
  const format = OUTPUT_FORMATS.find((name) => name === values.output_format);
  if (format === undefined) return invalid('output_format', 'Pick a file format from the list.');

  const request: GenerationRequest = {
    prompt: values.prompt,
    ...(values.negative_prompt.trim() !== '' ? { negative_prompt: values.negative_prompt } : {}),
    steps,
    guidance_scale: guidance,
    ...size.dimensions,
    ...(seed !== undefined ? { seed } : {}),
    ...(scheduler !== undefined ? { scheduler } : {}),
    num_images: numImages,
    output_format: format,
  };
  return { ok: true, request };
}

type SizeResult =
  | { readonly ok: true; readonly dimensions: { width?: number; height?: number } }
  | { readonly ok: false; readonly error: Notice };

function resolveSize(values: SettingsValues): SizeResult {
  if (values.size === '') return { ok: true, dimensions: {} };
  if (values.size !== CUSTOM_SIZE) {
    const preset = SIZE_PRESETS.find((p) => sizeKey(p.width, p.height) === values.size);
    if (preset === undefined) return invalid('width', 'Pick a size from the list.');
    return { ok: true, dimensions: { width: preset.width, height: preset.height } };
  }
  const dims: { width?: number; height?: number } = {};
  for (const field of ['width', 'height'] as const) {
    const value = integerIn(values[field], LIMITS.sizeMin, LIMITS.sizeMax);
    if (value === undefined || value % LIMITS.sizeMultiple !== 0) {
      return invalid(
        field,
        `${field === 'width' ? 'Width' : 'Height'} must be a multiple of ${LIMITS.sizeMultiple} from ${LIMITS.sizeMin} to ${LIMITS.sizeMax} pixels.`,
      );
    }
    dims[field] = value;
  }
  if (dims.width! * dims.height! > LIMITS.maxPixels) {
    return invalid(
      'width',
      `${dims.width} × ${dims.height} is too large: at most ${LIMITS.maxPixels.toLocaleString('en')} pixels (for example ${Math.floor(Math.sqrt(LIMITS.maxPixels))} × ${Math.floor(Math.sqrt(LIMITS.maxPixels))}).`,
    );
  }
  return { ok: true, dimensions: dims };
}

/**
 * The form values that repeat a past request; `seed` picks one image of a batch (each image's
 * seed reproduces it alone, per the engine's contract).
 */
export function valuesFromRequest(request: Partial<GenerationRequest>, seed?: number): SettingsValues {
  const width = request.width;
  const height = request.height;
  let size = '';
  if (width !== undefined && height !== undefined) {
    size = SIZE_PRESETS.some((p) => p.width === width && p.height === height) ? sizeKey(width, height) : CUSTOM_SIZE;
  }
  const chosenSeed = seed ?? request.seed;
  return {
    prompt: request.prompt ?? '',
    negative_prompt: request.negative_prompt ?? DEFAULT_VALUES.negative_prompt,
    steps: String(request.steps ?? DEFAULTS.steps),
    guidance_scale: String(request.guidance_scale ?? DEFAULTS.guidanceScale),
    size,
    width: String(width ?? DEFAULTS.width),
    height: String(height ?? DEFAULTS.height),
    seed: chosenSeed !== undefined ? String(chosenSeed) : '',
    scheduler: request.scheduler ?? '',
    num_images: String(seed !== undefined ? 1 : (request.num_images ?? DEFAULTS.numImages)),
    output_format: request.output_format ?? DEFAULTS.outputFormat,
  };
}

/** A uniformly random seed over the whole allowed range. */
export function randomSeed(random: (buffer: Uint32Array) => Uint32Array = (b) => crypto.getRandomValues(b)): number {
  const span = LIMITS.seedMax - LIMITS.seedMin + 1;
  // Seeds span exactly 2^32 today; the modulo keeps this right if the range ever narrows.
  return LIMITS.seedMin + (random(new Uint32Array(1))[0] % span);
}

const STRING_KEYS = ['prompt', 'negative_prompt', 'scheduler', 'output_format'] as const;
const NUMBER_KEYS = ['steps', 'guidance_scale', 'width', 'height', 'seed', 'num_images'] as const;

/**
 * The request as the server resolved it (sizes and scheduler it chose), so "use these settings"
 * repeats what was actually run. Only known keys of the right type are taken: the echo is advice.
 */
export function mergeParameters(request: GenerationRequest, parameters: Readonly<Record<string, unknown>> | undefined): GenerationRequest {
  if (parameters === undefined) return request;
  const merged: Record<string, unknown> = { ...request };
  for (const key of STRING_KEYS) if (typeof parameters[key] === 'string') merged[key] = parameters[key];
  for (const key of NUMBER_KEYS) if (typeof parameters[key] === 'number') merged[key] = parameters[key];
  if (typeof merged.prompt !== 'string' || merged.prompt.trim() === '') merged.prompt = request.prompt;
  if (merged.scheduler !== undefined && !SCHEDULER_NAMES.some((name) => name === merged.scheduler)) delete merged.scheduler;
  if (!OUTPUT_FORMATS.some((name) => name === merged.output_format)) merged.output_format = request.output_format;
  return merged as GenerationRequest;
}
