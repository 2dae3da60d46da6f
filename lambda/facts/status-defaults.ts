/** Defaults for the wait estimate of `/v1/status` (see `lambda/src/status/public-status.ts`). */
export const STATUS_DEFAULTS = {
  /** ml.g4dn.xlarge: instance launch, image pull and model load take about five minutes. */
  coldStartSeconds: 300,
  /** SD 1.5 at 512x512, 25 steps, fp16 on a T4, plus encoding. */
  secondsPerImage: 8,
} as const;

// Lambda mode's figures are estimated per model at synth: lib/config/lambda-engine-estimate.ts.

/**
 * Minutes after its last invocation during which `/v1/status` counts the Lambda engine warm: Lambda
 * keeps an idle execution environment (and the model loaded in it) for a while, typically several
 * minutes. Keep-warm pings at this interval by default, so the page says warm throughout its window.
 */
export const LAMBDA_WARM_MINUTES = 5;
