import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Job ids are 128 random bits followed by a 128-bit HMAC of them: nobody can guess another
 * person's id, and an id we did not issue (or one edited by a single character) is refused before
 * any storage is read, so probing costs us nothing.
 */
const RANDOM_BYTES = 16;
const SIGNATURE_BYTES = 16;
export const JOB_ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;

function signature(key: string, random: Buffer): Buffer {
  return createHmac('sha256', key).update('job-id\0').update(random).digest().subarray(0, SIGNATURE_BYTES);
}

export function createJobId(signingKey: string): string {
  const random = randomBytes(RANDOM_BYTES);
  return Buffer.concat([random, signature(signingKey, random)]).toString('base64url');
}

export function isAuthenticJobId(id: string, signingKey: string): boolean {
  if (!JOB_ID_PATTERN.test(id)) return false;
  const bytes = Buffer.from(id, 'base64url');
  // Canonical encoding only: otherwise the unused low bits of the last character make several
  // spellings of one id, which would be separate keys in storage.
  if (bytes.length !== RANDOM_BYTES + SIGNATURE_BYTES || bytes.toString('base64url') !== id) return false;
  const random = bytes.subarray(0, RANDOM_BYTES);
  return timingSafeEqual(bytes.subarray(RANDOM_BYTES), signature(signingKey, random));
}

const REFERENCE_BYTES = 16;

/**
 * The name logs, storage keys and backends know a job by: an HMAC of its id under a label of its
 * own, so it is stable for the job and leads nobody back to the id. The id is the only credential
 * for a job's prompt and images; whoever reads logs, S3 keys or SageMaker's notifications must not
 * be handed it. 22 characters, so it cannot be mistaken for (or accepted as) an id.
 */
export function jobReference(id: string, signingKey: string): string {
  return createHmac('sha256', signingKey).update('job-reference\0').update(id).digest().subarray(0, REFERENCE_BYTES).toString('base64url');
}
