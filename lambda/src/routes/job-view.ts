import type { ImageStore } from '../images/image-store';
import type { Job } from '../../../contract/job';
import { toPublicJob, type JobRecord } from '../jobs/job';
import type { GatewayMetrics } from '../metrics';

/** The job as the API answers it, with a fresh short-lived URL per image. */
export async function publicJob(job: JobRecord, images: ImageStore): Promise<Job> {
  const urls = job.images ? await Promise.all(job.images.map((image) => images.url(image.key))) : undefined;
  return toPublicJob(job, urls);
}

/** Counts a job that has just finished; called once per job, by whoever recorded the transition. */
export function recordOutcome(metrics: GatewayMetrics, job: JobRecord): void {
  if (job.status === 'succeeded') {
    metrics.completed(job.images?.length ?? 0, job.generation_seconds);
  } else if (job.status === 'failed') {
    metrics.failed(job.parameters.num_images ?? 1);
  }
}
