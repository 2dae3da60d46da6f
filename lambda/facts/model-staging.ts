/**
 * How the engine function stages its model from S3 (container/src/lambda/model-staging.ts), and a
 * premise of lambda mode's cold-start estimate (lib/config/lambda-engine-estimate.ts): 16 ranges of
 * 32 MiB in flight, each tried 4 times.
 */
export const STAGING_DEFAULTS: {
  readonly rangeBytes: number;
  readonly concurrency: number;
  readonly attempts: number;
  readonly retryDelayMs: number;
} = { rangeBytes: 32 * 1024 * 1024, concurrency: 16, attempts: 4, retryDelayMs: 200 };
