import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';

export function parseS3Uri(uri: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!match) throw new Error(`not an S3 URI: ${uri}`);
  return { bucket: match[1], key: match[2] };
}

function isMissingObject(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  return name === 'NoSuchKey' || name === 'NotFound';
}

/**
 * Reads an object as text, or undefined while it does not exist yet. S3 answers 404 for a missing
 * key only to callers allowed to list the bucket (403 otherwise), so the gateway's role needs
 * s3:ListBucket on the output and failure prefixes.
 */
export async function readObjectIfExists(s3: S3Client, uri: string): Promise<string | undefined> {
  const { bucket, key } = parseS3Uri(uri);
  try {
    const result = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return result.Body ? await result.Body.transformToString('utf8') : '';
  } catch (error) {
    if (isMissingObject(error)) return undefined;
    throw error;
  }
}
