import type { SchedulerName } from '../../../../contract/limits';
import { SCHEDULER_CLASSES } from '../../../../contract/scheduler-classes';
import { SchedulerConfigError } from './errors';
import { BETA_SCHEDULES, type NoiseScheduleConfig } from './noise-schedule';
import type { SchedulerConfigJson } from './scheduler';
import { TIMESTEP_SPACINGS, type TimestepSpacing } from './timestep-spacing';

/*
 * Configuration as diffusers' `ConfigMixin.from_config` resolves it: start from the scheduler
 * class's `__init__` defaults, take every key of the model's `scheduler_config.json` that the
 * class knows, then apply what our scheduler name implies. Keys keep diffusers' snake_case names
 * because they are the file's keys; one name each, nowhere restated.
 *
 * Every key the class knows is resolved, including those whose non-default values this engine
 * cannot run: those are refused by name rather than silently ignored.
 */

export const PREDICTION_TYPES = ['epsilon', 'v_prediction'] as const;
export type PredictionType = (typeof PREDICTION_TYPES)[number];

interface CommonConfig extends NoiseScheduleConfig {
  readonly prediction_type: PredictionType;
  readonly timestep_spacing: TimestepSpacing;
  readonly steps_offset: number;
}

export interface PndmConfig extends CommonConfig {
  readonly skip_prk_steps: boolean;
  readonly set_alpha_to_one: boolean;
}

export interface DdimConfig extends CommonConfig {
  readonly clip_sample: boolean;
  readonly set_alpha_to_one: boolean;
  readonly thresholding: boolean;
  readonly dynamic_thresholding_ratio: number;
  readonly clip_sample_range: number;
  readonly sample_max_value: number;
  readonly rescale_betas_zero_snr: boolean;
}

export type FinalSigmasType = 'zero' | 'sigma_min';

export interface EulerConfig extends CommonConfig {
  readonly interpolation_type: 'linear';
  readonly use_karras_sigmas: boolean;
  readonly use_exponential_sigmas: boolean;
  readonly use_beta_sigmas: boolean;
  readonly sigma_min: number | null;
  readonly sigma_max: number | null;
  readonly timestep_type: 'discrete';
  readonly rescale_betas_zero_snr: boolean;
  readonly final_sigmas_type: FinalSigmasType;
}

export interface EulerAncestralConfig extends CommonConfig {
  readonly rescale_betas_zero_snr: boolean;
}

export interface DpmSolverMultistepConfig extends CommonConfig {
  readonly solver_order: 1 | 2;
  readonly thresholding: boolean;
  readonly dynamic_thresholding_ratio: number;
  readonly sample_max_value: number;
  readonly algorithm_type: 'dpmsolver++';
  readonly solver_type: 'midpoint' | 'heun';
  readonly lower_order_final: boolean;
  readonly euler_at_final: boolean;
  readonly use_karras_sigmas: boolean;
  readonly use_exponential_sigmas: boolean;
  readonly use_beta_sigmas: boolean;
  readonly use_lu_lambdas: boolean;
  readonly use_flow_sigmas: boolean;
  readonly flow_shift: number;
  readonly final_sigmas_type: FinalSigmasType;
  readonly lambda_min_clipped: number;
  readonly variance_type: null;
  readonly rescale_betas_zero_snr: boolean;
  readonly use_dynamic_shifting: boolean;
  readonly time_shift_type: string;
}

export interface LmsConfig extends CommonConfig {
  readonly use_karras_sigmas: boolean;
  readonly use_exponential_sigmas: boolean;
  readonly use_beta_sigmas: boolean;
}

export interface LcmConfig extends CommonConfig {
  /** The distillation schedule's length; inference timesteps are picked from it. */
  readonly original_inference_steps: number;
  readonly clip_sample: boolean;
  readonly clip_sample_range: number;
  readonly set_alpha_to_one: boolean;
  readonly thresholding: boolean;
  readonly dynamic_thresholding_ratio: number;
  readonly sample_max_value: number;
  /** Multiplies the timestep in the consistency boundary conditions c_skip and c_out. */
  readonly timestep_scaling: number;
  readonly rescale_betas_zero_snr: boolean;
}

export interface SchedulerConfigs {
  pndm: PndmConfig;
  ddim: DdimConfig;
  euler: EulerConfig;
  euler_ancestral: EulerAncestralConfig;
  dpmpp_2m: DpmSolverMultistepConfig;
  dpmpp_2m_karras: DpmSolverMultistepConfig;
  lms: LmsConfig;
  lcm: LcmConfig;
}

// Shared defaults of diffusers' `__init__` signatures (diffusers 0.40).
const NOISE_DEFAULTS = {
  num_train_timesteps: 1000,
  beta_start: 0.0001,
  beta_end: 0.02,
  beta_schedule: 'linear',
  trained_betas: null,
} as const;

interface ClassSpec<C> {
  /** diffusers' class, as `_class_name` names it. */
  readonly className: string;
  readonly defaults: C;
  /** What the scheduler name itself implies, applied over the model's file. */
  readonly overrides?: Partial<C>;
  /** Refuses values this engine cannot run; called on the resolved config. */
  readonly check: (config: Record<string, unknown>) => void;
}

const PNDM: ClassSpec<PndmConfig> = {
  className: SCHEDULER_CLASSES.pndm.className,
  defaults: {
    ...NOISE_DEFAULTS,
    skip_prk_steps: false,
    set_alpha_to_one: false,
    prediction_type: 'epsilon',
    timestep_spacing: 'leading',
    steps_offset: 0,
  },
  check(config) {
    checkCommon(config);
    // Stable Diffusion ships PNDM with PLMS only; the Runge-Kutta warm-up is not implemented.
    expectValue(config, 'skip_prk_steps', true, 'only PLMS (skip_prk_steps true) is supported');
    expectBoolean(config, 'set_alpha_to_one');
  },
};

const DDIM: ClassSpec<DdimConfig> = {
  className: SCHEDULER_CLASSES.ddim.className,
  defaults: {
    ...NOISE_DEFAULTS,
    clip_sample: true,
    set_alpha_to_one: true,
    steps_offset: 0,
    prediction_type: 'epsilon',
    thresholding: false,
    dynamic_thresholding_ratio: 0.995,
    clip_sample_range: 1.0,
    sample_max_value: 1.0,
    timestep_spacing: 'leading',
    rescale_betas_zero_snr: false,
  },
  check(config) {
    checkCommon(config);
    expectBoolean(config, 'clip_sample');
    expectBoolean(config, 'set_alpha_to_one');
    expectValue(config, 'thresholding', false, 'dynamic thresholding is not supported (and unsuited to latent diffusion)');
    expectNumber(config, 'dynamic_thresholding_ratio');
    expectNumber(config, 'clip_sample_range', { min: 0, exclusiveMin: true });
    expectNumber(config, 'sample_max_value');
    expectValue(config, 'rescale_betas_zero_snr', false, 'zero-terminal-SNR rescaling is not supported');
  },
};

const EULER: ClassSpec<EulerConfig> = {
  className: SCHEDULER_CLASSES.euler.className,
  defaults: {
    ...NOISE_DEFAULTS,
    prediction_type: 'epsilon',
    interpolation_type: 'linear',
    use_karras_sigmas: false,
    use_exponential_sigmas: false,
    use_beta_sigmas: false,
    sigma_min: null,
    sigma_max: null,
    timestep_spacing: 'linspace',
    timestep_type: 'discrete',
    steps_offset: 0,
    rescale_betas_zero_snr: false,
    final_sigmas_type: 'zero',
  },
  check(config) {
    checkCommon(config);
    expectValue(config, 'interpolation_type', 'linear', 'only linear sigma interpolation is supported');
    checkSigmaShapes(config);
    for (const key of ['sigma_min', 'sigma_max']) {
      if (config[key] !== null) expectNumber(config, key, { min: 0, exclusiveMin: true });
    }
    expectValue(config, 'timestep_type', 'discrete', 'continuous timesteps are not supported');
    expectValue(config, 'rescale_betas_zero_snr', false, 'zero-terminal-SNR rescaling is not supported');
    expectOneOf(config, 'final_sigmas_type', ['zero', 'sigma_min']);
  },
};

const EULER_ANCESTRAL: ClassSpec<EulerAncestralConfig> = {
  className: SCHEDULER_CLASSES.euler_ancestral.className,
  defaults: {
    ...NOISE_DEFAULTS,
    prediction_type: 'epsilon',
    timestep_spacing: 'linspace',
    steps_offset: 0,
    rescale_betas_zero_snr: false,
  },
  check(config) {
    checkCommon(config);
    expectValue(config, 'rescale_betas_zero_snr', false, 'zero-terminal-SNR rescaling is not supported');
  },
};

const DPM_SOLVER_MULTISTEP_DEFAULTS: DpmSolverMultistepConfig = {
  ...NOISE_DEFAULTS,
  solver_order: 2,
  prediction_type: 'epsilon',
  thresholding: false,
  dynamic_thresholding_ratio: 0.995,
  sample_max_value: 1.0,
  algorithm_type: 'dpmsolver++',
  solver_type: 'midpoint',
  lower_order_final: true,
  euler_at_final: false,
  use_karras_sigmas: false,
  use_exponential_sigmas: false,
  use_beta_sigmas: false,
  use_lu_lambdas: false,
  use_flow_sigmas: false,
  flow_shift: 1.0,
  final_sigmas_type: 'zero',
  lambda_min_clipped: -Infinity,
  variance_type: null,
  timestep_spacing: 'linspace',
  steps_offset: 0,
  rescale_betas_zero_snr: false,
  use_dynamic_shifting: false,
  time_shift_type: 'exponential',
};

function checkDpmSolverMultistep(config: Record<string, unknown>): void {
  checkCommon(config);
  expectOneOf(config, 'solver_order', [1, 2]);
  expectValue(config, 'thresholding', false, 'dynamic thresholding is not supported (and unsuited to latent diffusion)');
  expectValue(config, 'algorithm_type', 'dpmsolver++', 'only the deterministic DPM-Solver++ is supported');
  expectOneOf(config, 'solver_type', ['midpoint', 'heun']);
  expectBoolean(config, 'lower_order_final');
  expectBoolean(config, 'euler_at_final');
  checkSigmaShapes(config);
  expectValue(config, 'use_lu_lambdas', false, 'uniform log-SNR steps are not supported');
  expectValue(config, 'use_flow_sigmas', false, 'flow-matching sigmas are not supported');
  expectValue(config, 'use_dynamic_shifting', false, 'dynamic shifting is not supported');
  expectOneOf(config, 'final_sigmas_type', ['zero', 'sigma_min']);
  expectValue(config, 'lambda_min_clipped', -Infinity, 'clipping lambda is not supported');
  expectValue(config, 'variance_type', null, 'learned variance is not supported');
  expectValue(config, 'rescale_betas_zero_snr', false, 'zero-terminal-SNR rescaling is not supported');
}

const DPMPP_2M: ClassSpec<DpmSolverMultistepConfig> = {
  className: SCHEDULER_CLASSES.dpmpp_2m.className,
  defaults: DPM_SOLVER_MULTISTEP_DEFAULTS,
  overrides: SCHEDULER_CLASSES.dpmpp_2m.fixes,
  check: checkDpmSolverMultistep,
};

const DPMPP_2M_KARRAS: ClassSpec<DpmSolverMultistepConfig> = {
  ...DPMPP_2M,
  overrides: SCHEDULER_CLASSES.dpmpp_2m_karras.fixes,
};

const LMS: ClassSpec<LmsConfig> = {
  className: SCHEDULER_CLASSES.lms.className,
  defaults: {
    ...NOISE_DEFAULTS,
    use_karras_sigmas: false,
    use_exponential_sigmas: false,
    use_beta_sigmas: false,
    prediction_type: 'epsilon',
    timestep_spacing: 'linspace',
    steps_offset: 0,
  },
  check(config) {
    checkCommon(config);
    checkSigmaShapes(config);
  },
};

const LCM: ClassSpec<LcmConfig> = {
  className: SCHEDULER_CLASSES.lcm.className,
  // LCMScheduler's own defaults differ from the other classes' (SD 1.x betas, set_alpha_to_one).
  defaults: {
    num_train_timesteps: 1000,
    beta_start: 0.00085,
    beta_end: 0.012,
    beta_schedule: 'scaled_linear',
    trained_betas: null,
    original_inference_steps: 50,
    clip_sample: false,
    clip_sample_range: 1.0,
    set_alpha_to_one: true,
    steps_offset: 0,
    prediction_type: 'epsilon',
    thresholding: false,
    dynamic_thresholding_ratio: 0.995,
    sample_max_value: 1.0,
    timestep_spacing: 'leading',
    timestep_scaling: 10.0,
    rescale_betas_zero_snr: false,
  },
  check(config) {
    checkCommon(config);
    expectInteger(config, 'original_inference_steps', 1);
    if ((config.original_inference_steps as number) > (config.num_train_timesteps as number)) {
      throw new SchedulerConfigError('original_inference_steps', config.original_inference_steps, 'expected at most num_train_timesteps');
    }
    expectBoolean(config, 'clip_sample');
    expectNumber(config, 'clip_sample_range', { min: 0, exclusiveMin: true });
    expectBoolean(config, 'set_alpha_to_one');
    expectValue(config, 'thresholding', false, 'dynamic thresholding is not supported (and unsuited to latent diffusion)');
    expectNumber(config, 'dynamic_thresholding_ratio');
    expectNumber(config, 'sample_max_value');
    expectNumber(config, 'timestep_scaling', { min: 0, exclusiveMin: true });
    expectValue(config, 'rescale_betas_zero_snr', false, 'zero-terminal-SNR rescaling is not supported');
  },
};

const SPECS: { readonly [N in SchedulerName]: ClassSpec<SchedulerConfigs[N]> } = {
  pndm: PNDM,
  ddim: DDIM,
  euler: EULER,
  euler_ancestral: EULER_ANCESTRAL,
  dpmpp_2m: DPMPP_2M,
  dpmpp_2m_karras: DPMPP_2M_KARRAS,
  lms: LMS,
  lcm: LCM,
};

/**
 * The configuration scheduler `name` runs with for a model whose `scheduler_config.json` is
 * `modelConfig`: class defaults, then the file's known keys, then the name's own settings.
 * @throws SchedulerConfigError naming the key when a value is invalid or not supported here
 */
export function resolveSchedulerConfig<N extends SchedulerName>(name: N, modelConfig: SchedulerConfigJson): SchedulerConfigs[N] {
  const spec: ClassSpec<SchedulerConfigs[N]> = SPECS[name];
  if (spec === undefined) throw new SchedulerConfigError('scheduler', name, 'unknown scheduler name');
  const resolved: Record<string, unknown> = { ...spec.defaults };
  for (const key of Object.keys(spec.defaults)) {
    if (Object.prototype.hasOwnProperty.call(modelConfig, key)) resolved[key] = modelConfig[key];
  }
  Object.assign(resolved, spec.overrides);
  spec.check(resolved);
  return resolved as unknown as SchedulerConfigs[N];
}

// Which of our schedulers a model ships as its default; the deploy reads it at synth too.
export { schedulerNameForConfig } from '../../../../contract/scheduler-classes';

function checkCommon(config: Record<string, unknown>): void {
  expectInteger(config, 'num_train_timesteps', 1);
  expectNumber(config, 'beta_start', { min: 0 });
  expectNumber(config, 'beta_end', { min: 0 });
  expectOneOf(config, 'beta_schedule', BETA_SCHEDULES);
  const trained = config.trained_betas;
  if (trained !== null) {
    if (!Array.isArray(trained) || !trained.every((b) => typeof b === 'number' && b >= 0 && b < 1)) {
      throw new SchedulerConfigError('trained_betas', trained, 'expected null or an array of numbers in [0, 1)');
    }
    if (trained.length !== config.num_train_timesteps) {
      throw new SchedulerConfigError('trained_betas', trained, `expected ${config.num_train_timesteps} values (num_train_timesteps)`);
    }
  }
  expectOneOf(config, 'prediction_type', PREDICTION_TYPES);
  expectOneOf(config, 'timestep_spacing', TIMESTEP_SPACINGS);
  expectInteger(config, 'steps_offset', 0);
}

function checkSigmaShapes(config: Record<string, unknown>): void {
  expectBoolean(config, 'use_karras_sigmas');
  expectValue(config, 'use_exponential_sigmas', false, 'exponential sigmas are not supported');
  expectValue(config, 'use_beta_sigmas', false, 'beta sigmas are not supported');
}

function expectValue(config: Record<string, unknown>, key: string, expected: unknown, reason: string): void {
  if (config[key] !== expected) throw new SchedulerConfigError(key, config[key], reason);
}

function expectOneOf(config: Record<string, unknown>, key: string, allowed: readonly unknown[]): void {
  if (!allowed.includes(config[key])) {
    throw new SchedulerConfigError(key, config[key], `expected one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`);
  }
}

function expectBoolean(config: Record<string, unknown>, key: string): void {
  if (typeof config[key] !== 'boolean') throw new SchedulerConfigError(key, config[key], 'expected true or false');
}

function expectInteger(config: Record<string, unknown>, key: string, min: number): void {
  const value = config[key];
  if (!Number.isInteger(value) || (value as number) < min) {
    throw new SchedulerConfigError(key, value, `expected an integer >= ${min}`);
  }
}

function expectNumber(config: Record<string, unknown>, key: string, range: { min?: number; exclusiveMin?: boolean } = {}): void {
  const value = config[key];
  const { min, exclusiveMin = false } = range;
  const belowMin = min !== undefined && typeof value === 'number' && (exclusiveMin ? value <= min : value < min);
  if (typeof value !== 'number' || !Number.isFinite(value) || belowMin) {
    throw new SchedulerConfigError(key, value, `expected a finite number${min === undefined ? '' : exclusiveMin ? ` > ${min}` : ` >= ${min}`}`);
  }
}
