import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { OutputFormat } from '../../../contract/limits';
import { imageUrlSeconds, ImageStoreError, type ImageStore } from './image-store';
import { JOB_ID_PATTERN } from '../jobs/job-id';
import type { Clock } from '../clock';

/** URL path under which the local server serves the image folder. */
export const LOCAL_IMAGES_PATH = '/local-images/';

export interface FileImageStoreProps {
  readonly dir: string;
  /** The local server's origin; known only once it listens. */
  readonly baseUrl: () => string;
  /** Signs image URLs (under a label of their own), as S3 presigns them in AWS. */
  readonly signingKey: string;
  readonly now: Clock;
}

/**
 * Local mode's images: files under a folder, served by the local server next to the API through
 * signed, expiring URLs like S3's presigned ones. The key alone (the job's reference, which the
 * logs print) opens nothing.
 */
export class FileImageStore implements ImageStore {
  readonly dir: string;
  private readonly now: Clock;

  constructor(private readonly props: FileImageStoreProps) {
    this.dir = props.dir;
    this.now = props.now;
    mkdirSync(this.dir, { recursive: true });
    removeIdNamedFolders(this.dir);
  }

  /**
   * Writes beside the final name and renames, so a disk that fills up (or a folder that turns
   * unwritable) mid-write leaves no half-written file where a URL would serve it.
   */
  async put(key: string, bytes: Uint8Array, _format: OutputFormat): Promise<void> {
    const file = join(this.dir, key);
    const partial = `${file}.partial`;
    try {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(partial, bytes);
      renameSync(partial, file);
    } catch (error) {
      try {
        rmSync(partial, { force: true });
      } catch {
        // No folder to hold it (ENOTDIR): nothing was written.
      }
      const { code, message } = error as NodeJS.ErrnoException;
      throw new ImageStoreError(
        code === 'ENOSPC' || code === 'EDQUOT'
          ? `cannot save image ${key}: the disk holding ${this.dir} is full`
          : `cannot save image ${key} in ${this.dir}: ${message}`,
        { cause: error },
      );
    }
  }

  async url(key: string, maxSeconds: number): Promise<string> {
    const expires = Math.floor(this.now().getTime() / 1000) + imageUrlSeconds(maxSeconds);
    return `${this.props.baseUrl()}${LOCAL_IMAGES_PATH}${key}?expires=${expires}&signature=${this.signature(key, expires)}`;
  }

  /** Whether a request for `key` carries a signature of ours that has not expired. */
  authorizes(key: string, query: URLSearchParams): boolean {
    const expires = Number(query.get('expires'));
    const given = Buffer.from(query.get('signature') ?? '', 'base64url');
    if (!Number.isSafeInteger(expires) || expires < this.now().getTime() / 1000) return false;
    const expected = Buffer.from(this.signature(key, expires), 'base64url');
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  private signature(key: string, expires: number): string {
    return createHmac('sha256', this.props.signingKey).update('local-image\0').update(`${key}\0${expires}`).digest().subarray(0, 16).toString('base64url');
  }
}

/** Images an earlier version stored under the raw job id; no URL can reach them any more. */
function removeIdNamedFolders(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory() && JOB_ID_PATTERN.test(entry.name)) rmSync(join(dir, entry.name), { recursive: true, force: true });
  }
}
