import type { PredictionType } from './config';
import { DiscreteScheduler, type Schedule } from './discrete-scheduler';
import { f32, interpOnIntegerGrid } from './numerics';
import { karrasSigmas, logSigmas, sigmaToTimestep, trainingSchedule, type NoiseScheduleConfig, type TrainingSchedule } from './noise-schedule';
import { sigmaSchedulerTimesteps, type TimestepSpacing } from './timestep-spacing';

export interface SigmaScheduleOptions {
  readonly timestep_spacing: TimestepSpacing;
  readonly steps_offset: number;
  readonly num_train_timesteps: number;
  readonly use_karras_sigmas?: boolean;
  readonly sigma_min?: number | null;
  readonly sigma_max?: number | null;
  readonly final_sigmas_type?: 'zero' | 'sigma_min';
}

/** What every k-diffusion scheduler's configuration holds. */
export interface SigmaSchedulerConfig extends SigmaScheduleOptions, NoiseScheduleConfig {
  readonly prediction_type: PredictionType;
}

/**
 * Timesteps and sigmas of the k-diffusion family (Euler, Euler ancestral, LMS), as diffusers'
 * `scheduling_euler_discrete.py` `set_timesteps` computes them: float32 timesteps, sigmas
 * interpolated in float64 from the float32 training sigmas, then stored as float32.
 */
export function sigmaSchedule(n: number, options: SigmaScheduleOptions, training: TrainingSchedule): Schedule {
  let timesteps = sigmaSchedulerTimesteps(n, {
    spacing: options.timestep_spacing,
    numTrainTimesteps: options.num_train_timesteps,
    stepsOffset: options.steps_offset,
  });
  let sigmas: ArrayLike<number> = timesteps.map((t) => interpOnIntegerGrid(t, training.sigmas));
  if (options.use_karras_sigmas === true) {
    const karras = karrasSigmas(options.sigma_min ?? sigmas[sigmas.length - 1], options.sigma_max ?? sigmas[0], n);
    const logs = logSigmas(training.sigmas);
    timesteps = Array.from(karras, (sigma) => f32(sigmaToTimestep(sigma, logs)));
    sigmas = karras;
  }
  const last = options.final_sigmas_type === 'sigma_min' ? training.sigmas[0] : 0;
  const stored = [...Array.from(sigmas, f32), last];
  const maxSigma = Math.max(...stored);
  // diffusers' `init_noise_sigma`: the largest sigma, or sqrt(sigma^2 + 1) of it under "leading".
  const initNoiseSigma =
    options.timestep_spacing === 'leading' ? f32(Math.sqrt(f32(f32(maxSigma * maxSigma) + 1))) : maxSigma;
  return { timesteps, sigmas: stored, initNoiseSigma };
}

/**
 * The k-diffusion schedulers' shared parts: the UNet sees `sample / sqrt(sigma^2 + 1)`, and the
 * denoised estimate comes from epsilon or v prediction.
 */
export abstract class SigmaScheduler extends DiscreteScheduler {
  private readonly training: TrainingSchedule;

  constructor(readonly config: SigmaSchedulerConfig) {
    super(config.num_train_timesteps);
    this.training = trainingSchedule(config);
  }

  protected createSchedule(numInferenceSteps: number): Schedule {
    return sigmaSchedule(numInferenceSteps, this.config, this.training);
  }

  /** Euler's method from `sigma` to `sigmaNext` on the probability-flow ODE: x + (x − x0)/σ · Δσ. */
  protected eulerStep(modelOutput: Float32Array, sample: Float32Array, out: Float32Array, sigma: number, sigmaNext: number): void {
    const dt = f32(sigmaNext - sigma);
    const [onSample, onOutput] = this.denoisedCoefficients(sigma);
    for (let i = 0; i < out.length; i++) {
      const s = sample[i];
      const denoised = onSample * s + onOutput * modelOutput[i];
      out[i] = s + ((s - denoised) / sigma) * dt;
    }
  }

  /** k-diffusion's forward process: `x + σ ε` (diffusers' `EulerDiscreteScheduler.add_noise`). */
  protected noiseScales(index: number): readonly [number, number] {
    return [1, this.sigmaAt(index)];
  }

  protected sigmaAt(index: number): number {
    return (this.sigmas as readonly number[])[index];
  }

  protected override scale(sample: Float32Array, index: number, out?: Float32Array): Float32Array {
    const sigma = this.sigmaAt(index);
    // Float32 tensor math in diffusers: (sigma**2 + 1) ** 0.5, then one float32 division per element.
    const divisor = f32(Math.sqrt(f32(f32(sigma * sigma) + 1)));
    const scaled = out ?? new Float32Array(sample.length);
    for (let i = 0; i < sample.length; i++) scaled[i] = sample[i] / divisor;
    return scaled;
  }

  /**
   * Coefficients `[onSample, onModelOutput]` with `x0 = onSample * sample + onModelOutput * output`
   * at noise level `sigma` (v prediction: Salimans & Ho 2022, c_skip and c_out).
   */
  protected denoisedCoefficients(sigma: number): readonly [number, number] {
    if (this.config.prediction_type === 'epsilon') return [1, -sigma];
    const variance = f32(f32(sigma * sigma) + 1);
    return [f32(1 / variance), f32(-sigma / f32(Math.sqrt(variance)))];
  }
}
