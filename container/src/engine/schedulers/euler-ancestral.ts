import type { EulerAncestralConfig } from './config';
import type { Schedule } from './discrete-scheduler';
import { SchedulerUsageError } from './errors';
import { trainingSchedule, type TrainingSchedule } from './noise-schedule';
import { f32 } from './numerics';
import type { SchedulerStepOptions } from './scheduler';
import { SigmaScheduler, sigmaSchedule } from './sigma-scheduler';

/**
 * Ancestral Euler sampling (k-diffusion `sample_euler_ancestral`): an Euler step down to
 * `sigma_down`, then fresh noise of scale `sigma_up`. Follows diffusers
 * `schedulers/scheduling_euler_ancestral_discrete.py` (`EulerAncestralDiscreteScheduler`),
 * drawing one sample-shaped noise tensor per step, the last step included, as it does.
 */
export class EulerAncestralScheduler extends SigmaScheduler {
  readonly name = 'euler_ancestral';
  private readonly training: TrainingSchedule;

  constructor(readonly config: EulerAncestralConfig) {
    super(config.num_train_timesteps, config.prediction_type);
    this.training = trainingSchedule(config);
  }

  protected createSchedule(numInferenceSteps: number): Schedule {
    return sigmaSchedule(numInferenceSteps, this.config, this.training);
  }

  protected resetHistory(): void {}

  protected advance(
    modelOutput: Float32Array,
    sample: Float32Array,
    out: Float32Array,
    index: number,
    shape: readonly number[],
    options: SchedulerStepOptions,
  ): void {
    if (options.noise === undefined) {
      throw new SchedulerUsageError('euler_ancestral draws noise every step: pass `options.noise` to step().');
    }
    const sigmaFrom = this.sigmaAt(index);
    const sigmaTo = this.sigmaAt(index + 1);
    const from2 = f32(sigmaFrom * sigmaFrom);
    const to2 = f32(sigmaTo * sigmaTo);
    const sigmaUp = f32(Math.sqrt(f32(f32(to2 * f32(from2 - to2)) / from2)));
    const sigmaDown = f32(Math.sqrt(f32(to2 - f32(sigmaUp * sigmaUp))));
    const dt = f32(sigmaDown - sigmaFrom);
    const [onSample, onOutput] = this.denoisedCoefficients(sigmaFrom);
    for (let i = 0; i < out.length; i++) {
      const s = sample[i];
      const denoised = onSample * s + onOutput * modelOutput[i];
      out[i] = s + ((s - denoised) / sigmaFrom) * dt;
    }
    const noise = options.noise.randn(shape);
    if (noise.length !== out.length) {
      throw new SchedulerUsageError(`the noise source returned ${noise.length} values for shape [${shape.join(', ')}] (${out.length}).`);
    }
    for (let i = 0; i < out.length; i++) out[i] += noise[i] * sigmaUp;
  }
}
