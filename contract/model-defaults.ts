/**
 * What a model wants when a request leaves a setting out, and what it can take. The engine applies
 * these defaults and reports them on `/ping`; the deploy reads the same from a model folder at
 * synth, for the gateway's `/v1/status` in the modes whose engine it cannot ask.
 *
 * In order: the model folder's optional `generation_defaults.json`; else, for a Latent Consistency
 * Model, LCM's few-step settings; else the scheduler its `scheduler_config.json` names, with the
 * API's general defaults and the UNet's native size.
 */
import type { ModelCapabilities } from './generation-request';
import { DEFAULTS, LIMITS, SCHEDULER_NAMES, type SchedulerName } from './limits';
import type { ModelInfo } from './model-info';
import { SCHEDULER_CLASSES, schedulerNameForConfig } from './scheduler-classes';

export const GENERATION_DEFAULTS_FILE = 'generation_defaults.json';

export interface ModelDefaults {
  readonly scheduler: SchedulerName;
  readonly steps: number;
  readonly guidanceScale: number;
  readonly width: number;
  readonly height: number;
}

/** `generation_defaults.json`, validated; every key optional. */
export interface GenerationDefaultsFile {
  readonly scheduler?: SchedulerName;
  readonly num_inference_steps?: number;
  readonly guidance_scale?: number;
  readonly width?: number;
  readonly height?: number;
}

/**
 * LCM's few-step settings. 4 steps is what the LCM and LCM-LoRA model cards use. A distilled UNet
 * gets 8.5, diffusers' `LatentConsistencyModelPipeline` default; LCM-LoRA weights, run by the plain
 * pipeline with classifier-free guidance, get 1 (guidance off, one UNet call per step), as the
 * LCM-LoRA examples in diffusers' documentation run them (they advise 1 to 2).
 */
export const LCM_DEFAULTS = { steps: 4, distilledGuidanceScale: 8.5, plainGuidanceScale: 1 } as const;

export interface ModelTraits {
  /** The parsed `scheduler/scheduler_config.json`. */
  readonly schedulerConfig: Readonly<Record<string, unknown>>;
  /** Pixels per side the UNet was trained for; undefined when the export does not say. */
  readonly nativeSize: number | undefined;
  /** The UNet takes `timestep_cond` (an LCM-distilled UNet). */
  readonly distilled: boolean;
  readonly hasVaeEncoder: boolean;
  readonly generationDefaults: GenerationDefaultsFile | undefined;
}

export function resolveModelDefaults(model: ModelTraits): ModelDefaults {
  const file = model.generationDefaults ?? {};
  const lcm = model.distilled || model.schedulerConfig._class_name === SCHEDULER_CLASSES.lcm.className;
  const guidance = model.distilled ? LCM_DEFAULTS.distilledGuidanceScale : LCM_DEFAULTS.plainGuidanceScale;
  return {
    scheduler: file.scheduler ?? (lcm ? 'lcm' : schedulerNameForConfig(model.schedulerConfig)),
    steps: file.num_inference_steps ?? (lcm ? LCM_DEFAULTS.steps : DEFAULTS.steps),
    guidanceScale: file.guidance_scale ?? (lcm ? guidance : DEFAULTS.guidanceScale),
    width: file.width ?? model.nativeSize ?? DEFAULTS.width,
    height: file.height ?? model.nativeSize ?? DEFAULTS.height,
  };
}

export function modelCapabilities(model: Pick<ModelTraits, 'distilled' | 'hasVaeEncoder'>): ModelCapabilities {
  return { acceptsInitImage: model.hasVaeEncoder, distilled: model.distilled, acceptsNegativePrompt: !model.distilled };
}

/** The defaults and abilities in the API's words (`/ping`, `/v1/status`, the gateway's MODEL_INFO). */
export function modelInfoOf(defaults: ModelDefaults, capabilities: ModelCapabilities): ModelInfo {
  return {
    width: defaults.width,
    height: defaults.height,
    scheduler: defaults.scheduler,
    steps: defaults.steps,
    guidance_scale: defaults.guidanceScale,
    accepts_init_image: capabilities.acceptsInitImage,
    accepts_negative_prompt: capabilities.acceptsNegativePrompt,
  };
}

/**
 * Validates a parsed `generation_defaults.json` against the request limits, so that a default is
 * always a request the API would accept.
 * @throws Error naming the file and the key
 */
export function parseGenerationDefaults(value: unknown, file: string): GenerationDefaultsFile {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${file} must hold a JSON object`);
  const entries = value as Record<string, unknown>;
  const fail = (key: string, expected: string): never => {
    throw new Error(`${file}: ${key} must be ${expected} but is ${JSON.stringify(entries[key])}`);
  };
  const known = ['scheduler', 'num_inference_steps', 'guidance_scale', 'width', 'height'];
  for (const key of Object.keys(entries)) {
    if (!known.includes(key)) throw new Error(`${file}: unknown key ${JSON.stringify(key)}; expected ${known.join(', ')}`);
  }
  const { scheduler, num_inference_steps: steps, guidance_scale: guidance, width, height } = entries;
  if (scheduler !== undefined && !(SCHEDULER_NAMES as readonly unknown[]).includes(scheduler)) fail('scheduler', `one of ${SCHEDULER_NAMES.join(', ')}`);
  if (steps !== undefined && !isIntegerIn(steps, LIMITS.stepsMin, LIMITS.stepsMax)) {
    fail('num_inference_steps', `an integer from ${LIMITS.stepsMin} to ${LIMITS.stepsMax}`);
  }
  if (guidance !== undefined && !(typeof guidance === 'number' && guidance >= LIMITS.guidanceScaleMin && guidance <= LIMITS.guidanceScaleMax)) {
    fail('guidance_scale', `a number from ${LIMITS.guidanceScaleMin} to ${LIMITS.guidanceScaleMax}`);
  }
  for (const [key, side] of [['width', width], ['height', height]] as const) {
    if (side !== undefined && !(isIntegerIn(side, LIMITS.sizeMin, LIMITS.sizeMax) && (side as number) % LIMITS.sizeMultiple === 0)) {
      fail(key, `a multiple of ${LIMITS.sizeMultiple} from ${LIMITS.sizeMin} to ${LIMITS.sizeMax}`);
    }
  }
  if (typeof width === 'number' && typeof height === 'number' && width * height > LIMITS.maxPixels) {
    fail('width', `such that width × height is at most ${LIMITS.maxPixels} pixels (height is ${height})`);
  }
  return entries as GenerationDefaultsFile;
}

function isIntegerIn(value: unknown, min: number, max: number): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}
