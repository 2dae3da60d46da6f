import type { JobRecord } from './job';

/**
 * How long jobs and their results live. The infrastructure's S3 lifecycle on the jobs bucket must
 * keep objects at least `resultsSeconds` (so at least one day); the gateway reports `expired` from
 * then on, and forgets the job (404) once `recordSeconds` have passed.
 */
export const JOB_RETENTION = {
  resultsSeconds: 24 * 60 * 60,
  /** SageMaker async drops a request that waits longer than its RequestTTLSeconds (at most 6 h). */
  pendingSeconds: 6 * 60 * 60,
  recordSeconds: 2 * 24 * 60 * 60,
} as const;

function ageSeconds(job: JobRecord, now: Date): number {
  return (now.getTime() - Date.parse(job.created_at)) / 1000;
}

/** The job as the caller should see it at `now`: results past retention are gone. */
export function applyRetention(job: JobRecord, now: Date): JobRecord {
  const age = ageSeconds(job, now);
  const resultsGone = job.status === 'succeeded' && age > JOB_RETENTION.resultsSeconds;
  const neverRan = (job.status === 'queued' || job.status === 'running') && age > JOB_RETENTION.pendingSeconds;
  if (!resultsGone && !neverRan) return job;
  const { images: _images, ...rest } = job;
  return { ...rest, status: 'expired' };
}

/** Epoch seconds after which the job record may be deleted (DynamoDB TTL). */
export function recordExpiry(job: JobRecord): number {
  return Math.floor(Date.parse(job.created_at) / 1000) + JOB_RETENTION.recordSeconds;
}
