import { IMAGE_MIME_TYPES, type OutputFormat } from '../../../contract/limits';

/** Where finished images live, one object per image: S3 in AWS, a folder locally. */
export interface ImageStore {
  /** Stores the bytes under `key` (relative to the store's root). */
  put(key: string, bytes: Uint8Array, format: OutputFormat): Promise<void>;
  /** A URL the browser can fetch the image from, valid for a short while and at most `maxSeconds`. */
  url(key: string, maxSeconds: number): Promise<string>;
}

/** `<job id>/<index>.<format>`: the job id is unguessable, so the key is too. */
export function imageKey(jobId: string, index: number, format: OutputFormat): string {
  return `${jobId}/${index}.${format}`;
}

export function mimeType(format: OutputFormat): string {
  return IMAGE_MIME_TYPES[format];
}
