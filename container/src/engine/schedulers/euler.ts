import type { EulerConfig } from './config';
import type { Schedule } from './discrete-scheduler';
import { trainingSchedule, type TrainingSchedule } from './noise-schedule';
import { f32 } from './numerics';
import { SigmaScheduler, sigmaSchedule } from './sigma-scheduler';

/**
 * Euler's method on the probability-flow ODE (Karras et al. 2022, algorithm 2, without churn).
 * Follows diffusers `schedulers/scheduling_euler_discrete.py` (`EulerDiscreteScheduler`).
 */
export class EulerScheduler extends SigmaScheduler {
  readonly name = 'euler';
  private readonly training: TrainingSchedule;

  constructor(readonly config: EulerConfig) {
    super(config.num_train_timesteps, config.prediction_type);
    this.training = trainingSchedule(config);
  }

  protected createSchedule(numInferenceSteps: number): Schedule {
    return sigmaSchedule(numInferenceSteps, this.config, this.training);
  }

  protected resetHistory(): void {}

  protected advance(modelOutput: Float32Array, sample: Float32Array, out: Float32Array, index: number): void {
    // s_churn is 0 in the pipeline, so sigma_hat = sigma and no noise is drawn.
    const sigma = this.sigmaAt(index);
    const dt = f32(this.sigmaAt(index + 1) - sigma);
    const [onSample, onOutput] = this.denoisedCoefficients(sigma);
    for (let i = 0; i < out.length; i++) {
      const s = sample[i];
      const denoised = onSample * s + onOutput * modelOutput[i];
      out[i] = s + ((s - denoised) / sigma) * dt;
    }
  }
}
