/**
 * The SHA-256 checksum S3 stores for an object, computed locally: for a single PUT the file's
 * digest; for a multipart upload S3's composite form, the digest of the parts' digests followed
 * by `-<parts>` (S3 user guide, "Checking object integrity", multipart uploads). Comparing it with
 * HeadObject's ChecksumSHA256 tells whether the object already holds these bytes.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';

/** S3's smallest part, except the last. */
export const MIN_PART_BYTES = 5 * 1024 * 1024;
/** S3's largest part count. */
const MAX_PARTS = 10_000;

export interface FileChecksum {
  readonly size: number;
  /** Base64 digest of each part (one part for a single PUT). */
  readonly partDigests: readonly string[];
  /** What HeadObject reports as ChecksumSHA256 once uploaded this way. */
  readonly s3ChecksumSha256: string;
  /** Whether the upload is multipart. */
  readonly multipart: boolean;
  readonly partBytes: number;
}

export async function fileChecksum(path: string, partBytes: number): Promise<FileChecksum> {
  if (partBytes < MIN_PART_BYTES) throw new Error(`part size must be at least ${MIN_PART_BYTES} bytes (S3's minimum) but is ${partBytes}`);
  const { size } = await stat(path);
  if (Math.ceil(size / partBytes) > MAX_PARTS) throw new Error(`${path} needs more than ${MAX_PARTS} parts of ${partBytes} bytes; use larger parts`);
  const multipart = size > partBytes;
  const digests: Buffer[] = [];
  let part = createHash('sha256');
  let inPart = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) {
    let data = chunk as Buffer;
    while (data.length > 0) {
      const take = Math.min(data.length, partBytes - inPart);
      part.update(data.subarray(0, take));
      inPart += take;
      data = data.subarray(take);
      if (inPart === partBytes) {
        digests.push(part.digest());
        part = createHash('sha256');
        inPart = 0;
      }
    }
  }
  if (inPart > 0 || digests.length === 0) digests.push(part.digest());
  const partDigests = digests.map((digest) => digest.toString('base64'));
  const s3ChecksumSha256 = multipart
    ? `${createHash('sha256').update(Buffer.concat(digests)).digest('base64')}-${digests.length}`
    : partDigests[0];
  return { size, partDigests, s3ChecksumSha256, multipart, partBytes };
}
