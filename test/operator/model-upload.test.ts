import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, cpSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  NotFound,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { fileChecksum, MIN_PART_BYTES } from '../../operator/model/s3-checksum';
import { uploadModel } from '../../operator/model/upload-model';
import { TINY_SD } from '../support/oracle';
import { runNpmScript } from '../support/run-command';

const s3mock = mockClient(S3Client);
const s3 = new S3Client({ region: 'us-east-1' });
const BUCKET = 'my-models';
/** S3's smallest part size, so the 6.4 MB text encoder goes up in two parts. */
const PART = MIN_PART_BYTES;
const TEXT_ENCODER = join(TINY_SD, 'text_encoder/model.onnx');

const notFound = () => new NotFound({ message: 'Not Found', $metadata: { httpStatusCode: 404 } });
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest();
/** S3's composite checksum, computed here from its definition rather than by the code under test. */
function compositeChecksum(data: Buffer, partBytes: number): string {
  const digests: Buffer[] = [];
  for (let start = 0; start < data.length; start += partBytes) digests.push(sha256(data.subarray(start, start + partBytes)));
  return `${sha256(Buffer.concat(digests)).toString('base64')}-${digests.length}`;
}
async function bodyBytes(body: unknown): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body as Readable) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

let work: string;
beforeEach(() => {
  s3mock.reset();
  work = mkdtempSync(join(tmpdir(), 'model-upload-'));
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

/** Records what reaches S3: keys with the bytes and checksums they carried. */
function acceptUploads() {
  const objects = new Map<string, { body: Buffer; checksum?: string }>();
  const parts = new Map<number, { body: Buffer; checksum?: string }>();
  s3mock.on(HeadObjectCommand).rejects(notFound());
  s3mock.on(PutObjectCommand).callsFake(async (input) => {
    objects.set(input.Key, { body: await bodyBytes(input.Body), checksum: input.ChecksumSHA256 });
    return {};
  });
  s3mock.on(CreateMultipartUploadCommand).resolves({ UploadId: 'upload-1' });
  s3mock.on(UploadPartCommand).callsFake(async (input) => {
    parts.set(input.PartNumber, { body: await bodyBytes(input.Body), checksum: input.ChecksumSHA256 });
    return { ETag: `"etag-${input.PartNumber}"` };
  });
  s3mock.on(CompleteMultipartUploadCommand).callsFake(async (input) => {
    const ordered = [...parts.entries()].sort(([a], [b]) => a - b);
    objects.set(input.Key, { body: Buffer.concat(ordered.map(([, part]) => part.body)) });
    return { ChecksumSHA256: compositeChecksum(Buffer.concat(ordered.map(([, part]) => part.body)), PART) };
  });
  return { objects, parts };
}

describe('upload', () => {
  test('sends every model file under the prefix with SHA-256 checksums, large ones in parts, and names the s3Uri', async () => {
    const { objects, parts } = acceptUploads();
    const result = await uploadModel({ dir: TINY_SD, bucket: BUCKET, s3, partBytes: PART });
    expect(result.s3Uri).toBe('s3://my-models/models/tiny-sd/');
    expect(result.unchanged).toEqual([]);
    expect([...objects.keys()].sort()).toEqual(result.uploaded.map((path) => `models/tiny-sd/${path}`).sort());
    expect(result.uploaded).toContain('unet/model.onnx');
    for (const path of result.uploaded) {
      const local = readFileSync(join(TINY_SD, path));
      const sent = objects.get(`models/tiny-sd/${path}`)!;
      expect(sent.body.equals(local)).toBe(true);
      if (path !== 'text_encoder/model.onnx') expect(sent.checksum).toBe(sha256(local).toString('base64'));
    }
    // The 6.4 MB text encoder: two parts, each with its own checksum, completed with both.
    const encoder = readFileSync(TEXT_ENCODER);
    expect([...parts.keys()].sort()).toEqual([1, 2]);
    expect(parts.get(1)!.checksum).toBe(sha256(encoder.subarray(0, PART)).toString('base64'));
    expect(parts.get(2)!.checksum).toBe(sha256(encoder.subarray(PART)).toString('base64'));
    expect(s3mock.commandCalls(CreateMultipartUploadCommand)[0].args[0].input).toMatchObject({ ChecksumAlgorithm: 'SHA256', ChecksumType: 'COMPOSITE' });
    const complete = s3mock.commandCalls(CompleteMultipartUploadCommand)[0].args[0].input;
    expect(complete.MultipartUpload?.Parts).toEqual([
      { ETag: '"etag-1"', PartNumber: 1, ChecksumSHA256: parts.get(1)!.checksum },
      { ETag: '"etag-2"', PartNumber: 2, ChecksumSHA256: parts.get(2)!.checksum },
    ]);
    for (const call of s3mock.commandCalls(PutObjectCommand)) expect(call.args[0].input.ChecksumAlgorithm).toBe('SHA256');
    for (const call of s3mock.commandCalls(HeadObjectCommand)) expect(call.args[0].input.ChecksumMode).toBe('ENABLED');
  });

  test('skips files S3 already holds with the same checksum and re-sends one that differs', async () => {
    const { objects } = acceptUploads();
    const dir = join(work, 'sd');
    cpSync(TINY_SD, dir, { recursive: true });
    writeFileSync(join(dir, '.DS_Store'), 'finder');
    writeFileSync(join(dir, 'unet/model.onnx.incomplete'), 'partial download');
    s3mock.on(HeadObjectCommand).callsFake(async ({ Key }) => {
      const path = (Key as string).slice('sd-1/'.length);
      if (path === 'vae_decoder/model.onnx') return { ContentLength: statSync(join(dir, path)).size, ChecksumSHA256: 'c3RhbGU=' };
      const data = readFileSync(join(dir, path));
      return { ContentLength: data.length, ChecksumSHA256: data.length > PART ? compositeChecksum(data, PART) : sha256(data).toString('base64') };
    });
    const result = await uploadModel({ dir, bucket: BUCKET, prefix: '/sd-1', s3, partBytes: PART });
    expect(result.s3Uri).toBe('s3://my-models/sd-1/');
    expect(result.uploaded).toEqual(['vae_decoder/model.onnx']);
    expect(result.unchanged).toContain('text_encoder/model.onnx');
    expect([...objects.keys()]).toEqual(['sd-1/vae_decoder/model.onnx']);
    // Hidden files and partial downloads are never looked at.
    expect(s3mock.commandCalls(HeadObjectCommand).map((call) => call.args[0].input.Key)).not.toContain('sd-1/.DS_Store');
    expect(s3mock.commandCalls(HeadObjectCommand).map((call) => call.args[0].input.Key)).not.toContain('sd-1/unet/model.onnx.incomplete');
  });

  test('a part that fails aborts the multipart upload, and the error names the file', async () => {
    acceptUploads();
    s3mock.on(UploadPartCommand, { PartNumber: 2 }).rejects(new S3ServiceException({ name: 'InvalidRequest', $fault: 'client', message: 'Checksum mismatch', $metadata: {} }));
    await expect(uploadModel({ dir: TINY_SD, bucket: BUCKET, s3, partBytes: PART })).rejects.toThrow(
      'uploading text_encoder/model.onnx to s3://my-models/models/tiny-sd/text_encoder/model.onnx failed: Checksum mismatch',
    );
    expect(s3mock.commandCalls(AbortMultipartUploadCommand).map((call) => call.args[0].input)).toEqual([
      { Bucket: BUCKET, Key: 'models/tiny-sd/text_encoder/model.onnx', UploadId: 'upload-1' },
    ]);
    expect(s3mock.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
  });

  test('a bucket it cannot read is named, not taken for an empty one', async () => {
    s3mock.on(HeadObjectCommand).rejects(new S3ServiceException({ name: 'AccessDenied', $fault: 'client', message: 'Access Denied', $metadata: { httpStatusCode: 403 } }));
    await expect(uploadModel({ dir: TINY_SD, bucket: BUCKET, s3 })).rejects.toThrow(/cannot read s3:\/\/my-models\/models\/tiny-sd\/[\w/.]+: AccessDenied: Access Denied/);
    expect(s3mock.commandCalls(PutObjectCommand)).toHaveLength(0);
  });

  test('a bad bucket name or a folder the engine refuses stops before any S3 call', async () => {
    await expect(uploadModel({ dir: TINY_SD, bucket: 'My_Bucket', s3 })).rejects.toThrow(
      /--bucket My_Bucket and --prefix models\/tiny-sd\/ make s3:\/\/My_Bucket\/models\/tiny-sd\/, which model.s3Uri does not accept: serverlessDiffusion\.model\.s3Uri: expected s3:\/\/bucket\/prefix\//,
    );
    await expect(uploadModel({ dir: work, bucket: BUCKET, s3 })).rejects.toThrow(/^model folder .* is missing \S+ \(/);
    await expect(uploadModel({ dir: TINY_SD, bucket: BUCKET, prefix: 'a/../b', s3 })).rejects.toThrow(/--prefix must be a key prefix/);
    expect(s3mock.calls()).toHaveLength(0);
  });
});

describe('S3 checksums', () => {
  test('a file of exactly one part is a plain SHA-256; one byte more makes a two-part composite', async () => {
    const data = Buffer.alloc(PART + 1, 7);
    writeFileSync(join(work, 'exact'), data.subarray(0, PART));
    writeFileSync(join(work, 'over'), data);
    writeFileSync(join(work, 'empty'), '');
    expect(await fileChecksum(join(work, 'exact'), PART)).toMatchObject({ multipart: false, s3ChecksumSha256: sha256(data.subarray(0, PART)).toString('base64') });
    expect(await fileChecksum(join(work, 'over'), PART)).toMatchObject({ multipart: true, s3ChecksumSha256: compositeChecksum(data, PART) });
    expect(await fileChecksum(join(work, 'empty'), PART)).toMatchObject({ multipart: false, partDigests: [sha256(Buffer.alloc(0)).toString('base64')] });
    await expect(fileChecksum(join(work, 'over'), 1024)).rejects.toThrow(/part size must be at least 5242880 bytes/);
  });
});

describe('npm run model -- upload', () => {
  test('needs --bucket', async () => {
    const result = await runNpmScript('model', ['upload', TINY_SD]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe('model: --bucket is required (run with --help for usage)');
  });
});
