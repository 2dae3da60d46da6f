import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';

export interface EmulatedS3 {
  readonly endpoint: string;
  /** A client for the emulator, with s3rver's built-in account. */
  readonly client: S3Client;
  stop(): Promise<void>;
}

/** s3rver's one built-in account: its keys are fixed in s3rver itself. */
const ACCOUNT = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/**
 * An S3-compatible server (s3rver, on the file system) on a loopback port of this process, with
 * `buckets` created. What it checks of a presigned V4 URL: the access key, `X-Amz-Date` plus
 * `X-Amz-Expires` against its clock; it does NOT verify V4 signatures (see
 * s3rver/lib/middleware/authentication.js: "Signature version 4 calculation is unimplemented").
 */
export async function startEmulatedS3(buckets: readonly string[]): Promise<EmulatedS3> {
  const directory = await mkdtemp(join(tmpdir(), 's3rver-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: buckets.map((name) => ({ name })) });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    credentials: ACCOUNT,
    forcePathStyle: true,
    // s3rver predates the SDK's default CRC checksums on every upload.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return {
    endpoint,
    client,
    stop: async () => {
      client.destroy();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
