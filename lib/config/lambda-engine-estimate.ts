import type { ModelInfo } from '../../contract/model-info';
import { STAGING_DEFAULTS } from '../../lambda/facts/model-staging';

/**
 * What lambda mode's wait estimate (`/v1/status`, the page) and `npm run cost` are built from until
 * Lambda itself is measured. Premises are stated; everything else was measured by
 * `npm run bench:coldstart` (and the full decoder by `npm run bench:cpu`) on the full-size SD 1.5
 * export of tools/full-size-model (4.27 GB fp32, weights external, with a TAESD-sized tiny decoder),
 * engine in bounded memory as the function runs it, on this project's shared 2-core machine,
 * 2026-12-05. Other runs on the same machine measured parallel fractions from 0.74 to 0.92 and UNet
 * calls from 2.87 to 3.32 s: the machine is shared, so these move by about a fifth between runs.
 */
export const LAMBDA_PREMISES = {
  /** The function's vCPUs at 10,240 MB. */
  vcpus: 6,
  /** One S3 stream into Lambda: 1 GB in 16.5 s, as reported to us; not measured here. */
  s3StreamMBps: 1000 / 16.5,
  /** All of one function's streams together: assumed, not measured. */
  s3AggregateMBps: 600,
  /** Ranges the engine stages at once (lambda/facts/model-staging.ts). */
  rangesInFlight: STAGING_DEFAULTS.concurrency,
  /** The size of the export the figures below were measured on: a model in S3 of unknown size is taken to be this. */
  measuredModelBytes: 4_266_720_296,
  /**
   * Weights inside the graphs (not yet `npm run model -- externalize`d) of a model in S3 whose files
   * are not known: SD 1.5's text encoder and VAE as the Hub's ONNX exports ship them, 0.83 GB.
   */
  unknownInlineWeightBytes: 826_000_000,
} as const;

/**
 * Seconds of each part on 2 threads here, and its fraction that ran in parallel (Amdahl, from the
 * same part on 1 thread: its CPU time against the 2-thread wall time), from which Lambda's 6 vCPUs
 * are extrapolated.
 */
export const MEASURED_PARTS = {
  /**
   * Every session created, weights external (`npm run model -- externalize`) and not prepacked
   * (model-session.ts), a fresh process, model on local disk. onnxruntime-node creates sessions one
   * after another on the JS thread whatever the cores: taken as serial.
   */
  sessions: { seconds: 0.97, parallelFraction: 0 },
  /**
   * What weights kept inside a graph add per GB to its session's creation: the text encoder, both VAE
   * halves and the safety checker took 12.0 s more for their 2.04 GB than externalized.
   */
  inlineWeightsPerGb: { seconds: 5.9, parallelFraction: 0 },
  /** The safety checker's session (CLIP ViT-L/14, weights external), where the checker runs. */
  safetyCheckerSession: { seconds: 0.23, parallelFraction: 0 },
  /**
   * The warm-up step, one step at the model's size (512²) after a 64² img2img step: mostly the
   * first runs' cost (memory planning, the weights' pages faulted in), which a request would pay otherwise.
   */
  warmUp: { seconds: 9.2, parallelFraction: 0.93 },
  /** One UNet call, batch of one, 512² (the warm 4-step LCM-style image's denoising ÷ 4). */
  unetCall: { seconds: 3.25, parallelFraction: 0.93 },
  /** The tiny (TAESD) decoder at 512². */
  tinyDecode: { seconds: 0.66, parallelFraction: 0.93 },
  /** The full VAE decoder at 512² (bench:cpu, bounded memory; the image's fraction assumed). */
  fullDecode: { seconds: 12.3, parallelFraction: 0.93 },
  /** The text encoder, one prompt. */
  encodePrompt: { seconds: 0.09, parallelFraction: 0 },
} as const;

export interface MeasuredPart {
  readonly seconds: number;
  readonly parallelFraction: number;
}

/** Amdahl's law: a part measured on `threads` threads, on `vcpus`. */
export function scaledSeconds(part: MeasuredPart, threads: number, vcpus: number): number {
  const p = part.parallelFraction;
  return (part.seconds * (1 - p + p / vcpus)) / (1 - p + p / threads);
}

/**
 * The parallel fraction from one part's 1-thread CPU time and its n-thread wall time. CPU time stands
 * for the 1-thread wall time: on a shared machine the single thread also waits for its core, which
 * would overstate the speedup (a 1-thread wall of 29.1 s against 23.9 s of CPU made it 2.2× on 2).
 */
export function parallelFraction(oneThreadCpuSeconds: number, threadsWallSeconds: number, threads: number): number {
  if (threads <= 1) return 0;
  const speedup = oneThreadCpuSeconds / threadsWallSeconds;
  return Math.min(1, Math.max(0, (1 - 1 / speedup) / (1 - 1 / threads)));
}

const MEASURED_THREADS = 2;

export interface LambdaEngineEstimate {
  /** The model's bytes from S3 at min(ranges × one stream, all streams). */
  readonly stagingSeconds: number;
  /** Sessions and the warm-up run. */
  readonly loadSeconds: number;
  /** A fresh execution environment until it can start a request: staging and loading. */
  readonly coldStartSeconds: number;
  /** One image at the model's defaults, once loaded (the safety checker is added apart). */
  readonly secondsPerImage: number;
}

/**
 * The 4-step LCM-distilled model with the tiny decoder, the configuration lambda mode is for,
 * where the model's own defaults are not known (a model in S3 without `model.info`).
 */
const ASSUMED_INFO: Pick<ModelInfo, 'steps' | 'guidance_scale' | 'scheduler' | 'accepts_negative_prompt' | 'decoder'> = {
  steps: 4,
  guidance_scale: 1,
  scheduler: 'lcm',
  accepts_negative_prompt: false,
  decoder: 'tiny',
};

/** What is known of the deployed model; each unknown is taken from the premises. */
export interface LambdaModelFacts {
  /** Every file staged. @default LAMBDA_PREMISES.measuredModelBytes */
  readonly bytes?: number;
  /** Weights inside the graphs (model.onnx files). @default LAMBDA_PREMISES.unknownInlineWeightBytes */
  readonly inlineWeightBytes?: number;
  /** @default a 4-step LCM-distilled model with the tiny decoder */
  readonly info?: ModelInfo;
  /** The safety checker's session is created too. @default false */
  readonly safetyChecker?: boolean;
}

/**
 * Lambda mode's cold start and seconds per image for an SD 1.x-sized model: staging from its size,
 * the rest from the measured parts scaled to Lambda's vCPUs, an image from the model's defaults
 * (steps, guidance: a guided step is two UNet calls of one in bounded memory; PNDM makes one call
 * more) and its decoder. A smaller network than SD 1.x (the bundled test models) is overestimated.
 */
export function estimateLambdaEngine(model: LambdaModelFacts): LambdaEngineEstimate {
  const p = LAMBDA_PREMISES;
  const scale = (part: MeasuredPart) => scaledSeconds(part, MEASURED_THREADS, p.vcpus);
  const bytes = model.bytes ?? p.measuredModelBytes;
  const stagingSeconds = bytes / 1e6 / Math.min(p.s3AggregateMBps, p.s3StreamMBps * p.rangesInFlight);
  const inlineGb = (model.inlineWeightBytes ?? p.unknownInlineWeightBytes) / 1e9;
  const loadSeconds =
    scale(MEASURED_PARTS.sessions) +
    inlineGb * scale(MEASURED_PARTS.inlineWeightsPerGb) +
    (model.safetyChecker ? scale(MEASURED_PARTS.safetyCheckerSession) : 0) +
    scale(MEASURED_PARTS.warmUp);
  const info = model.info ?? ASSUMED_INFO;
  const guided = info.guidance_scale > 1 && info.accepts_negative_prompt;
  const unetCalls = (info.steps + (info.scheduler === 'pndm' ? 1 : 0)) * (guided ? 2 : 1);
  const decode = info.decoder === 'tiny' ? MEASURED_PARTS.tinyDecode : MEASURED_PARTS.fullDecode;
  const secondsPerImage = unetCalls * scale(MEASURED_PARTS.unetCall) + scale(decode) + (guided ? 2 : 1) * scale(MEASURED_PARTS.encodePrompt);
  return { stagingSeconds, loadSeconds, coldStartSeconds: stagingSeconds + loadSeconds, secondsPerImage };
}
