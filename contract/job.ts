import * as z from 'zod';
import { generationRequestSchema } from './generation-request';
import { OUTPUT_FORMATS } from './limits';

export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'expired'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const TERMINAL_JOB_STATUSES: readonly JobStatus[] = ['succeeded', 'failed', 'expired'];

export function isTerminal(status: JobStatus): boolean {
  return TERMINAL_JOB_STATUSES.includes(status);
}

/** 128 random bits and a 128-bit signature, base64url without padding. */
export const JOB_ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;

const count = z.number().int().min(0);
const timestamp = z.iso.datetime();

export const jobImageSchema = z
  .strictObject({
    url: z.url().meta({ description: 'Short-lived (presigned) URL of the image.' }),
    width: count,
    height: count,
    seed: count.meta({ description: 'Reproduces exactly this image with `num_images: 1`.' }),
    format: z.enum(OUTPUT_FORMATS),
  });
export type JobImage = z.infer<typeof jobImageSchema>;

export const jobErrorSchema = z.strictObject({ code: z.string(), message: z.string() });
export type JobError = z.infer<typeof jobErrorSchema>;

/** A job as `GET /v1/images/{id}` answers it. Timestamps are ISO-8601 UTC. */
export const jobSchema = z.strictObject({
  id: z.string().regex(JOB_ID_PATTERN),
  status: z
    .enum(JOB_STATUSES)
    .meta({ description: '`expired`: the images were deleted after their retention period, or the job never ran.' }),
  created_at: timestamp,
  started_at: timestamp.optional(),
  completed_at: timestamp.optional(),
  parameters: generationRequestSchema.meta({
    description: 'The accepted request; once finished, completed with the settings the engine resolved.',
  }),
  images: z.array(jobImageSchema).optional(),
  error: jobErrorSchema.optional(),
});
export type Job = z.infer<typeof jobSchema>;
