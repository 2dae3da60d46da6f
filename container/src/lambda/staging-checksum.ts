import { createHash, type Hash } from 'node:crypto';

/** The SHA-256 S3 stored for an object: of the whole object, or of its parts' digests (`parts` > 1). */
export interface StoredChecksum {
  /** Base64, without S3's `-<parts>` suffix. */
  readonly sha256: string;
  readonly parts: number;
  readonly partBytes: number;
}

/**
 * Checks a file fetched as ranges against S3's checksum without reading it again: the ranges are
 * the upload's parts, so each range's digest is a part's, and S3's composite checksum is the
 * digest of those digests in order (S3 user guide, "Checking object integrity", multipart).
 */
export class RangeDigests {
  private readonly digests: Array<Buffer | undefined>;

  constructor(
    private readonly stored: StoredChecksum,
    ranges: number,
  ) {
    if (ranges !== stored.parts) throw new Error(`a checksum of ${stored.parts} parts cannot check ${ranges} ranges`);
    this.digests = new Array<Buffer | undefined>(ranges);
  }

  /** A fresh hash for one attempt at a range: a retried range starts over. */
  startRange(): Hash {
    return createHash('sha256');
  }

  finishRange(index: number, hash: Hash): void {
    this.digests[index] = hash.digest();
  }

  verify(key: string): void {
    if (this.digests.some((digest) => digest === undefined)) throw new Error(`${key}: not every range was checked`);
    const digests = this.digests as Buffer[];
    const actual = this.stored.parts === 1 ? digests[0].toString('base64') : createHash('sha256').update(Buffer.concat(digests)).digest('base64');
    if (actual !== this.stored.sha256) {
      throw new Error(`${key}: the staged bytes do not match the SHA-256 S3 stored for them (${actual} against ${this.stored.sha256}); the copy was discarded`);
    }
  }
}
