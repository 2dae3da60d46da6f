import type { EulerConfig } from './config';
import { SigmaScheduler } from './sigma-scheduler';

/**
 * Euler's method on the probability-flow ODE (Karras et al. 2022, algorithm 2, without churn).
 * Follows diffusers `schedulers/scheduling_euler_discrete.py` (`EulerDiscreteScheduler`).
 */
export class EulerScheduler extends SigmaScheduler {
  readonly name = 'euler';

  constructor(override readonly config: EulerConfig) {
    super(config);
  }

  protected resetHistory(): void {}

  protected advance(modelOutput: Float32Array, sample: Float32Array, out: Float32Array, index: number): void {
    // s_churn is 0 in the pipeline, so sigma_hat = sigma and no noise is drawn.
    this.eulerStep(modelOutput, sample, out, this.sigmaAt(index), this.sigmaAt(index + 1));
  }
}
