import type { EulerAncestralConfig } from './config';
import { f32 } from './numerics';
import type { SchedulerStepOptions } from './scheduler';
import { SigmaScheduler } from './sigma-scheduler';

/**
 * Ancestral Euler sampling (k-diffusion `sample_euler_ancestral`): an Euler step down to
 * `sigma_down`, then fresh noise of scale `sigma_up`. Follows diffusers
 * `schedulers/scheduling_euler_ancestral_discrete.py` (`EulerAncestralDiscreteScheduler`),
 * drawing one sample-shaped noise tensor per step, the last step included, as it does.
 */
export class EulerAncestralScheduler extends SigmaScheduler {
  readonly name = 'euler_ancestral';

  constructor(override readonly config: EulerAncestralConfig) {
    super(config);
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
    // Drawn before the Euler step, which uses no randomness: a missing source fails before `out` is written.
    const noise = this.stepNoise(options, shape, out.length, 'every step');
    const sigmaFrom = this.sigmaAt(index);
    const sigmaTo = this.sigmaAt(index + 1);
    const from2 = f32(sigmaFrom * sigmaFrom);
    const to2 = f32(sigmaTo * sigmaTo);
    const sigmaUp = f32(Math.sqrt(f32(f32(to2 * f32(from2 - to2)) / from2)));
    const sigmaDown = f32(Math.sqrt(f32(to2 - f32(sigmaUp * sigmaUp))));
    this.eulerStep(modelOutput, sample, out, sigmaFrom, sigmaDown);
    for (let i = 0; i < out.length; i++) out[i] += noise[i] * sigmaUp;
  }
}
