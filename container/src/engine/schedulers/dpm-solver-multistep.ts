import type { DpmSolverMultistepConfig } from './config';
import { DiscreteScheduler, type Schedule } from './discrete-scheduler';
import { karrasSigmas, logSigmas, sigmaToTimestep, trainingSchedule, type TrainingSchedule } from './noise-schedule';
import { f32, interpOnIntegerGrid, roundHalfEven } from './numerics';
import { dpmSolverTimesteps } from './timestep-spacing';

/** alpha_t, sigma_t and lambda_t = log(alpha_t / sigma_t) of a VP noise level, in float32 as diffusers. */
interface NoiseLevel {
  readonly alpha: number;
  readonly sigma: number;
  readonly lambda: number;
}

function noiseLevel(sigma: number): NoiseLevel {
  const alpha = f32(1 / f32(Math.sqrt(f32(f32(sigma * sigma) + 1))));
  const sigmaT = f32(sigma * alpha);
  return { alpha, sigma: sigmaT, lambda: f32(f32(Math.log(alpha)) - f32(Math.log(sigmaT))) };
}

/**
 * DPM-Solver++ multistep (Lu et al. 2022, "DPM-Solver++"), first and second order on the
 * data prediction, optionally on Karras sigmas. Follows diffusers
 * `schedulers/scheduling_dpmsolver_multistep.py` (`DPMSolverMultistepScheduler`).
 */
export class DpmSolverMultistepScheduler extends DiscreteScheduler {
  readonly name: 'dpmpp_2m' | 'dpmpp_2m_karras';
  private readonly training: TrainingSchedule;
  /** Data predictions x0 of the current and the previous call, reused. */
  private latestX0: Float32Array | undefined;
  private earlierX0: Float32Array | undefined;
  /** How many steps have run, capped at the solver order (diffusers `lower_order_nums`). */
  private lowerOrderNums = 0;

  constructor(readonly config: DpmSolverMultistepConfig) {
    super(config.num_train_timesteps);
    this.name = config.use_karras_sigmas ? 'dpmpp_2m_karras' : 'dpmpp_2m';
    this.training = trainingSchedule(config);
  }

  protected createSchedule(numInferenceSteps: number): Schedule {
    const trainSigmas = this.training.sigmas;
    let timesteps = dpmSolverTimesteps(numInferenceSteps, {
      spacing: this.config.timestep_spacing,
      numTrainTimesteps: this.config.num_train_timesteps,
      stepsOffset: this.config.steps_offset,
    });
    let sigmas: ArrayLike<number>;
    if (this.config.use_karras_sigmas) {
      sigmas = karrasSigmas(trainSigmas[0], trainSigmas[trainSigmas.length - 1], numInferenceSteps);
      const logs = logSigmas(trainSigmas);
      timesteps = Array.from(sigmas, (sigma) => roundHalfEven(sigmaToTimestep(sigma, logs)));
    } else {
      sigmas = timesteps.map((t) => interpOnIntegerGrid(t, trainSigmas));
    }
    const last = this.config.final_sigmas_type === 'sigma_min' ? (this.config.use_karras_sigmas ? f32(sigmas[sigmas.length - 1]) : trainSigmas[0]) : 0;
    return { timesteps, sigmas: [...Array.from(sigmas, f32), last], initNoiseSigma: 1 };
  }

  protected resetHistory(): void {
    this.lowerOrderNums = 0;
  }

  /** The VP forward process `α_t x + σ_t ε` at the call's sigma (diffusers' `add_noise` here). */
  protected noiseScales(index: number): readonly [number, number] {
    const level = noiseLevel((this.sigmas as readonly number[])[index]);
    return [level.alpha, level.sigma];
  }

  protected advance(modelOutput: Float32Array, sample: Float32Array, out: Float32Array, index: number): void {
    const { config } = this;
    const steps = this.timesteps.length;
    const sigmas = this.sigmas as readonly number[];
    // Lower orders at the end stabilise few-step runs (diffusers `lower_order_final`); its
    // `lower_order_second` only chooses between orders 2 and 3, and order 3 is not offered.
    const lowerOrderFinal =
      index === steps - 1 && (config.euler_at_final || (config.lower_order_final && steps < 15) || config.final_sigmas_type === 'zero');

    const s0 = noiseLevel(sigmas[index]);
    const t = noiseLevel(sigmas[index + 1]);

    // convert_model_output: the data prediction x0.
    [this.earlierX0, this.latestX0] = [this.latestX0, this.earlierX0];
    if (this.latestX0?.length !== out.length) this.latestX0 = new Float32Array(out.length);
    const x0 = this.latestX0;
    if (config.prediction_type === 'epsilon') {
      for (let i = 0; i < x0.length; i++) x0[i] = (sample[i] - s0.sigma * modelOutput[i]) / s0.alpha;
    } else {
      for (let i = 0; i < x0.length; i++) x0[i] = s0.alpha * sample[i] - s0.sigma * modelOutput[i];
    }

    const h = f32(t.lambda - s0.lambda);
    const ratio = f32(t.sigma / s0.sigma);
    const expm1 = f32(f32(Math.exp(-h)) - 1);
    const onD0 = f32(t.alpha * expm1);
    if (config.solver_order === 1 || this.lowerOrderNums < 1 || lowerOrderFinal) {
      // First order: DDIM in DPM-Solver++ form.
      for (let i = 0; i < out.length; i++) out[i] = ratio * sample[i] - onD0 * x0[i];
    } else {
      const previous = this.earlierX0 as Float32Array;
      const s1 = noiseLevel(sigmas[index - 1]);
      const h0 = f32(s0.lambda - s1.lambda);
      const r0 = f32(h0 / h);
      const onDiff = f32(1 / r0);
      // D1 = (1 / r0) (m0 − m1); midpoint: − 0.5 α_t (e^−h − 1) D1; heun: + α_t ((e^−h − 1) / h + 1) D1.
      const onD1 = config.solver_type === 'midpoint' ? f32(-0.5 * onD0) : f32(t.alpha * f32(f32(expm1 / h) + 1));
      for (let i = 0; i < out.length; i++) {
        const d1 = onDiff * (x0[i] - previous[i]);
        out[i] = ratio * sample[i] - onD0 * x0[i] + onD1 * d1;
      }
    }
    this.lowerOrderNums = Math.min(this.lowerOrderNums + 1, config.solver_order);
  }
}
