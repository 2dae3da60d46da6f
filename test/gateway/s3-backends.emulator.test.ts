import { Logger } from '@aws-lambda-powertools/logger';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { InvokeEndpointAsyncCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { mockClient } from 'aws-sdk-client-mock';
import type { EngineInvocation } from '../../contract/engine-invocation';
import { LambdaEngineBackend } from '../../lambda/src/backends/lambda-engine-backend';
import { SageMakerAsyncBackend } from '../../lambda/src/backends/sagemaker-async-backend';
import { parseS3Uri } from '../../lambda/src/backends/s3-uri';
import { S3ImageStore } from '../../lambda/src/images/s3-image-store';
import type { JobRecord } from '../../lambda/src/jobs/job';
import { startEmulatedS3, type EmulatedS3 } from '../support/emulators/s3';
import { engineResponse } from './support/engine-output';
import type { StoredImage } from '../../lambda/src/jobs/job';

/**
 * The S3 side of the asynchronous backends against an S3-compatible server: the objects the
 * gateway writes (input, cancel marker) are real, and it reads the engine's output, failure and
 * progress objects back through S3's own answers (404 NoSuchKey while absent). Lambda and
 * SageMaker stay mocked: only their invocation is not S3.
 */
const BUCKET = 'jobs-bucket';
let s3: EmulatedS3;
const lambda = mockClient(LambdaClient);
const runtime = mockClient(SageMakerRuntimeClient);
const logger = new Logger({ serviceName: 'test', logLevel: 'SILENT' });
let sequence = 0;

beforeAll(async () => {
  s3 = await startEmulatedS3([BUCKET]);
});
afterAll(async () => {
  await s3.stop();
});
beforeEach(() => {
  lambda.reset();
  runtime.reset();
});

function newJob(now: Date): JobRecord {
  sequence += 1;
  return { id: `id-${sequence}`, ref: `ref${sequence}`, status: 'queued', created_at: now.toISOString(), parameters: { prompt: 'a lighthouse at dusk', num_images: 2 } };
}

async function readJson(uri: string): Promise<unknown> {
  const { bucket, key } = parseS3Uri(uri);
  const object = await s3.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return JSON.parse(await object.Body!.transformToString());
}

async function write(uri: string, body: string): Promise<void> {
  const { bucket, key } = parseS3Uri(uri);
  await s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
}

function lambdaBackend(now: () => Date) {
  const images = new S3ImageStore(s3.client, BUCKET, 'images/', now);
  const backend = new LambdaEngineBackend({
    s3: s3.client, lambda: lambda as unknown as LambdaClient, images, functionName: 'engine', bucket: BUCKET,
    failurePrefix: 'failures/', functionTimeoutSeconds: 600, logger, now,
    status: async () => ({ state: 'warm', instances: { current: 1, desired: 1 }, queueDepth: 0 }),
  });
  return { backend, images };
}

function invocation(): EngineInvocation {
  return JSON.parse(Buffer.from(lambda.commandCalls(InvokeCommand)[0].args[0].input.Payload as string).toString());
}

describe('the Lambda engine backend against s3rver', () => {
  it('writes the input, reads progress, then stores the images of the output the function wrote', async () => {
    const now = new Date();
    lambda.on(InvokeCommand).resolves({ StatusCode: 202 });
    const { backend } = lambdaBackend(() => now);
    const submitted = await backend.submit(newJob(now));
    const event = invocation();
    expect(await readJson(event.input_location)).toMatchObject({ prompt: 'a lighthouse at dusk', num_images: 2 });
    // Nothing written yet by the function: S3 answers 404 and the job stays queued.
    expect(await backend.refresh(submitted)).toBe(submitted);

    await write(event.progress_location, JSON.stringify({ started_at: now.toISOString(), step: 10, steps: 25 }));
    expect(await backend.refresh(submitted)).toMatchObject({ status: 'running', progress: { step: 10, steps: 25, fraction: 0.4 } });

    await write(event.output_location, JSON.stringify(await engineResponse(2)));
    const done = await backend.refresh(submitted);
    expect(done).toMatchObject({ status: 'succeeded', images: [{ seed: 1000 }, { seed: 1001 }] });
    // The images are objects of their own, served by their presigned URLs.
    const { images } = lambdaBackend(() => new Date());
    const fetched = await fetch(await images.url((done.images![1] as StoredImage).key, 600));
    expect(fetched.status).toBe(200);
    expect(fetched.headers.get('content-type')).toBe('image/png');
  });

  it('ends the job failed with the message the function wrote at its failure location', async () => {
    const now = new Date();
    lambda.on(InvokeCommand).resolves({ StatusCode: 202 });
    const { backend } = lambdaBackend(() => now);
    const submitted = await backend.submit(newJob(now));
    await write(invocation().failure_location, JSON.stringify({ error: { code: 'internal_error', message: 'the image generator ran out of memory on this request' } }));
    expect(await backend.refresh(submitted)).toMatchObject({
      status: 'failed',
      error: { message: 'the image generator ran out of memory on this request' },
    });
  });

  it('leaves a cancel marker: the queued job is dropped, a started one stopped', async () => {
    const now = new Date();
    lambda.on(InvokeCommand).resolves({ StatusCode: 202 });
    const { backend } = lambdaBackend(() => now);
    const queued = await backend.submit(newJob(now));
    const event = invocation();
    expect(await backend.cancel(queued)).toBe('dropped');
    expect(await readJson(event.cancel_location)).toEqual({ canceled_at: now.toISOString() });

    lambda.reset();
    lambda.on(InvokeCommand).resolves({ StatusCode: 202 });
    const started = await backend.submit(newJob(now));
    await write(invocation().progress_location, JSON.stringify({ started_at: now.toISOString(), step: 1, steps: 25 }));
    expect(await backend.cancel(started)).toBe('stopped');
  });

  it('fails a job whose function started past its timeout and wrote nothing since', async () => {
    let now = new Date();
    lambda.on(InvokeCommand).resolves({ StatusCode: 202 });
    const { backend } = lambdaBackend(() => now);
    const submitted = await backend.submit(newJob(now));
    await write(invocation().progress_location, JSON.stringify({ started_at: now.toISOString(), step: 3, steps: 25 }));
    now = new Date(now.getTime() + 661_000);
    expect(await backend.refresh(submitted)).toMatchObject({ status: 'failed', error: { code: 'timeout' } });
  });
});

describe('the SageMaker async backend against s3rver', () => {
  it('writes the input where SageMaker reads it and takes the result from its output location', async () => {
    const now = new Date();
    const images = new S3ImageStore(s3.client, BUCKET, 'images/', () => now);
    const backend = new SageMakerAsyncBackend({
      s3: s3.client, runtime: runtime as unknown as SageMakerRuntimeClient, images, endpointName: 'sd', bucket: BUCKET, logger, now: () => now,
      status: async () => ({ state: 'warm', instances: { current: 1, desired: 1 }, queueDepth: 0 }),
    });
    const job = newJob(now);
    runtime.on(InvokeEndpointAsyncCommand).callsFake(({ InferenceId }) => ({
      OutputLocation: `s3://${BUCKET}/async-out/${InferenceId}.out`,
      FailureLocation: `s3://${BUCKET}/async-failures/${InferenceId}-error.out`,
    }));
    const submitted = await backend.submit(job);
    const input = runtime.commandCalls(InvokeEndpointAsyncCommand)[0].args[0].input.InputLocation!;
    expect(await readJson(input)).toMatchObject({ prompt: 'a lighthouse at dusk' });
    expect(await backend.refresh(submitted)).toBe(submitted);
    await write(submitted.backend_ref!.output_location, JSON.stringify(await engineResponse(1)));
    expect(await backend.refresh(submitted)).toMatchObject({ status: 'succeeded', images: [{ format: 'png' }] });

    const failing = await backend.submit(newJob(now));
    await write(failing.backend_ref!.failure_location, 'CUDA out of memory');
    expect(await backend.refresh(failing)).toMatchObject({ status: 'failed' });
  });
});
