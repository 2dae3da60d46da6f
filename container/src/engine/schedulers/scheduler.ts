import type { SchedulerName } from '../../../../contract/limits';

/** Draws standard-normal noise; the pipeline supplies seeded or caller-provided sources. */
export interface NoiseSource {
  /** Returns `length` independent N(0, 1) samples for a tensor of the given shape. */
  randn(shape: readonly number[]): Float32Array;
}

export interface SchedulerStepOptions {
  /** Needed by ancestral samplers; others ignore it. */
  readonly noise?: NoiseSource;
  /**
   * Where `prevSample` is written: neither `sample` nor `modelOutput`, of the sample's size. The
   * denoising loop hands two buffers in turn so that a step allocates nothing.
   * @default - a new array
   */
  readonly out?: Float32Array;
}

export interface SchedulerStepOutput {
  readonly prevSample: Float32Array;
  /**
   * The model's clean-sample estimate, where the scheduler's output image is that rather than
   * `prevSample` (LCM: diffusers' LatentConsistencyModelPipeline decodes the last `denoised`).
   */
  readonly denoised?: Float32Array;
}

/**
 * The contract every scheduler keeps, shaped like diffusers' `SchedulerMixin`. The pipeline uses
 * nothing else, so adding a scheduler never touches the denoising loop.
 *
 * Tensors are flat Float32Arrays in NCHW order; `shape` travels with the sample where a step needs it.
 */
export interface Scheduler {
  readonly name: SchedulerName;
  /** UNet timesteps in call order (PNDM repeats one), valid after `setTimesteps`. */
  readonly timesteps: readonly number[];
  /** Noise sigmas where the scheduler has them (Euler, LMS, DPM++), with the trailing final sigma. */
  readonly sigmas: readonly number[] | undefined;
  /** Initial noise is multiplied by this before the first step. */
  readonly initNoiseSigma: number;
  /** UNet calls per step (diffusers' `scheduler.order`): image-to-image skips `order` timesteps per step it leaves out. */
  readonly order: number;
  /** Chooses the discrete timesteps for an inference run and resets all step state. */
  setTimesteps(numInferenceSteps: number): void;
  /**
   * Starts the run at `timesteps[index]` instead of the first (diffusers' `set_begin_index`, which
   * image-to-image calls): the next `scaleModelInput`, `addNoise` and `step` are at that timestep.
   * Multistep history starts empty there, as in diffusers.
   */
  setBeginIndex(index: number): void;
  /**
   * The forward process at the next timestep (diffusers' `add_noise`): `original` noised to that
   * timestep's level with `noise`. Image-to-image uses it on the encoded image before the first step.
   */
  addNoise(original: Float32Array, noise: Float32Array, timestep: number): Float32Array;
  /**
   * Scales the denoising model's input for the current timestep (identity for DDPM-family, which
   * return `sample` itself). Written into `out` where given, else into a new array.
   */
  scaleModelInput(sample: Float32Array, timestep: number, out?: Float32Array): Float32Array;
  /** Advances one step: from the model's noise prediction at `timestep`, the previous sample. */
  step(
    modelOutput: Float32Array,
    timestep: number,
    sample: Float32Array,
    shape: readonly number[],
    options?: SchedulerStepOptions,
  ): SchedulerStepOutput;
}

/**
 * The scheduler configuration as a model folder's `scheduler/scheduler_config.json` gives it.
 * Unknown keys are kept and ignored, as diffusers' `from_config` does.
 */
export type SchedulerConfigJson = Readonly<Record<string, unknown>>;
