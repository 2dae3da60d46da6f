import type { ImageStore } from '../images/image-store';
import type { Job } from '../../../contract/job';
import { isWithheld } from '../../../contract/safety';
import { toPublicJob, type JobRecord } from '../jobs/job';
import { resultsSecondsLeft } from '../jobs/retention';
import type { GatewayMetrics } from '../metrics';

/**
 * The job as the API answers it, with a fresh short-lived URL per image. A URL never outlives the
 * job's retention, so no link handed out points at an image the bucket has already deleted.
 */
export async function publicJob(job: JobRecord, images: ImageStore, now: Date): Promise<Job> {
  const lifetime = resultsSecondsLeft(job, now);
  const urls =
    job.images && lifetime > 0
      ? await Promise.all(job.images.map((image) => (isWithheld(image) ? undefined : images.url(image.key, lifetime))))
      : undefined;
  return toPublicJob(job, urls);
}

/** Counts a job that has just finished; called once per job, by whoever recorded the transition. */
export function recordOutcome(metrics: GatewayMetrics, job: JobRecord): void {
  if (job.status === 'succeeded') {
    metrics.completed(job.images?.length ?? 0, job.generation_seconds);
    metrics.withheld(job.images?.filter(isWithheld).length ?? 0);
  } else if (job.status === 'failed') {
    metrics.failed(job.parameters.num_images ?? 1);
  }
}
