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
