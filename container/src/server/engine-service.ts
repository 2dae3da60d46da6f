/**
 * The engine as the server sees it: a loaded, warmed-up pipeline behind the one-at-a-time queue,
 * taking validated API requests and returning encoded images.
 */
import type { GenerationRequest } from '../../../contract/generation-request';
import type { GeneratedImage, GenerationResponse } from '../../../contract/engine-response';
import { DEFAULTS, type OutputFormat } from '../../../contract/limits';
import { encodeImage } from '../engine/image-encoding';
import type { ExecutionProviderChoice } from '../engine/onnx/execution-provider';
import { modelInfoOf } from '../../../contract/model-defaults';
import type { ModelInfo } from '../../../contract/model-info';
import { decodeBase64Image } from '../engine/init-image';
import { seedForImage } from '../engine/noise/noise-sources';
import { StableDiffusionPipeline, type GenerateOptions, type GenerateResult } from '../engine/pipeline';
import { GenerationQueue } from './generation-queue';

export interface EngineServiceOptions {
  readonly modelDir: string;
  readonly executionProvider: ExecutionProviderChoice;
  readonly maxQueuedRequests: number;
  /**
   * `bounded` makes the images of a request one after the other instead of as one batch, and the
   * pipeline runs every UNet call as a batch of one without onnxruntime's CPU arena, so a request's
   * peak memory is one image's whatever `num_images` and guidance say (the Lambda engine, whose
   * memory is capped). Image i still uses seed + i: the results are the same. @default 'default'
   */
  readonly memory?: 'default' | 'bounded';
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
}

export class EngineService {
  private readonly running = new Map<string, InvocationProgress>();

  static async load(options: EngineServiceOptions): Promise<EngineService> {
    const pipeline = await StableDiffusionPipeline.load(options.modelDir, { executionProvider: options.executionProvider, memory: options.memory });
    const service = new EngineService(pipeline, new GenerationQueue(options.maxQueuedRequests), options.memory ?? 'default');
    await service.warmUp();
    return service;
  }

  private constructor(
    readonly pipeline: StableDiffusionPipeline,
    readonly queue: GenerationQueue,
    private readonly memory: 'default' | 'bounded',
  ) {}

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
        const encoded = await Promise.all(result.images.map((image) => encodeImage(image, format)));
        const encodeMs = performance.now() - encodeStarted;
        const images: GeneratedImage[] = result.images.map((image, i) => ({
          data: encoded[i].toString('base64'),
          format,
          width: image.width,
          height: image.height,
          seed: image.seed,
        }));
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

  private generate(request: GenerationRequest, signal: AbortSignal, onProgress: (progress: InvocationProgress) => void): Promise<GenerateResult> {
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
      onStep: ({ step, totalSteps }) => onProgress({ step, steps: totalSteps }),
    };
    const count = request.num_images ?? DEFAULTS.numImages;
    return this.memory === 'bounded' && count > 1 ? this.generateOneByOne(options, count, onProgress) : this.pipeline.generate(options);
  }

  /** The images of one request made one at a time, reported as if made together. */
  private async generateOneByOne(options: GenerateOptions, count: number, onProgress: (progress: InvocationProgress) => void): Promise<GenerateResult> {
    const seed = options.seed ?? Math.floor(Math.random() * 2 ** 32);
    const results: GenerateResult[] = [];
    for (let index = 0; index < count; index++) {
      results.push(
        await this.pipeline.generate({
          ...options,
          seed: seedForImage(seed, index),
          numImages: 1,
          onStep: ({ step, totalSteps }) => onProgress({ step: index * totalSteps + step, steps: count * totalSteps }),
        }),
      );
    }
    const [first] = results;
    const total = (pick: (timings: GenerateResult['timings']) => number) => results.reduce((sum, result) => sum + pick(result.timings), 0);
    return {
      ...first,
      images: results.flatMap((result) => result.images),
      parameters: { ...first.parameters, seed, numImages: count },
      timings: {
        encodePromptMs: total((t) => t.encodePromptMs),
        encodeImageMs: total((t) => t.encodeImageMs),
        denoiseMs: total((t) => t.denoiseMs),
        decodeMs: total((t) => t.decodeMs),
        totalMs: total((t) => t.totalMs),
      },
    };
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
    return modelInfoOf(this.pipeline.defaults, this.pipeline.capabilities);
  }

  /** One tiny step through every model, so the first real request does not pay for lazy initialisation. */
  private async warmUp(): Promise<void> {
    const size = this.pipeline.folder.sizeMultiple;
    await this.pipeline.generate({ prompt: '', steps: 1, guidanceScale: 1, width: size, height: size, seed: 0 });
    if (this.pipeline.capabilities.acceptsInitImage) {
      // The VAE encoder too, from a grey picture; strength 1 runs the one step.
      const grey = { pixels: new Uint8Array(size * size * 3).fill(128), width: size, height: size };
      await this.pipeline.generate({ prompt: '', steps: 1, guidanceScale: 1, width: size, height: size, seed: 0, initImage: grey, strength: 1 });
    }
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
