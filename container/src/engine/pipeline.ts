/**
 * Stable Diffusion 1.x text-to-image on onnxruntime, step for step the way diffusers'
 * `StableDiffusionPipeline.__call__` runs: check inputs → encode prompt → set timesteps → prepare
 * latents → denoising loop (scale input → UNet → guidance → scheduler step) → decode.
 */
import { DEFAULTS, type SchedulerName } from '../../../contract/limits';
import { resolveExecutionProviders, type ExecutionProviderChoice } from './onnx/execution-provider';
import { ModelSession, type PreparedFeed } from './onnx/model-session';
import { readModelFolder, type ModelFolder } from './model/model-folder';
import {
  describeTextEncoder,
  describeUnet,
  describeVaeDecoder,
  type TextEncoderInterface,
  type UnetInterface,
  type VaeDecoderInterface,
} from './model/sd-interface';
import { ClipTokenizer } from './tokenizer/clip-tokenizer';
import { createScheduler, schedulerNameForConfig } from './schedulers';
import type { NoiseSource } from './schedulers/scheduler';
import { PerImageNoise, ReplayNoise, seedForImage } from './noise/noise-sources';
import { cropLatents, latentPaddingFor, padLatents } from './latent-padding';

export interface PipelineLoadOptions {
  /** Where the models run. @default 'auto' (CUDA when installed and a GPU is visible, else CPU) */
  readonly executionProvider?: ExecutionProviderChoice;
}

export interface GenerateOptions {
  readonly prompt: string;
  /** @default '' */
  readonly negativePrompt?: string;
  /** @default DEFAULTS.steps */
  readonly steps?: number;
  /** At or below 1, classifier-free guidance is off and the UNet runs one batch. @default DEFAULTS.guidanceScale */
  readonly guidanceScale?: number;
  /** @default - the model's native size (UNet sample_size × 8), else DEFAULTS.width */
  readonly width?: number;
  /** @default - the model's native size (UNet sample_size × 8), else DEFAULTS.height */
  readonly height?: number;
  /** Image i uses seed + i. @default - a random seed, reported in the result */
  readonly seed?: number;
  /** @default - the scheduler class named in the model's scheduler_config.json */
  readonly scheduler?: SchedulerName;
  /** @default 1 */
  readonly numImages?: number;
  /** Unit-variance starting noise [numImages,4,h/8,w/8]; replaces the seeded noise. */
  readonly initialNoise?: Float32Array;
  /** Noise for ancestral schedulers, consumed in order; replaces the seeded noise for steps. */
  readonly stepNoise?: Float32Array;
  /** Called after every scheduler step. */
  readonly onStep?: (progress: StepProgress) => void;
  /** Checked between steps; aborting rejects with a GenerationCancelledError. */
  readonly signal?: AbortSignal;
}

export interface StepProgress {
  /** 1-based index of the UNet call just finished. */
  readonly step: number;
  readonly totalSteps: number;
  readonly timestep: number;
  /** The latents after this step (live buffer: copy it to keep it). */
  readonly latents: Float32Array;
}

export interface DecodedImage {
  /** HWC, RGB, float32 in [0, 1]. */
  readonly pixels: Float32Array;
  readonly width: number;
  readonly height: number;
  readonly seed: number;
}

export interface ResolvedParameters {
  readonly prompt: string;
  readonly negativePrompt: string;
  readonly steps: number;
  readonly guidanceScale: number;
  readonly width: number;
  readonly height: number;
  readonly seed: number;
  readonly scheduler: SchedulerName;
  readonly numImages: number;
}

export interface GenerateResult {
  readonly images: DecodedImage[];
  readonly parameters: ResolvedParameters;
  readonly timings: { readonly encodePromptMs: number; readonly denoiseMs: number; readonly decodeMs: number; readonly totalMs: number };
}

/** A generation option this model cannot honour; `field` names it in API terms. */
export class InvalidGenerationInputError extends RangeError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'InvalidGenerationInputError';
  }
}

export class GenerationCancelledError extends Error {
  constructor() {
    super('generation was cancelled');
    this.name = 'GenerationCancelledError';
  }
}

interface Sessions {
  readonly textEncoder: ModelSession;
  readonly unet: ModelSession;
  readonly vaeDecoder: ModelSession;
}

export class StableDiffusionPipeline {
  /** Loads and checks every part of a model folder; sessions are created in parallel and reused. */
  static async load(modelDir: string, options: PipelineLoadOptions = {}): Promise<StableDiffusionPipeline> {
    const folder = await readModelFolder(modelDir);
    const defaultScheduler = schedulerNameForConfig(folder.schedulerConfig);
    createScheduler(defaultScheduler, folder.schedulerConfig); // refuse a bad scheduler config now, not at first request
    const sessionOptions = { executionProviders: resolveExecutionProviders(options.executionProvider ?? 'auto') };
    const [tokenizer, textEncoder, unet, vaeDecoder] = await Promise.all([
      ClipTokenizer.fromModelFolder(folder.tokenizerDir),
      ModelSession.create(folder.textEncoderFile, 'text_encoder/model.onnx', sessionOptions),
      ModelSession.create(folder.unetFile, 'unet/model.onnx', sessionOptions),
      ModelSession.create(folder.vaeDecoderFile, 'vae_decoder/model.onnx', sessionOptions),
    ]);
    const sessions = { textEncoder, unet, vaeDecoder };
    try {
      const textEncoderIo = describeTextEncoder(textEncoder);
      const unetIo = describeUnet(unet, textEncoderIo);
      const vaeIo = describeVaeDecoder(vaeDecoder, unetIo);
      return new StableDiffusionPipeline(folder, tokenizer, sessions, textEncoderIo, unetIo, vaeIo, defaultScheduler, sessionOptions.executionProviders[0]);
    } catch (error) {
      await Promise.all(Object.values(sessions).map((session) => session.release()));
      throw error;
    }
  }

  private constructor(
    readonly folder: ModelFolder,
    readonly tokenizer: ClipTokenizer,
    readonly sessions: Sessions,
    private readonly textEncoderIo: TextEncoderInterface,
    private readonly unetIo: UnetInterface,
    private readonly vaeIo: VaeDecoderInterface,
    readonly defaultScheduler: SchedulerName,
    /** The provider the sessions were created for. */
    readonly executionProvider: 'cuda' | 'cpu',
  ) {}

  /** The size used when a request names none. */
  get defaultSize(): { width: number; height: number } {
    const native = this.folder.nativeSize;
    return { width: native ?? DEFAULTS.width, height: native ?? DEFAULTS.height };
  }

  async generate(options: GenerateOptions): Promise<GenerateResult> {
    const started = performance.now();
    // 1. Check inputs
    const params = this.resolveParameters(options);
    const latentShape = [params.numImages, this.unetIo.latentChannels, params.height / 8, params.width / 8];
    const doGuidance = params.guidanceScale > 1;

    // 2. Encode the prompt (and the negative prompt for classifier-free guidance)
    const promptEmbeds = await this.encodePrompt(params.prompt, params.negativePrompt, params.numImages, doGuidance);
    const encodedAt = performance.now();

    // 3. Set timesteps
    const scheduler = createScheduler(params.scheduler, this.folder.schedulerConfig);
    scheduler.setTimesteps(params.steps);

    // 4. Prepare latents
    const seeds = Array.from({ length: params.numImages }, (_, i) => seedForImage(params.seed, i));
    const seededNoise = new PerImageNoise(seeds);
    let latents = this.prepareLatents(latentShape, options.initialNoise ?? seededNoise.randn(latentShape), scheduler.initNoiseSigma);
    const stepNoise: NoiseSource = options.stepNoise ? new ReplayNoise(options.stepNoise, 'step noise') : seededNoise;

    // 5. Denoising loop
    const unetBatch = doGuidance ? 2 * params.numImages : params.numImages;
    const latentSize = latents.length;
    const unetSample = doGuidance ? new Float32Array(2 * latentSize) : undefined;
    const noisePred = doGuidance ? new Float32Array(latentSize) : undefined;
    const padding = latentPaddingFor(latentShape[2], latentShape[3], this.folder.sizeMultiple / this.folder.vaeScaleFactor);
    const [unetHeight, unetWidth] = padding ? [padding.paddedHeight, padding.paddedWidth] : [latentShape[2], latentShape[3]];
    const unetSampleDims = [unetBatch, latentShape[1], unetHeight, unetWidth];
    const paddedSample = padding ? new Float32Array(unetBatch * latentShape[1] * unetHeight * unetWidth) : undefined;
    const croppedPrediction = padding ? new Float32Array(unetBatch * (latentSize / params.numImages)) : undefined;
    const timesteps = scheduler.timesteps;
    for (let i = 0; i < timesteps.length; i++) {
      if (options.signal?.aborted) throw new GenerationCancelledError();
      const t = timesteps[i];
      const scaled = scheduler.scaleModelInput(latents, t);
      let sample = scaled;
      if (unetSample) {
        unetSample.set(scaled, 0);
        unetSample.set(scaled, latentSize);
        sample = unetSample;
      }
      if (padding && paddedSample) {
        padLatents(sample, paddedSample, padding);
        sample = paddedSample;
      }
      const output = await this.sessions.unet.run(
        {
          [this.unetIo.sample.name]: { data: sample, dims: unetSampleDims },
          [this.unetIo.timestep.name]: this.timestepFeed(t, unetBatch),
          [this.unetIo.encoderHiddenStates.name]: promptEmbeds,
        },
        [this.unetIo.noisePrediction.name],
      );
      let prediction = output[this.unetIo.noisePrediction.name].data;
      if (padding && croppedPrediction) {
        cropLatents(prediction, croppedPrediction, padding);
        prediction = croppedPrediction;
      }
      if (noisePred) {
        // noise_pred = uncond + g * (text - uncond); the batch is [negative..., positive...].
        const g = params.guidanceScale;
        for (let j = 0; j < latentSize; j++) {
          const uncond = prediction[j];
          noisePred[j] = uncond + g * (prediction[j + latentSize] - uncond);
        }
      }
      latents = scheduler.step(noisePred ?? prediction, t, latents, latentShape, { noise: stepNoise }).prevSample;
      options.onStep?.({ step: i + 1, totalSteps: timesteps.length, timestep: t, latents });
    }
    if (options.signal?.aborted) throw new GenerationCancelledError();
    const denoisedAt = performance.now();

    // 6. Decode
    const images: DecodedImage[] = [];
    const perImage = latentSize / params.numImages;
    for (let i = 0; i < params.numImages; i++) {
      const pixels = await this.decodeLatents(latents.subarray(i * perImage, (i + 1) * perImage), latentShape);
      images.push({ pixels, width: params.width, height: params.height, seed: seeds[i] });
    }
    const finished = performance.now();
    return {
      images,
      parameters: params,
      timings: {
        encodePromptMs: encodedAt - started,
        denoiseMs: denoisedAt - encodedAt,
        decodeMs: finished - denoisedAt,
        totalMs: finished - started,
      },
    };
  }

  /** Releases the onnxruntime sessions; the pipeline is unusable afterwards. */
  async release(): Promise<void> {
    await Promise.all(Object.values(this.sessions).map((session) => session.release()));
  }

  private resolveParameters(options: GenerateOptions): ResolvedParameters {
    const width = options.width ?? this.defaultSize.width;
    const height = options.height ?? this.defaultSize.height;
    const multiple = this.folder.vaeScaleFactor;
    for (const [field, value] of [['width', width], ['height', height]] as const) {
      if (!Number.isInteger(value) || value <= 0 || value % multiple !== 0) {
        throw new InvalidGenerationInputError(field, `\`height\` and \`width\` have to be positive and divisible by ${multiple} but are ${height} and ${width}.`);
      }
    }
    const steps = options.steps ?? DEFAULTS.steps;
    if (!Number.isInteger(steps) || steps < 1) throw new InvalidGenerationInputError('steps', `\`steps\` has to be a positive integer but is ${steps}.`);
    const guidanceScale = options.guidanceScale ?? DEFAULTS.guidanceScale;
    if (!Number.isFinite(guidanceScale)) throw new InvalidGenerationInputError('guidance_scale', `\`guidanceScale\` has to be a finite number but is ${guidanceScale}.`);
    const numImages = options.numImages ?? DEFAULTS.numImages;
    if (!Number.isInteger(numImages) || numImages < 1) throw new InvalidGenerationInputError('num_images', `\`numImages\` has to be a positive integer but is ${numImages}.`);
    const seed = options.seed ?? Math.floor(Math.random() * 2 ** 32);
    if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) throw new InvalidGenerationInputError('seed', `\`seed\` has to be an integer in [0, 2^32) but is ${seed}.`);
    if (typeof options.prompt !== 'string') throw new InvalidGenerationInputError('prompt', '`prompt` has to be a string.');
    return {
      prompt: options.prompt,
      negativePrompt: options.negativePrompt ?? DEFAULTS.negativePrompt,
      steps,
      guidanceScale,
      width,
      height,
      seed,
      scheduler: options.scheduler ?? this.defaultScheduler,
      numImages,
    };
  }

  private async encodePrompt(prompt: string, negativePrompt: string, numImages: number, doGuidance: boolean): Promise<PreparedFeed> {
    const texts = doGuidance ? [negativePrompt, prompt] : [prompt];
    const embeddings = await Promise.all(texts.map((text) => this.encodeText(text)));
    const [, sequence, width] = embeddings[0].dims;
    const perImage = sequence * width;
    const batched = new Float32Array(texts.length * numImages * perImage);
    embeddings.forEach((embedding, group) => {
      for (let i = 0; i < numImages; i++) batched.set(embedding.data, (group * numImages + i) * perImage);
    });
    return this.sessions.unet.prepare(this.unetIo.encoderHiddenStates.name, {
      data: batched,
      dims: [texts.length * numImages, sequence, width],
    });
  }

  private async encodeText(text: string) {
    const ids = this.tokenizer.encode(text);
    const output = await this.sessions.textEncoder.run(
      { [this.textEncoderIo.inputIds.name]: { data: ids, dims: [1, ids.length] } },
      [this.textEncoderIo.hiddenStates.name],
    );
    return output[this.textEncoderIo.hiddenStates.name];
  }

  private prepareLatents(shape: readonly number[], noise: Float32Array, initNoiseSigma: number): Float32Array {
    const expected = shape.reduce((a, b) => a * b, 1);
    if (noise.length !== expected) {
      throw new InvalidGenerationInputError('initial_noise', `initial noise must have ${expected} values (shape [${shape.join(',')}]) but has ${noise.length}`);
    }
    const latents = new Float32Array(expected);
    for (let i = 0; i < expected; i++) latents[i] = noise[i] * initNoiseSigma;
    return latents;
  }

  private timestepFeed(t: number, batch: number) {
    // Optimum exports take a float scalar; early diffusers exports an int64 [batch].
    return this.unetIo.timestep.shape.length === 0 ? { data: [t], dims: [] } : { data: new Array<number>(batch).fill(t), dims: [batch] };
  }

  private async decodeLatents(latents: Float32Array, latentShape: readonly number[]): Promise<Float32Array> {
    const scaled = new Float32Array(latents.length);
    const factor = this.folder.vaeScalingFactor;
    for (let i = 0; i < latents.length; i++) scaled[i] = latents[i] / factor;
    const output = await this.sessions.vaeDecoder.run(
      { [this.vaeIo.latentSample.name]: { data: scaled, dims: [1, ...latentShape.slice(1)] } },
      [this.vaeIo.image.name],
    );
    const { data, dims } = output[this.vaeIo.image.name];
    return chwToHwcUnit(data, dims[1], dims[2], dims[3]);
  }
}

/** [-1, 1] CHW → [0, 1] HWC, as diffusers' `(image / 2 + 0.5).clamp(0, 1)` then permute. */
function chwToHwcUnit(chw: Float32Array, channels: number, height: number, width: number): Float32Array {
  const plane = height * width;
  const hwc = new Float32Array(channels * plane);
  for (let c = 0; c < channels; c++) {
    for (let p = 0; p < plane; p++) {
      const value = chw[c * plane + p] / 2 + 0.5;
      hwc[p * channels + c] = value < 0 ? 0 : value > 1 ? 1 : value;
    }
  }
  return hwc;
}
