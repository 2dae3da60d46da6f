import type { SchedulerName } from '../../../../contract/limits';
import { SchedulerUsageError } from './errors';
import { f32 } from './numerics';
import type { Scheduler, SchedulerStepOptions, SchedulerStepOutput } from './scheduler';

/** What `setTimesteps` produces: the UNet call order and, where the family has them, its sigmas. */
export interface Schedule {
  readonly timesteps: readonly number[];
  readonly sigmas?: readonly number[];
  readonly initNoiseSigma: number;
}

/**
 * The bookkeeping every scheduler shares, as diffusers keeps `_step_index`: the schedule, which
 * call comes next, and refusal of calls out of order. Subclasses supply only the math.
 *
 * Arrays handed in are never written to, except the `out` buffers a caller passes: otherwise each
 * step returns a new `prevSample`, because the caller may keep the previous latents (per-step
 * comparisons). History a multistep method needs is kept in buffers the scheduler owns and reuses.
 */
export abstract class DiscreteScheduler implements Scheduler {
  abstract readonly name: SchedulerName;
  readonly order = 1;
  private schedule: Schedule | undefined;
  /** Index into `timesteps` of the call that comes next. */
  protected stepIndex = 0;
  /** Index into `timesteps` of the run's first call (image-to-image starts later). */
  protected beginIndex = 0;

  constructor(protected readonly numTrainTimesteps: number) {}

  get timesteps(): readonly number[] {
    return this.current().timesteps;
  }

  get sigmas(): readonly number[] | undefined {
    return this.current().sigmas;
  }

  get initNoiseSigma(): number {
    return this.current().initNoiseSigma;
  }

  setTimesteps(numInferenceSteps: number): void {
    if (!Number.isInteger(numInferenceSteps) || numInferenceSteps < 1 || numInferenceSteps > this.numTrainTimesteps) {
      throw new SchedulerUsageError(
        `\`numInferenceSteps\` must be an integer from 1 to num_train_timesteps (${this.numTrainTimesteps}) but is ${numInferenceSteps}.`,
      );
    }
    this.schedule = this.createSchedule(numInferenceSteps);
    this.stepIndex = 0;
    this.beginIndex = 0;
    this.resetHistory();
  }

  setBeginIndex(index: number): void {
    const { timesteps } = this.current();
    if (this.stepIndex !== this.beginIndex) {
      throw new SchedulerUsageError(`setBeginIndex(): the ${this.name} run has already started; call setTimesteps() first.`);
    }
    if (!Number.isInteger(index) || index < 0 || index >= timesteps.length) {
      throw new SchedulerUsageError(`setBeginIndex(): \`index\` must be an integer from 0 to ${timesteps.length - 1} but is ${index}.`);
    }
    this.beginIndex = index;
    this.stepIndex = index;
  }

  addNoise(original: Float32Array, noise: Float32Array, timestep: number): Float32Array {
    this.expectNext(timestep, 'addNoise');
    if (noise.length !== original.length) {
      throw new SchedulerUsageError(`addNoise(): \`noise\` has ${noise.length} values but \`original\` has ${original.length}.`);
    }
    const [onOriginal, onNoise] = this.noiseScales(this.stepIndex);
    const out = new Float32Array(original.length);
    // Float32 tensor math in diffusers: each product rounds, then the sum.
    for (let i = 0; i < out.length; i++) out[i] = f32(onOriginal * original[i]) + f32(onNoise * noise[i]);
    return out;
  }

  scaleModelInput(sample: Float32Array, timestep: number, out?: Float32Array): Float32Array {
    this.expectNext(timestep, 'scaleModelInput');
    if (out !== undefined) checkOut(out, sample.length, [sample], 'scaleModelInput');
    return this.scale(sample, this.stepIndex, out);
  }

  step(
    modelOutput: Float32Array,
    timestep: number,
    sample: Float32Array,
    shape: readonly number[],
    options: SchedulerStepOptions = {},
  ): SchedulerStepOutput {
    this.expectNext(timestep, 'step');
    const size = shape.reduce((a, b) => a * b, 1);
    if (sample.length !== size || modelOutput.length !== size) {
      throw new SchedulerUsageError(
        `\`sample\` (${sample.length} values) and \`modelOutput\` (${modelOutput.length}) must both fit shape [${shape.join(', ')}] (${size} values).`,
      );
    }
    if (options.out !== undefined) checkOut(options.out, size, [sample, modelOutput], 'step');
    const prevSample = options.out ?? new Float32Array(size);
    const denoised = this.advance(modelOutput, sample, prevSample, this.stepIndex, shape, options);
    this.stepIndex += 1;
    return denoised === undefined ? { prevSample } : { prevSample, denoised };
  }

  /** Chooses timesteps (and sigmas) for `numInferenceSteps` steps, already validated. */
  protected abstract createSchedule(numInferenceSteps: number): Schedule;

  /** Forgets multistep history; called by `setTimesteps`. */
  protected abstract resetHistory(): void;

  /**
   * `[onOriginal, onNoise]` of the forward process to the noise level of call `index`:
   * `noisy = onOriginal * original + onNoise * noise`.
   */
  protected abstract noiseScales(index: number): readonly [number, number];

  /** The model input for call `index`, into `out` or a new array; `sample` itself where the family does not scale. */
  protected scale(sample: Float32Array, _index: number, _out?: Float32Array): Float32Array {
    return sample;
  }

  /** Writes into `out` the sample after call `index`; returns the denoised estimate where the family outputs it. */
  protected abstract advance(
    modelOutput: Float32Array,
    sample: Float32Array,
    out: Float32Array,
    index: number,
    shape: readonly number[],
    options: SchedulerStepOptions,
  ): Float32Array | void;

  /** The fresh noise a stochastic step adds, checked against the sample's size; `when` says at which steps. */
  protected stepNoise(options: SchedulerStepOptions, shape: readonly number[], length: number, when: string): Float32Array {
    if (options.noise === undefined) {
      throw new SchedulerUsageError(`${this.name} draws noise ${when}: pass \`options.noise\` to step().`);
    }
    const noise = options.noise.randn(shape);
    if (noise.length !== length) {
      throw new SchedulerUsageError(`the noise source returned ${noise.length} values for shape [${shape.join(', ')}] (${length}).`);
    }
    return noise;
  }

  private current(): Schedule {
    if (this.schedule === undefined) {
      throw new SchedulerUsageError(`The ${this.name} scheduler has no timesteps yet: call setTimesteps(numInferenceSteps) first.`);
    }
    return this.schedule;
  }

  private expectNext(timestep: number, method: string): void {
    const { timesteps } = this.current();
    if (this.stepIndex >= timesteps.length) {
      throw new SchedulerUsageError(
        `${method}(): the ${this.name} schedule is finished after ${timesteps.length} calls; call setTimesteps() to start a new run.`,
      );
    }
    const expected = timesteps[this.stepIndex];
    if (timestep !== expected) {
      const where = timesteps.includes(timestep) ? 'out of order' : 'not in the schedule';
      throw new SchedulerUsageError(
        `${method}(): timestep ${timestep} is ${where}; call ${this.stepIndex + 1} of ${timesteps.length} of the ${this.name} schedule is at timestep ${expected}.`,
      );
    }
  }
}

/** Refuses an `out` buffer of the wrong size, or one that is also an input of the call. */
function checkOut(out: Float32Array, size: number, inputs: readonly Float32Array[], method: string): void {
  if (out.length !== size) throw new SchedulerUsageError(`${method}(): \`out\` has ${out.length} values but the sample has ${size}.`);
  if (inputs.some((input) => overlaps(input, out))) throw new SchedulerUsageError(`${method}(): \`out\` must not share memory with the arrays it reads.`);
}

function overlaps(a: Float32Array, b: Float32Array): boolean {
  return a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}

/** Copies `source` into `buffer`, reallocating only when the size changed. */
export function keepCopy(buffer: Float32Array | undefined, source: Float32Array): Float32Array {
  const target = buffer !== undefined && buffer.length === source.length ? buffer : new Float32Array(source.length);
  target.set(source);
  return target;
}
