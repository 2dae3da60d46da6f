/** Hashing files as they stream, in the two forms the Hub lists: LFS SHA-256 and Git blob SHA-1. */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { ExpectedDigest, RemoteFile } from './hub-listing';

/** A hash in progress over a file's bytes, in the form the listing states for it. */
export function startDigest(file: RemoteFile): Hash {
  if (file.digest.algorithm === 'sha256') return createHash('sha256');
  // Git names a blob by the SHA-1 of "blob <size>\0" followed by its bytes.
  return createHash('sha1').update(`blob ${file.size}\0`);
}

/** Feeds the first `bytes` of a file on disk into a digest (resuming a partial download). */
export async function digestFile(path: string, digest: Hash, bytes?: number): Promise<void> {
  if (bytes === 0) return;
  for await (const chunk of createReadStream(path, bytes === undefined ? {} : { end: bytes - 1 })) digest.update(chunk as Buffer);
}

export function describeDigest(digest: ExpectedDigest): string {
  return digest.algorithm === 'sha256' ? 'SHA-256' : 'Git blob SHA-1';
}
