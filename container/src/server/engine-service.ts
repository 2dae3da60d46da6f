/**
 * The engine as the server sees it: a loaded, warmed-up pipeline behind the one-at-a-time queue,
 * taking validated API requests and returning encoded images.
 */
import type { DecoderChoice } from '../../../contract/decoder';
import type { GenerationRequest } from '../../../contract/generation-request';
import type { GeneratedImage, GenerationResponse } from '../../../contract/engine-response';
import { DEFAULTS, type OutputFormat } from '../../../contract/limits';
import { encodeImage } from '../engine/image-encoding';
import type { ExecutionProviderChoice } from '../engine/onnx/execution-provider';
import { modelInfoOf } from '../../../contract/model-defaults';
import { isWithheld, type SafetyCheckerSetting, type WithheldImage } from '../../../contract/safety';
import { inBatchOrder } from '../engine/safety/batch-order';
import type { ModelInfo } from '../../../contract/model-info';
import { decodeBase64Image } from '../engine/init-image';
import { StableDiffusionPipeline, type GenerateOptions, type GenerateResult, type MemoryMode } from '../engine/pipeline';
import { StepPreviews } from '../engine/preview/step-previews';
import { GenerationQueue } from './generation-queue';
import type { ModelSession } from '../engine/onnx/model-session';

export interface EngineServiceOptions {
  readonly modelDir: string;
  readonly executionProvider: ExecutionProviderChoice;
  readonly maxQueuedRequests: number;
  /**
   * `bounded`: the pipeline runs every UNet call as a batch of one image (guidance halves one
   * after the other) without onnxruntime's CPU arena, so a request's peak memory is one image's
   * whatever `num_images` and guidance say (the Lambda engine, whose memory is capped). The
   * results are the same as the batched path. @default 'default'
   */
  readonly memory?: MemoryMode;
  /** `model`: the model's own safety checker, where its folder has one; `off`: none. @default 'model' */
  readonly safetyChecker?: SafetyCheckerSetting;
  /** onnxruntime's intra-op threads. @default - every CPU the host gives */
  readonly threads?: number;
  /** Which VAE decoder makes the images (`backend.decoder`). @default 'auto' */
  readonly decoder?: DecoderChoice;
  /** @default - `taesd/` inside the model folder, else beside it */
  readonly tinyVaeDir?: string;
  /**
   * Run the warm-up step as part of loading. `false` leaves the first run to the first request
   * (`npm run bench:coldstart` measures that path; it was no faster in all); `warmUp()` runs it later.
   * @default true
   */
  readonly warmUp?: boolean;
}

export interface Invocation {
  /** The request id; the progress of a running invocation can be read under it. */
  readonly id?: string;
  readonly request: GenerationRequest;
  /** Overrides the request's output_format (from an image `Accept`). */
  readonly format?: OutputFormat;
  readonly signal: AbortSignal;
  /** Called after every denoising step, for callers that report progress themselves. */
  readonly onProgress?: (progress: InvocationProgress) => void;
}

export interface InvocationResult {
  readonly response: GenerationResponse;
  /** Encoded bytes per image, for image responses. */
  readonly encoded: Buffer[];
}

/** Denoising steps done of the total, for the invocation running now. */
export interface InvocationProgress {
  readonly step: number;
  readonly steps: number;
  /** The latest live preview (a small data URL), where the model has a tiny VAE decoder. */
  readonly preview?: string;
}

/** Where loading went, for the cold-start log line and `npm run bench:coldstart`. */
export interface LoadTimings {
  /** Every session created (one after another), the tokenizer and the checks. */
  readonly pipelineMs: number;
  /** Each part's own session creation, by file. */
  readonly sessionMs: Readonly<Record<string, number>>;
}

export class EngineService {
  private readonly running = new Map<string, InvocationProgress>();
  private warmedUp: Promise<number> | undefined;

  static async load(options: EngineServiceOptions): Promise<EngineService> {
    const started = performance.now();
    const pipeline = await StableDiffusionPipeline.load(options.modelDir, {
      executionProvider: options.executionProvider,
      memory: options.memory,
      safetyChecker: options.safetyChecker,
      threads: options.threads,
      decoder: options.decoder,
      tinyVaeDir: options.tinyVaeDir,
    });
    const sessionMs = Object.fromEntries(Object.values(pipeline.sessions).map((session: ModelSession) => [session.label, Math.round(session.createMs)]));
    const service = new EngineService(pipeline, new GenerationQueue(options.maxQueuedRequests), { pipelineMs: Math.round(performance.now() - started), sessionMs });
    if (options.warmUp ?? true) await service.warmUp();
    return service;
  }

  private constructor(
    readonly pipeline: StableDiffusionPipeline,
    readonly queue: GenerationQueue,
    readonly loadTimings: LoadTimings,
  ) {}

  /**
   * One step through every model, the last at the model's own size, so the first real request pays
   * neither lazy initialisation nor the first run at its shapes: onnxruntime plans memory and grows
   * its arena per shape, and a first 512² run of the full-size pipeline took 18.1 s against 13.1 s
   * for the next when this warm-up was 64². The VAE encoder's runs small, first: few requests use it.
   * Runs once; resolves to its milliseconds (0 after the first call).
   */
  warmUp(): Promise<number> {
    if (this.warmedUp) return this.warmedUp.then(() => 0);
    const started = performance.now();
    this.warmedUp = this.runWarmUp().then(() => Math.round(performance.now() - started));
    // A failed warm-up may be tried again.
    this.warmedUp.catch(() => (this.warmedUp = undefined));
    return this.warmedUp;
  }

  async invoke(invocation: Invocation): Promise<InvocationResult> {
    const arrived = performance.now();
    const { request } = invocation;
    const format = invocation.format ?? request.output_format ?? DEFAULTS.outputFormat;
    return this.queue.submit({
      signal: invocation.signal,
      run: async (signal) => {
        const queueMs = performance.now() - arrived;
        const { id } = invocation;
        const onProgress = (progress: InvocationProgress) => {
          if (id !== undefined) this.running.set(id, progress);
          invocation.onProgress?.(progress);
        };
        const result = await this.generate(request, signal, onProgress).finally(() => {
          if (id !== undefined) this.running.delete(id);
        });
        const encodeStarted = performance.now();
        // A withheld image is never encoded: only its seed leaves the engine.
        const batch = inBatchOrder(result);
        const encoded = await Promise.all(result.images.map((image) => encodeImage(image, format)));
        const encodeMs = performance.now() - encodeStarted;
        const bySeed = new Map(result.images.map((image, i) => [image.seed, encoded[i]]));
        const images: Array<GeneratedImage | WithheldImage> = batch.map((image) =>
          isWithheld(image)
            ? { seed: image.seed, withheld: image.withheld }
            : { data: bySeed.get(image.seed)!.toString('base64'), format, width: image.width, height: image.height, seed: image.seed },
        );
        const { parameters, timings } = result;
        return {
          encoded,
          response: {
            images,
            timings: {
              queue_ms: round(queueMs),
              encode_prompt_ms: round(timings.encodePromptMs),
              denoise_ms: round(timings.denoiseMs),
              decode_ms: round(timings.decodeMs + encodeMs),
              safety_check_ms: round(timings.safetyCheckMs),
              total_ms: round(performance.now() - arrived),
            },
            parameters: {
              steps: parameters.steps,
              guidance_scale: parameters.guidanceScale,
              width: parameters.width,
              height: parameters.height,
              scheduler: parameters.scheduler,
              num_images: parameters.numImages,
              ...(parameters.strength !== undefined ? { strength: parameters.strength } : {}),
            },
          },
        };
      },
    });
  }

  private async generate(request: GenerationRequest, signal: AbortSignal, onProgress: (progress: InvocationProgress) => void): Promise<GenerateResult> {
    // The latest step, with the latest preview once there is one (see step-previews.ts).
    let current: InvocationProgress = { step: 0, steps: 0 };
    const report = (next: InvocationProgress) => {
      current = next;
      onProgress(next);
    };
    const previews = this.pipeline.canPreview ? new StepPreviews(this.pipeline, ({ dataUrl }) => report({ ...current, preview: dataUrl })) : undefined;
    const options: GenerateOptions = {
      prompt: request.prompt,
      negativePrompt: request.negative_prompt,
      steps: request.steps,
      guidanceScale: request.guidance_scale,
      width: request.width,
      height: request.height,
      seed: request.seed,
      scheduler: request.scheduler,
      numImages: request.num_images,
      ...(request.init_image !== undefined ? { initImage: decodeBase64Image(request.init_image), strength: request.strength } : {}),
      signal,
      onStep: (progress) => {
        report({ step: progress.step, steps: progress.totalSteps, ...(current.preview ? { preview: current.preview } : {}) });
        previews?.offer(progress);
      },
    };
    try {
      return await this.pipeline.generate(options);
    } finally {
      await previews?.settle();
    }
  }

  /** How far the invocation with this id is, while it runs; undefined before its first step and after. */
  progressOf(id: string): InvocationProgress | undefined {
    return this.running.get(id);
  }

  async close(graceMs: number): Promise<void> {
    await this.queue.drain(graceMs);
    await this.pipeline.release();
  }

  /** The model's defaults and abilities, in the API's words. */
  get model(): ModelInfo {
    return {
      ...modelInfoOf(this.pipeline.defaults, this.pipeline.capabilities),
      content_filter: this.pipeline.safetyFilter.active ? 'safety_checker' : 'none',
      decoder: this.pipeline.decoder,
    };
  }

  private async runWarmUp(): Promise<void> {
    if (this.pipeline.capabilities.acceptsInitImage) {
      // The VAE encoder, from a grey picture; strength 1 runs the one step.
      const size = this.pipeline.folder.sizeMultiple;
      const grey = { pixels: new Uint8Array(size * size * 3).fill(128), width: size, height: size };
      await this.pipeline.generate({ prompt: '', steps: 1, guidanceScale: 1, width: size, height: size, seed: 0, initImage: grey, strength: 1 });
    }
    const { width, height } = this.pipeline.defaults;
    await this.pipeline.generate({ prompt: '', steps: 1, guidanceScale: 1, width, height, seed: 0 });
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
