import type { GenerationRequest } from '../../../contract/generation-request';
import type { Job, JobError, JobProgress, JobStatus } from '../../../contract/job';
import type { OutputFormat } from '../../../contract/limits';
import { isWithheld, type WithheldImage } from '../../../contract/safety';
import type { QuotaTicket } from '../quota/quota-guard';

/** One image of a finished job, stored as its own object so it can be fetched on its own. */
export interface StoredImage {
  /** Key in the image store (S3 key in AWS, relative path locally). */
  readonly key: string;
  readonly width: number;
  readonly height: number;
  readonly seed: number;
  readonly format: OutputFormat;
}

/**
 * The request as accepted, completed with the settings the engine resolved once it ran; never its
 * init image (megabytes of base64 have no place in a job record or in every poll's answer).
 */
export type JobParameters = Omit<GenerationRequest, 'init_image'>;

/**
 * A job as the gateway handles it. Timestamps are ISO-8601 UTC. The id is the caller's credential
 * and lives only in memory and in the answer; everything stored, logged or sent to a backend names
 * the job by `ref` (see `jobReference`).
 */
export interface JobRecord {
  readonly id: string;
  /** The job's reference: its storage keys, log field and backend request id. */
  readonly ref: string;
  readonly status: JobStatus;
  readonly created_at: string;
  readonly started_at?: string;
  readonly completed_at?: string;
  readonly parameters: JobParameters;
  /** In batch order; a withheld image has no object in the store. */
  readonly images?: readonly (StoredImage | WithheldImage)[];
  readonly error?: JobError;
  /** Where the backend reports it, while running. */
  readonly progress?: JobProgress;
  /** The images this job took from today's quotas, so a cancel before it ran can give them back. */
  readonly quota?: QuotaTicket;
  /** Engine time spent on this job (its own `timings.total_ms`), for the GenerationSeconds metric. */
  readonly generation_seconds?: number;
  /** Where a backend finds the job's result, e.g. SageMaker's output and failure S3 URIs. */
  readonly backend_ref?: Readonly<Record<string, string>>;
}

/** What a job store finds a job by: the reference is the key, the id is handed back with the record. */
export type JobKey = Pick<JobRecord, 'id' | 'ref'>;

/** A job as a store keeps it: without its id. */
export type StoredJob = Omit<JobRecord, 'id'>;

export function toStoredJob(job: JobRecord): StoredJob {
  const { id: _id, ...stored } = job;
  return stored;
}

/** A job as `GET /v1/images/{id}` answers it: the record without its internals, images as URLs (by index; none for a withheld one). */
export function toPublicJob(job: JobRecord, imageUrls: readonly (string | undefined)[] | undefined): Job {
  return {
    id: job.id,
    status: job.status,
    created_at: job.created_at,
    ...(job.started_at ? { started_at: job.started_at } : {}),
    ...(job.completed_at ? { completed_at: job.completed_at } : {}),
    parameters: job.parameters,
    ...(job.status === 'running' && job.progress ? { progress: job.progress } : {}),
    ...(job.images && imageUrls
      ? {
          images: job.images.map((image, index) =>
            isWithheld(image)
              ? { seed: image.seed, withheld: image.withheld }
              : { url: imageUrls[index]!, width: image.width, height: image.height, seed: image.seed, format: image.format },
          ),
        }
      : {}),
    ...(job.error ? { error: job.error } : {}),
  };
}
