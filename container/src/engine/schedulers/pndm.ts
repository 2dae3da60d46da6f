import type { PndmConfig } from './config';
import { DiscreteScheduler, keepCopy, type Schedule } from './discrete-scheduler';
import { ddpmNoiseScales, trainingSchedule, type TrainingSchedule } from './noise-schedule';
import { f32 } from './numerics';
import { pndmBaseTimesteps } from './timestep-spacing';

/**
 * Pseudo numerical methods (Liu et al. 2022), PLMS only (`skip_prk_steps`), as Stable Diffusion
 * ships it. Follows diffusers `schedulers/scheduling_pndm.py` (`PNDMScheduler.step_plms`).
 *
 * The UNet runs steps + 1 times: the second timestep is repeated, and that second call redoes the
 * first step from the starting sample with the average of both noise predictions (a Heun warm-up).
 */
export class PndmScheduler extends DiscreteScheduler {
  readonly name = 'pndm';
  private readonly training: TrainingSchedule;
  private readonly finalAlphaCumprod: number;
  private stepRatio = 0;
  /** The last (up to) four noise predictions, oldest first; buffers are reused. */
  private ets: Float32Array[] = [];
  private spare: Float32Array[] = [];
  /** The sample the first step started from, for the warm-up call. */
  private firstSample: Float32Array | undefined;
  /** The multistep combination of noise predictions, reused across steps. */
  private combined: Float32Array | undefined;

  constructor(readonly config: PndmConfig) {
    super(config.num_train_timesteps);
    this.training = trainingSchedule(config);
    this.finalAlphaCumprod = config.set_alpha_to_one ? 1 : this.training.alphasCumprod[0];
  }

  protected createSchedule(numInferenceSteps: number): Schedule {
    this.stepRatio = Math.floor(this.config.num_train_timesteps / numInferenceSteps);
    const base = pndmBaseTimesteps(numInferenceSteps, {
      spacing: this.config.timestep_spacing,
      numTrainTimesteps: this.config.num_train_timesteps,
      stepsOffset: this.config.steps_offset,
    });
    // plms_timesteps = concat(base[:-1], base[-2:-1], base[-1:])[::-1]
    const timesteps = [...base.slice(0, -1), ...base.slice(-2, -1), ...base.slice(-1)].reverse();
    return { timesteps, initNoiseSigma: 1 };
  }

  protected resetHistory(): void {
    this.spare.push(...this.ets);
    this.ets = [];
  }

  protected noiseScales(index: number): readonly [number, number] {
    return ddpmNoiseScales(this.training.alphasCumprod, this.timesteps[index]);
  }

  protected advance(modelOutput: Float32Array, sample: Float32Array, out: Float32Array, index: number): void {
    // diffusers' PNDM counts its calls from the run's first (it has no begin index), so an
    // image-to-image run treats its second call as the warm-up's repeated timestep, as diffusers does.
    const counter = index - this.beginIndex;
    let timestep = this.timesteps[index];
    let prevTimestep = timestep - this.stepRatio;
    if (counter === 1) {
      // The repeated timestep: step again from the first sample, to where the first step landed.
      prevTimestep = timestep;
      timestep = timestep + this.stepRatio;
    } else {
      this.remember(modelOutput);
    }

    const e = this.ets;
    const n = e.length;
    let from = sample;
    let eps: Float32Array;
    if (n === 1 && counter === 0) {
      this.firstSample = keepCopy(this.firstSample, sample);
      eps = modelOutput;
    } else {
      if (this.combined?.length !== out.length) this.combined = new Float32Array(out.length);
      const c = this.combined;
      const last = e[n - 1];
      if (n === 1 && counter === 1) {
        for (let i = 0; i < c.length; i++) c[i] = (modelOutput[i] + last[i]) / 2;
        from = this.firstSample as Float32Array;
      } else if (n === 2) {
        const e2 = e[0];
        for (let i = 0; i < c.length; i++) c[i] = (3 * last[i] - e2[i]) / 2;
      } else if (n === 3) {
        const [e3, e2] = e;
        for (let i = 0; i < c.length; i++) c[i] = (23 * last[i] - 16 * e2[i] + 5 * e3[i]) / 12;
      } else {
        const [e4, e3, e2] = e;
        for (let i = 0; i < c.length; i++) c[i] = (1 / 24) * (55 * last[i] - 59 * e2[i] + 37 * e3[i] - 9 * e4[i]);
      }
      eps = c;
    }
    this.previousSample(from, timestep, prevTimestep, eps, out);
  }

  /** Appends a noise prediction to the last four, reusing the oldest buffer. */
  private remember(modelOutput: Float32Array): void {
    const recycled = this.ets.length === 4 ? this.ets.shift() : this.spare.pop();
    this.ets.push(keepCopy(recycled, modelOutput));
  }

  /** Formula (9) of the PNDM paper: x_t → x_(t−δ) given the (combined) noise prediction. */
  private previousSample(sample: Float32Array, timestep: number, prevTimestep: number, modelOutput: Float32Array, out: Float32Array): void {
    const alphaProdT = this.training.alphasCumprod[timestep];
    const alphaProdPrev = prevTimestep >= 0 ? this.training.alphasCumprod[prevTimestep] : this.finalAlphaCumprod;
    const betaProdT = f32(1 - alphaProdT);
    const betaProdPrev = f32(1 - alphaProdPrev);
    const sampleCoeff = f32(Math.sqrt(f32(alphaProdPrev / alphaProdT)));
    const denominator = f32(
      f32(alphaProdT * f32(Math.sqrt(betaProdPrev))) + f32(Math.sqrt(f32(f32(alphaProdT * betaProdT) * alphaProdPrev))),
    );
    const outputCoeff = f32(alphaProdPrev - alphaProdT) / denominator;
    const v = this.config.prediction_type === 'v_prediction';
    const sqrtAlpha = f32(Math.sqrt(alphaProdT));
    const sqrtBeta = f32(Math.sqrt(betaProdT));
    for (let i = 0; i < out.length; i++) {
      const s = sample[i];
      // v prediction is turned into epsilon first: eps = sqrt(ᾱ) v + sqrt(1 − ᾱ) x.
      const eps = v ? sqrtAlpha * modelOutput[i] + sqrtBeta * s : modelOutput[i];
      out[i] = sampleCoeff * s - outputCoeff * eps;
    }
  }
}
