import { readFile, rm, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, UploadPartCommand } from '@aws-sdk/client-s3';
import { stageModel } from '../../container/src/lambda/model-staging';
import { MIN_PART_BYTES } from '../../operator/model/s3-checksum';
import { modelFolderFiles } from '../../operator/model/model-folder-files';
import { uploadModel } from '../../operator/model/upload-model';
import { startEmulatedS3, type EmulatedS3 } from '../support/emulators/s3';
import { TINY_SD } from '../support/oracle';

/**
 * `npm run model -- upload` and the Lambda engine's model staging against an S3-compatible server
 * (s3rver): multipart uploads are reassembled by the server, and staging reads back what was
 * uploaded, byte for byte. s3rver keeps no SHA-256 checksums (it ignores ChecksumSHA256 and returns
 * none on HEAD), so S3's checksum verification and the skip of unchanged files are covered by
 * test/operator/model-upload.test.ts with aws-sdk-client-mock, not here; nor can it list unfinished
 * multipart uploads (ListMultipartUploads answers NotImplemented).
 */
const BUCKET = 'models-bucket';
let s3: EmulatedS3;
let work: string;

beforeAll(async () => {
  s3 = await startEmulatedS3([BUCKET]);
  work = await mkdtemp(join(tmpdir(), 'staging-'));
});
afterAll(async () => {
  await s3.stop();
  await rm(work, { recursive: true, force: true });
});

async function objectBytes(key: string): Promise<Buffer> {
  const object = await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return Buffer.from(await object.Body!.transformToByteArray());
}

describe('model upload and staging against s3rver', () => {
  it('uploads the folder, files over the part size in parts, and stages it back byte-identical', async () => {
    const files = await modelFolderFiles(TINY_SD);
    const multipart = files.filter((file) => file.size > MIN_PART_BYTES);
    // The fixture must exercise both paths: one PUT and several parts.
    expect(multipart.length).toBeGreaterThan(0);
    expect(files.length).toBeGreaterThan(multipart.length);

    const send = jest.spyOn(s3.client, 'send');
    const result = await uploadModel({ dir: TINY_SD, bucket: BUCKET, prefix: 'models/tiny', s3: s3.client, partBytes: MIN_PART_BYTES });
    expect(result.s3Uri).toBe(`s3://${BUCKET}/models/tiny/`);
    expect([...result.uploaded].sort()).toEqual(files.map((file) => file.path).sort());
    for (const file of files) expect((await objectBytes(`models/tiny/${file.path}`)).equals(await readFile(file.absolute))).toBe(true);
    // The server assembled the large files from their parts (s3rver's ETags do not show it).
    const parts = send.mock.calls.filter(([command]) => command instanceof UploadPartCommand).length;
    expect(parts).toBe(multipart.reduce((sum, file) => sum + Math.ceil(file.size / MIN_PART_BYTES), 0));
    send.mockRestore();

    const target = join(work, 'model');
    const staged = await stageModel(s3.client, result.s3Uri, target);
    expect(staged).toMatchObject({ files: files.length, bytes: files.reduce((sum, file) => sum + file.size, 0) });
    for (const file of files) expect((await readFile(join(target, file.path))).equals(await readFile(file.absolute))).toBe(true);
    // Staged again in the same environment: the same files, nothing partial left.
    await expect(stageModel(s3.client, result.s3Uri, target)).resolves.toMatchObject({ files: files.length });
    const listing = await s3.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'models/tiny/' }));
    expect(listing.KeyCount).toBe(files.length);
  });

  it('refuses to stage a prefix with no model files, naming it', async () => {
    await expect(stageModel(s3.client, `s3://${BUCKET}/models/none/`, join(work, 'none'))).rejects.toThrow(`s3://${BUCKET}/models/none/`);
  });
});
