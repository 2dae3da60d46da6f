/**
 * Live previews through the Lambda engine function's real handler: with a tiny VAE beside the
 * model (TINY_VAE_DIR here), the progress object the gateway reads carries a preview while the job runs.
 */
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { GetObjectCommand, NoSuchKey, PutObjectCommand, S3Client, type PutObjectCommandInput } from '@aws-sdk/client-s3';
import { sdkStreamMixin } from '@smithy/core/serde';
import { mockClient } from 'aws-sdk-client-mock';
import { engineProgressSchema, type EngineInvocation } from '../../contract/engine-invocation';
import { ORACLE_DIR, TINY_SD } from '../support/oracle';

process.env.AWS_REGION = 'us-east-1';
process.env.AWS_ACCESS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
process.env.AWS_SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

const objects = new Map<string, Buffer>();
/** Every progress object written, in order: the last write alone could miss a preview. */
const progressWrites: unknown[] = [];
const s3Mock = mockClient(S3Client);
s3Mock.on(PutObjectCommand).callsFake(async (input: PutObjectCommandInput) => {
  const body = Buffer.from(input.Body as string);
  objects.set(`${input.Bucket}/${input.Key}`, body);
  if (input.Key!.endsWith('.progress.json')) progressWrites.push(JSON.parse(body.toString('utf8')));
  return {};
});
s3Mock.on(GetObjectCommand).callsFake(async (input: { Bucket: string; Key: string }) => {
  const body = objects.get(`${input.Bucket}/${input.Key}`);
  if (!body) throw new NoSuchKey({ message: 'missing', $metadata: {} });
  return { Body: sdkStreamMixin(Readable.from([body])) };
});

it('writes previews into the progress object while a job runs', async () => {
  process.env.MODEL_DIR = TINY_SD;
  process.env.TINY_VAE_DIR = join(ORACLE_DIR, 'models', 'tiny-taesd');
  const { handler } = await import('../../container/src/lambda/handler');
  const event: EngineInvocation = {
    job_ref: 'job-preview',
    input_location: 's3://jobs/inputs/job-preview.json',
    output_location: 's3://jobs/outputs/job-preview.out',
    failure_location: 's3://jobs/failures/job-preview-error.out',
    progress_location: 's3://jobs/outputs/job-preview.progress.json',
    cancel_location: 's3://jobs/inputs/job-preview.canceled',
  };
  // The first preview is written as soon as it is painted, however short the 2 s progress interval makes the job.
  objects.set('jobs/inputs/job-preview.json', Buffer.from(JSON.stringify({ prompt: 'a blue square', width: 192, height: 192, steps: 40, seed: 4 })));
  expect(await handler(event, { getRemainingTimeInMillis: () => 900_000 })).toEqual({ outcome: 'succeeded' });
  const withPreview = progressWrites.map((write) => engineProgressSchema.parse(write)).filter((write) => write.preview !== undefined);
  expect(withPreview.length).toBeGreaterThanOrEqual(1);
  expect(withPreview[0].preview).toMatch(/^data:image\/webp;base64,/);
  expect(withPreview[0].step).toBeLessThan(40);
  delete process.env.MODEL_DIR;
  delete process.env.TINY_VAE_DIR;
}, 120_000);
