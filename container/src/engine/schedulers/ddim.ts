import type { DdimConfig } from './config';
import { DiscreteScheduler, type Schedule } from './discrete-scheduler';
import { ddpmNoiseScales, trainingSchedule, type TrainingSchedule } from './noise-schedule';
import { f32 } from './numerics';
import { ddimTimesteps } from './timestep-spacing';

/**
 * Deterministic DDIM (Song et al. 2021, eta = 0). Follows diffusers
 * `schedulers/scheduling_ddim.py` (`DDIMScheduler`).
 */
export class DdimScheduler extends DiscreteScheduler {
  readonly name = 'ddim';
  private readonly training: TrainingSchedule;
  private readonly finalAlphaCumprod: number;
  private numInferenceSteps = 0;

  constructor(readonly config: DdimConfig) {
    super(config.num_train_timesteps);
    this.training = trainingSchedule(config);
    this.finalAlphaCumprod = config.set_alpha_to_one ? 1 : this.training.alphasCumprod[0];
  }

  protected createSchedule(numInferenceSteps: number): Schedule {
    this.numInferenceSteps = numInferenceSteps;
    const timesteps = ddimTimesteps(numInferenceSteps, {
      spacing: this.config.timestep_spacing,
      numTrainTimesteps: this.config.num_train_timesteps,
      stepsOffset: this.config.steps_offset,
    });
    return { timesteps, initNoiseSigma: 1 };
  }

  protected resetHistory(): void {}

  protected noiseScales(index: number): readonly [number, number] {
    return ddpmNoiseScales(this.training.alphasCumprod, this.timesteps[index]);
  }

  protected advance(modelOutput: Float32Array, sample: Float32Array, out: Float32Array, index: number): void {
    const timestep = this.timesteps[index];
    // diffusers steps back by N // n whatever the spacing, and past 0 uses the final alpha.
    const prevTimestep = timestep - Math.floor(this.config.num_train_timesteps / this.numInferenceSteps);
    const alphaProdT = this.training.alphasCumprod[timestep];
    const alphaProdPrev = prevTimestep >= 0 ? this.training.alphasCumprod[prevTimestep] : this.finalAlphaCumprod;
    const sqrtAlpha = f32(Math.sqrt(alphaProdT));
    const sqrtBeta = f32(Math.sqrt(f32(1 - alphaProdT)));
    const sqrtAlphaPrev = f32(Math.sqrt(alphaProdPrev));
    // "direction pointing to x_t" with std_dev_t = 0 (eta 0).
    const direction = f32(Math.sqrt(f32(1 - alphaProdPrev)));
    const epsilon = this.config.prediction_type === 'epsilon';
    const clip = this.config.clip_sample;
    const range = this.config.clip_sample_range;
    for (let i = 0; i < out.length; i++) {
      const s = sample[i];
      const m = modelOutput[i];
      let x0 = epsilon ? (s - sqrtBeta * m) / sqrtAlpha : sqrtAlpha * s - sqrtBeta * m;
      const eps = epsilon ? m : sqrtAlpha * m + sqrtBeta * s;
      if (clip) x0 = x0 < -range ? -range : x0 > range ? range : x0;
      out[i] = sqrtAlphaPrev * x0 + direction * eps;
    }
  }
}
