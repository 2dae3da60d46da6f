import * as z from 'zod';

/**
 * A running job's live preview: the current latents through the tiny VAE, small enough to ride in
 * every progress answer (and the Lambda backend's progress object in S3).
 */
export const PREVIEW_LIMITS = {
  /** Longest side in pixels. */
  maxSide: 128,
  /** Characters of the whole data URL. */
  maxDataUrlLength: 8192,
  /** At most one new preview this often: decoding one costs CPU the steps need. */
  minIntervalMs: 1500,
} as const;

export const previewSchema = z
  .string()
  .max(PREVIEW_LIMITS.maxDataUrlLength)
  .regex(/^data:image\/(webp|jpeg);base64,[A-Za-z0-9+/]+=*$/)
  .meta({
    description:
      `A small picture of the job so far (a WebP or JPEG data URL, at most ${PREVIEW_LIMITS.maxSide} px on the long side), ` +
      'where the deployment has the tiny VAE decoder; it sharpens as the steps run.',
  });
