/** Defaults for the wait estimate of `/v1/status` (see `lambda/src/status/public-status.ts`). */
export const STATUS_DEFAULTS = {
  /** ml.g4dn.xlarge: instance launch, image pull and model load take about five minutes. */
  coldStartSeconds: 300,
  /** SD 1.5 at 512x512, 25 steps, fp16 on a T4, plus encoding. */
  secondsPerImage: 8,
} as const;

/**
 * The same for the engine as a Lambda function (`lambda` mode), at 10,240 MB (6 vCPUs). Estimates
 * until measured on Lambda itself (`npm run bench:cpu` gives this CPU's figures).
 */
export const LAMBDA_STATUS_DEFAULTS = {
  /** Staging a ~2 GB fp16 model from S3 to /tmp and creating the onnxruntime sessions. */
  coldStartSeconds: 60,
  /** A 4-step LCM model at 512x512 (one UNet call per step, no guidance batch), decode and encoding. */
  secondsPerImage: 20,
} as const;
