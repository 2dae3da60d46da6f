import { IMAGE_MIME_TYPES, type OutputFormat } from '../../../contract/limits';

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
