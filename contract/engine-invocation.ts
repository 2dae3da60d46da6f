import * as z from 'zod';
import { previewSchema } from './preview';

const s3Uri = z.string().regex(/^s3:\/\/[^/]+\/.+$/, { error: 'must be an s3://bucket/key URI' });

/**
 * What the gateway's `lambda` backend sends the engine function (an asynchronous `Invoke`): where
 * the request is, and where the answer goes. The same output and failure locations as SageMaker
 * async, so the gateway reads both backends' results one way.
 */
export const engineInvocationSchema = z.strictObject({
  /** The job's reference (never its id, which is the caller's credential): the function logs it. */
  job_ref: z.string().min(1).max(128),
  /** The generation request as JSON (the public schema). */
  input_location: s3Uri,
  /** The engine's JSON response, once it succeeded. */
  output_location: s3Uri,
  /** The engine's error body, when it failed (also written for it by the on-failure path). */
  failure_location: s3Uri,
  /** `{step, steps}` while it runs, rewritten every few seconds at most. */
  progress_location: s3Uri,
  /** Written by the gateway when the job is canceled; the function checks it before and while it runs. */
  cancel_location: s3Uri,
});
export type EngineInvocation = z.infer<typeof engineInvocationSchema>;

/**
 * The gateway's warm-up event for the engine function (`POST /v1/warmups`): stage the model, create
 * the sessions and run the warm-up, then return without generating or writing anything.
 */
export const engineWarmUpEventSchema = z.strictObject({ warmup: z.literal(true) });
export type EngineWarmUpEvent = z.infer<typeof engineWarmUpEventSchema>;

/** How often at most the engine function rewrites its progress object. */
export const PROGRESS_WRITE_INTERVAL_MS = 2000;

/** The progress object the engine function writes at `progress_location` while it runs. */
export const engineProgressSchema = z.object({
  started_at: z.iso.datetime(),
  step: z.number().int().min(0),
  steps: z.number().int().min(0),
  preview: previewSchema.optional(),
});
export type EngineProgress = z.infer<typeof engineProgressSchema>;
