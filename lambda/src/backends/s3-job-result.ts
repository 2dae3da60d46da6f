import type { Logger } from '@aws-lambda-powertools/logger';
import type { S3Client } from '@aws-sdk/client-s3';
import type { ImageStore } from '../images/image-store';
import type { JobRecord } from '../jobs/job';
import { EngineOutputError, engineErrorOf, failedJob, GENERIC_FAILURE, parseEngineResponse, succeededJob } from './engine-output';
import { readObjectIfExists } from './s3-uri';
import type { Clock } from '../clock';

export interface S3JobResultReader {
  readonly s3: S3Client;
  readonly images: ImageStore;
  readonly logger: Logger;
  readonly now: Clock;
}

/**
 * The job brought up to date from its output and failure locations in S3, for the backends whose
 * engine writes its answer there (SageMaker async, the Lambda engine): the engine's JSON response
 * at `backend_ref.output_location`, or its error body at `backend_ref.failure_location`.
 * Unchanged while neither exists.
 */
export async function refreshFromS3Result(job: JobRecord, reader: S3JobResultReader): Promise<JobRecord> {
  const outputLocation = job.backend_ref?.output_location;
  if (!outputLocation) return job;
  const output = await readObjectIfExists(reader.s3, outputLocation);
  if (output !== undefined) {
    try {
      return await succeededJob(job, parseEngineResponse(output), reader.images, reader.now());
    } catch (error) {
      if (!(error instanceof EngineOutputError)) throw error;
      // Polling again would read the same bytes: the job is over.
      reader.logger.error('engine output unreadable', { job_ref: job.ref, reason: error.message });
      return failedJob(job, GENERIC_FAILURE, reader.now());
    }
  }
  const failureLocation = job.backend_ref?.failure_location;
  const failure = failureLocation ? await readObjectIfExists(reader.s3, failureLocation) : undefined;
  if (failure !== undefined) return failedJob(job, engineErrorOf(failure), reader.now());
  return job;
}
