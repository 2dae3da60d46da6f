import { createWriteStream } from 'node:fs';
import { mkdir, rename, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { parseS3Uri } from './s3-objects';

export interface StagedModel {
  readonly dir: string;
  readonly bytes: number;
  readonly files: number;
  readonly ms: number;
}

/**
 * Copies an uncompressed model folder from S3 (`s3://bucket/prefix/`) into `dir` on the function's
 * ephemeral storage, once per execution environment: Lambda keeps /tmp between invocations of one
 * environment, so files already there at the right size are kept. Downloads run a few at a time,
 * each to a temporary name renamed on completion, so a cut-off copy is never taken for a file.
 */
export async function stageModel(s3: S3Client, uri: string, dir: string, parallel = 4): Promise<StagedModel> {
  const started = performance.now();
  const { bucket, key: prefix } = parseS3Uri(uri.endsWith('/') ? uri : `${uri}/`);
  const objects: Array<{ key: string; size: number }> = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const object of page.Contents ?? []) {
      if (object.Key && !object.Key.endsWith('/')) objects.push({ key: object.Key, size: object.Size ?? 0 });
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  if (objects.length === 0) throw new Error(`no model files under ${uri}`);

  const root = resolve(dir);
  const queue = [...objects];
  const worker = async () => {
    for (let object = queue.shift(); object; object = queue.shift()) {
      const target = resolve(root, object.key.slice(prefix.length));
      if (relative(root, target).startsWith('..')) throw new Error(`model key escapes the folder: ${object.key}`);
      if ((await stat(target).catch(() => undefined))?.size === object.size) continue;
      await mkdir(dirname(target), { recursive: true });
      const partial = `${target}.partial`;
      const result = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: object.key }));
      await pipeline(result.Body as Readable, createWriteStream(partial));
      await rename(partial, target);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, objects.length) }, worker));
  return {
    dir: root,
    bytes: objects.reduce((sum, object) => sum + object.size, 0),
    files: objects.length,
    ms: Math.round(performance.now() - started),
  };
}

/** Lambda's ephemeral storage is /tmp; MODEL_STAGING_DIR moves it (tests). */
export const stagedModelDir = (): string => process.env.MODEL_STAGING_DIR ?? join('/tmp', 'model');
