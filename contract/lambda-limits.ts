import type { FieldError, GenerationRequest } from './generation-request';
import { DEFAULTS } from './limits';

/**
 * What the `lambda` backend accepts beyond the public limits: a full-size SD 1.5 pipeline on the
 * CPU peaks at 7.7 GB at 512×512 with one UNet batch and 10 GB with the two guidance halves
 * batched, against Lambda's 10,240 MB. The engine function runs the guidance halves and the images
 * one after the other, so one image at 512×512 is the most memory any request needs; larger
 * pictures grow the attention maps quadratically and are refused here, before any quota is spent.
 */
export const LAMBDA_LIMITS = {
  maxPixels: 512 * 512,
} as const;

/** The first thing this request asks that the Lambda engine cannot hold, naming the field. */
export function checkLambdaLimits(request: GenerationRequest): FieldError | undefined {
  const width = request.width ?? DEFAULTS.width;
  const height = request.height ?? DEFAULTS.height;
  if (width * height > LAMBDA_LIMITS.maxPixels) {
    return {
      field: request.width !== undefined ? 'width' : 'height',
      message: `this deployment makes images of at most ${LAMBDA_LIMITS.maxPixels} pixels (512 × 512) but ${width} × ${height} was asked`,
    };
  }
  return undefined;
}
