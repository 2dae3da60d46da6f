import type { LcmConfig } from './config';
import { DiscreteScheduler, type Schedule } from './discrete-scheduler';
import { SchedulerUsageError } from './errors';
import { ddpmNoiseScales, trainingSchedule, type TrainingSchedule } from './noise-schedule';
import { f32 } from './numerics';
import type { SchedulerStepOptions } from './scheduler';

/** Consistency models' data standard deviation (Song et al. 2023), fixed in diffusers. */
const SIGMA_DATA = 0.5;

/**
 * Multistep latent consistency sampling (Luo et al. 2023, "Latent Consistency Models", algorithm 3):
 * each step maps the sample to its clean estimate through the consistency function, then noises it
 * back to the next timestep with fresh noise, except after the last step. Follows diffusers
 * `schedulers/scheduling_lcm.py` (`LCMScheduler`).
 */
export class LcmScheduler extends DiscreteScheduler {
  readonly name = 'lcm';
  private readonly training: TrainingSchedule;
  private readonly finalAlphaCumprod: number;

  constructor(readonly config: LcmConfig) {
    super(config.num_train_timesteps);
    this.training = trainingSchedule(config);
    this.finalAlphaCumprod = config.set_alpha_to_one ? 1 : this.training.alphasCumprod[0];
  }

  /**
   * The distillation schedule is every k-th training timestep (k = N // original_inference_steps,
   * ending at N − 1); inference takes `n` of them at evenly spaced indices, from the noisiest.
   */
  protected createSchedule(numInferenceSteps: number): Schedule {
    const original = this.config.original_inference_steps;
    if (numInferenceSteps > original) {
      throw new SchedulerUsageError(
        `\`numInferenceSteps\` must be at most original_inference_steps (${original}) for lcm but is ${numInferenceSteps}: its timesteps are a subset of that schedule.`,
      );
    }
    const k = Math.floor(this.config.num_train_timesteps / original);
    const distillation = Array.from({ length: original }, (_, i) => (original - i) * k - 1);
    // np.floor(np.linspace(0, len, n, endpoint=False)): i * (len / n), rounded down.
    const spacing = distillation.length / numInferenceSteps;
    const timesteps = Array.from({ length: numInferenceSteps }, (_, i) => distillation[Math.floor(i * spacing)]);
    return { timesteps, initNoiseSigma: 1 };
  }

  protected resetHistory(): void {}

  protected noiseScales(index: number): readonly [number, number] {
    return ddpmNoiseScales(this.training.alphasCumprod, this.timesteps[index]);
  }

  protected advance(
    modelOutput: Float32Array,
    sample: Float32Array,
    out: Float32Array,
    index: number,
    shape: readonly number[],
    options: SchedulerStepOptions,
  ): Float32Array {
    const { timesteps } = this;
    const timestep = timesteps[index];
    const last = index === timesteps.length - 1;
    const prevTimestep = last ? timestep : timesteps[index + 1];
    const alphaProdT = this.training.alphasCumprod[timestep];
    const alphaProdPrev = prevTimestep >= 0 ? this.training.alphasCumprod[prevTimestep] : this.finalAlphaCumprod;
    const sqrtAlpha = f32(Math.sqrt(alphaProdT));
    const sqrtBeta = f32(Math.sqrt(f32(1 - alphaProdT)));

    // Boundary conditions: c_skip → 1 and c_out → 0 as t → 0, so the consistency function is the identity there.
    const scaled = f32(timestep * this.config.timestep_scaling);
    const scaledSquared = f32(f32(scaled * scaled) + SIGMA_DATA ** 2);
    const cSkip = f32(SIGMA_DATA ** 2 / scaledSquared);
    const cOut = f32(scaled / f32(Math.sqrt(scaledSquared)));

    const epsilon = this.config.prediction_type === 'epsilon';
    const clip = this.config.clip_sample;
    const range = this.config.clip_sample_range;
    const denoised = new Float32Array(out.length);
    for (let i = 0; i < out.length; i++) {
      const s = sample[i];
      const m = modelOutput[i];
      let x0 = epsilon ? (s - sqrtBeta * m) / sqrtAlpha : sqrtAlpha * s - sqrtBeta * m;
      if (clip) x0 = x0 < -range ? -range : x0 > range ? range : x0;
      denoised[i] = cOut * x0 + cSkip * s;
    }
    if (last) {
      // No noise after the last step, so one-step sampling is a single consistency evaluation.
      out.set(denoised);
      return denoised;
    }
    const noise = this.stepNoise(options, shape, out.length, 'at every step but the last');
    const sqrtAlphaPrev = f32(Math.sqrt(alphaProdPrev));
    const sqrtBetaPrev = f32(Math.sqrt(f32(1 - alphaProdPrev)));
    for (let i = 0; i < out.length; i++) out[i] = sqrtAlphaPrev * denoised[i] + sqrtBetaPrev * noise[i];
    return denoised;
  }
}
