import { JOB_RETENTION } from '../../facts/retention';
import type { JobRecord } from './job';

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

/** Seconds until the job's images are past retention (0 once they are). */
export function resultsSecondsLeft(job: JobRecord, now: Date): number {
  return Math.max(0, Math.floor(JOB_RETENTION.resultsSeconds - ageSeconds(job, now)));
}

/** Epoch seconds after which the job record may be deleted (DynamoDB TTL). */
export function recordExpiry(job: JobRecord): number {
  return Math.floor(Date.parse(job.created_at) / 1000) + JOB_RETENTION.recordSeconds;
}
