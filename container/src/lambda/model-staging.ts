import { mkdir, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { parseS3Uri } from './s3-objects';
import { RangeDigests, type StoredChecksum } from './staging-checksum';
import { STAGING_DEFAULTS } from '../../../lambda/facts/model-staging';

export interface StagedModel {
  readonly dir: string;
  readonly bytes: number;
  readonly files: number;
  /** Bytes actually downloaded: files already complete in `dir` are kept. */
  readonly downloadedBytes: number;
  readonly ms: number;
}

export interface StageOptions {
  /**
   * Bytes per ranged GET. A single S3 stream gives roughly 60–90 MB/s (1 GB in 16.5 s measured
   * into Lambda), so a 3.4 GB UNet in one stream takes most of a minute; ranges in flight add up.
   * Objects uploaded in parts are fetched part by part instead, so each range's SHA-256 is a part's.
   * @default 32 MiB
   */
  readonly rangeBytes?: number;
  /**
   * Ranges in flight, over all files. `npm run bench:coldstart` measured staging through a
   * loopback server capped at 80 MB/s a connection: see the README's lambda table. @default 16
   */
  readonly concurrency?: number;
  /** Attempts per range before the staging fails. @default 4 */
  readonly attempts?: number;
  /** Pause before the second attempt, doubled for each next one. @default 200 */
  readonly retryDelayMs?: number;
  /** Called as bytes land, for logs and benchmarks. */
  readonly onBytes?: (bytes: number) => void;
}

interface ModelObject {
  readonly key: string;
  readonly size: number;
  readonly target: string;
}

interface RangeTask {
  readonly file: FileDownload;
  readonly index: number;
  readonly start: number;
  /** Inclusive, as HTTP's Range header counts. */
  readonly end: number;
}

interface FileDownload {
  readonly object: ModelObject;
  readonly partial: string;
  readonly handle: FileHandle;
  readonly digests?: RangeDigests;
  readonly rangeBytes: number;
  remaining: number;
  /** Renamed into place: nothing of it to clean up. */
  done: boolean;
}

/**
 * Copies an uncompressed model folder from S3 (`s3://bucket/prefix/`) into `dir` on the function's
 * ephemeral storage, once per execution environment: Lambda keeps /tmp between invocations of one
 * environment, so files already there at the right size are kept. Large objects come as parallel
 * byte ranges written in place (the UNet's first, since it gates the load), each range retried on
 * its own; every file is checked against its listed size and, where S3 stored one, its SHA-256
 * checksum, then renamed from a temporary name, so a cut-off copy is never taken for a file.
 */
export async function stageModel(s3: S3Client, uri: string, dir: string, options: StageOptions = {}): Promise<StagedModel> {
  const settings = { ...STAGING_DEFAULTS, ...options };
  const started = performance.now();
  const root = resolve(dir);
  const { bucket, objects } = await listModel(s3, uri, root);
  const missing: ModelObject[] = [];
  for (const object of objects) {
    if ((await stat(object.target).catch(() => undefined))?.size !== object.size) missing.push(object);
  }
  // The UNet's weights first: its session is the last to be ready, whatever else arrives.
  missing.sort((a, b) => Number(isUnet(b.key)) - Number(isUnet(a.key)) || b.size - a.size);

  const files: FileDownload[] = [];
  // Every file's checksum lookup and temporary file at once: a round trip each, not one after another.
  const prepare = async (object: ModelObject): Promise<FileDownload> => {
    const checksum = object.size > 0 ? await storedChecksum(s3, bucket, object) : undefined;
    const rangeBytes = checksum?.partBytes ?? settings.rangeBytes;
    await mkdir(dirname(object.target), { recursive: true });
    const partial = `${object.target}.partial`;
    const handle = await open(partial, 'w');
    // An empty file needs no request: a range of it cannot be asked for.
    const count = Math.ceil(object.size / rangeBytes);
    const file: FileDownload = { object, partial, handle, rangeBytes, remaining: count, done: false, digests: checksum ? new RangeDigests(checksum, count) : undefined };
    files.push(file);
    await handle.truncate(object.size);
    return file;
  };
  try {
    // Settled, not raced: a failed lookup must not leave another file's handle opening after the cleanup below.
    const settled = await Promise.allSettled(missing.map(prepare));
    const failed = settled.find((outcome) => outcome.status === 'rejected');
    if (failed) throw failed.reason;
    const prepared = settled.map((outcome) => (outcome as PromiseFulfilledResult<FileDownload>).value);
    const tasks: RangeTask[] = [];
    for (const file of prepared) {
      if (file.remaining === 0) await complete(file);
      for (let index = 0; index < file.remaining; index++) {
        const start = index * file.rangeBytes;
        tasks.push({ file, index, start, end: Math.min(file.object.size, start + file.rangeBytes) - 1 });
      }
    }
    let next = 0;
    const worker = async () => {
      for (let task = tasks[next++]; task; task = tasks[next++]) {
        await fetchRangeWithRetries(s3, bucket, task, settings);
        task.file.remaining -= 1;
        if (task.file.remaining === 0) await complete(task.file);
      }
    };
    await Promise.all(Array.from({ length: Math.min(settings.concurrency, Math.max(1, tasks.length)) }, worker));
  } finally {
    // complete() closed and renamed the rest.
    const unfinished = files.filter((file) => !file.done);
    await Promise.all(unfinished.map((file) => file.handle.close().catch(() => undefined)));
    await Promise.all(unfinished.map((file) => rm(file.partial, { force: true })));
  }
  return {
    dir: root,
    bytes: objects.reduce((sum, object) => sum + object.size, 0),
    files: objects.length,
    downloadedBytes: missing.reduce((sum, object) => sum + object.size, 0),
    ms: Math.round(performance.now() - started),
  };
}

async function listModel(s3: S3Client, uri: string, root: string) {
  const { bucket, key: prefix } = parseS3Uri(uri.endsWith('/') ? uri : `${uri}/`);
  const objects: ModelObject[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const object of page.Contents ?? []) {
      if (!object.Key || object.Key.endsWith('/')) continue;
      const target = resolve(root, object.Key.slice(prefix.length));
      if (relative(root, target).startsWith('..')) throw new Error(`model key escapes the folder: ${object.Key}`);
      objects.push({ key: object.Key, size: object.Size ?? 0, target });
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  if (objects.length === 0) throw new Error(`no model files under ${uri}`);
  return { bucket, objects };
}

const isUnet = (key: string) => /(^|\/)unet\//.test(key);

/**
 * The SHA-256 S3 keeps for the object (`npm run model -- upload` always sends one), with the part
 * size of a multipart upload, whose checksum is the digest of its parts' digests. Undefined where
 * S3 has none (an object copied in another way), or where the server cannot say.
 */
async function storedChecksum(s3: S3Client, bucket: string, object: ModelObject): Promise<StoredChecksum | undefined> {
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: object.key, ChecksumMode: 'ENABLED' }));
  const value = head.ChecksumSHA256;
  if (!value) return undefined;
  const composite = /^(.+)-(\d+)$/.exec(value);
  if (!composite) return { sha256: value, parts: 1, partBytes: Math.max(object.size, 1) };
  const parts = Number(composite[2]);
  const first = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: object.key, PartNumber: 1 }));
  const partBytes = first.ContentLength;
  if (!partBytes || Math.ceil(object.size / partBytes) !== parts) {
    throw new Error(`${object.key}: S3 reports ${parts} parts but a first part of ${partBytes} bytes in ${object.size}; cannot check its checksum`);
  }
  return { sha256: composite[1], parts, partBytes };
}

async function fetchRangeWithRetries(s3: S3Client, bucket: string, task: RangeTask, settings: typeof STAGING_DEFAULTS & StageOptions): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await fetchRange(s3, bucket, task, settings.onBytes);
      return;
    } catch (error) {
      if (attempt >= settings.attempts) {
        throw new Error(`${task.file.object.key}: bytes ${task.start}–${task.end} failed ${attempt} times: ${(error as Error).message}`);
      }
      await new Promise((done) => setTimeout(done, settings.retryDelayMs * 2 ** (attempt - 1)));
    }
  }
}

async function fetchRange(s3: S3Client, bucket: string, task: RangeTask, onBytes?: (bytes: number) => void): Promise<void> {
  const expected = task.end - task.start + 1;
  const result = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: task.file.object.key, Range: `bytes=${task.start}-${task.end}` }));
  const hash = task.file.digests?.startRange();
  let received = 0;
  for await (const chunk of result.Body as Readable) {
    const bytes = chunk as Buffer;
    if (received + bytes.length > expected) throw new Error(`the server sent more than the ${expected} bytes asked for`);
    await task.file.handle.write(bytes, 0, bytes.length, task.start + received);
    hash?.update(bytes);
    received += bytes.length;
    onBytes?.(bytes.length);
  }
  if (received !== expected) throw new Error(`received ${received} of ${expected} bytes (the object is shorter than listed, or the connection was cut)`);
  if (hash) task.file.digests!.finishRange(task.index, hash);
}

async function complete(file: FileDownload): Promise<void> {
  await file.handle.sync();
  const { size } = await file.handle.stat();
  if (size !== file.object.size) throw new Error(`${file.object.key}: staged ${size} bytes, S3 listed ${file.object.size}`);
  file.digests?.verify(file.object.key);
  await file.handle.close();
  await rename(file.partial, file.object.target);
  file.done = true;
}

/** Lambda's ephemeral storage is /tmp; MODEL_STAGING_DIR moves it (tests). */
export const stagedModelDir = (): string => process.env.MODEL_STAGING_DIR ?? join('/tmp', 'model');
