/**
 * Stable Diffusion 1.x on onnxruntime, step for step the way diffusers runs it: text-to-image as
 * `StableDiffusionPipeline.__call__`, image-to-image as `StableDiffusionImg2ImgPipeline`, and
 * LCM-distilled UNets as `LatentConsistencyModelPipeline`. The steps: check inputs → encode
 * prompt → set timesteps → prepare latents → denoising loop (scale input → UNet → guidance →
 * scheduler step) → decode → safety checker.
 */
import type { DecoderChoice, DecoderName } from '../../../contract/decoder';
import { DEFAULTS, type SchedulerName } from '../../../contract/limits';
import { DEFAULT_SAFETY_CHECKER, type SafetyCheckerSetting } from '../../../contract/safety';
import { loadDecoders, loadTinyVaeSession, type Decoders } from './decoder/decoders';
import type { LatentDecoder } from './decoder/latent-decoder';
import { GenerationCancelledError, InvalidGenerationInputError } from './errors';
import { guidanceScaleEmbedding } from './guidance-embedding';
import { isMemoryMode, MEMORY_MODES, type MemoryMode } from './memory-mode';
import { openInitImage, outputSizeForImage, type InitImageInput, type InitImageSource } from './init-image';
import { cropLatents, latentPaddingFor, padLatents, type LatentPadding } from './latent-padding';
import { assertRequestFitsModel, modelCapabilities, resolveModelDefaults, type ModelCapabilities, type ModelDefaults } from './model/model-defaults';
import { readModelFolder, type ModelFolder } from './model/model-folder';
import {
  describeTextEncoder,
  describeUnet,
  describeVaeEncoder,
  type TextEncoderInterface,
  type UnetInterface,
  type VaeEncoderInterface,
} from './model/sd-interface';
import { loadSafetyFilter, type SafetyFilterState } from './safety/safety-filter';
import type { SafetyChecker, WithheldImage } from './safety/safety-checker';
import { PerImageNoise, ReplayNoise, seedForImage } from './noise/noise-sources';
import { resolveExecutionProviders, type ExecutionProviderChoice } from './onnx/execution-provider';
import { ModelSession, type PreparedFeed } from './onnx/model-session';
import { createScheduler, SchedulerUsageError } from './schedulers';
import type { NoiseSource, Scheduler } from './schedulers/scheduler';
import { ClipTokenizer } from './tokenizer/clip-tokenizer';

export { GenerationCancelledError, InvalidGenerationInputError } from './errors';
export type { InitImageInput, RgbPixels } from './init-image';
export type { MemoryMode } from './memory-mode';
export type { ModelCapabilities, ModelDefaults } from './model/model-defaults';

export interface PipelineLoadOptions {
  /** Where the models run. @default 'auto' (CUDA when installed and a GPU is visible, else CPU) */
  readonly executionProvider?: ExecutionProviderChoice;
  /**
   * `bounded` for memory-capped hosts (AWS Lambda): every UNet call is a batch of one, guidance
   * included, and onnxruntime returns memory after each run (see memory-mode.ts).
   * @default 'default'
   */
  readonly memory?: MemoryMode;
  /** `model`: run the folder's safety checker, where it has one, on every image; `off`: never. @default 'model' */
  readonly safetyChecker?: SafetyCheckerSetting;
  /** onnxruntime's intra-op threads for every session. @default - every CPU the host gives */
  readonly threads?: number;
  /** Which VAE decoder makes the final image (see contract/decoder.ts). @default 'auto' */
  readonly decoder?: DecoderChoice;
  /** A tiny VAE (TAESD) folder in the Hub layout. @default - `taesd/` inside the model folder, else beside it */
  readonly tinyVaeDir?: string;
}

export interface GenerateOptions {
  readonly prompt: string;
  /** Refused by LCM-distilled models (`capabilities.acceptsNegativePrompt`). @default '' */
  readonly negativePrompt?: string;
  /** @default - the model's (`defaults.steps`) */
  readonly steps?: number;
  /**
   * At or below 1, classifier-free guidance is off and the UNet runs one batch. An LCM-distilled
   * UNet never runs classifier-free guidance: it takes the scale as an embedding instead.
   * @default - the model's (`defaults.guidanceScale`)
   */
  readonly guidanceScale?: number;
  /** @default - from the init image's size and aspect ratio (see `outputSizeForImage`), else the model's (`defaults.width`) */
  readonly width?: number;
  /** @default - from the init image's size and aspect ratio (see `outputSizeForImage`), else the model's (`defaults.height`) */
  readonly height?: number;
  /** Image i uses seed + i. @default - a random seed, reported in the result */
  readonly seed?: number;
  /** @default - the model's (`defaults.scheduler`) */
  readonly scheduler?: SchedulerName;
  /** @default DEFAULTS.numImages */
  readonly numImages?: number;
  /** Image-to-image: the picture to start from. Refused when the model has no VAE encoder. */
  readonly initImage?: InitImageInput;
  /**
   * With `initImage` only, 0 < strength ≤ 1: how far up the noise schedule the picture is taken;
   * `min(floor(steps × strength), steps)` steps run. @default DEFAULTS.strength
   */
  readonly strength?: number;
  /**
   * Unit-variance noise [numImages,4,h/8,w/8] replacing the seeded draw: the starting latents, or
   * with `initImage` the noise mixed into the encoded picture at the first timestep.
   */
  readonly initialNoise?: Float32Array;
  /** With `initImage`: unit-variance noise [numImages,4,h/8,w/8] that samples the VAE encoder's distribution. */
  readonly encoderNoise?: Float32Array;
  /** Noise for schedulers that draw at every step (ancestral, LCM), consumed in order; replaces the seeded noise for steps. */
  readonly stepNoise?: Float32Array;
  /** This generation's decoder; `tiny` needs a tiny VAE (`canPreview`). @default - the pipeline's (`decoder`) */
  readonly decoder?: DecoderName;
  /** Called after every scheduler step. */
  readonly onStep?: (progress: StepProgress) => void;
  /** Checked between steps; aborting rejects with a GenerationCancelledError. */
  readonly signal?: AbortSignal;
}

export interface StepProgress {
  /** 1-based index of the UNet call just finished. */
  readonly step: number;
  /** UNet calls this run makes (image-to-image runs fewer than `steps`). */
  readonly totalSteps: number;
  readonly timestep: number;
  /** The latents after this step (live buffer: copy it to keep it). */
  readonly latents: Float32Array;
  /** The scheduler's estimate of the clean latents where it gives one (LCM); what a preview should show. */
  readonly denoised?: Float32Array;
  /** [numImages, channels, h/8, w/8] of `latents`. */
  readonly latentShape?: readonly number[];
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
  /** Set for image-to-image only. */
  readonly strength: number | undefined;
}

export interface GenerateResult {
  /** The images returned, in batch order; without those the safety checker withheld. */
  readonly images: DecodedImage[];
  /** Images the safety checker flagged: not to be encoded, returned or stored. */
  readonly withheld: WithheldImage[];
  readonly parameters: ResolvedParameters;
  readonly timings: {
    readonly encodePromptMs: number;
    /** Decoding, resizing and VAE-encoding the init image; 0 without one. */
    readonly encodeImageMs: number;
    readonly denoiseMs: number;
    readonly decodeMs: number;
    /** The safety checker on every image; 0 without one. */
    readonly safetyCheckMs: number;
    readonly totalMs: number;
  };
}

interface Sessions {
  readonly textEncoder: ModelSession;
  readonly unet: ModelSession;
  readonly vaeDecoder: ModelSession;
  readonly vaeEncoder?: ModelSession;
  readonly tinyVaeDecoder?: ModelSession;
}

/** The UNet's side of one generation: batch layout, constant feeds and reused buffers. */
interface UnetBatch {
  readonly numImages: number;
  /** Classifier-free guidance: the UNet sees [negative..., positive...], twice the images. */
  readonly guided: boolean;
  readonly guidanceScale: number;
  /** Rows of the whole batch. */
  readonly size: number;
  /** Rows per UNet call: the whole batch, or 1 under bounded memory. */
  readonly rowsPerCall: number;
  /** Values per batch of latents (all images). */
  readonly latentSize: number;
  /** The `sample` of one call. */
  readonly sampleDims: readonly number[];
  readonly padding: LatentPadding | undefined;
  /** `encoder_hidden_states` per call: row r of the batch takes feed ⌊r / rowsPerFeed⌋. */
  readonly promptEmbeds: readonly PreparedFeed[];
  readonly rowsPerFeed: number;
  readonly timestepCond: PreparedFeed | undefined;
  readonly doubled: Float32Array | undefined;
  readonly padded: Float32Array | undefined;
  readonly cropped: Float32Array | undefined;
  /** Every row's prediction, gathered from calls of one row. */
  readonly rowPredictions: Float32Array | undefined;
  readonly guidedPrediction: Float32Array | undefined;
}

interface DenoiseRun {
  readonly scheduler: Scheduler;
  readonly timesteps: readonly number[];
  readonly latents: Float32Array;
  readonly latentShape: readonly number[];
  readonly unet: UnetBatch;
  readonly stepNoise: NoiseSource;
  readonly onStep: GenerateOptions['onStep'];
  readonly signal: AbortSignal | undefined;
}

export class StableDiffusionPipeline {
  /**
   * Loads and checks every part of a model folder; the sessions are created once and reused.
   * onnxruntime-node creates them one after another on the JS thread, whatever `Promise.all` asks:
   * each part's creation time adds to a cold start (model-session.ts keeps it short).
   */
  static async load(modelDir: string, options: PipelineLoadOptions = {}): Promise<StableDiffusionPipeline> {
    const memory = options.memory ?? 'default';
    if (!isMemoryMode(memory)) throw new Error(`memory has to be one of ${MEMORY_MODES.join(', ')} but is ${JSON.stringify(memory)}`);
    const folder = await readModelFolder(modelDir);
    const sessionOptions = { executionProviders: resolveExecutionProviders(options.executionProvider ?? 'auto'), memory, threads: options.threads };
    // The UNet and the decoders run a batch of one under bounded memory (memory-mode.ts).
    const batchOfOneOptions = { ...sessionOptions, batchOfOne: memory === 'bounded' };
    const [tokenizer, textEncoder, unet, vaeDecoder, vaeEncoder, tinyVae, safety] = await Promise.all([
      ClipTokenizer.fromModelFolder(folder.tokenizerDir),
      ModelSession.create(folder.textEncoderFile, 'text_encoder/model.onnx', sessionOptions),
      ModelSession.create(folder.unetFile, 'unet/model.onnx', batchOfOneOptions),
      ModelSession.create(folder.vaeDecoderFile, 'vae_decoder/model.onnx', batchOfOneOptions),
      folder.vaeEncoderFile === undefined ? undefined : ModelSession.create(folder.vaeEncoderFile, 'vae_encoder/model.onnx', sessionOptions),
      loadTinyVaeSession(folder.dir, options.tinyVaeDir, batchOfOneOptions),
      loadSafetyFilter(folder.safetyChecker, options.safetyChecker ?? DEFAULT_SAFETY_CHECKER, sessionOptions),
    ]);
    const sessions: Sessions = { textEncoder, unet, vaeDecoder, ...(vaeEncoder ? { vaeEncoder } : {}), ...(tinyVae ? { tinyVaeDecoder: tinyVae.session } : {}) };
    try {
      const textEncoderIo = describeTextEncoder(textEncoder);
      const unetIo = describeUnet(unet, textEncoderIo, folder.timeCondProjDim);
      const decoders = loadDecoders(options.decoder ?? 'auto', sessionOptions.executionProviders[0], { session: vaeDecoder, scalingFactor: folder.vaeScalingFactor }, tinyVae, unetIo, folder.dir);
      const io = {
        textEncoder: textEncoderIo,
        unet: unetIo,
        vaeEncoder: vaeEncoder === undefined ? undefined : describeVaeEncoder(vaeEncoder, unetIo),
      };
      const traits = {
        schedulerConfig: folder.schedulerConfig,
        nativeSize: folder.nativeSize,
        distilled: unetIo.timestepCond !== undefined,
        hasVaeEncoder: vaeEncoder !== undefined,
        generationDefaults: folder.generationDefaults,
      };
      const defaults = resolveModelDefaults(traits);
      createScheduler(defaults.scheduler, folder.schedulerConfig); // refuse a bad scheduler config now, not at first request
      return new StableDiffusionPipeline(folder, tokenizer, sessions, io, defaults, modelCapabilities(traits), sessionOptions.executionProviders[0], memory, decoders, safety.checker, safety.state);
    } catch (error) {
      await Promise.all(Object.values(sessions).map((session: ModelSession) => session.release()));
      await safety.checker?.release();
      throw error;
    }
  }

  private constructor(
    readonly folder: ModelFolder,
    readonly tokenizer: ClipTokenizer,
    readonly sessions: Sessions,
    private readonly io: {
      readonly textEncoder: TextEncoderInterface;
      readonly unet: UnetInterface;
      readonly vaeEncoder: VaeEncoderInterface | undefined;
    },
    /** What a request that leaves a setting out gets (see model-defaults.ts). */
    readonly defaults: ModelDefaults,
    /** What this model can take; `checkRequestAgainstModel` tests a request against it. */
    readonly capabilities: ModelCapabilities,
    /** The provider the sessions were created for. */
    readonly executionProvider: 'cuda' | 'cpu',
    /** What one generation may hold at once (see memory-mode.ts). */
    readonly memory: MemoryMode,
    private readonly decoders: Decoders,
    private readonly safetyChecker: SafetyChecker | undefined,
    /** Whether images go through the model's safety checker, and the warning when a required one is missing or off. */
    readonly safetyFilter: SafetyFilterState,
  ) {}

  /** The decoder that makes the final images. */
  get decoder(): DecoderName {
    return this.decoders.final.name;
  }

  /** Whether `decodePreview` can run: only with a tiny decoder, which is cheap enough to run between steps. */
  get canPreview(): boolean {
    return this.decoders.preview !== undefined;
  }

  /** The first image of a step's latents through the tiny decoder, for a live preview; undefined without one. */
  async decodePreview(latents: Float32Array, latentShape: readonly number[]): Promise<{ pixels: Float32Array; width: number; height: number } | undefined> {
    const perImage = latentShape.slice(-3).reduce((a, b) => a * b, 1);
    return this.decoders.preview?.decode(latents.subarray(0, perImage), latentShape);
  }

  async generate(options: GenerateOptions): Promise<GenerateResult> {
    const started = performance.now();
    // 1. Check inputs: everything this request can be refused for is refused before a model runs.
    assertRequestFitsModel(options, this.capabilities);
    const strength = this.resolveStrength(options);
    const source = options.initImage === undefined ? undefined : await openInitImage(options.initImage);
    const params = this.resolveParameters(options, strength, source);
    const initPixels = source === undefined ? undefined : await source.toModelInput(params.width, params.height);
    const scheduler = this.prepareScheduler(params);
    const beginIndex = strength === undefined ? 0 : this.img2imgBeginIndex(params.steps, strength, scheduler.order);
    const factor = this.folder.vaeScaleFactor;
    const latentShape = [params.numImages, this.io.unet.latentChannels, params.height / factor, params.width / factor];
    const guided = this.usesClassifierFreeGuidance(params.guidanceScale);
    const checkedAt = performance.now();

    // 2. Encode the prompt (and the negative prompt for classifier-free guidance)
    const promptEmbeds = await this.encodePrompt(params, guided);
    const encodedAt = performance.now();

    // 3. Set timesteps: image-to-image starts where `strength` leaves the schedule
    scheduler.setBeginIndex(beginIndex);
    const timesteps = scheduler.timesteps.slice(beginIndex);

    // 4. Prepare latents, drawing seeded noise in diffusers' order: encoder sample, then starting noise
    const seeds = Array.from({ length: params.numImages }, (_, i) => seedForImage(params.seed, i));
    const seeded = new PerImageNoise(seeds);
    const latents =
      initPixels === undefined
        ? this.prepareLatents(checkedNoise(options.initialNoise, latentShape, 'initial_noise') ?? seeded.randn(latentShape), scheduler.initNoiseSigma)
        : await this.prepareImageLatents(initPixels, latentShape, scheduler, timesteps[0], seeded, options);
    const preparedAt = performance.now();

    // 5. Denoising loop
    const unet = this.prepareUnetBatch(latentShape, params, guided, promptEmbeds);
    const stepNoise: NoiseSource = options.stepNoise ? new ReplayNoise(options.stepNoise, 'step noise') : seeded;
    const final = await this.denoise({ scheduler, timesteps, latents, latentShape, unet, stepNoise, onStep: options.onStep, signal: options.signal });
    const denoisedAt = performance.now();

    // 6. Decode
    const decoded = await this.decode(final, latentShape, params, seeds, this.decoderFor(options.decoder));
    const decodedAt = performance.now();

    // 7. Safety checker, one image at a time as diffusers' ONNX pipeline runs it
    const checked = this.safetyChecker ? await this.safetyChecker.filter(decoded) : { passed: decoded, withheld: [], ms: 0 };
    const finished = performance.now();
    return {
      images: checked.passed,
      withheld: checked.withheld,
      parameters: params,
      timings: {
        encodePromptMs: encodedAt - checkedAt,
        encodeImageMs: initPixels === undefined ? 0 : checkedAt - started + (preparedAt - encodedAt),
        denoiseMs: denoisedAt - preparedAt,
        decodeMs: decodedAt - denoisedAt,
        safetyCheckMs: checked.ms,
        totalMs: finished - started,
      },
    };
  }

  /** Releases the onnxruntime sessions; the pipeline is unusable afterwards. */
  async release(): Promise<void> {
    await Promise.all(Object.values(this.sessions).map((session: ModelSession) => session.release()));
    await this.safetyChecker?.release();
  }

  private resolveStrength(options: GenerateOptions): number | undefined {
    if (options.initImage === undefined) {
      if (options.strength !== undefined) {
        throw new InvalidGenerationInputError('strength', '`strength` applies only to image-to-image: give an init image or leave strength out.');
      }
      return undefined;
    }
    const strength = options.strength ?? DEFAULTS.strength;
    if (!(strength > 0 && strength <= 1)) throw new InvalidGenerationInputError('strength', `\`strength\` has to be in (0, 1] but is ${strength}.`);
    return strength;
  }

  private resolveParameters(options: GenerateOptions, strength: number | undefined, source: InitImageSource | undefined): ResolvedParameters {
    const fromImage =
      source !== undefined && (options.width === undefined || options.height === undefined)
        ? outputSizeForImage(source.width, source.height, this.folder.vaeScaleFactor, options)
        : undefined;
    const width = options.width ?? fromImage?.width ?? this.defaults.width;
    const height = options.height ?? fromImage?.height ?? this.defaults.height;
    const multiple = this.folder.vaeScaleFactor;
    for (const [field, value] of [['width', width], ['height', height]] as const) {
      if (!Number.isInteger(value) || value <= 0 || value % multiple !== 0) {
        throw new InvalidGenerationInputError(field, `\`height\` and \`width\` have to be positive and divisible by ${multiple} but are ${height} and ${width}.`);
      }
    }
    const steps = options.steps ?? this.defaults.steps;
    if (!Number.isInteger(steps) || steps < 1) throw new InvalidGenerationInputError('steps', `\`steps\` has to be a positive integer but is ${steps}.`);
    const guidanceScale = options.guidanceScale ?? this.defaults.guidanceScale;
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
      scheduler: options.scheduler ?? this.defaults.scheduler,
      numImages,
      strength,
    };
  }

  /** A fresh scheduler with its timesteps set; a step count the scheduler cannot take is the request's fault. */
  private prepareScheduler(params: ResolvedParameters): Scheduler {
    const scheduler = createScheduler(params.scheduler, this.folder.schedulerConfig);
    try {
      scheduler.setTimesteps(params.steps);
    } catch (error) {
      if (error instanceof SchedulerUsageError) throw new InvalidGenerationInputError('steps', error.message);
      throw error;
    }
    return scheduler;
  }

  /** diffusers' `get_timesteps`: the first `steps − min(floor(steps × strength), steps)` steps are skipped. */
  private img2imgBeginIndex(steps: number, strength: number, order: number): number {
    const run = Math.min(Math.floor(steps * strength), steps);
    if (run < 1) {
      throw new InvalidGenerationInputError('strength', `\`strength\` ${strength} of ${steps} steps leaves no step to run; raise strength or steps.`);
    }
    return (steps - run) * order;
  }

  /** An LCM-distilled UNet has guidance built in; others run the unconditional branch above 1. */
  private usesClassifierFreeGuidance(guidanceScale: number): boolean {
    return !this.capabilities.distilled && guidanceScale > 1;
  }

  /**
   * The UNet's `encoder_hidden_states`: one [negative..., positive...] batch, or under bounded
   * memory one [1, sequence, width] feed per text, which every row of that text shares.
   */
  private async encodePrompt(params: ResolvedParameters, guided: boolean): Promise<PreparedFeed[]> {
    const texts = guided ? [params.negativePrompt, params.prompt] : [params.prompt];
    const embeddings = await Promise.all(texts.map((text) => this.encodeText(text)));
    const name = this.io.unet.encoderHiddenStates.name;
    if (this.memory === 'bounded') return embeddings.map(({ data, dims }) => this.sessions.unet.prepare(name, { data, dims }));
    const [, sequence, width] = embeddings[0].dims;
    const perImage = sequence * width;
    const { numImages } = params;
    const batched = new Float32Array(texts.length * numImages * perImage);
    embeddings.forEach((embedding, group) => {
      for (let i = 0; i < numImages; i++) batched.set(embedding.data, (group * numImages + i) * perImage);
    });
    return [this.sessions.unet.prepare(name, { data: batched, dims: [texts.length * numImages, sequence, width] })];
  }

  private async encodeText(text: string) {
    const ids = this.tokenizer.encode(text);
    const { inputIds, hiddenStates } = this.io.textEncoder;
    const output = await this.sessions.textEncoder.run({ [inputIds.name]: { data: ids, dims: [1, ids.length] } }, [hiddenStates.name]);
    return output[hiddenStates.name];
  }

  /** Text-to-image: unit-variance noise scaled to the scheduler's starting noise level. */
  private prepareLatents(noise: Float32Array, initNoiseSigma: number): Float32Array {
    const latents = new Float32Array(noise.length);
    for (let i = 0; i < noise.length; i++) latents[i] = noise[i] * initNoiseSigma;
    return latents;
  }

  /**
   * Image-to-image (diffusers' img2img `prepare_latents`): the picture's latents, sampled per image
   * from the VAE encoder's distribution and scaled, then noised to the first timestep that runs.
   */
  private async prepareImageLatents(
    pixels: Float32Array,
    shape: readonly number[],
    scheduler: Scheduler,
    firstTimestep: number,
    seeded: NoiseSource,
    options: GenerateOptions,
  ): Promise<Float32Array> {
    const encoded = await this.encodeImage(pixels, shape, seeded, options.encoderNoise);
    const noise = checkedNoise(options.initialNoise, shape, 'initial_noise') ?? seeded.randn(shape);
    return scheduler.addNoise(encoded, noise, firstTimestep);
  }

  /** `scaling_factor × (mean + exp(0.5 · clamp(logvar, −30, 20)) · ε)` per image, as diffusers' `DiagonalGaussianDistribution.sample`. */
  private async encodeImage(pixels: Float32Array, shape: readonly number[], seeded: NoiseSource, replayed: Float32Array | undefined): Promise<Float32Array> {
    const { vaeEncoder } = this.sessions;
    const io = this.io.vaeEncoder;
    if (vaeEncoder === undefined || io === undefined) throw new Error('image-to-image needs a VAE encoder (checked up front)');
    const factor = this.folder.vaeScaleFactor;
    const output = await vaeEncoder.run({ [io.image.name]: { data: pixels, dims: [1, 3, shape[2] * factor, shape[3] * factor] } }, [io.latent.name]);
    const latent = output[io.latent.name].data;
    const [numImages] = shape;
    const perImage = latent.length / (io.output === 'parameters' ? 2 : 1);
    // torch multiplies a float32 tensor by a Python float in float32.
    const scaling = Math.fround(this.folder.vaeScalingFactor);
    const out = new Float32Array(numImages * perImage);
    if (io.output === 'sample') {
      if (replayed !== undefined) {
        throw new InvalidGenerationInputError('encoder_noise', "this model's VAE encoder samples inside its graph (latent_sample); there is no encoder noise to replay");
      }
      for (let i = 0; i < numImages; i++) for (let j = 0; j < perImage; j++) out[i * perImage + j] = Math.fround(scaling * latent[j]);
      return out;
    }
    const noise = checkedNoise(replayed, shape, 'encoder_noise') ?? seeded.randn(shape);
    const f32 = Math.fround;
    for (let j = 0; j < perImage; j++) {
      const mean = latent[j];
      const logvar = Math.min(Math.max(latent[perImage + j], -30), 20);
      const std = f32(Math.exp(f32(0.5 * logvar)));
      for (let i = 0; i < numImages; i++) out[i * perImage + j] = f32(scaling * f32(mean + f32(std * noise[i * perImage + j])));
    }
    return out;
  }

  private prepareUnetBatch(latentShape: readonly number[], params: ResolvedParameters, guided: boolean, promptEmbeds: readonly PreparedFeed[]): UnetBatch {
    const [numImages, channels, height, width] = latentShape;
    const size = guided ? 2 * numImages : numImages;
    const rowsPerCall = this.memory === 'bounded' ? 1 : size;
    const latentSize = numImages * channels * height * width;
    const perImage = latentSize / numImages;
    const padding = latentPaddingFor(height, width, this.folder.sizeMultiple / this.folder.vaeScaleFactor);
    const [unetHeight, unetWidth] = padding ? [padding.paddedHeight, padding.paddedWidth] : [height, width];
    const cond = this.io.unet.timestepCond;
    return {
      numImages,
      guided,
      guidanceScale: params.guidanceScale,
      size,
      rowsPerCall,
      latentSize,
      sampleDims: [rowsPerCall, channels, unetHeight, unetWidth],
      padding,
      promptEmbeds,
      rowsPerFeed: size / promptEmbeds.length,
      timestepCond:
        cond === undefined
          ? undefined
          : this.sessions.unet.prepare(cond.spec.name, { data: guidanceScaleEmbedding(params.guidanceScale, cond.size, rowsPerCall), dims: [rowsPerCall, cond.size] }),
      doubled: guided && rowsPerCall === size ? new Float32Array(2 * latentSize) : undefined,
      padded: padding ? new Float32Array(rowsPerCall * channels * unetHeight * unetWidth) : undefined,
      cropped: padding ? new Float32Array(rowsPerCall * perImage) : undefined,
      rowPredictions: rowsPerCall < size ? new Float32Array(size * perImage) : undefined,
      guidedPrediction: guided ? new Float32Array(latentSize) : undefined,
    };
  }

  /** Returns what the last step leaves to decode: its `denoised` where the scheduler gives one (LCM). */
  private async denoise(run: DenoiseRun): Promise<Float32Array> {
    const { scheduler, timesteps, latentShape, unet } = run;
    let latents = run.latents;
    let final = latents;
    // Buffers made once per run, the latents' two taking turns: a step allocates nothing of the
    // latents' size, so a long run is not paused by the collector (bench:engine's per-step mean).
    const nextLatents = [new Float32Array(latents.length), new Float32Array(latents.length)];
    const scaledInput = new Float32Array(latents.length);
    for (const [i, t] of timesteps.entries()) {
      if (run.signal?.aborted) throw new GenerationCancelledError();
      const modelInput = scheduler.scaleModelInput(latents, t, scaledInput);
      const prediction = await this.runUnet(unet, modelInput, t);
      const noisePrediction = this.applyGuidance(unet, prediction);
      const output = scheduler.step(noisePrediction, t, latents, latentShape, { noise: run.stepNoise, out: nextLatents[i % 2] });
      latents = output.prevSample;
      final = output.denoised ?? latents;
      run.onStep?.({ step: i + 1, totalSteps: timesteps.length, timestep: t, latents, latentShape, ...(output.denoised ? { denoised: output.denoised } : {}) });
    }
    if (run.signal?.aborted) throw new GenerationCancelledError();
    return final;
  }

  /**
   * The UNet's prediction for every row of the batch: one call on the whole batch (duplicated for
   * guidance), or under bounded memory one call per row, row r being image r mod numImages.
   */
  private async runUnet(batch: UnetBatch, modelInput: Float32Array, t: number): Promise<Float32Array> {
    if (!batch.rowPredictions) {
      let sample = modelInput;
      if (batch.doubled) {
        batch.doubled.set(modelInput, 0);
        batch.doubled.set(modelInput, batch.latentSize);
        sample = batch.doubled;
      }
      return this.callUnet(batch, sample, batch.promptEmbeds[0], t);
    }
    const perImage = batch.latentSize / batch.numImages;
    for (let row = 0; row < batch.size; row++) {
      const image = row % batch.numImages;
      const sample = modelInput.subarray(image * perImage, (image + 1) * perImage);
      const prediction = await this.callUnet(batch, sample, batch.promptEmbeds[Math.floor(row / batch.rowsPerFeed)], t);
      batch.rowPredictions.set(prediction, row * perImage);
    }
    return batch.rowPredictions;
  }

  /** One UNet run on `rowsPerCall` rows: padded to a size the export takes, cropped back. */
  private async callUnet(batch: UnetBatch, rows: Float32Array, promptEmbeds: PreparedFeed, t: number): Promise<Float32Array> {
    let sample = rows;
    if (batch.padding && batch.padded) {
      padLatents(sample, batch.padded, batch.padding);
      sample = batch.padded;
    }
    const io = this.io.unet;
    const output = await this.sessions.unet.run(
      {
        [io.sample.name]: { data: sample, dims: batch.sampleDims },
        [io.timestep.name]: this.timestepFeed(t, batch.rowsPerCall),
        [io.encoderHiddenStates.name]: promptEmbeds,
        ...(io.timestepCond && batch.timestepCond ? { [io.timestepCond.spec.name]: batch.timestepCond } : {}),
      },
      [io.noisePrediction.name],
    );
    const prediction = output[io.noisePrediction.name].data;
    if (!batch.padding || !batch.cropped) return prediction;
    cropLatents(prediction, batch.cropped, batch.padding);
    return batch.cropped;
  }

  /** noise_pred = uncond + g · (text − uncond); the batch is [negative..., positive...]. */
  private applyGuidance(batch: UnetBatch, prediction: Float32Array): Float32Array {
    const out = batch.guidedPrediction;
    if (!out) return prediction;
    const g = batch.guidanceScale;
    const n = batch.latentSize;
    for (let j = 0; j < n; j++) {
      const uncond = prediction[j];
      out[j] = uncond + g * (prediction[j + n] - uncond);
    }
    return out;
  }

  private timestepFeed(t: number, batch: number) {
    // Optimum exports take a float scalar; early diffusers exports an int64 [batch].
    return this.io.unet.timestep.shape.length === 0 ? { data: [t], dims: [] } : { data: new Array<number>(batch).fill(t), dims: [batch] };
  }

  private decoderFor(name: DecoderName | undefined): LatentDecoder {
    if (name === undefined || name === this.decoders.final.name) return this.decoders.final;
    if (name === 'full') return this.decoders.full;
    if (this.decoders.preview === undefined) throw new InvalidGenerationInputError('decoder', 'this model has no tiny VAE decoder');
    return this.decoders.preview;
  }

  private async decode(latents: Float32Array, latentShape: readonly number[], params: ResolvedParameters, seeds: readonly number[], decoder: LatentDecoder): Promise<DecodedImage[]> {
    const images: DecodedImage[] = [];
    const perImage = latents.length / params.numImages;
    for (let i = 0; i < params.numImages; i++) {
      const { pixels } = await decoder.decode(latents.subarray(i * perImage, (i + 1) * perImage), latentShape);
      images.push({ pixels, width: params.width, height: params.height, seed: seeds[i] });
    }
    return images;
  }
}

/** Caller-supplied noise, refused (naming it) unless it fills `shape`. */
function checkedNoise(noise: Float32Array | undefined, shape: readonly number[], field: string): Float32Array | undefined {
  if (noise === undefined) return undefined;
  const expected = shape.reduce((a, b) => a * b, 1);
  if (noise.length !== expected) {
    const what = field.replace('_', ' ');
    throw new InvalidGenerationInputError(field, `${what} must have ${expected} values (shape [${shape.join(',')}]) but has ${noise.length}`);
  }
  return noise;
}
