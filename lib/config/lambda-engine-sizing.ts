/** Lambda's own ceilings: memory, a run's duration, ephemeral storage. */
export const LAMBDA_MAX_MEMORY_MB = 10_240;
export const LAMBDA_MAX_TIMEOUT_SECONDS = 900;
export const LAMBDA_MAX_EPHEMERAL_MB = 10_240;

export interface LambdaEngineTiming {
  /** Model staging and session creation in a fresh execution environment. */
  readonly coldStartSeconds: number;
  /** One denoising step at the largest size the mode accepts, guidance halves included. */
  readonly secondsPerStep: number;
  /** VAE decode and encoding of one image. */
  readonly secondsPerDecode: number;
  /** The safety checker on one image; 0 where it does not run. @default 0 */
  readonly secondsPerSafetyCheck?: number;
  readonly maxSteps: number;
  readonly maxImages: number;
}

/**
 * The function's timeout from the request limits: a cold start plus the longest request the API
 * accepts (every step of every image, one after the other), with a fifth to spare, capped at
 * Lambda's 15 minutes. A request that would need more is stopped by the engine just before the
 * timeout and fails with a clear error rather than a killed process.
 */
export function lambdaEngineTimeoutSeconds(timing: LambdaEngineTiming): number {
  const work = timing.maxImages * (timing.maxSteps * timing.secondsPerStep + timing.secondsPerDecode + (timing.secondsPerSafetyCheck ?? 0));
  return Math.min(LAMBDA_MAX_TIMEOUT_SECONDS, Math.ceil((timing.coldStartSeconds + work) * 1.2));
}

/**
 * Ephemeral storage for a model staged from S3: the model plus a tenth and 512 MB for onnxruntime's
 * temporary files; all Lambda allows when the size is unknown (a model already in S3).
 */
export function lambdaEphemeralStorageMb(modelBytes: number | undefined): number {
  if (modelBytes === undefined) return LAMBDA_MAX_EPHEMERAL_MB;
  return Math.min(LAMBDA_MAX_EPHEMERAL_MB, Math.max(512, Math.ceil((modelBytes * 1.1) / 2 ** 20) + 512));
}
