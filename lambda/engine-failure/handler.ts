/**
 * The engine function's on-failure destination: Lambda calls it with the original event when a
 * generation crashed, ran out of memory or time, or waited too long to start. It writes the
 * failure where the gateway looks, so such a job ends `failed` instead of staying `running`.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { failureOf, warmUpOutcome, type AsyncFailureRecord } from './failure-body';

const s3 = new S3Client({});
const logger = new Logger({ serviceName: 'engine-failure' });

export async function handler(record: AsyncFailureRecord): Promise<void> {
  const warmUp = warmUpOutcome(record);
  if (warmUp === 'dropped') {
    // Expected while nothing may run (the budget action): no job waits on it, nothing to record.
    logger.info('warm-up dropped unrun', { condition: record.requestContext?.condition });
    return;
  }
  if (warmUp === 'failed') {
    logger.warn('warm-up failed', { condition: record.requestContext?.condition, error: record.responsePayload?.errorMessage });
    return;
  }
  const failure = failureOf(record);
  if (!failure) {
    logger.error('not an engine invocation record', { condition: record.requestContext?.condition });
    return;
  }
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(failure.invocation.failure_location)!;
  await s3.send(new PutObjectCommand({ Bucket: match[1], Key: match[2], Body: JSON.stringify(failure.body), ContentType: 'application/json' }));
  logger.info('failure recorded', { job_ref: failure.invocation.job_ref, code: failure.body.error.code, condition: record.requestContext?.condition });
}
