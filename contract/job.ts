import * as z from 'zod';
import { generationRequestSchema } from './generation-request';
import { OUTPUT_FORMATS } from './limits';
import { withheldImageSchema } from './withheld-image';
import { previewSchema } from './preview';

export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'canceled', 'expired'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const TERMINAL_JOB_STATUSES: readonly JobStatus[] = ['succeeded', 'failed', 'canceled', 'expired'];

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

/** An entry of a finished job's `images`: the image, or `{seed, withheld}` where the safety checker held it back. */
export const jobImageEntrySchema = z.union([jobImageSchema, withheldImageSchema]);
export type JobImageEntry = z.infer<typeof jobImageEntrySchema>;

/** How far a running job is, where the backend can tell (local mode, the Lambda backend; not SageMaker async). */
export const jobProgressSchema = z.strictObject({
  step: count.meta({ description: 'Denoising steps (UNet calls) done so far.' }),
  steps: z.number().int().min(1).meta({ description: 'Denoising steps (UNet calls) this job takes in all.' }),
  fraction: z.number().min(0).max(1).meta({ description: '`step / steps`, for a progress bar.' }),
  preview: previewSchema.optional(),
});
export type JobProgress = z.infer<typeof jobProgressSchema>;

export const jobErrorSchema = z.strictObject({ code: z.string(), message: z.string() });
export type JobError = z.infer<typeof jobErrorSchema>;

/** A job as `GET /v1/images/{id}` answers it. Timestamps are ISO-8601 UTC. */
export const jobSchema = z.strictObject({
  id: z.string().regex(JOB_ID_PATTERN),
  status: z
    .enum(JOB_STATUSES)
    .meta({
      description:
        '`canceled`: stopped by `DELETE /v1/images/{id}`; `expired`: the images were deleted after their retention period, or the job never ran.',
    }),
  created_at: timestamp,
  started_at: timestamp.optional(),
  completed_at: timestamp.optional(),
  parameters: generationRequestSchema.meta({
    description: 'The accepted request; once finished, completed with the settings the engine resolved.',
  }),
  progress: jobProgressSchema.optional().meta({ description: 'Present while `running`, where the backend reports it.' }),
  images: z
    .array(jobImageEntrySchema)
    .optional()
    .meta({
      description:
        "In batch order (image i has seed + i). An image the model's safety checker flagged is `{seed, withheld: \"safety\"}`: it was made and counted, but not stored or returned. A job whose images are all withheld still `succeeded`.",
    }),
  error: jobErrorSchema.optional(),
});
export type Job = z.infer<typeof jobSchema>;
