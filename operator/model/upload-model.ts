/**
 * `npm run model -- upload`: an uncompressed model folder into S3, the form SageMaker copies to
 * /opt/ml/model without unpacking (`model.s3Uri`). Every object carries a SHA-256 checksum that S3
 * verifies on arrival; files already there with the same checksum are not sent again, so a rerun
 * after an interruption sends only what is missing.
 */
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { UsageError } from '../../container/src/cli/cli-errors';
import { readModelFolder } from '../../container/src/engine/model/model-folder';
import { DeploymentConfigError, parseDeploymentConfig } from '../../lib/config/deployment-config';
import { modelFolderFiles, type LocalFile } from './model-folder-files';
import { fileChecksum, MIN_PART_BYTES, type FileChecksum } from './s3-checksum';
import { formatBytes, SILENT_PROGRESS, type ProgressSink } from './transfer-progress';

export interface UploadModelOptions {
  readonly dir: string;
  readonly bucket: string;
  /** Key prefix; a trailing slash is added. @default - `models/<folder name>/` */
  readonly prefix?: string;
  readonly s3: S3Client;
  /** Part size of multipart uploads; files up to this size go in one PUT. @default 64 MiB */
  readonly partBytes?: number;
  /** Parts uploaded at once. @default 4 */
  readonly concurrency?: number;
  /** Makes the progress display once the total size is known. @default - none */
  readonly progress?: (totalBytes: number) => ProgressSink;
}

export interface UploadModelResult {
  /** The value for `model.s3Uri` in cdk.json. */
  readonly s3Uri: string;
  readonly uploaded: readonly string[];
  readonly unchanged: readonly string[];
  readonly bytes: number;
}

export const DEFAULT_PART_BYTES = 64 * 1024 * 1024;

export async function uploadModel(options: UploadModelOptions): Promise<UploadModelResult> {
  const partBytes = options.partBytes ?? DEFAULT_PART_BYTES;
  if (partBytes < MIN_PART_BYTES) throw new UsageError(`the part size must be at least 5 MiB (S3's minimum) but is ${partBytes} bytes`);
  const folder = await readModelFolder(options.dir);
  const prefix = normalizePrefix(options.prefix ?? `models/${basename(folder.dir)}/`);
  const s3Uri = checkedS3Uri(options.bucket, prefix);
  const files = await modelFolderFiles(folder.dir);
  const bytes = files.reduce((sum, file) => sum + file.size, 0);
  const progress = options.progress?.(bytes) ?? SILENT_PROGRESS;
  progress.note(`${files.length} files (${formatBytes(bytes)}) from ${folder.dir} to ${s3Uri}`);

  const uploaded: string[] = [];
  const unchanged: string[] = [];
  for (const file of files) {
    progress.current(file.path);
    const key = prefix + file.path;
    const checksum = await fileChecksum(file.absolute, partBytes);
    if (await holdsSameBytes(options.s3, options.bucket, key, checksum)) {
      unchanged.push(file.path);
      progress.alreadyHave(file.size);
      progress.note(`${file.path}: already in S3 with the same SHA-256`);
      continue;
    }
    try {
      if (checksum.multipart) await uploadParts(options.s3, options.bucket, key, file, checksum, options.concurrency ?? 4, progress);
      else await uploadWhole(options.s3, options.bucket, key, file, checksum, progress);
    } catch (error) {
      throw new Error(`uploading ${file.path} to s3://${options.bucket}/${key} failed: ${(error as Error).message}`);
    }
    uploaded.push(file.path);
    progress.note(`${file.path}: uploaded, ${formatBytes(file.size)}, SHA-256 ${checksum.multipart ? `of ${checksum.partDigests.length} parts ` : ''}verified by S3`);
  }
  progress.done(`${uploaded.length} uploaded, ${unchanged.length} already there: ${s3Uri}`);
  return { s3Uri, uploaded, unchanged, bytes };
}

function normalizePrefix(prefix: string): string {
  const trimmed = prefix.replace(/^\/+/, '').replace(/\/+$/, '');
  if (trimmed === '' || trimmed.split('/').some((part) => part === '' || part === '.' || part === '..')) {
    throw new UsageError(`--prefix must be a key prefix such as models/sd-1.5 but is ${JSON.stringify(prefix)}`);
  }
  return `${trimmed}/`;
}

/** The URI as the deployment configuration will read it, refused here rather than at synth. */
function checkedS3Uri(bucket: string, prefix: string): string {
  const s3Uri = `s3://${bucket}/${prefix}`;
  try {
    parseDeploymentConfig({ model: { s3Uri } });
  } catch (error) {
    if (!(error instanceof DeploymentConfigError)) throw error;
    throw new UsageError(`--bucket ${bucket} and --prefix ${prefix} make ${s3Uri}, which model.s3Uri does not accept: ${error.problems[0]}`);
  }
  return s3Uri;
}

async function holdsSameBytes(s3: S3Client, bucket: string, key: string, checksum: FileChecksum): Promise<boolean> {
  try {
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }));
    return head.ContentLength === checksum.size && head.ChecksumSHA256 === checksum.s3ChecksumSha256;
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if ((error as Error).name === 'NotFound' || status === 404) return false;
    throw new Error(`cannot read s3://${bucket}/${key}: ${(error as Error).name}: ${(error as Error).message}`);
  }
}

async function uploadWhole(s3: S3Client, bucket: string, key: string, file: LocalFile, checksum: FileChecksum, progress: ProgressSink): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: createReadStream(file.absolute),
      ContentLength: file.size,
      ChecksumAlgorithm: 'SHA256',
      ChecksumSHA256: checksum.partDigests[0],
    }),
  );
  progress.transferred(file.size);
}

async function uploadParts(
  s3: S3Client,
  bucket: string,
  key: string,
  file: LocalFile,
  checksum: FileChecksum,
  concurrency: number,
  progress: ProgressSink,
): Promise<void> {
  const { UploadId } = await s3.send(
    new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ChecksumAlgorithm: 'SHA256', ChecksumType: 'COMPOSITE' }),
  );
  if (!UploadId) throw new Error('S3 returned no upload id');
  try {
    const parts = await inParallel(checksum.partDigests, concurrency, async (digest, index) => {
      const start = index * checksum.partBytes;
      const length = Math.min(checksum.partBytes, file.size - start);
      const { ETag } = await s3.send(
        new UploadPartCommand({
          Bucket: bucket,
          Key: key,
          UploadId,
          PartNumber: index + 1,
          Body: createReadStream(file.absolute, { start, end: start + length - 1 }),
          ContentLength: length,
          ChecksumAlgorithm: 'SHA256',
          ChecksumSHA256: digest,
        }),
      );
      progress.transferred(length);
      return { ETag, PartNumber: index + 1, ChecksumSHA256: digest };
    });
    const completed = await s3.send(
      new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId, ChecksumType: 'COMPOSITE', MultipartUpload: { Parts: parts } }),
    );
    if (completed.ChecksumSHA256 && completed.ChecksumSHA256 !== checksum.s3ChecksumSha256) {
      throw new Error(`S3 computed checksum ${completed.ChecksumSHA256}, expected ${checksum.s3ChecksumSha256}`);
    }
  } catch (error) {
    // An unfinished multipart upload is billed as storage until aborted.
    try {
      await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId }));
    } catch {
      // The original failure is the one to report; a lifecycle rule can clean up what remains.
    }
    throw error;
  }
}

/** Maps items with at most `limit` calls in flight, keeping their order. */
async function inParallel<T, R>(items: readonly T[], limit: number, map: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (next < items.length && !failed) {
      const index = next++;
      try {
        results[index] = await map(items[index], index);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
