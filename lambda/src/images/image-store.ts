import { IMAGE_MIME_TYPES, type OutputFormat } from '../../../contract/limits';

/** Long enough to load and download the image after a poll, short enough that a shared link dies. */
export const IMAGE_URL_SECONDS = 15 * 60;

/** How long a URL handed out now lives: at most IMAGE_URL_SECONDS, never past `maxSeconds`, at least 1 s. */
export function imageUrlSeconds(maxSeconds: number): number {
  return Math.max(1, Math.min(IMAGE_URL_SECONDS, Math.floor(maxSeconds)));
}

/** An image could not be stored (disk full, folder unwritable, bucket refused): the job cannot succeed. */
export class ImageStoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ImageStoreError';
  }
}

/** Where finished images live, one object per image: S3 in AWS, a folder locally. */
export interface ImageStore {
  /** Stores the bytes under `key` (relative to the store's root). */
  put(key: string, bytes: Uint8Array, format: OutputFormat): Promise<void>;
  /** A URL the browser can fetch the image from, valid for a short while and at most `maxSeconds`. */
  url(key: string, maxSeconds: number): Promise<string>;
}

/**
 * `<job ref>/<index>.<format>`: named by the job's reference, so S3's access logs never carry the id
 * (a key opens nothing by itself: images are handed out as expiring signed URLs, S3's presigned
 * ones in AWS and the file store's own locally).
 */
export function imageKey(jobRef: string, index: number, format: OutputFormat): string {
  return `${jobRef}/${index}.${format}`;
}

export function mimeType(format: OutputFormat): string {
  return IMAGE_MIME_TYPES[format];
}
