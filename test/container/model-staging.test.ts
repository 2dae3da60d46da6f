import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { sdkStreamMixin } from '@smithy/core/serde';
import { stageModel } from '../../container/src/lambda/model-staging';
import { fileChecksum, MIN_PART_BYTES } from '../../operator/model/s3-checksum';
import { startEmulatedS3, type EmulatedS3 } from '../support/emulators/s3';

/**
 * The Lambda engine's model staging against an S3-compatible server (s3rver): large objects as
 * parallel byte ranges, reassembled in place. Faults the server cannot make (a connection cut in
 * the middle of a range, an object shorter than listed, a stored checksum) are made by wrapping the
 * client's `send`, around the real server's answers.
 */
const BUCKET = 'models';
const PREFIX = 'models/sd/';
const RANGE = 256 * 1024;
let s3: EmulatedS3;
let work: string;
const files: Record<string, Buffer> = {
  'unet/model.onnx_data': randomBytes(11 * 1024 * 1024 + 12_345),
  'text_encoder/model.onnx': randomBytes(700_000),
  'model_index.json': Buffer.from('{"_class_name":"StableDiffusionPipeline"}'),
  'tokenizer/empty.txt': Buffer.alloc(0),
};

beforeAll(async () => {
  s3 = await startEmulatedS3([BUCKET]);
  work = await mkdtemp(join(tmpdir(), 'staging-ranges-'));
  for (const [path, body] of Object.entries(files)) await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}${path}`, Body: body }));
});
afterAll(async () => {
  await s3.stop();
  await rm(work, { recursive: true, force: true });
});
afterEach(() => jest.restoreAllMocks());

type Send = typeof s3.client.send;
/** Lets `change` rewrite the real answer to each command. */
function intercept(change: (command: unknown, answer: () => Promise<Record<string, unknown>>) => Promise<unknown>) {
  const real = s3.client.send.bind(s3.client) as (command: unknown) => Promise<Record<string, unknown>>;
  return jest.spyOn(s3.client, 'send').mockImplementation(((command: unknown) => change(command, () => real(command))) as unknown as Send);
}
const rangeOf = (command: unknown) => (command instanceof GetObjectCommand ? command.input.Range : undefined);
const body = (chunks: Buffer[], failAfter?: Error) =>
  sdkStreamMixin(
    Readable.from(
      (async function* () {
        yield* chunks;
        if (failAfter) throw failAfter;
      })(),
    ),
  );

async function expectStaged(dir: string): Promise<void> {
  for (const [path, bytes] of Object.entries(files)) expect((await readFile(join(dir, path))).equals(bytes)).toBe(true);
  const left = (await readdir(dir, { recursive: true })).filter((name) => String(name).endsWith('.partial'));
  expect(left).toEqual([]);
}

describe('model staging in byte ranges', () => {
  it('reassembles every file byte-identical from parallel ranges, the UNet first', async () => {
    const send = intercept((_command, answer) => answer());
    const dir = join(work, 'identical');
    const staged = await stageModel(s3.client, `s3://${BUCKET}/${PREFIX}`, dir, { rangeBytes: RANGE, concurrency: 6 });
    await expectStaged(dir);
    const total = Object.values(files).reduce((sum, bytes) => sum + bytes.length, 0);
    expect(staged).toMatchObject({ files: 4, bytes: total, downloadedBytes: total });
    const gets = send.mock.calls.map(([command]) => command).filter((command) => command instanceof GetObjectCommand) as GetObjectCommand[];
    // An empty file is created without a request.
    expect(gets).toHaveLength(Object.values(files).reduce((sum, bytes) => sum + Math.ceil(bytes.length / RANGE), 0));
    expect(gets[0].input.Key).toBe(`${PREFIX}unet/model.onnx_data`);
    expect(gets[0].input.Range).toBe(`bytes=0-${RANGE - 1}`);
  });

  it('retries a range whose connection is cut in the middle', async () => {
    let cut = 0;
    const send = intercept(async (command, answer) => {
      const result = await answer();
      if (rangeOf(command) === `bytes=${2 * RANGE}-${3 * RANGE - 1}` && cut++ === 0) {
        const bytes = Buffer.from(await (result.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
        return { ...result, Body: body([bytes.subarray(0, 1000)], Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })) };
      }
      return result;
    });
    const dir = join(work, 'cut');
    await stageModel(s3.client, `s3://${BUCKET}/${PREFIX}`, dir, { rangeBytes: RANGE, retryDelayMs: 1 });
    await expectStaged(dir);
    expect(send.mock.calls.filter(([command]) => rangeOf(command) === `bytes=${2 * RANGE}-${3 * RANGE - 1}`)).toHaveLength(2);
  });

  it('refuses an object shorter than listed, leaving no file and nothing partial', async () => {
    intercept(async (command, answer) => {
      const result = await answer();
      if (command instanceof GetObjectCommand && command.input.Key?.endsWith('text_encoder/model.onnx') && rangeOf(command)?.startsWith(`bytes=${RANGE * 2}-`)) {
        const bytes = Buffer.from(await (result.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
        return { ...result, Body: body([bytes.subarray(0, bytes.length - 10)]) };
      }
      return result;
    });
    const dir = join(work, 'short');
    await expect(stageModel(s3.client, `s3://${BUCKET}/${PREFIX}`, dir, { rangeBytes: RANGE, retryDelayMs: 1, attempts: 2 })).rejects.toThrow(
      /text_encoder\/model\.onnx: bytes 524288–699999 failed 2 times: received 175702 of 175712 bytes/,
    );
    expect(existsSync(join(dir, 'text_encoder', 'model.onnx'))).toBe(false);
    expect(existsSync(join(dir, 'text_encoder', 'model.onnx.partial'))).toBe(false);
  });

  it('keeps complete files on a rerun and fetches only what is missing', async () => {
    const dir = join(work, 'rerun');
    await stageModel(s3.client, `s3://${BUCKET}/${PREFIX}`, dir, { rangeBytes: RANGE });
    await rm(join(dir, 'model_index.json'));
    const send = intercept((_command, answer) => answer());
    const again = await stageModel(s3.client, `s3://${BUCKET}/${PREFIX}`, dir, { rangeBytes: RANGE });
    expect(again.downloadedBytes).toBe(files['model_index.json'].length);
    const gets = send.mock.calls.filter(([command]) => command instanceof GetObjectCommand) as unknown as Array<[GetObjectCommand]>;
    expect(gets.map(([command]) => command.input.Key)).toEqual([`${PREFIX}model_index.json`]);
    await expectStaged(dir);
  });

  describe("against S3's stored SHA-256 of a multipart upload", () => {
    let composite: string;
    beforeAll(async () => {
      const local = join(work, 'unet-data');
      await writeFile(local, files['unet/model.onnx_data']);
      composite = (await fileChecksum(local, MIN_PART_BYTES)).s3ChecksumSha256;
    });
    const withChecksum = (checksum: string) =>
      intercept(async (command, answer) => {
        if (command instanceof HeadObjectCommand && command.input.Key?.endsWith('unet/model.onnx_data')) {
          const result = await answer();
          return command.input.PartNumber === 1 ? { ...result, ContentLength: MIN_PART_BYTES } : { ...result, ChecksumSHA256: checksum };
        }
        return answer();
      });

    it('fetches the parts as ranges and accepts the bytes whose part digests match', async () => {
      const send = withChecksum(composite);
      const dir = join(work, 'checksum-ok');
      await stageModel(s3.client, `s3://${BUCKET}/${PREFIX}`, dir, { rangeBytes: RANGE });
      await expectStaged(dir);
      const unetRanges = send.mock.calls.filter(([command]) => command instanceof GetObjectCommand && command.input.Key?.endsWith('unet/model.onnx_data'));
      expect(unetRanges).toHaveLength(3);
    });

    it('discards a copy whose bytes do not match, naming the file', async () => {
      withChecksum(`${composite.slice(0, 10)}${composite[10] === 'A' ? 'B' : 'A'}${composite.slice(11)}`);
      const dir = join(work, 'checksum-bad');
      await expect(stageModel(s3.client, `s3://${BUCKET}/${PREFIX}`, dir, { rangeBytes: RANGE })).rejects.toThrow(
        /models\/sd\/unet\/model\.onnx_data: the staged bytes do not match the SHA-256 S3 stored for them/,
      );
      expect(existsSync(join(dir, 'unet', 'model.onnx_data'))).toBe(false);
      expect(existsSync(join(dir, 'unet', 'model.onnx_data.partial'))).toBe(false);
    });
  });
});
