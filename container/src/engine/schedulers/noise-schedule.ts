import { f32, numpyLinspace, torchLinspaceFloat32 } from './numerics';

export const BETA_SCHEDULES = ['linear', 'scaled_linear', 'squaredcos_cap_v2'] as const;
export type BetaSchedule = (typeof BETA_SCHEDULES)[number];

/** The `scheduler_config.json` keys every scheduler family derives its training noise schedule from. */
export interface NoiseScheduleConfig {
  readonly num_train_timesteps: number;
  readonly beta_start: number;
  readonly beta_end: number;
  readonly beta_schedule: BetaSchedule;
  readonly trained_betas: readonly number[] | null;
}

/**
 * The training betas in float32, as every diffusers scheduler's `__init__` builds them
 * (diffusers `schedulers/scheduling_ddpm.py`: `betas_for_alpha_bar` and the `beta_schedule` branches).
 */
export function trainingBetas(config: NoiseScheduleConfig): Float32Array {
  const n = config.num_train_timesteps;
  if (config.trained_betas !== null) return Float32Array.from(config.trained_betas);
  switch (config.beta_schedule) {
    case 'linear':
      return torchLinspaceFloat32(config.beta_start, config.beta_end, n);
    case 'scaled_linear': {
      // "very specific to the latent diffusion model": linear in sqrt(beta), squared in float32.
      const roots = torchLinspaceFloat32(config.beta_start ** 0.5, config.beta_end ** 0.5, n);
      return roots.map((r) => r * r);
    }
    case 'squaredcos_cap_v2':
      return cosineBetas(n);
  }
}

/** Glide's cosine schedule (Nichol & Dhariwal 2021), computed in float64 and stored as float32. */
function cosineBetas(n: number, maxBeta = 0.999): Float32Array {
  const alphaBar = (t: number) => Math.cos(((t + 0.008) / 1.008) * Math.PI / 2) ** 2;
  const betas = new Float32Array(n);
  for (let i = 0; i < n; i++) betas[i] = Math.min(1 - alphaBar((i + 1) / n) / alphaBar(i / n), maxBeta);
  return betas;
}

/**
 * `torch.cumprod(1.0 - betas)`: the subtraction rounds to float32, but torch's CPU cumprod
 * accumulates in double and rounds each prefix product to float32 only when storing it.
 */
export function alphasCumprod(betas: Float32Array): Float32Array {
  const out = new Float32Array(betas.length);
  let product = 1;
  for (let i = 0; i < betas.length; i++) {
    product *= f32(1 - betas[i]);
    out[i] = product;
  }
  return out;
}

/** `((1 - alphas_cumprod) / alphas_cumprod) ** 0.5` as float32 tensor math, indexed by training timestep. */
export function trainingSigmas(alphasCumprod: Float32Array): Float32Array {
  return alphasCumprod.map((a) => Math.sqrt(f32(f32(1 - a) / a)));
}

/** `np.log(sigmas)` of the float32 training sigmas: the result is float32 too. */
export function logSigmas(sigmas: Float32Array): Float64Array {
  return Float64Array.from(sigmas, (s) => f32(Math.log(s)));
}

/**
 * Karras et al. (2022) noise levels, `rho = 7`, from `sigmaMax` down to `sigmaMin`, in float64
 * (diffusers `scheduling_euler_discrete.py` `_convert_to_karras`).
 */
export function karrasSigmas(sigmaMin: number, sigmaMax: number, numInferenceSteps: number): Float64Array {
  const rho = 7.0;
  const ramp = numpyLinspace(0, 1, numInferenceSteps);
  const minInvRho = sigmaMin ** (1 / rho);
  const maxInvRho = sigmaMax ** (1 / rho);
  return ramp.map((r) => (maxInvRho + r * (minInvRho - maxInvRho)) ** rho);
}

/**
 * The fractional training timestep of `sigma`, interpolating linearly in log-sigma between the two
 * neighbouring training timesteps (diffusers `_sigma_to_t`).
 */
export function sigmaToTimestep(sigma: number, logSigmasByTimestep: Float64Array): number {
  const logSigma = Math.log(Math.max(sigma, 1e-10));
  // numpy takes the last index whose log-sigma is <= log(sigma) (0 when none), capped to leave a neighbour.
  let low = 0;
  for (let i = 0; i < logSigmasByTimestep.length; i++) if (logSigma - logSigmasByTimestep[i] >= 0) low = i;
  low = Math.min(low, logSigmasByTimestep.length - 2);
  const lowLog = logSigmasByTimestep[low];
  const highLog = logSigmasByTimestep[low + 1];
  const w = Math.min(Math.max((lowLog - logSigma) / (lowLog - highLog), 0), 1);
  return (1 - w) * low + w * (low + 1);
}

/** The per-training-timestep tables a scheduler derives once from its configuration. */
export interface TrainingSchedule {
  readonly alphasCumprod: Float32Array;
  /** `sqrt((1 - ᾱ) / ᾱ)`, ascending with the timestep. */
  readonly sigmas: Float32Array;
}

export function trainingSchedule(config: NoiseScheduleConfig): TrainingSchedule {
  const cumprod = alphasCumprod(trainingBetas(config));
  return { alphasCumprod: cumprod, sigmas: trainingSigmas(cumprod) };
}

/**
 * DDPM's forward process `sqrt(ᾱ_t) x + sqrt(1 − ᾱ_t) ε` as `[onOriginal, onNoise]`, in float32 as
 * diffusers' `DDPMScheduler.add_noise` (which DDIM, PNDM and LCM copy) computes them.
 */
export function ddpmNoiseScales(alphasCumprod: Float32Array, timestep: number): readonly [number, number] {
  const alphaProd = alphasCumprod[timestep];
  return [f32(Math.sqrt(alphaProd)), f32(Math.sqrt(f32(1 - alphaProd)))];
}
